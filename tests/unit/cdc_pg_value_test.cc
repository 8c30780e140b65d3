// Column values as JSON in both image formats (docs/format/change-record.md).
#include <gtest/gtest.h>

#include "cdc/pg_value.h"

namespace millrace::cdc {
namespace {

std::string Plain(const TypeMap& types, uint32_t oid, std::string_view text) {
  std::string out;
  AppendValue(types, oid, text, ImageFormat::kPlain, &out);
  return out;
}
std::string Dynamo(const TypeMap& types, uint32_t oid, std::string_view text) {
  std::string out;
  AppendValue(types, oid, text, ImageFormat::kDynamoDb, &out);
  return out;
}

TEST(PgValue, NumbersAreNumbersWhereExact) {
  TypeMap t;
  EXPECT_EQ(Plain(t, oid::kInt8, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Plain(t, oid::kInt2, "-5"), "-5");
  EXPECT_EQ(Plain(t, oid::kFloat8, "1e+30"), "1e+30");
  EXPECT_EQ(Plain(t, oid::kFloat8, "NaN"), "\"NaN\"");
  EXPECT_EQ(Plain(t, oid::kFloat4, "-Infinity"), "\"-Infinity\"");
  EXPECT_EQ(Plain(t, oid::kNumeric, "12.50"), "12.50");
  EXPECT_EQ(Plain(t, oid::kNumeric, "123456789012345"), "123456789012345");
  EXPECT_EQ(Plain(t, oid::kNumeric, "1234567890123456"), "\"1234567890123456\"");
  EXPECT_EQ(Plain(t, oid::kNumeric, "0.000000000000000001"), "0.000000000000000001");
  EXPECT_EQ(Plain(t, oid::kNumeric, "1.0000000000000001"), "\"1.0000000000000001\"");
  EXPECT_EQ(Plain(t, oid::kMoney, "$1,000.00"), "\"$1,000.00\"");
  EXPECT_EQ(Dynamo(t, oid::kNumeric, "12.50"), "{\"N\":\"12.50\"}");
  EXPECT_EQ(Dynamo(t, oid::kFloat8, "NaN"), "{\"S\":\"NaN\"}");
}

TEST(PgValue, TimesBoolBytesAndJson) {
  TypeMap t;
  EXPECT_EQ(Plain(t, oid::kTimestampTz, "2026-12-05 21:04:05.123456+00"),
            "\"2026-12-05T21:04:05.123456Z\"");
  EXPECT_EQ(Plain(t, oid::kTimestampTz, "2026-12-05 21:04:05+05:30"),
            "\"2026-12-05T21:04:05+05:30\"");
  EXPECT_EQ(Plain(t, oid::kTimestampTz, "infinity"), "\"infinity\"");
  EXPECT_EQ(Plain(t, oid::kTimestamp, "2026-12-05 21:04:05"), "\"2026-12-05T21:04:05\"");
  EXPECT_EQ(Plain(t, oid::kTimestamp, "0044-03-15 12:00:00 BC"), "\"0044-03-15 12:00:00 BC\"");
  EXPECT_EQ(Plain(t, oid::kBool, "t"), "true");
  EXPECT_EQ(Dynamo(t, oid::kBool, "f"), "{\"BOOL\":false}");
  EXPECT_EQ(Plain(t, oid::kBytea, "\\x0001ff"), "\"AAH/\"");
  EXPECT_EQ(Dynamo(t, oid::kBytea, "\\x"), "{\"B\":\"\"}");
  EXPECT_EQ(Plain(t, oid::kJsonb, "{\"a\": [1, \"x\"]}"), "{\"a\": [1, \"x\"]}");
  EXPECT_EQ(
      Dynamo(t, oid::kJsonb, "{\"a\": [1, \"x\", true, null]}"),
      "{\"M\":{\"a\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"},{\"BOOL\":true},{\"NULL\":true}]}}}");
  // Found by the fuzzer: text that is not JSON stays a string, so the record stays JSON.
  EXPECT_EQ(Plain(t, oid::kJson, "{not json"), "\"{not json\"");
  EXPECT_EQ(Dynamo(t, oid::kJson, "{not json"), "{\"S\":\"{not json\"}");
  EXPECT_EQ(Plain(t, 25, "tab\there \"q\""), "\"tab\\there \\\"q\\\"\"");
  std::string null;
  AppendNull(ImageFormat::kDynamoDb, &null);
  EXPECT_EQ(null, "{\"NULL\":true}");
}

TEST(PgValue, ArraysOfAnyElementTypeAndDomains) {
  TypeMap t;
  t.Add({1007, "_int4", 'A', 23});
  t.Add({1009, "_text", 'A', 25});
  t.Add({1000, "_bool", 'A', oid::kBool});
  t.Add({90000, "posint", 'N', 0, ',', 23});  // a domain over int4
  EXPECT_EQ(Plain(t, 1007, "{1,NULL,3}"), "[1,null,3]");
  EXPECT_EQ(Plain(t, 1007, "{{1,2},{3,4}}"), "[[1,2],[3,4]]");
  EXPECT_EQ(Plain(t, 1007, "[0:1]={7,8}"), "[7,8]");
  EXPECT_EQ(Plain(t, 1007, "{}"), "[]");
  EXPECT_EQ(Plain(t, 1009, "{\"a b\",\"q\\\"x\",NULL,\"NULL\",c}"),
            "[\"a b\",\"q\\\"x\",null,\"NULL\",\"c\"]");
  EXPECT_EQ(Dynamo(t, 1000, "{t,f}"), "{\"L\":[{\"BOOL\":true},{\"BOOL\":false}]}");
  EXPECT_EQ(Plain(t, 90000, "5"), "5");
  // Not an array literal after all: its text, never a half-built array.
  EXPECT_EQ(Plain(t, 1007, "{1,2"), "\"{1,2\"");
  // An unknown type is its text.
  EXPECT_EQ(Plain(t, 123456, "(1,2)"), "\"(1,2)\"");
}

TEST(CopyText, EscapesAndNull) {
  std::string out;
  EXPECT_FALSE(DecodeCopyField("\\N", &out));
  EXPECT_TRUE(DecodeCopyField("a\\tb\\nc\\\\d\\101\\x41", &out));
  EXPECT_EQ(out, "a\tb\nc\\dAA");
  EXPECT_TRUE(DecodeCopyField("", &out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(DecodeCopyField("\\\\N", &out));
  EXPECT_EQ(out, "\\N");
}

}  // namespace
}  // namespace millrace::cdc
