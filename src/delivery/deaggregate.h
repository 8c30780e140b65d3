// Firehose's multi-record deaggregation (its RecordDeAggregation processor): a record that
// carries several records, as consecutive JSON objects ({"a":1}{"a":2}, or one per line) or
// separated by a delimiter, split into them before dynamic partitioning, so that each is
// partitioned on its own. At most kMaxSubRecords per record (Firehose's cap).
//
// A record that does not split as its type says (not JSON objects one after another, an
// empty piece, more than kMaxSubRecords) is left whole: delivery handles it as any record
// (a partition query then fails it to processing-failed/).
#pragma once

#include <string_view>
#include <vector>

namespace millrace::delivery {

constexpr size_t kMaxSubRecords = 500;

// {"a":1}{"a":2} or {"a":1}\n{"a":2} -> the two objects' text (whitespace between them
// dropped); false (and `out` cleared) if `data` is anything else (an array, a scalar, a
// broken object, trailing text).
bool SplitJsonObjects(std::string_view data, std::vector<std::string_view>* out);

// The pieces between occurrences of `delimiter` (not empty); a trailing delimiter ends the
// last piece rather than starting an empty one. False for an empty piece elsewhere.
bool SplitDelimited(std::string_view data, std::string_view delimiter,
                    std::vector<std::string_view>* out);

}  // namespace millrace::delivery
