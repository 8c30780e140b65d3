#include "log/format.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstring>

#include "common/crc32c.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace millrace::log {

static_assert(kSegmentHeaderSize == 8 + 8 + 8 + 4 + 4);
static_assert(kFrameHeaderSize == 4 + 4 + 4 + 4 + 8 + 4 + 2 + 2 + 8 + 8);
static_assert(kIndexHeaderSize == 8 + 8 + 8 + 8);
static_assert(kIndexEntrySize == 8 + 4 + 4 + 8 + 4 + 4 + 8 + 8 + 8);

void AppendRecordPayload(std::string* payload, int64_t base_ts, int64_t ts,
                         std::string_view partition_key, std::string_view data) {
  PutVarint64(payload, ZigZag(ts - base_ts));
  PutVarint64(payload, partition_key.size());
  payload->append(partition_key);
  PutVarint64(payload, data.size());
  payload->append(data);
}

void EncodeSegmentHeader(uint64_t segment, int64_t created_ms, std::string* out) {
  size_t start = out->size();
  out->append(kSegmentMagic, 8);
  PutFixed64(out, segment);
  PutFixed64(out, static_cast<uint64_t>(created_ms));
  PutFixed32(out, 0);
  PutFixed32(out, crc32c::Mask(crc32c::Value(out->data() + start, 28)));
}

Status DecodeSegmentHeader(std::string_view in, uint64_t expected_segment) {
  if (in.size() < kSegmentHeaderSize) return Status::Corruption("segment header truncated");
  if (std::memcmp(in.data(), kSegmentMagic, 8) != 0)
    return Status::Corruption("segment header has a bad magic");
  if (crc32c::Unmask(DecodeFixed32(in.data() + 28)) != crc32c::Value(in.data(), 28))
    return Status::Corruption("segment header checksum mismatch");
  if (DecodeFixed64(in.data() + 8) != expected_segment)
    return Status::Corruption("segment header names another segment number");
  return Status::Ok();
}

size_t BeginFrame(const FrameHeader& h, std::string* out) {
  size_t start = out->size();
  PutFixed32(out, kFrameMagic);
  PutFixed32(out, 0);  // CRC, filled by FinishFrame
  PutFixed32(out, 0);  // payload length, filled by FinishFrame
  PutFixed32(out, h.record_count);
  PutFixed64(out, h.stream_id);
  PutFixed32(out, h.shard_index);
  char tf[4];
  std::memcpy(tf, &h.type, 2);
  std::memcpy(tf + 2, &h.flags, 2);
  out->append(tf, 4);
  PutFixed64(out, h.first_counter);
  PutFixed64(out, static_cast<uint64_t>(h.base_timestamp_ms));
  return start;
}

void FinishFrame(size_t start, std::string* out) {
  uint32_t len = static_cast<uint32_t>(out->size() - start - kFrameHeaderSize);
  std::memcpy(out->data() + start + 8, &len, 4);  // little-endian, as PutFixed32
  uint32_t crc = crc32c::Value(out->data() + start + 8, out->size() - start - 8);
  uint32_t masked = crc32c::Mask(crc);
  std::memcpy(out->data() + start + 4, &masked, 4);
}

void EncodeFrame(const FrameHeader& h, std::string_view payload, std::string* out) {
  size_t start = BeginFrame(h, out);
  out->append(payload);
  FinishFrame(start, out);
}

Status DecodeFrameHeader(std::string_view in, FrameHeader* h) {
  if (in.size() < kFrameHeaderSize) return Status::Corruption("frame header truncated");
  const char* p = in.data();
  if (DecodeFixed32(p) != kFrameMagic) return Status::Corruption("frame has a bad magic");
  h->payload_len = DecodeFixed32(p + 8);
  h->record_count = DecodeFixed32(p + 12);
  h->stream_id = DecodeFixed64(p + 16);
  h->shard_index = DecodeFixed32(p + 24);
  std::memcpy(&h->type, p + 28, 2);
  std::memcpy(&h->flags, p + 30, 2);
  h->first_counter = DecodeFixed64(p + 32);
  h->base_timestamp_ms = static_cast<int64_t>(DecodeFixed64(p + 40));
  if (h->payload_len > kMaxFramePayload) return Status::Corruption("frame length out of range");
  if (h->type != kFrameTypeRecords) return Status::Corruption("frame has an unknown type");
  return Status::Ok();
}

bool VerifyFrame(std::string_view frame) {
  if (frame.size() < kFrameHeaderSize) return false;
  uint32_t stored = crc32c::Unmask(DecodeFixed32(frame.data() + 4));
  return stored == crc32c::Value(frame.data() + 8, frame.size() - 8);
}

// ---- Sealed frames ----

namespace {

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// The frame's own key: HMAC-SHA256(sealing key, "millrace frame v1" || salt).
crypto::Digest32 FrameKey(std::string_view material, std::string_view salt) {
  std::string info = "millrace frame v1";
  info.append(salt);
  return crypto::HmacSha256(material, info);
}

// Nonce: the record's index in the frame (u32 LE), then 8 zero bytes. AAD: stream id (u64),
// shard index (u32), counter (u64), little-endian.
void RecordNonceAndAad(const FrameHeader& h, uint32_t index, unsigned char nonce[12],
                       std::string* aad) {
  std::memset(nonce, 0, 12);
  std::memcpy(nonce, &index, 4);  // little-endian hosts only, as the rest of the format
  aad->clear();
  PutFixed64(aad, h.stream_id);
  PutFixed32(aad, h.shard_index);
  PutFixed64(aad, h.first_counter + index);
}

}  // namespace

struct FrameSealer::Impl {
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx{EVP_CIPHER_CTX_new()};
  std::string aad;
};

FrameSealer::FrameSealer() : impl_(std::make_unique<Impl>()) {}
FrameSealer::~FrameSealer() = default;

void FrameSealer::Begin(const SealKey& key, std::string* out) {
  char salt[kSealSaltSize];
  crypto::RandomBytes(salt, sizeof salt);
  out->append(key.id.data(), kSealKeyIdSize);
  out->append(salt, sizeof salt);
  crypto::Digest32 k = FrameKey(key.material, std::string_view(salt, sizeof salt));
  EVP_EncryptInit_ex(impl_->ctx.get(), EVP_aes_256_gcm(), nullptr, k.data(), nullptr);
}

void FrameSealer::AppendRecord(const FrameHeader& h, uint32_t index, int64_t ts,
                               std::string_view partition_key, std::string_view data,
                               std::string* out) {
  EVP_CIPHER_CTX* c = impl_->ctx.get();
  unsigned char nonce[12];
  RecordNonceAndAad(h, index, nonce, &impl_->aad);
  int len = 0;
  EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce);
  EVP_EncryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(impl_->aad.data()),
                    static_cast<int>(impl_->aad.size()));
  PutVarint64(out, ZigZag(ts - h.base_timestamp_ms));
  PutVarint64(out, partition_key.size());
  size_t at = out->size();
  out->resize(at + partition_key.size());
  auto* dst = reinterpret_cast<unsigned char*>(out->data());
  EVP_EncryptUpdate(c, dst + at, &len, reinterpret_cast<const unsigned char*>(partition_key.data()),
                    static_cast<int>(partition_key.size()));
  PutVarint64(out, data.size() + kSealTagSize);
  at = out->size();
  out->resize(at + data.size() + kSealTagSize);
  dst = reinterpret_cast<unsigned char*>(out->data());
  EVP_EncryptUpdate(c, dst + at, &len, reinterpret_cast<const unsigned char*>(data.data()),
                    static_cast<int>(data.size()));
  EVP_EncryptFinal_ex(c, dst + at + data.size(), &len);  // GCM: writes nothing
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kSealTagSize, dst + at + data.size());
}

std::string_view SealKeyIdOf(std::string_view frame) {
  if (frame.size() < kFrameHeaderSize + kSealPrefixSize) return {};
  uint16_t flags;
  std::memcpy(&flags, frame.data() + 30, 2);
  if ((flags & kFrameSealed) == 0) return {};
  return frame.substr(kFrameHeaderSize, kSealKeyIdSize);
}

namespace {

// Walks a frame's records, checking their structure, and calls
// visit(index, arrival_ms, key, data) for each. The one decoder of the payload layout.
template <typename Visit>
Status WalkFrame(std::string_view frame, FrameHeader* h, Visit&& visit) {
  MILLRACE_RETURN_IF_ERROR(DecodeFrameHeader(frame, h));
  if (frame.size() != kFrameHeaderSize + h->payload_len)
    return Status::Corruption("frame length does not match its header");
  const char* p = frame.data() + kFrameHeaderSize;
  const char* limit = p + h->payload_len;
  const bool sealed = (h->flags & kFrameSealed) != 0;
  if (sealed) {
    if (h->payload_len < kSealPrefixSize) return Status::Corruption("sealed frame truncated");
    p += kSealPrefixSize;
  }
  for (uint32_t i = 0; i < h->record_count; ++i) {
    uint64_t ts_delta, klen, dlen;
    if (!GetVarint64(&p, limit, &ts_delta) || !GetVarint64(&p, limit, &klen) ||
        klen > static_cast<uint64_t>(limit - p))
      return Status::Corruption("record truncated in frame");
    std::string_view key(p, klen);
    p += klen;
    if (!GetVarint64(&p, limit, &dlen) || dlen > static_cast<uint64_t>(limit - p))
      return Status::Corruption("record truncated in frame");
    if (sealed && dlen < kSealTagSize) return Status::Corruption("sealed record truncated");
    std::string_view data(p, dlen);
    p += dlen;
    visit(i, h->base_timestamp_ms + UnZigZag(ts_delta), key, data);
  }
  if (p != limit) return Status::Corruption("frame has trailing bytes");
  return Status::Ok();
}

}  // namespace

Status DecodeFrameRecords(std::string_view frame, uint64_t from_counter, const SealKey* key,
                          void (*sink)(void* ctx, Record&& r), void* ctx) {
  FrameHeader h;
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> cipher;
  std::string aad;
  bool opened = true;
  if (std::string_view id = SealKeyIdOf(frame); !id.empty()) {
    if (!key || key->id != id) return Status::Internal("a sealed frame read without its key");
    cipher.reset(EVP_CIPHER_CTX_new());
    crypto::Digest32 k =
        FrameKey(key->material, frame.substr(kFrameHeaderSize + kSealKeyIdSize, kSealSaltSize));
    if (!cipher ||
        EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr, k.data(), nullptr) != 1)
      return Status::Internal("cannot set up AES-256-GCM");
  }
  Status st = WalkFrame(
      frame, &h, [&](uint32_t i, int64_t ts, std::string_view pkey, std::string_view data) {
        uint64_t counter = h.first_counter + i;
        if (counter < from_counter || !opened) return;
        Record r;
        r.counter = counter;
        r.arrival_ms = ts;
        if (!cipher) {
          r.partition_key.assign(pkey);
          r.data.assign(data);
          sink(ctx, std::move(r));
          return;
        }
        EVP_CIPHER_CTX* c = cipher.get();
        unsigned char nonce[12];
        RecordNonceAndAad(h, i, nonce, &aad);
        const size_t dlen = data.size() - kSealTagSize;
        r.partition_key.resize(pkey.size());
        r.data.resize(dlen);
        int len = 0;
        unsigned char tag[kSealTagSize], none[kSealTagSize];
        std::memcpy(tag, data.data() + dlen, kSealTagSize);
        opened =
            EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(r.partition_key.data()), &len,
                              reinterpret_cast<const unsigned char*>(pkey.data()),
                              static_cast<int>(pkey.size())) == 1 &&
            EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(r.data.data()), &len,
                              reinterpret_cast<const unsigned char*>(data.data()),
                              static_cast<int>(dlen)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kSealTagSize, tag) == 1 &&
            EVP_DecryptFinal_ex(c, none, &len) == 1;  // GCM: writes nothing
        if (!opened) return;
        r.sealed = true;
        sink(ctx, std::move(r));
      });
  if (st.ok() && !opened)
    return Status::Corruption("a sealed record failed its authentication tag");
  return st;
}

Status DecodeFrameTimeBounds(std::string_view frame, int64_t* first_ts, int64_t* last_ts) {
  FrameHeader h;
  return WalkFrame(frame, &h, [&](uint32_t i, int64_t ts, std::string_view, std::string_view) {
    if (i == 0) *first_ts = ts;
    *last_ts = ts;
  });
}

std::string EncodeIndex(uint64_t segment, uint64_t covered_len, const FrameEntry* entries,
                        size_t n) {
  std::string out;
  out.reserve(kIndexHeaderSize + n * kIndexEntrySize + 4);
  out.append(kIndexMagic, 8);
  PutFixed64(&out, segment);
  PutFixed64(&out, covered_len);
  PutFixed64(&out, n);
  for (size_t i = 0; i < n; ++i) {
    const FrameEntry& e = entries[i];
    PutFixed64(&out, e.stream_id);
    PutFixed32(&out, e.shard_index);
    PutFixed32(&out, e.record_count);
    PutFixed64(&out, e.offset);
    PutFixed32(&out, e.frame_len);
    PutFixed32(&out, 0);
    PutFixed64(&out, e.first_counter);
    PutFixed64(&out, static_cast<uint64_t>(e.first_ts));
    PutFixed64(&out, static_cast<uint64_t>(e.last_ts));
  }
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

Status DecodeIndex(std::string_view in, uint64_t segment, uint64_t* covered_len,
                   void (*sink)(void*, const FrameEntry&), void* ctx) {
  if (in.size() < kIndexHeaderSize + 4) return Status::Corruption("index truncated");
  if (std::memcmp(in.data(), kIndexMagic, 8) != 0) return Status::Corruption("index bad magic");
  uint32_t stored = crc32c::Unmask(DecodeFixed32(in.data() + in.size() - 4));
  if (stored != crc32c::Value(in.data(), in.size() - 4))
    return Status::Corruption("index checksum mismatch");
  if (DecodeFixed64(in.data() + 8) != segment)
    return Status::Corruption("index names another segment");
  *covered_len = DecodeFixed64(in.data() + 16);
  uint64_t n = DecodeFixed64(in.data() + 24);
  // Bound n before multiplying: a huge count could wrap n * kIndexEntrySize to the size.
  if (n > (in.size() - kIndexHeaderSize - 4) / kIndexEntrySize ||
      in.size() != kIndexHeaderSize + n * kIndexEntrySize + 4)
    return Status::Corruption("index length does not match its entry count");
  const char* p = in.data() + kIndexHeaderSize;
  for (uint64_t i = 0; i < n; ++i, p += kIndexEntrySize) {
    FrameEntry e;
    e.segment = segment;
    e.stream_id = DecodeFixed64(p);
    e.shard_index = DecodeFixed32(p + 8);
    e.record_count = DecodeFixed32(p + 12);
    e.offset = DecodeFixed64(p + 16);
    e.frame_len = DecodeFixed32(p + 24);
    e.first_counter = DecodeFixed64(p + 32);
    e.first_ts = static_cast<int64_t>(DecodeFixed64(p + 40));
    e.last_ts = static_cast<int64_t>(DecodeFixed64(p + 48));
    sink(ctx, e);
  }
  return Status::Ok();
}

std::string SegmentFileName(uint64_t segment) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(segment));
  return buf;
}

std::string IndexFileName(uint64_t segment) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.idx", static_cast<unsigned long long>(segment));
  return buf;
}

}  // namespace millrace::log
