// PartitionQuery: a consumer's dynamic partitioning keys (Firehose's MetadataExtraction
// query, partitionKeyFromQuery), a jq expression (libjq, as the record filter) whose first
// output on a record's JSON is an object of the keys and their values:
//
//   auto q = PartitionQuery::Compile("{customer: .customer_id, year: .at[0:4]}");
//   PartitionValues v;  std::string why;
//   bool ok = q->Extract(record_bytes, &v, &why);   // {"customer": "42", "year": "2024"}
//
// Values are strings, numbers (as jq prints them) or booleans, of 1 to 512 bytes of
// [A-Za-z0-9_.*'()!-] (they become parts of object keys: no '/', not "." or ".."); at most
// 50 keys. A record that is not JSON, on which the expression errs or outputs no such
// object, fails with `why` (it goes to processing-failed, as in Firehose).
//
// The common form, an object of fields ("{customer: .customer_id, region: .a.b}"), is read
// with simdjson instead (~20 times faster than libjq's parse); a record where that could
// answer otherwise than jq (a missing field, a fraction, a value that is no scalar, JSON
// simdjson refuses) goes to libjq, so the answers (and the reasons) are jq's.
//
// Not thread-safe (a jq_state is not); one per consumer runner thread.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "formats/naming.h"

struct jq_state;

namespace millrace::delivery {

class PartitionQuery {
 public:
  static constexpr size_t kMaxExpressionBytes = 4096;
  static constexpr size_t kMaxKeys = 50;
  static constexpr size_t kMaxValueBytes = 512;
  // InvalidArgument with jq's message for an expression that does not compile.
  static Result<std::unique_ptr<PartitionQuery>> Compile(std::string_view expression);
  ~PartitionQuery();
  PartitionQuery(const PartitionQuery&) = delete;
  PartitionQuery& operator=(const PartitionQuery&) = delete;

  bool Extract(std::string_view record, formats::PartitionValues* out, std::string* why);
  // Whether the simdjson path serves this query (tests).
  bool fast() const { return !fields_.empty(); }

 private:
  PartitionQuery() = default;
  // The simdjson path: true with *out filled, false if jq must decide.
  bool FastExtract(std::string_view record, formats::PartitionValues* out);
  std::vector<std::pair<std::string, std::vector<std::string>>> fields_;  // key, path
  simdjson::dom::parser parser_;
  jq_state* jq_ = nullptr;
  std::string messages_;
};

// Whether a partition key's value may be part of an object key (see above).
bool ValidPartitionValue(std::string_view v);

}  // namespace millrace::delivery
