// The event stream framing (kinesis/eventstream.h) against bytes built independently
// (Python's struct and zlib.crc32), as docs/format/eventstream.md shows them.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "kinesis/eventstream.h"

namespace millrace::kinesis {
namespace {

TEST(EventStream, InitialResponseByteForByte) {
  std::string out;
  AppendEvent("initial-response", "application/x-amz-json-1.1", "{}", &out);
  EXPECT_EQ(HexEncode(out),
            "0000007200000060ab820d9e0b3a6576656e742d74797065070010696e697469616c2d726573706f6e7365"
            "0d3a636f6e74656e742d7479706507001a6170706c69636174696f6e2f782d616d7a2d6a736f6e2d312e31"
            "0d3a6d6573736167652d747970650700056576656e747b7dacae6b7d");
}

uint32_t BigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

TEST(EventStream, MessagesFollowEachOtherWithTheirOwnLengths) {
  std::string out;
  AppendEvent("SubscribeToShardEvent", "application/x-amz-json-1.1", "{\"Records\":[]}", &out);
  const size_t first = out.size();
  AppendException("ResourceNotFoundException", "application/x-amz-json-1.1", "{}", &out);
  EXPECT_EQ(BigEndian32(out.data()), first);
  EXPECT_EQ(BigEndian32(out.data() + first), out.size() - first);
  EXPECT_NE(out.find(":exception-type"), std::string::npos);
  EXPECT_NE(out.find("ResourceNotFoundException"), std::string::npos);
}

}  // namespace
}  // namespace millrace::kinesis
