#include "common/json_writer.h"

#include <cmath>
#include <cstdio>

#include "common/encoding.h"

namespace millrace {

void JsonWriter::Double(double v) {
  Prefix();
  if (!std::isfinite(v)) {
    out_->append("null");
    return;
  }
  char buf[32];
  // Kinesis timestamps are epoch seconds with millisecond precision: %.3f keeps them exact.
  int n = std::snprintf(buf, sizeof buf, "%.3f", v);
  // Trim trailing zeros (and a trailing dot) so 1.500 prints as 1.5 and 2.000 as 2.
  while (n > 1 && buf[n - 1] == '0') --n;
  if (n > 1 && buf[n - 1] == '.') --n;
  out_->append(buf, n);
}

void JsonWriter::Base64(std::string_view bytes) {
  Prefix();
  out_->push_back('"');
  Base64Encode(bytes, out_);
  out_->push_back('"');
}

void JsonWriter::Quote(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace millrace
