#include <gtest/gtest.h>

#include "delivery/partition_query.h"
#include "delivery/spec.h"

namespace millrace::delivery {
namespace {

formats::PartitionValues Values(PartitionQuery& q, std::string_view record, std::string* why) {
  formats::PartitionValues v;
  EXPECT_EQ(q.Extract(record, &v, why), why->empty()) << *why;
  return v;
}

TEST(PartitionQuery, FirehoseStyleQueryGivesStringsNumbersAndBooleans) {
  auto q = PartitionQuery::Compile("{customer: .customer_id, year: .at[0:4], paid: .paid}");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::string why;
  auto v = Values(**q, R"({"customer_id": 42, "at": "2024-03-01", "paid": true})", &why);
  EXPECT_EQ(v, (formats::PartitionValues{{"customer", "42"}, {"year", "2024"}, {"paid", "true"}}));
  v = Values(**q, R"({"customer_id": "acme-1", "at": "2025-01-01", "paid": false})", &why);
  EXPECT_EQ(v.at("customer"), "acme-1");
}

TEST(PartitionQuery, RecordsWhoseKeysCannotBeReadFailWithTheReason) {
  auto q = PartitionQuery::Compile("{customer: .customer_id}");
  ASSERT_TRUE(q.ok());
  formats::PartitionValues v;
  std::string why;
  EXPECT_FALSE((*q)->Extract("not json", &v, &why));
  EXPECT_NE(why.find("not one JSON value"), std::string::npos) << why;
  EXPECT_FALSE((*q)->Extract(R"({"other": 1})", &v, &why));  // null
  EXPECT_NE(why.find("customer"), std::string::npos) << why;
  EXPECT_FALSE((*q)->Extract(R"({"customer_id": "../etc"})", &v, &why));  // would leave the folder
  EXPECT_NE(why.find("cannot be part of an object key"), std::string::npos) << why;
  EXPECT_FALSE((*q)->Extract(R"({"customer_id": "a/b"})", &v, &why));
  EXPECT_FALSE((*q)->Extract(R"({"customer_id": ""})", &v, &why));
  EXPECT_FALSE((*q)->Extract(R"({"customer_id": {"x": 1}})", &v, &why));
  EXPECT_TRUE(v.empty());
  auto not_object = PartitionQuery::Compile(".customer_id");
  ASSERT_TRUE(not_object.ok());
  EXPECT_FALSE((*not_object)->Extract(R"({"customer_id": "x"})", &v, &why));
  EXPECT_NE(why.find("object"), std::string::npos) << why;
  auto errs = PartitionQuery::Compile("{k: (.a | error(\"boom\"))}");
  ASSERT_TRUE(errs.ok());
  EXPECT_FALSE((*errs)->Extract(R"({"a": 1})", &v, &why));
  EXPECT_NE(why.find("boom"), std::string::npos) << why;
}

TEST(PartitionQuery, TheFastPathAnswersAsJq) {
  auto fast = PartitionQuery::Compile("{customer: .customer_id, \"r\": .a.b}");
  auto jq = PartitionQuery::Compile("({customer: .customer_id, \"r\": .a.b}) | .");
  ASSERT_TRUE(fast.ok() && jq.ok());
  EXPECT_TRUE((*fast)->fast());
  EXPECT_FALSE((*jq)->fast());
  for (const char* record :
       {R"({"customer_id": 42, "a": {"b": "x"}})", R"({"customer_id": "acme", "a": {"b": true}})",
        R"({"customer_id": 1.5, "a": {"b": "x"}})",
        R"({"customer_id": 9007199254740993, "a": {"b": 1}})",
        R"({"customer_id": -7, "a": {"b": "x"}, "customer_id": "last"})",
        R"({"customer_id": "x", "a": "not an object"})", R"({"customer_id": "x"})",
        R"({"customer_id": null, "a": {"b": "x"}})", R"({"customer_id": [1], "a": {"b": "x"}})",
        R"({"customer_id": "a/b", "a": {"b": "x"}})", R"([1, 2])", "garbage", "1e400"}) {
    formats::PartitionValues a, b;
    std::string why_a, why_b;
    const bool ok_a = (*fast)->Extract(record, &a, &why_a);
    const bool ok_b = (*jq)->Extract(record, &b, &why_b);
    EXPECT_EQ(ok_a, ok_b) << record;
    EXPECT_EQ(a, b) << record;
    EXPECT_EQ(why_a, why_b) << record;
  }
  for (const char* outside : {".customer", "{customer}", "{a: .b, a: .c}", "{a: .b[0]}",
                              "{a: .b} | .", "{\"a\\n\": .b}"}) {
    auto q = PartitionQuery::Compile(outside);
    if (q.ok()) EXPECT_FALSE((*q)->fast()) << outside;
  }
}

TEST(PartitionQuery, TheConsumerSpecCarriesAndChecksIt) {
  auto c = ParseConsumer(
      R"({"name": "c", "stream": "s", "dataset": "d", "partition_query": "{k: .k}"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->partition_query, "{k: .k}");
  EXPECT_TRUE(CheckFilter(*c).ok());
  auto again = ParseConsumer(ConsumerJson(*c));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->partition_query, "{k: .k}");
  c->partition_query = "{k: .k";
  Status st = CheckFilter(*c);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("partition_query"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace millrace::delivery
