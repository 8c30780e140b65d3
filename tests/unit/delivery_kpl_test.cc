// KPL aggregated records: user records out of a well-formed one; anything else is not one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto.h"
#include "delivery/kpl.h"

namespace millrace::delivery {
namespace {

void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void Field(std::string* out, int field, std::string_view bytes) {
  Varint(out, static_cast<uint64_t>(field) << 3 | 2);
  Varint(out, bytes.size());
  out->append(bytes);
}

std::string Record(uint64_t key_index, std::string_view data) {
  std::string r;
  Varint(&r, 1 << 3 | 0);
  Varint(&r, key_index);
  Field(&r, 3, data);
  return r;
}

std::string Aggregate(const std::string& message) {
  std::string out("\xF3\x89\x9A\xC2", 4);
  out += message;
  crypto::Digest16 md5 = crypto::Md5(message);
  out.append(reinterpret_cast<const char*>(md5.data()), md5.size());
  return out;
}

std::string Sample() {
  std::string m;
  Field(&m, 1, "user-1");
  Field(&m, 1, "user-2");
  Field(&m, 3, Record(0, R"({"n": 1})"));
  Field(&m, 3, Record(1, R"({"n": 2})"));
  Field(&m, 3, Record(0, std::string("\0binary", 7)));
  return m;
}

TEST(Kpl, UserRecordsComeOutInOrderWithTheirKeys) {
  std::vector<UserRecord> out;
  ASSERT_TRUE(Deaggregate(Aggregate(Sample()), &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].partition_key, "user-1");
  EXPECT_EQ(out[0].data, R"({"n": 1})");
  EXPECT_EQ(out[1].partition_key, "user-2");
  EXPECT_EQ(out[2].data, std::string("\0binary", 7));
}

TEST(Kpl, AnythingElseIsAnOrdinaryRecord) {
  std::vector<UserRecord> out;
  std::string good = Aggregate(Sample());
  std::string bad_md5 = good;
  bad_md5.back() ^= 1;
  std::string bad_index;
  Field(&bad_index, 1, "only");
  Field(&bad_index, 3, Record(5, "x"));
  std::string truncated = Sample().substr(0, Sample().size() - 3);
  for (const std::string& data :
       {std::string(R"({"plain": "json"})"), bad_md5, Aggregate(bad_index), Aggregate(truncated),
        good.substr(0, 10), std::string("\xF3\x89\x9A\xC2", 4)}) {
    EXPECT_FALSE(Deaggregate(data, &out));
    EXPECT_TRUE(out.empty());
  }
}

}  // namespace
}  // namespace millrace::delivery
