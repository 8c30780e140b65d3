// The on-disk log format, pinned to docs/format/log.md. Every constant and layout here has
// a line in that document; the static_asserts keep the two from drifting apart.
//
// A log directory holds numbered segments (`<20-digit number>.seg`), each a header followed
// by frames, and for every sealed segment an index (`<number>.idx`) listing its frames.
// A frame is a batch of consecutive records of one shard, checksummed as a whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace millrace::log {

// Segment header: magic[8] "MRSEG001", u64 segment number, i64 created (ms since epoch),
// u32 reserved (0), u32 masked CRC-32C of bytes [0, 28).
inline constexpr char kSegmentMagic[8] = {'M', 'R', 'S', 'E', 'G', '0', '0', '1'};
inline constexpr size_t kSegmentHeaderSize = 32;

// Frame header: u32 magic, u32 masked CRC-32C of bytes [8, 48 + payload_len), u32 payload
// length, u32 record count, u64 stream id, u32 shard index, u16 type, u16 flags,
// u64 first counter, i64 base timestamp (ms). Then the payload.
inline constexpr uint32_t kFrameMagic = 0x5246524du;  // bytes "MRFR"
inline constexpr size_t kFrameHeaderSize = 48;
inline constexpr uint16_t kFrameTypeRecords = 1;
// Frame flags. Sealed: the records' partition keys and data are encrypted (AES-256-GCM);
// the payload starts with the sealing key's id and a random salt.
inline constexpr uint16_t kFrameSealed = 1;
inline constexpr size_t kSealKeyIdSize = 16;
inline constexpr size_t kSealSaltSize = 16;
inline constexpr size_t kSealPrefixSize = kSealKeyIdSize + kSealSaltSize;
inline constexpr size_t kSealTagSize = 16;  // after each sealed record's data
// A frame never exceeds this (a shard's records in one group commit are split to fit).
inline constexpr size_t kMaxFramePayload = 64u << 20;

// Index file: magic[8] "MRIDX001", u64 segment number, u64 covered length of the segment,
// u64 entry count, then entries, then u32 masked CRC-32C of everything before it.
inline constexpr char kIndexMagic[8] = {'M', 'R', 'I', 'D', 'X', '0', '0', '1'};
inline constexpr size_t kIndexHeaderSize = 32;
// Index entry: u64 stream id, u32 shard index, u32 record count, u64 frame offset,
// u32 frame length (header + payload), u32 reserved, u64 first counter,
// i64 first timestamp, i64 last timestamp.
inline constexpr size_t kIndexEntrySize = 56;

struct FrameHeader {
  uint32_t payload_len = 0;
  uint32_t record_count = 0;
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  uint16_t type = kFrameTypeRecords;
  uint16_t flags = 0;
  uint64_t first_counter = 0;
  int64_t base_timestamp_ms = 0;
};

// Where one frame is, and what it holds: an index entry, in memory and in `.idx` files.
struct FrameEntry {
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  uint32_t record_count = 0;
  uint64_t segment = 0;  // segment number (not stored in the entry; the file says it)
  uint64_t offset = 0;   // of the frame header within the segment
  uint32_t frame_len = 0;
  uint64_t first_counter = 0;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  uint64_t end_counter() const { return first_counter + record_count; }
};

// One record as a reader sees it.
struct Record {
  uint64_t counter = 0;    // position in its shard; the sequence number derives from it
  int64_t arrival_ms = 0;  // approximate arrival timestamp
  std::string partition_key;
  std::string data;
  bool sealed = false;  // it was encrypted at rest (GetRecords' EncryptionType KMS)
};

// A key that seals frames (a KMS key of Millrace's, kms/key_store.h): its 16-byte id,
// written into every frame it seals, and its 32 bytes of key material.
struct SealKey {
  std::string id;
  std::string material;
};

// Finds a sealing key by its id, for reading sealed frames. An error (typed for the wire,
// Status::type) when the key cannot be used: disabled, pending deletion, or deleted.
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  virtual Result<std::shared_ptr<const SealKey>> SealKeyFor(std::string_view id) const = 0;
};

// Seals the records of one frame at a time. Each frame gets its own key, derived from the
// sealing key and a fresh random salt (HMAC-SHA256), so the per-record nonce (the record's
// index in the frame) is never used twice under one key; each record's ciphertext is bound
// to its stream, shard and counter (the AAD). Not thread-safe: one per writer thread.
class FrameSealer {
 public:
  FrameSealer();
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;
  // Starts a sealed frame: appends the payload's prefix (key id, salt) to `out`.
  void Begin(const SealKey& key, std::string* out);
  // Appends the `index`-th record of the frame (whose header is `h`), sealed.
  void AppendRecord(const FrameHeader& h, uint32_t index, int64_t ts,
                    std::string_view partition_key, std::string_view data, std::string* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Record payload encoding: for each record, varint zigzag(timestamp - base),
// varint key length, key, varint data length, data.
void AppendRecordPayload(std::string* payload, int64_t base_ts, int64_t ts,
                         std::string_view partition_key, std::string_view data);

void EncodeSegmentHeader(uint64_t segment, int64_t created_ms, std::string* out);
Status DecodeSegmentHeader(std::string_view in, uint64_t expected_segment);

// Appends header + payload of a frame to `out`.
void EncodeFrame(const FrameHeader& h, std::string_view payload, std::string* out);
// EncodeFrame in place, without a copy of the payload: BeginFrame appends the header of
// `h` (with h.record_count) and returns where the frame starts; the caller appends the
// payload (AppendRecordPayload); FinishFrame fills in the payload's length and the CRC.
size_t BeginFrame(const FrameHeader& h, std::string* out);
void FinishFrame(size_t start, std::string* out);
// Decodes and checks the header at `in` (at least kFrameHeaderSize bytes). Checks the magic
// only; the CRC needs the payload (VerifyFrame).
Status DecodeFrameHeader(std::string_view in, FrameHeader* h);
// Verifies the CRC of a complete frame (header + payload).
bool VerifyFrame(std::string_view frame);
// The id of the key that sealed a frame (its header and prefix present), or "" when the
// frame is not sealed.
std::string_view SealKeyIdOf(std::string_view frame);
// Decodes the records of a verified frame, skipping those with counter < `from_counter`.
// A sealed frame needs its key (`key`, whose id SealKeyIdOf gave); a record that fails to
// open under it is Corruption.
Status DecodeFrameRecords(std::string_view frame, uint64_t from_counter, const SealKey* key,
                          void (*sink)(void* ctx, Record&& r), void* ctx);

// The arrival times of a verified frame's first and last records, checking the record
// structure as DecodeFrameRecords does but copying nothing (recovery scans with it).
Status DecodeFrameTimeBounds(std::string_view frame, int64_t* first_ts, int64_t* last_ts);

std::string EncodeIndex(uint64_t segment, uint64_t covered_len, const FrameEntry* entries,
                        size_t n);
Status DecodeIndex(std::string_view in, uint64_t segment, uint64_t* covered_len,
                   void (*sink)(void*, const FrameEntry&), void* ctx);

std::string SegmentFileName(uint64_t segment);
std::string IndexFileName(uint64_t segment);

}  // namespace millrace::log
