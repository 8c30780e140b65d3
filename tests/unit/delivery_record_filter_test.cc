// A consumer's record filter: jq expressions (libjq) on each record's JSON, jq's truthiness,
// clear errors for expressions that do not compile, and records that cannot be evaluated
// rejected with the reason.
#include <gtest/gtest.h>

#include <string>

#include "delivery/record_filter.h"
#include "delivery/spec.h"

namespace millrace::delivery {
namespace {

std::unique_ptr<RecordFilter> Make(const std::string& expr) {
  auto f = RecordFilter::Compile(expr);
  EXPECT_TRUE(f.ok()) << expr << ": " << f.status().ToString();
  return f.ok() ? std::move(*f) : nullptr;
}

const char* const kInsert =
    R"({"eventName": "INSERT", "dynamodb": {"NewImage": {"tenant": "ACME", "n": 3}}})";
const char* const kRemove =
    R"({"eventName": "REMOVE", "dynamodb": {"OldImage": {"tenant": "ACME", "n": 4}}})";
const char* const kOther =
    R"({"eventName": "INSERT", "dynamodb": {"NewImage": {"tenant": "Globex", "n": 5}}})";

TEST(RecordFilter, TheSeedsPerTenantFilter) {
  auto f = Make(R"(.dynamodb.NewImage.tenant == "ACME" or .dynamodb.OldImage.tenant == "ACME")");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->Keep(kInsert));
  EXPECT_TRUE(f->Keep(kRemove));
  EXPECT_FALSE(f->Keep(kOther));
  // The state does not leak from one record to the next.
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(f->Keep(i % 2 ? kInsert : kOther), i % 2 == 1);
}

TEST(RecordFilter, JqTruthinessOfTheFirstOutput) {
  EXPECT_TRUE(Make(".n")->Keep(R"({"n": 0})"));  // 0 is true in jq
  EXPECT_TRUE(Make(".s")->Keep(R"({"s": ""})"));
  EXPECT_FALSE(Make(".n")->Keep(R"({"m": 1})"));  // null
  EXPECT_FALSE(Make(".b")->Keep(R"({"b": false})"));
  EXPECT_FALSE(Make("empty")->Keep("{}"));  // no output
  EXPECT_TRUE(Make(".[] | select(. > 2)")->Keep("[1, 5]"));
  // (Not `.tags | index("x")`: libjq 1.6 leaks 67 bytes per evaluation of index/indices on an
  // array; docs/consumers.md says so.)
  EXPECT_TRUE(Make(".n > 2 and any(.tags[]; . == \"x\")")->Keep(R"({"n": 3, "tags": ["x"]})"));
}

TEST(RecordFilter, RecordsThatCannotBeEvaluatedAreRejectedWithTheReason) {
  auto f = Make(".a.b == 1");
  std::string why;
  EXPECT_FALSE(f->Keep("not json", &why));
  EXPECT_NE(why.find("the record is not one JSON value"), std::string::npos) << why;
  EXPECT_FALSE(f->Keep(R"({"a": "text"})", &why));
  EXPECT_NE(why.find("jq: Cannot index string with"), std::string::npos) << why;
  EXPECT_TRUE(f->Keep(R"({"a": {"b": 1}})", &why));
  EXPECT_TRUE(why.empty());
}

TEST(RecordFilter, ExpressionsThatDoNotCompileSayWhy) {
  auto f = RecordFilter::Compile(".a ==");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  EXPECT_NE(f.status().message().find("is not a valid jq expression: "), std::string::npos)
      << f.status().message();
  EXPECT_NE(f.status().message().find("syntax error"), std::string::npos) << f.status().message();
  EXPECT_FALSE(RecordFilter::Compile(std::string(5000, ' ')).ok());
  EXPECT_FALSE(RecordFilter::Compile(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(RecordFilter::Compile("undefined_function_xyz(1)").ok());
}

TEST(RecordFilter, TheConsumerSpecCarriesAndChecksIt) {
  auto c = ParseConsumer(
      R"({"name": "c", "stream": "s", "dataset": "d", "filter": ".tenant == \"ACME\""})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->filter, ".tenant == \"ACME\"");
  EXPECT_NE(ConsumerJson(*c).find(R"("filter":".tenant == \"ACME\"")"), std::string::npos);
  EXPECT_TRUE(CheckFilter(*c).ok());
  auto bad = ParseConsumer(R"({"name": "c", "stream": "s", "dataset": "d", "filter": ".a =="})");
  ASSERT_TRUE(bad.ok());  // compiling is CheckFilter's
  Status st = CheckFilter(*bad);
  EXPECT_EQ(st.message().rfind("filter: is not a valid jq expression", 0), 0u) << st.message();
}

// The fast path (fast_filter.h) must answer exactly as libjq does: every expression of the
// subset, and some outside it, on records that hit each rule (missing members, null, type
// errors, duplicate keys, 1 vs 1.0, arrays and objects, escapes, not JSON).
TEST(RecordFilter, TheFastPathAnswersAsJqDoes) {
  const char* expressions[] = {
      R"(.dynamodb.NewImage.tenant == "ACME")",
      R"(.dynamodb.NewImage.tenant == "ACME" or .dynamodb.OldImage.tenant == "ACME")",
      R"(.a == 1)",
      R"(.a != 1)",
      R"(.a < 2)",
      R"(.a <= 1.0)",
      R"(.a > "x")",
      R"(.a >= null)",
      R"(.a == true)",
      R"(.a == false)",
      R"(.a == null)",
      R"(.a)",
      R"(.a.b)",
      R"(.)",
      R"(.a and .b)",
      R"(.a or .b)",
      R"((.a == 1 or .b == 2) and .c != "z")",
      R"(.a == "q\"x\\")",
      R"(.a == -1.5)",
      R"(.a == .b)",
      R"(1 == 1)",
      R"("a" < "b")",
      R"(.a == [1])",
      R"(.a.b == "x" | not)",
      R"(.a == "\u0041")",
      R"(.a[0] == 1)",
      R"(false and .a.b.c)",
      R"(true or .a.b.c)",
      R"(.tenant=="ACME"and.n>1)",
  };
  const char* records[] = {
      R"({"dynamodb":{"NewImage":{"tenant":"ACME"},"OldImage":null}})",
      R"({"dynamodb":{"NewImage":{"tenant":"GLOBEX"},"OldImage":{"tenant":"ACME"}}})",
      R"({"dynamodb":{"OldImage":{"tenant":"ACME"}}})",
      R"({"dynamodb":5})",
      R"({})",
      R"({"a":1})",
      R"({"a":1.0,"b":1})",
      R"({"a":2,"b":null})",
      R"({"a":"x","b":"y"})",
      R"({"a":"y","c":"z"})",
      R"({"a":true,"b":false})",
      R"({"a":false})",
      R"({"a":null})",
      R"({"a":[1],"b":[1]})",
      R"({"a":{"b":"x"},"b":{"b":"x"}})",
      R"({"a":"q\"x\\"})",
      R"({"a":-1.5})",
      R"({"a":1,"a":2})",
      R"({"a":{"b":1}})",
      R"({"a":"str"})",
      R"([1,2])",
      R"("just a string")",
      R"(42)",
      R"(null)",
      R"({"a": A})",
      R"(not json)",
      R"({"a":1} {"a":2})",
      R"({"tenant":"ACME","n":2})",
      R"({"a":12345678901234567890})",
      R"({"a":"A"})",
  };
  int fast_decided = 0;
  for (const char* e : expressions) {
    auto jq = RecordFilter::Compile(e, /*fast=*/false);
    auto fast = RecordFilter::Compile(e, /*fast=*/true);
    ASSERT_TRUE(jq.ok()) << e << ": " << jq.status().message();
    ASSERT_TRUE(fast.ok()) << e;
    for (const char* r : records) {
      std::string why_jq, why_fast;
      bool keep_jq = (*jq)->Keep(r, &why_jq);
      bool keep_fast = (*fast)->Keep(r, &why_fast);
      EXPECT_EQ(keep_fast, keep_jq) << e << " on " << r;
      EXPECT_EQ(why_fast.empty(), why_jq.empty())
          << e << " on " << r << ": jq '" << why_jq << "', fast '" << why_fast << "'";
      if (why_jq.find("Cannot index") != std::string::npos)
        EXPECT_EQ(why_fast, why_jq) << e << " on " << r;
    }
    if (FastFilter::Compile(e)) ++fast_decided;
  }
  EXPECT_GE(fast_decided, 24);  // most of them take the fast path
  EXPECT_TRUE(FastFilter::Compile(R"(.dynamodb.NewImage.tenant == "ACME")"));
  EXPECT_FALSE(FastFilter::Compile(R"(.a | not)"));
  EXPECT_FALSE(FastFilter::Compile(R"(.a[0])"));
}

}  // namespace
}  // namespace millrace::delivery
