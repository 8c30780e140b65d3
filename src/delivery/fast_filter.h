// FastFilter: the common record filters evaluated without libjq. libjq 1.6 spends ~20 µs
// parsing a 1 KB record into its own values; a thousand consumers with filters on one
// stream would spend 20 ms of CPU per record. Most filters are comparisons of fields with
// constants, joined by `and`/`or` (".dynamodb.NewImage.tenant == \"ACME\" or
// .dynamodb.OldImage.tenant == \"ACME\""): this parses exactly that subset of jq's grammar
// and evaluates it on a simdjson DOM (~1 µs), with jq's semantics:
//
//   expr := expr "or" expr | expr "and" expr | operand [op operand] | "(" expr ")"
//   operand := "." | ("." identifier)+ | string | number | true | false | null
//   op := == != < <= > >=
//
// `.a` of null is null, of an object its member (the last one of that name, as jq), of
// anything else an error (the record is rejected); `and`/`or` short-circuit; truthiness
// and the order of values are jq's (null < false < true < numbers < strings). Anything it
// is not sure to decide exactly as jq (an expression outside the subset; a comparison that
// meets an array or an object; a record simdjson does not parse) is left to jq: Compile
// returns null, or Evaluate returns kUndecided. RecordFilter (record_filter.h) does that,
// and its tests check both give the same answers.
//
// Not thread-safe (it owns its parser); one per RecordFilter.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::delivery {

class FastFilter {
 public:
  // The filter, or null when the expression is outside the subset.
  static std::unique_ptr<FastFilter> Compile(std::string_view expression);

  enum class Result { kKeep, kReject, kUndecided };
  // kReject with *error set when jq would have failed on the record (its message).
  Result Evaluate(std::string_view record, std::string* error);

  struct Node;  // the expression tree (fast_filter.cc)
  ~FastFilter();

 private:
  FastFilter() = default;
  std::unique_ptr<Node> root_;
  simdjson::dom::parser parser_;
};

}  // namespace millrace::delivery
