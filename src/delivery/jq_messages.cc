#include "delivery/jq_messages.h"

namespace millrace::delivery {

void CollectJqMessage(void* data, jv msg) {
  auto* out = static_cast<std::string*>(data);
  if (out->size() < 4096) {
    if (!out->empty()) out->append("; ");
    out->append(JqText(jv_copy(msg)));
  }
  jv_free(msg);
}

std::string JqText(jv v) {
  jv text = jv_get_kind(v) == JV_KIND_STRING ? v : jv_dump_string(v, 0);
  std::string out = jv_string_value(text);
  jv_free(text);
  return out;
}

}  // namespace millrace::delivery
