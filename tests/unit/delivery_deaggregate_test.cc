// Multi-record deaggregation (src/delivery/deaggregate.h): Firehose's RecordDeAggregation,
// JSON objects one after another or pieces between a delimiter.
#include <gtest/gtest.h>

#include <string>

#include "delivery/deaggregate.h"

namespace millrace::delivery {
namespace {

using Pieces = std::vector<std::string_view>;

TEST(Deaggregate, JsonObjectsBackToBackOrOnePerLine) {
  Pieces out;
  ASSERT_TRUE(SplitJsonObjects(R"({"a":1}{"a":2})", &out));
  EXPECT_EQ(out, (Pieces{R"({"a":1})", R"({"a":2})"}));
  ASSERT_TRUE(SplitJsonObjects("{\"a\":1}\n{\"b\":{\"c\":[1,{\"d\":\"}{\"}]}}\r\n \n", &out));
  EXPECT_EQ(out, (Pieces{R"({"a":1})", R"({"b":{"c":[1,{"d":"}{"}]}})"}));
  ASSERT_TRUE(SplitJsonObjects(R"({"s":"a \"quoted\" } brace"})", &out));
  EXPECT_EQ(out.size(), 1u);
}

TEST(Deaggregate, AnythingElseIsNotSplit) {
  Pieces out;
  for (const char* bad : {R"([{"a":1},{"a":2}])", "42", R"({"a":1} 7)", R"({"a":1}{"a":)",
                          R"({"a":1}{"a" 2})", "", "   ", R"({"a":1}x)"}) {
    EXPECT_FALSE(SplitJsonObjects(bad, &out)) << bad;
    EXPECT_TRUE(out.empty()) << bad;
  }
}

TEST(Deaggregate, AtMostFiveHundredPieces) {
  std::string many;
  for (size_t i = 0; i < kMaxSubRecords; ++i) many += R"({"i":)" + std::to_string(i) + "}";
  Pieces out;
  ASSERT_TRUE(SplitJsonObjects(many, &out));
  EXPECT_EQ(out.size(), kMaxSubRecords);
  EXPECT_FALSE(SplitJsonObjects(many + R"({"i":500})", &out));
  std::string lines;
  for (size_t i = 0; i <= kMaxSubRecords; ++i) lines += "x##";
  EXPECT_FALSE(SplitDelimited(lines, "##", &out));
}

TEST(Deaggregate, Delimited) {
  Pieces out;
  ASSERT_TRUE(SplitDelimited("a####bc####d", "####", &out));
  EXPECT_EQ(out, (Pieces{"a", "bc", "d"}));
  ASSERT_TRUE(SplitDelimited("a|b|", "|", &out));
  EXPECT_EQ(out, (Pieces{"a", "b"}));
  ASSERT_TRUE(SplitDelimited("whole", "|", &out));
  EXPECT_EQ(out, (Pieces{"whole"}));
  EXPECT_FALSE(SplitDelimited("a||b", "|", &out));
  EXPECT_FALSE(SplitDelimited("|a", "|", &out));
  EXPECT_FALSE(SplitDelimited("a", "", &out));
  EXPECT_FALSE(SplitDelimited("", "|", &out));
}

}  // namespace
}  // namespace millrace::delivery
