#include "formats/csv/csv_reader.h"

#include <cstring>

namespace millrace::formats::csv {
namespace {

// The offset of the first `c` in data[from, n), or n. (memchr may not be given a null
// pointer, which an empty string_view can hold.)
inline size_t Find(const char* data, size_t from, size_t n, char c) {
  if (from >= n) return n;
  const auto* p = static_cast<const char*>(std::memchr(data + from, c, n - from));
  return p == nullptr ? n : static_cast<size_t>(p - data);
}

}  // namespace

Status SplitCsvRecord(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
                      std::string* scratch, std::vector<bool>* quoted) {
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r')
    return Status::InvalidArgument(
        "csv delimiter may not be a double quote, a line feed or a carriage return");
  fields->clear();
  if (quoted != nullptr) quoted->clear();
  scratch->clear();
  scratch->reserve(line.size());  // unescaped text is never longer: the views stay valid

  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  const char* const data = line.data();
  const size_t n = line.size();
  // Most records hold no line break; only those that do pay for checking unquoted fields.
  const bool breaks = Find(data, 0, n, '\n') < n || Find(data, 0, n, '\r') < n;

  size_t pos = 0;
  while (true) {
    if (pos < n && data[pos] == '"') {
      const size_t open = pos;
      const size_t begin = scratch->size();
      size_t i = pos + 1;
      while (true) {
        const size_t at = Find(data, i, n, '"');
        if (at == n)
          return Status::InvalidArgument("unterminated quoted field starting at offset " +
                                         std::to_string(open));
        scratch->append(data + i, at - i);
        if (at + 1 < n && data[at + 1] == '"') {  // a doubled quote
          scratch->push_back('"');
          i = at + 2;
          continue;
        }
        pos = at + 1;  // just after the closing quote
        break;
      }
      fields->emplace_back(scratch->data() + begin, scratch->size() - begin);
      if (quoted != nullptr) quoted->push_back(true);
      if (pos < n && data[pos] != delimiter)
        return Status::InvalidArgument("text after a closing quote at offset " +
                                       std::to_string(pos));
    } else {
      const size_t end = Find(data, pos, n, delimiter);
      if (breaks) {
        for (size_t k = pos; k < end; ++k) {
          if (data[k] == '\n' || data[k] == '\r')
            return Status::InvalidArgument("line break outside quotes at offset " +
                                           std::to_string(k));
        }
      }
      fields->emplace_back(data + pos, end - pos);
      if (quoted != nullptr) quoted->push_back(false);
      pos = end;
    }
    if (pos >= n) return Status::Ok();
    ++pos;  // the delimiter: another field follows, empty if the line ends here
  }
}

}  // namespace millrace::formats::csv
