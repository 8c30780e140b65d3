#include "delivery/deaggregate.h"

#include <simdjson.h>

namespace millrace::delivery {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The length of the JSON object starting at data[0] == '{' (strings and escapes skipped),
// or 0 if it never closes.
size_t ObjectLength(std::string_view data) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return 0;
}

}  // namespace

bool SplitJsonObjects(std::string_view data, std::vector<std::string_view>* out) {
  out->clear();
  simdjson::dom::parser parser;
  size_t i = 0;
  while (true) {
    while (i < data.size() && IsSpace(data[i])) ++i;
    if (i == data.size()) break;
    if (data[i] != '{' || out->size() == kMaxSubRecords) break;
    const size_t n = ObjectLength(data.substr(i));
    if (n == 0) break;
    std::string_view piece = data.substr(i, n);
    simdjson::dom::element e;
    if (parser.parse(piece.data(), piece.size()).get(e) != simdjson::SUCCESS) break;
    out->push_back(piece);
    i += n;
  }
  if (i == data.size() && !out->empty()) return true;
  out->clear();
  return false;
}

bool SplitDelimited(std::string_view data, std::string_view delimiter,
                    std::vector<std::string_view>* out) {
  out->clear();
  if (delimiter.empty()) return false;
  size_t start = 0;
  while (start < data.size()) {
    size_t at = data.find(delimiter, start);
    if (at == std::string_view::npos) at = data.size();
    if (at == start || out->size() == kMaxSubRecords) {
      out->clear();
      return false;
    }
    out->push_back(data.substr(start, at - start));
    start = at == data.size() ? at : at + delimiter.size();
  }
  return !out->empty();
}

}  // namespace millrace::delivery
