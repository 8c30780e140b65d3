// Tests of the on-disk log format (src/log/format.h): every structure round-trips, the
// bytes sit where docs/format/log.md says, and each kind of damage is reported as
// Corruption (one test per case, after LevelDB's log_test).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "common/encoding.h"
#include "log/format.h"

namespace millrace::log {
namespace {

// ---- helpers ----

struct Rec {
  int64_t ts;
  std::string key;
  std::string data;
};

FrameHeader MakeHeader(uint64_t stream, uint32_t shard, uint64_t first_counter, int64_t base_ts,
                       uint32_t count) {
  FrameHeader h;
  h.stream_id = stream;
  h.shard_index = shard;
  h.first_counter = first_counter;
  h.base_timestamp_ms = base_ts;
  h.record_count = count;
  return h;
}

std::string BuildFrame(const FrameHeader& h, const std::vector<Rec>& recs) {
  std::string payload;
  for (const Rec& r : recs) AppendRecordPayload(&payload, h.base_timestamp_ms, r.ts, r.key, r.data);
  std::string out;
  EncodeFrame(h, payload, &out);
  return out;
}

// A typical frame: three records of shard (7, 3) starting at counter 100.
std::string SampleFrame() {
  return BuildFrame(MakeHeader(7, 3, 100, 1'700'000'000'000, 3),
                    {{1'700'000'000'000, "k1", "alpha"},
                     {1'700'000'000'005, "", ""},
                     {1'700'000'000'009, "key-three", std::string("\0\xff\x01", 3)}});
}

// Recomputes the CRC of a frame after a test edited its bytes, so that only the edit is
// wrong (not the checksum).
void Reseal(std::string* frame) {
  uint32_t masked = crc32c::Mask(crc32c::Value(frame->data() + 8, frame->size() - 8));
  std::memcpy(frame->data() + 4, &masked, 4);
}

void PutU32At(std::string* s, size_t off, uint32_t v) { std::memcpy(s->data() + off, &v, 4); }
void PutU64At(std::string* s, size_t off, uint64_t v) { std::memcpy(s->data() + off, &v, 8); }

std::vector<Record> DecodeAll(std::string_view frame, uint64_t from, Status* st,
                              const SealKey* key = nullptr) {
  std::vector<Record> out;
  *st = DecodeFrameRecords(
      frame, from, key,
      [](void* ctx, Record&& r) {
        static_cast<std::vector<Record>*>(ctx)->push_back(std::move(r));
      },
      &out);
  return out;
}

std::vector<FrameEntry> SampleEntries(uint64_t segment) {
  std::vector<FrameEntry> v;
  for (uint32_t i = 0; i < 5; ++i) {
    FrameEntry e;
    e.stream_id = 1000 + i;
    e.shard_index = i * 3;
    e.record_count = 10 + i;
    e.segment = segment;
    e.offset = kSegmentHeaderSize + i * 4096;
    e.frame_len = 4000 + i;
    e.first_counter = (uint64_t{1} << 40) + i * 17;
    e.first_ts = -5 + i;  // negative timestamps must survive too
    e.last_ts = 1'700'000'000'000 + i;
    v.push_back(e);
  }
  return v;
}

std::vector<FrameEntry> DecodeIndexEntries(std::string_view idx, uint64_t segment,
                                           uint64_t* covered, Status* st) {
  std::vector<FrameEntry> out;
  *st = DecodeIndex(
      idx, segment, covered,
      [](void* ctx, const FrameEntry& e) {
        static_cast<std::vector<FrameEntry>*>(ctx)->push_back(e);
      },
      &out);
  return out;
}

// ---- segment header ----

TEST(LogSegmentHeader, RoundTrip) {
  std::string h;
  EncodeSegmentHeader(42, 1'700'000'000'123, &h);
  ASSERT_EQ(h.size(), kSegmentHeaderSize);
  EXPECT_TRUE(DecodeSegmentHeader(h, 42).ok());
}

TEST(LogSegmentHeader, LayoutMatchesTheDocument) {
  std::string h = "prefix";  // encoding appends
  EncodeSegmentHeader(0x0102030405060708ull, -7, &h);
  std::string_view b = std::string_view(h).substr(6);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(b.substr(0, 8), "MRSEG001");
  EXPECT_EQ(DecodeFixed64(b.data() + 8), 0x0102030405060708ull);
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64(b.data() + 16)), -7);
  EXPECT_EQ(DecodeFixed32(b.data() + 24), 0u);
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(b.data() + 28)), crc32c::Value(b.data(), 28));
}

TEST(LogSegmentHeader, Truncated) {
  std::string h;
  EncodeSegmentHeader(1, 0, &h);
  for (size_t n : {size_t{0}, size_t{8}, kSegmentHeaderSize - 1}) {
    Status st = DecodeSegmentHeader(std::string_view(h).substr(0, n), 1);
    EXPECT_EQ(st.code(), Code::kCorruption) << n;
  }
}

TEST(LogSegmentHeader, BadMagic) {
  std::string h;
  EncodeSegmentHeader(1, 0, &h);
  h[3] = 'X';
  EXPECT_EQ(DecodeSegmentHeader(h, 1).code(), Code::kCorruption);
}

TEST(LogSegmentHeader, BadCrc) {
  std::string h;
  EncodeSegmentHeader(1, 0, &h);
  h[17] ^= 1;  // inside the creation time
  EXPECT_EQ(DecodeSegmentHeader(h, 1).code(), Code::kCorruption);
  std::string h2;
  EncodeSegmentHeader(1, 0, &h2);
  h2[30] ^= 1;  // inside the stored CRC
  EXPECT_EQ(DecodeSegmentHeader(h2, 1).code(), Code::kCorruption);
}

TEST(LogSegmentHeader, NamesAnotherSegment) {
  std::string h;
  EncodeSegmentHeader(5, 0, &h);
  EXPECT_EQ(DecodeSegmentHeader(h, 6).code(), Code::kCorruption);
}

// ---- frames ----

TEST(LogFrame, RoundTrip) {
  std::string f = SampleFrame();
  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(f, &h).ok());
  EXPECT_EQ(h.payload_len, f.size() - kFrameHeaderSize);
  EXPECT_EQ(h.record_count, 3u);
  EXPECT_EQ(h.stream_id, 7u);
  EXPECT_EQ(h.shard_index, 3u);
  EXPECT_EQ(h.type, kFrameTypeRecords);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.first_counter, 100u);
  EXPECT_EQ(h.base_timestamp_ms, 1'700'000'000'000);
  EXPECT_TRUE(VerifyFrame(f));

  Status st;
  std::vector<Record> recs = DecodeAll(f, 0, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].counter, 100u);
  EXPECT_EQ(recs[0].arrival_ms, 1'700'000'000'000);
  EXPECT_EQ(recs[0].partition_key, "k1");
  EXPECT_EQ(recs[0].data, "alpha");
  EXPECT_EQ(recs[1].counter, 101u);
  EXPECT_EQ(recs[1].arrival_ms, 1'700'000'000'005);
  EXPECT_EQ(recs[1].partition_key, "");
  EXPECT_EQ(recs[1].data, "");
  EXPECT_EQ(recs[2].counter, 102u);
  EXPECT_EQ(recs[2].arrival_ms, 1'700'000'000'009);
  EXPECT_EQ(recs[2].partition_key, "key-three");
  EXPECT_EQ(recs[2].data, std::string("\0\xff\x01", 3));
}

TEST(LogFrame, RoundTripBinaryAndLargeData) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  std::string key(256, 'k');
  // Timestamps below the base and far above it exercise the zigzag deltas.
  FrameHeader h = MakeHeader(~uint64_t{0}, ~uint32_t{0}, ~uint64_t{0} - 10, 50, 3);
  std::string f = BuildFrame(h, {{50, key, every_byte}, {-1000, "a", big}, {1LL << 50, "b", ""}});
  ASSERT_TRUE(VerifyFrame(f));
  Status st;
  std::vector<Record> recs = DecodeAll(f, 0, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].data, every_byte);
  EXPECT_EQ(recs[0].partition_key, key);
  EXPECT_EQ(recs[1].data, big);
  EXPECT_EQ(recs[1].arrival_ms, -1000);
  EXPECT_EQ(recs[2].arrival_ms, 1LL << 50);
  EXPECT_EQ(recs[2].counter, ~uint64_t{0} - 8);
}

TEST(LogFrame, NoRecords) {
  FrameHeader h = MakeHeader(1, 0, 0, 0, 0);
  std::string f = BuildFrame(h, {});
  EXPECT_EQ(f.size(), kFrameHeaderSize);
  EXPECT_TRUE(VerifyFrame(f));
  Status st;
  EXPECT_TRUE(DecodeAll(f, 0, &st).empty());
  EXPECT_TRUE(st.ok());
}

TEST(LogFrame, LayoutMatchesTheDocument) {
  std::string f = SampleFrame();
  const char* p = f.data();
  EXPECT_EQ(std::string_view(p, 4), "MRFR");  // kFrameMagic, little-endian
  EXPECT_EQ(DecodeFixed32(p), kFrameMagic);
  // The CRC covers bytes [8, end): everything but the magic and itself.
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(p + 4)), crc32c::Value(p + 8, f.size() - 8));
  EXPECT_EQ(DecodeFixed32(p + 8), f.size() - 48);
  EXPECT_EQ(DecodeFixed32(p + 12), 3u);
  EXPECT_EQ(DecodeFixed64(p + 16), 7u);
  EXPECT_EQ(DecodeFixed32(p + 24), 3u);
  EXPECT_EQ(static_cast<uint8_t>(p[28]), kFrameTypeRecords);
  EXPECT_EQ(p[29], 0);
  EXPECT_EQ(p[30], 0);
  EXPECT_EQ(p[31], 0);
  EXPECT_EQ(DecodeFixed64(p + 32), 100u);
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64(p + 40)), 1'700'000'000'000);
  // First record: zigzag(0)=0, key length 2, "k1", data length 5, "alpha".
  EXPECT_EQ(std::string_view(p + 48, 10), std::string_view("\x00\x02k1\x05"
                                                           "alpha",
                                                           10));
}

TEST(LogFrame, EncodeAppendsAfterExistingBytes) {
  std::string out = "xyz";
  std::string f = SampleFrame();
  std::string payload = f.substr(kFrameHeaderSize);
  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(f, &h).ok());
  EncodeFrame(h, payload, &out);
  EXPECT_EQ(out.substr(0, 3), "xyz");
  EXPECT_EQ(out.substr(3), f);
}

TEST(LogFrame, FromCounterSkipsEarlierRecords) {
  std::string f = SampleFrame();
  Status st;
  std::vector<Record> recs = DecodeAll(f, 102, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].counter, 102u);
  EXPECT_TRUE(DecodeAll(f, 103, &st).empty());
  EXPECT_TRUE(st.ok());
}

TEST(LogFrame, BadMagic) {
  std::string f = SampleFrame();
  f[0] ^= 0x01;
  FrameHeader h;
  EXPECT_EQ(DecodeFrameHeader(f, &h).code(), Code::kCorruption);
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, BadCrcInPayload) {
  std::string f = SampleFrame();
  f[kFrameHeaderSize + 4] ^= 0x20;
  FrameHeader h;
  EXPECT_TRUE(DecodeFrameHeader(f, &h).ok());  // the header alone cannot tell
  EXPECT_FALSE(VerifyFrame(f));
}

TEST(LogFrame, BadCrcInHeaderField) {
  // Every header byte after the CRC field is covered by the CRC.
  std::string good = SampleFrame();
  for (size_t off = 8; off < kFrameHeaderSize; ++off) {
    std::string f = good;
    f[off] ^= 0x01;
    EXPECT_FALSE(VerifyFrame(f)) << "offset " << off;
  }
}

TEST(LogFrame, BadCrcField) {
  std::string f = SampleFrame();
  f[5] ^= 0x80;
  EXPECT_FALSE(VerifyFrame(f));
}

TEST(LogFrame, TruncatedHeader) {
  std::string f = SampleFrame();
  for (size_t n : {size_t{0}, size_t{4}, kFrameHeaderSize - 1}) {
    std::string_view cut = std::string_view(f).substr(0, n);
    FrameHeader h;
    EXPECT_EQ(DecodeFrameHeader(cut, &h).code(), Code::kCorruption) << n;
    EXPECT_FALSE(VerifyFrame(cut)) << n;
    Status st;
    DecodeAll(cut, 0, &st);
    EXPECT_EQ(st.code(), Code::kCorruption) << n;
  }
}

TEST(LogFrame, TruncatedPayload) {
  std::string f = SampleFrame();
  for (size_t n : {kFrameHeaderSize, kFrameHeaderSize + 1, f.size() - 1}) {
    std::string_view cut = std::string_view(f).substr(0, n);
    EXPECT_FALSE(VerifyFrame(cut)) << n;
    Status st;
    DecodeAll(cut, 0, &st);
    EXPECT_EQ(st.code(), Code::kCorruption) << n;
  }
}

TEST(LogFrame, LengthMismatchLongerThanHeaderSays) {
  std::string f = SampleFrame() + "extra";
  Reseal(&f);  // the CRC holds; only the length is wrong
  EXPECT_TRUE(VerifyFrame(f));
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, LengthMismatchHeaderSaysMore) {
  std::string f = SampleFrame();
  PutU32At(&f, 8, static_cast<uint32_t>(f.size() - kFrameHeaderSize + 10));
  Reseal(&f);
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, PayloadLengthOutOfRange) {
  std::string f = SampleFrame();
  PutU32At(&f, 8, static_cast<uint32_t>(kMaxFramePayload + 1));
  Reseal(&f);
  FrameHeader h;
  EXPECT_EQ(DecodeFrameHeader(f, &h).code(), Code::kCorruption);
}

TEST(LogFrame, UnknownType) {
  std::string f = SampleFrame();
  f[28] = 9;
  Reseal(&f);
  FrameHeader h;
  EXPECT_EQ(DecodeFrameHeader(f, &h).code(), Code::kCorruption);
}

TEST(LogFrame, RecordCountLargerThanPayloadHolds) {
  std::string f = SampleFrame();
  PutU32At(&f, 12, 4);
  Reseal(&f);
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, RecordCountSmallerThanPayloadHolds) {
  std::string f = SampleFrame();
  PutU32At(&f, 12, 2);
  Reseal(&f);
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);  // trailing bytes
}

TEST(LogFrame, KeyLengthPastPayloadEnd) {
  std::string payload;
  PutVarint64(&payload, 0);
  PutVarint64(&payload, 1000);  // key length, but only 3 bytes follow
  payload += "abc";
  std::string f;
  EncodeFrame(MakeHeader(1, 0, 0, 0, 1), payload, &f);
  ASSERT_TRUE(VerifyFrame(f));
  Status st;
  EXPECT_TRUE(DecodeAll(f, 0, &st).empty());
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, DataLengthPastPayloadEnd) {
  std::string payload;
  PutVarint64(&payload, 0);
  PutVarint64(&payload, 1);
  payload += "k";
  PutVarint64(&payload, ~uint64_t{0});  // absurd data length
  payload += "d";
  std::string f;
  EncodeFrame(MakeHeader(1, 0, 0, 0, 1), payload, &f);
  Status st;
  EXPECT_TRUE(DecodeAll(f, 0, &st).empty());
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogFrame, OverlongVarint) {
  std::string payload(11, '\x80');  // never terminates within 10 bytes
  std::string f;
  EncodeFrame(MakeHeader(1, 0, 0, 0, 1), payload, &f);
  Status st;
  DecodeAll(f, 0, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

// ---- index ----

TEST(LogIndex, RoundTrip) {
  std::vector<FrameEntry> in = SampleEntries(9);
  std::string idx = EncodeIndex(9, 123456, in.data(), in.size());
  EXPECT_EQ(idx.size(), kIndexHeaderSize + in.size() * kIndexEntrySize + 4);
  uint64_t covered = 0;
  Status st;
  std::vector<FrameEntry> out = DecodeIndexEntries(idx, 9, &covered, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(covered, 123456u);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].stream_id, in[i].stream_id);
    EXPECT_EQ(out[i].shard_index, in[i].shard_index);
    EXPECT_EQ(out[i].record_count, in[i].record_count);
    EXPECT_EQ(out[i].segment, 9u);
    EXPECT_EQ(out[i].offset, in[i].offset);
    EXPECT_EQ(out[i].frame_len, in[i].frame_len);
    EXPECT_EQ(out[i].first_counter, in[i].first_counter);
    EXPECT_EQ(out[i].first_ts, in[i].first_ts);
    EXPECT_EQ(out[i].last_ts, in[i].last_ts);
    EXPECT_EQ(out[i].end_counter(), in[i].first_counter + in[i].record_count);
  }
}

TEST(LogIndex, Empty) {
  std::string idx = EncodeIndex(1, kSegmentHeaderSize, nullptr, 0);
  EXPECT_EQ(idx.size(), kIndexHeaderSize + 4);
  uint64_t covered = 0;
  Status st;
  EXPECT_TRUE(DecodeIndexEntries(idx, 1, &covered, &st).empty());
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(covered, kSegmentHeaderSize);
}

TEST(LogIndex, LayoutMatchesTheDocument) {
  std::vector<FrameEntry> in = SampleEntries(3);
  std::string idx = EncodeIndex(3, 777, in.data(), 1);
  const char* p = idx.data();
  EXPECT_EQ(std::string_view(p, 8), "MRIDX001");
  EXPECT_EQ(DecodeFixed64(p + 8), 3u);
  EXPECT_EQ(DecodeFixed64(p + 16), 777u);
  EXPECT_EQ(DecodeFixed64(p + 24), 1u);
  const char* e = p + kIndexHeaderSize;
  EXPECT_EQ(DecodeFixed64(e), in[0].stream_id);
  EXPECT_EQ(DecodeFixed32(e + 8), in[0].shard_index);
  EXPECT_EQ(DecodeFixed32(e + 12), in[0].record_count);
  EXPECT_EQ(DecodeFixed64(e + 16), in[0].offset);
  EXPECT_EQ(DecodeFixed32(e + 24), in[0].frame_len);
  EXPECT_EQ(DecodeFixed32(e + 28), 0u);
  EXPECT_EQ(DecodeFixed64(e + 32), in[0].first_counter);
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64(e + 40)), in[0].first_ts);
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64(e + 48)), in[0].last_ts);
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(p + idx.size() - 4)), crc32c::Value(p, idx.size() - 4));
}

TEST(LogIndex, BadMagic) {
  std::vector<FrameEntry> in = SampleEntries(1);
  std::string idx = EncodeIndex(1, 100, in.data(), in.size());
  idx[0] = 'X';
  uint64_t covered;
  Status st;
  DecodeIndexEntries(idx, 1, &covered, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogIndex, BadCrc) {
  std::vector<FrameEntry> in = SampleEntries(1);
  std::string good = EncodeIndex(1, 100, in.data(), in.size());
  for (size_t off :
       {size_t{9}, size_t{20}, kIndexHeaderSize + 3, good.size() - 60, good.size() - 1}) {
    std::string idx = good;
    idx[off] ^= 0x04;
    uint64_t covered;
    Status st;
    EXPECT_TRUE(DecodeIndexEntries(idx, 1, &covered, &st).empty()) << off;
    EXPECT_EQ(st.code(), Code::kCorruption) << off;
  }
}

TEST(LogIndex, Truncated) {
  std::vector<FrameEntry> in = SampleEntries(1);
  std::string good = EncodeIndex(1, 100, in.data(), in.size());
  for (size_t n : {size_t{0}, size_t{7}, kIndexHeaderSize, kIndexHeaderSize + 3,
                   kIndexHeaderSize + kIndexEntrySize, good.size() - 1}) {
    uint64_t covered;
    Status st;
    EXPECT_TRUE(DecodeIndexEntries(std::string_view(good).substr(0, n), 1, &covered, &st).empty())
        << n;
    EXPECT_EQ(st.code(), Code::kCorruption) << n;
  }
}

TEST(LogIndex, NamesAnotherSegment) {
  std::vector<FrameEntry> in = SampleEntries(1);
  std::string idx = EncodeIndex(1, 100, in.data(), in.size());
  uint64_t covered;
  Status st;
  DecodeIndexEntries(idx, 2, &covered, &st);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

// Rewrites the entry count and recomputes the trailing CRC, so that only the count is wrong.
std::string IndexWithCount(std::string idx, uint64_t n) {
  PutU64At(&idx, 24, n);
  uint32_t masked = crc32c::Mask(crc32c::Value(idx.data(), idx.size() - 4));
  std::memcpy(idx.data() + idx.size() - 4, &masked, 4);
  return idx;
}

TEST(LogIndex, LengthMismatch) {
  std::vector<FrameEntry> in = SampleEntries(1);
  std::string good = EncodeIndex(1, 100, in.data(), in.size());
  for (uint64_t n : {uint64_t{0}, uint64_t{4}, uint64_t{6}, uint64_t{1000}}) {
    uint64_t covered;
    Status st;
    EXPECT_TRUE(DecodeIndexEntries(IndexWithCount(good, n), 1, &covered, &st).empty()) << n;
    EXPECT_EQ(st.code(), Code::kCorruption) << n;
  }
}

// An entry count so large that count * kIndexEntrySize wraps around to the real length:
// the decoder must not believe it and read past the end.
TEST(LogIndex, EntryCountThatOverflows) {
  std::string empty = EncodeIndex(1, 100, nullptr, 0);
  // 56 * 2^61 = 7 * 2^64, which is 0 modulo 2^64.
  uint64_t n = uint64_t{1} << 61;
  uint64_t covered;
  Status st;
  EXPECT_TRUE(DecodeIndexEntries(IndexWithCount(empty, n), 1, &covered, &st).empty());
  EXPECT_EQ(st.code(), Code::kCorruption);
  // And one that wraps to a single entry's worth: 56 * n == 56 (mod 2^64).
  std::vector<FrameEntry> one = SampleEntries(1);
  std::string idx1 = EncodeIndex(1, 100, one.data(), 1);
  uint64_t n1 = 1 + (uint64_t{1} << 61);
  EXPECT_TRUE(DecodeIndexEntries(IndexWithCount(idx1, n1), 1, &covered, &st).empty());
  EXPECT_EQ(st.code(), Code::kCorruption);
}

// ---- file names ----

TEST(LogFileNames, TwentyDigitsThenTheKind) {
  EXPECT_EQ(SegmentFileName(1), "00000000000000000001.seg");
  EXPECT_EQ(IndexFileName(1), "00000000000000000001.idx");
  EXPECT_EQ(SegmentFileName(~uint64_t{0}), "18446744073709551615.seg");
  EXPECT_EQ(IndexFileName(1234567890), "00000000001234567890.idx");
  // Names sort as the numbers do.
  EXPECT_LT(SegmentFileName(9), SegmentFileName(10));
}

}  // namespace
}  // namespace millrace::log

namespace millrace::log {
namespace {

TEST(LogFrameTimeBounds, FirstAndLastArrivalWithoutDecoding) {
  std::string f = SampleFrame();
  int64_t first = 0, last = 0;
  ASSERT_TRUE(DecodeFrameTimeBounds(f, &first, &last).ok());
  EXPECT_EQ(first, 1'700'000'000'000);
  EXPECT_EQ(last, 1'700'000'000'009);
  // The same structural checks as DecodeFrameRecords: a record count that is one too many.
  std::string bad = f;
  PutU32At(&bad, 12, 4);
  Reseal(&bad);
  EXPECT_EQ(DecodeFrameTimeBounds(bad, &first, &last).code(), Code::kCorruption);
}

// ---- sealed frames ----

SealKey TestKey(char fill) { return SealKey{std::string(16, fill), std::string(32, fill + 1)}; }

// A sealed frame of `recs` under `key`, as the journal's commit thread writes one.
std::string BuildSealedFrame(const FrameHeader& header, const std::vector<Rec>& recs,
                             const SealKey& key) {
  FrameHeader h = header;
  h.flags |= kFrameSealed;
  std::string out;
  size_t start = BeginFrame(h, &out);
  FrameSealer sealer;
  sealer.Begin(key, &out);
  for (uint32_t i = 0; i < recs.size(); ++i)
    sealer.AppendRecord(h, i, recs[i].ts, recs[i].key, recs[i].data, &out);
  FinishFrame(start, &out);
  return out;
}

TEST(LogSealedFrame, RoundTripsWithItsKeyAndHidesKeysAndData) {
  const SealKey key = TestKey('a');
  const std::vector<Rec> recs = {{1'700'000'000'000, "customer-4711", "secret payload"},
                                 {1'700'000'000'003, "k", ""},
                                 {1'700'000'000'009, "k2", std::string(5000, 'z')}};
  std::string frame = BuildSealedFrame(MakeHeader(7, 3, 100, 1'700'000'000'000, 3), recs, key);
  ASSERT_TRUE(VerifyFrame(frame));
  EXPECT_EQ(SealKeyIdOf(frame), key.id);
  EXPECT_EQ(frame.find("secret payload"), std::string::npos);
  EXPECT_EQ(frame.find("customer-4711"), std::string::npos);
  // The time bounds (recovery) need no key.
  int64_t first = 0, last = 0;
  ASSERT_TRUE(DecodeFrameTimeBounds(frame, &first, &last).ok());
  EXPECT_EQ(first, 1'700'000'000'000);
  EXPECT_EQ(last, 1'700'000'000'009);
  Status st;
  std::vector<Record> got = DecodeAll(frame, 101, &st, &key);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].counter, 101u);
  EXPECT_EQ(got[0].partition_key, "k");
  EXPECT_EQ(got[0].data, "");
  EXPECT_EQ(got[1].data, std::string(5000, 'z'));
  EXPECT_TRUE(got[1].sealed);
  // Without its key, or with another key's, nothing is decoded.
  DecodeAll(frame, 0, &st, nullptr);
  EXPECT_FALSE(st.ok());
  SealKey other = TestKey('a');
  other.material[0] ^= 1;
  got = DecodeAll(frame, 0, &st, &other);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_TRUE(got.empty());
}

TEST(LogSealedFrame, TwoFramesOfTheSameRecordsDiffer) {
  const SealKey key = TestKey('b');
  FrameHeader h = MakeHeader(1, 0, 0, 1000, 1);
  EXPECT_NE(BuildSealedFrame(h, {{1000, "k", "same"}}, key),
            BuildSealedFrame(h, {{1000, "k", "same"}}, key));  // a fresh salt each
}

TEST(LogSealedFrame, ARecordMovedToAnotherStreamOrCounterFailsToOpen) {
  const SealKey key = TestKey('c');
  std::string frame = BuildSealedFrame(MakeHeader(7, 3, 100, 1000, 1), {{1000, "k", "v"}}, key);
  for (size_t field : {size_t{16}, size_t{24}, size_t{32}}) {  // stream, shard, first counter
    std::string moved = frame;
    moved[field] ^= 1;
    Reseal(&moved);
    Status st;
    std::vector<Record> got = DecodeAll(moved, 0, &st, &key);
    EXPECT_EQ(st.code(), Code::kCorruption) << "header offset " << field;
    EXPECT_TRUE(got.empty());
  }
  std::string flipped = frame;
  flipped[flipped.size() - 1] ^= 1;  // the tag
  Reseal(&flipped);
  Status st;
  DecodeAll(flipped, 0, &st, &key);
  EXPECT_EQ(st.code(), Code::kCorruption);
}

TEST(LogSealedFrame, PrefixAndTagsAreChecked) {
  FrameHeader h = MakeHeader(1, 0, 0, 1000, 1);
  h.flags = kFrameSealed;
  std::string frame;
  EncodeFrame(h, std::string(kSealPrefixSize - 1, 'x'), &frame);  // prefix cut short
  int64_t a, b;
  EXPECT_EQ(DecodeFrameTimeBounds(frame, &a, &b).code(), Code::kCorruption);
  std::string payload(kSealPrefixSize, 'x');
  AppendRecordPayload(&payload, 1000, 1000, "k", "short");  // data shorter than a tag
  frame.clear();
  EncodeFrame(h, payload, &frame);
  EXPECT_EQ(DecodeFrameTimeBounds(frame, &a, &b).code(), Code::kCorruption);
}

}  // namespace
}  // namespace millrace::log
