// Splitting CSV input: producers of a csv dataset push one CSV line per stream record, and
// this turns that line into its fields (RFC 4180, with the leniencies DuckDB's reader has).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace millrace::formats::csv {

// Splits one CSV record (RFC 4180) into `*fields` (cleared first). One trailing "\n" or
// "\r\n" is ignored. A field that starts with '"' is quoted: it ends at the next '"' that is
// not doubled and may hold the delimiter, doubled quotes and line breaks; its unescaped text
// is built in `*scratch`, which is cleared and reserved to line.size() first, so the views
// stay valid until `*scratch` is next changed. Unquoted fields point into `line`. A '"'
// inside an unquoted field is kept as text (lenient, like DuckDB). An empty line yields one
// empty field; "a," yields "a" and an empty field.
//
// `quoted` (optional, may be nullptr) receives, per field, whether it was quoted, so that a
// caller can tell "" (an empty string) from an empty field (null).
//
// InvalidArgument on malformed input: "unterminated quoted field starting at offset N",
// "text after a closing quote at offset N", and "line break outside quotes at offset N" for
// a "\r" or "\n" in an unquoted field (other than the trailing one): a record is one CSV
// line, and a record holding several is refused rather than silently read as one row.
// Offsets count bytes from the start of `line`. InvalidArgument too if the delimiter is '"',
// '\n' or '\r' (as CsvOptions refuses).
Status SplitCsvRecord(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
                      std::string* scratch, std::vector<bool>* quoted = nullptr);

}  // namespace millrace::formats::csv
