#include "delivery/kpl.h"

#include <cstdint>
#include <cstring>

#include "common/crypto.h"

namespace millrace::delivery {
namespace {

constexpr unsigned char kMagic[] = {0xF3, 0x89, 0x9A, 0xC2};

// A protocol buffer reader over a byte range: varints and length-delimited fields.
struct Reader {
  std::string_view in;
  size_t pos = 0;

  bool done() const { return pos >= in.size(); }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) return false;
      const uint8_t b = static_cast<uint8_t>(in[pos++]);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > in.size() - pos) return false;
    *out = in.substr(pos, static_cast<size_t>(n));
    pos += static_cast<size_t>(n);
    return true;
  }
  // Skips a field of `wire` type; false for the group types and malformed input.
  bool Skip(uint64_t wire) {
    uint64_t v = 0;
    std::string_view s;
    switch (wire) {
      case 0:
        return Varint(&v);
      case 1:
        if (in.size() - pos < 8) return false;
        pos += 8;
        return true;
      case 2:
        return Bytes(&s);
      case 5:
        if (in.size() - pos < 4) return false;
        pos += 4;
        return true;
      default:
        return false;
    }
  }
};

}  // namespace

bool Deaggregate(std::string_view data, std::vector<UserRecord>* out) {
  if (data.size() < sizeof kMagic + 16 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return false;
  const std::string_view message = data.substr(sizeof kMagic, data.size() - sizeof kMagic - 16);
  const crypto::Digest16 md5 = crypto::Md5(message);
  if (std::memcmp(md5.data(), data.data() + data.size() - 16, 16) != 0) return false;

  std::vector<std::string_view> keys;
  struct Entry {
    uint64_t key_index = UINT64_MAX;
    std::string_view data;
    bool has_data = false;
  };
  std::vector<Entry> entries;
  Reader r{message};
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.Varint(&tag)) return false;
    const uint64_t field = tag >> 3, wire = tag & 7;
    if (field == 1 && wire == 2) {
      std::string_view key;
      if (!r.Bytes(&key)) return false;
      keys.push_back(key);
    } else if (field == 3 && wire == 2) {
      std::string_view body;
      if (!r.Bytes(&body)) return false;
      Reader rec{body};
      Entry e;
      while (!rec.done()) {
        uint64_t t = 0;
        if (!rec.Varint(&t)) return false;
        if ((t >> 3) == 1 && (t & 7) == 0) {
          if (!rec.Varint(&e.key_index)) return false;
        } else if ((t >> 3) == 3 && (t & 7) == 2) {
          if (!rec.Bytes(&e.data)) return false;
          e.has_data = true;
        } else if (!rec.Skip(t & 7)) {
          return false;
        }
      }
      if (!e.has_data || e.key_index == UINT64_MAX) return false;
      entries.push_back(e);
    } else if (!r.Skip(wire)) {
      return false;
    }
  }
  std::vector<UserRecord> records;
  records.reserve(entries.size());
  for (const Entry& e : entries) {
    if (e.key_index >= keys.size()) return false;
    records.push_back(UserRecord{std::string(keys[e.key_index]), std::string(e.data)});
  }
  *out = std::move(records);
  return true;
}

}  // namespace millrace::delivery
