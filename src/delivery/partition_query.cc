#include "delivery/partition_query.h"

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include <climits>

namespace millrace::delivery {
namespace {

void CollectMessage(void* data, jv msg) {
  auto* out = static_cast<std::string*>(data);
  if (out->size() < 4096) {
    jv text = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
    if (!out->empty()) out->append("; ");
    out->append(jv_string_value(text));
    jv_free(text);
  }
  jv_free(msg);
}

std::string Dump(jv v) {  // takes v
  jv text = jv_dump_string(v, 0);
  std::string out = jv_string_value(text);
  jv_free(text);
  return out;
}

}  // namespace

bool ValidPartitionValue(std::string_view v) {
  if (v.empty() || v.size() > PartitionQuery::kMaxValueBytes || v == "." || v == "..")
    return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("_.*'()!-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<PartitionQuery>> PartitionQuery::Compile(std::string_view expression) {
  if (expression.size() > kMaxExpressionBytes)
    return Status::InvalidArgument("is longer than " + std::to_string(kMaxExpressionBytes) +
                                   " bytes");
  if (expression.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("must not contain a NUL character");
  std::unique_ptr<PartitionQuery> q(new PartitionQuery());
  q->jq_ = jq_init();
  if (q->jq_ == nullptr) return Status::ResourceExhausted("jq_init failed");
  jq_set_error_cb(q->jq_, CollectMessage, &q->messages_);
  const std::string text(expression);
  if (!jq_compile(q->jq_, text.c_str())) {
    std::string why = q->messages_.empty() ? "does not compile" : q->messages_;
    return Status::InvalidArgument("is not a valid jq expression: " + why);
  }
  return q;
}

PartitionQuery::~PartitionQuery() {
  if (jq_ != nullptr) jq_teardown(&jq_);
}

bool PartitionQuery::Extract(std::string_view record, formats::PartitionValues* out,
                             std::string* why) {
  out->clear();
  why->clear();
  if (record.size() > static_cast<size_t>(INT_MAX)) {
    *why = "the record is too large to evaluate";
    return false;
  }
  jv value = jv_parse_sized(record.data(), static_cast<int>(record.size()));
  if (!jv_is_valid(value)) {
    jv_free(value);
    *why = "the record is not one JSON value, so its partition keys cannot be read";
    return false;
  }
  messages_.clear();
  jq_start(jq_, value, 0);  // takes `value`
  jv result = jq_next(jq_);
  bool ok = false;
  if (!jv_is_valid(result)) {
    *why = "the partition key query gave no value";
    if (jv_invalid_has_msg(jv_copy(result))) *why += ": " + Dump(jv_invalid_get_msg(jv_copy(result)));
  } else if (jv_get_kind(result) != JV_KIND_OBJECT) {
    *why = "the partition key query must give an object of keys, not " +
           std::string(jv_kind_name(jv_get_kind(result)));
  } else if (static_cast<size_t>(jv_object_length(jv_copy(result))) > kMaxKeys) {
    *why = "the partition key query gave more than 50 keys";
  } else {
    ok = true;
    jv_object_foreach(result, key, v) {
      std::string name = jv_string_value(key);
      std::string text;
      switch (jv_get_kind(v)) {
        case JV_KIND_STRING:
          text = jv_string_value(v);
          break;
        case JV_KIND_NUMBER:
        case JV_KIND_TRUE:
        case JV_KIND_FALSE:
          text = Dump(jv_copy(v));
          break;
        default:
          if (ok) *why = "the partition key " + name + " is " + jv_kind_name(jv_get_kind(v)) +
                         ", not a string, number or boolean";
          ok = false;
      }
      jv_free(key);
      jv_free(v);
      if (!ok) continue;
      if (!ValidPartitionValue(text)) {
        *why = "the partition key " + name + "'s value '" + text.substr(0, 64) +
               "' cannot be part of an object key (1 to 512 of A-Z a-z 0-9 _ . * ' ( ) ! -)";
        ok = false;
        continue;
      }
      (*out)[name] = std::move(text);
    }
  }
  jv_free(result);
  // The rest of the outputs are not used; jq_start of the next record resets the state.
  if (!ok) out->clear();
  return ok;
}

}  // namespace millrace::delivery
