// jsonl: JSON Lines (https://jsonlines.org). Each record must be one JSON value (RFC 8259,
// UTF-8); it becomes one line:
//   - leading and trailing JSON whitespace (space, tab, CR, LF) is dropped, so a record
//     sent as "{...}\n" or "{...}\r\n" gets exactly one line break;
//   - a record whose value spans lines (pretty-printed JSON) is written minified, which is
//     the only change to its bytes: a line break can only be whitespace between tokens
//     (inside strings it must be escaped), so nothing of the value is lost;
//   - any other record is written byte for byte as sent.
// A record that is not one JSON value (empty, malformed, invalid UTF-8, two values, nesting
// deeper than 1024) is refused with InvalidArgument; delivery sends it to
// format-conversion-failed/.
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>

#include "formats/writer.h"

namespace millrace::formats {

namespace {

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimJsonWhitespace(std::string_view s) {
  while (!s.empty() && IsJsonWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsJsonWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// Appends valid JSON `json` without the whitespace between its tokens.
void AppendMinified(std::string_view json, std::string* out) {
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (IsJsonWhitespace(c)) {
      continue;
    }
    out->push_back(c);
  }
}

class JsonlWriter final : public FileWriter {
 public:
  Status Add(const InputRecord& r) override {
    if (finished_) return Status::FailedPrecondition("jsonl writer: Add after Finish");
    std::string_view value = TrimJsonWhitespace(r.data);
    if (value.empty()) return Status::InvalidArgument("record is not a JSON value: it is empty");
    // The parser copies the record into its own padded buffer (reused across records).
    simdjson::dom::element doc;
    simdjson::error_code err = parser_.parse(value.data(), value.size(), true).get(doc);
    if (err != simdjson::SUCCESS)
      return Status::InvalidArgument(std::string("record is not a JSON value: ") +
                                     simdjson::error_message(err));
    // Two memchr scans: find_first_of calls memchr once per byte of the record.
    if (std::memchr(value.data(), '\n', value.size()) == nullptr &&
        std::memchr(value.data(), '\r', value.size()) == nullptr) {
      buffer_.append(value);
    } else {
      AppendMinified(value, &buffer_);
    }
    buffer_.push_back('\n');
    ++count_;
    return Status::Ok();
  }

  size_t RecordCount() const override { return count_; }
  size_t BufferedBytes() const override { return buffer_.size(); }

  Result<std::string> Finish() override {
    if (finished_) return Status::FailedPrecondition("jsonl writer: Finish called twice");
    finished_ = true;
    return std::move(buffer_);
  }

 private:
  simdjson::dom::parser parser_;
  std::string buffer_;
  size_t count_ = 0;
  bool finished_ = false;
};

}  // namespace

namespace detail {
std::unique_ptr<FileWriter> NewJsonlWriter() { return std::make_unique<JsonlWriter>(); }
}  // namespace detail

}  // namespace millrace::formats
