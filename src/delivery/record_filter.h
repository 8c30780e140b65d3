// RecordFilter: a consumer's record filter, a jq expression (Debian's libjq, the language of
// the `jq` command) evaluated on each record's JSON:
//
//   auto f = RecordFilter::Compile(R"(.dynamodb.NewImage.tenant == "ACME")");
//   bool keep = f->Keep(record_bytes);
//
// A record is kept when the expression's first output is truthy (anything but false and
// null, as jq's `select` has it). A record that is not one JSON value, an expression that
// errs on it, or one that outputs nothing, rejects it. jq rather than an expression
// language of our own: packaged, documented, and what our users already write for JSON.
// Comparisons of fields with constants joined by and/or, the filters most consumers have,
// are evaluated without libjq, with the same answers and ~20 times faster (fast_filter.h).
//
// Not thread-safe (a jq_state is not); one per consumer runner thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "delivery/fast_filter.h"

struct jq_state;

namespace millrace::delivery {

class RecordFilter {
 public:
  static constexpr size_t kMaxExpressionBytes = 4096;
  // InvalidArgument with jq's own message for an expression that does not compile.
  // `fast` = false always runs libjq (the tests compare the two).
  static Result<std::unique_ptr<RecordFilter>> Compile(std::string_view expression,
                                                       bool fast = true);
  ~RecordFilter();
  RecordFilter(const RecordFilter&) = delete;
  RecordFilter& operator=(const RecordFilter&) = delete;

  // Whether `record` passes. `error`, if given, is set to why a record was rejected without
  // an answer (not JSON, a jq error), and cleared otherwise.
  bool Keep(std::string_view record, std::string* error = nullptr);

 private:
  RecordFilter() = default;
  jq_state* jq_ = nullptr;
  std::unique_ptr<FastFilter> fast_;  // the common subset without libjq (fast_filter.h)
  std::string messages_;              // what jq reported while compiling
};

}  // namespace millrace::delivery
