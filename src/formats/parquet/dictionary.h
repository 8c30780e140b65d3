// The dictionaries of dictionary-encoded column chunks (docs/format/parquet.md,
// "Dictionary"): the distinct values of a chunk in first-seen order, each found again
// through an open-addressing hash table (linear probing, at most half full) of entry
// indexes. ByteArrayDictionary keeps BYTE_ARRAY values as the PLAIN bytes of its dictionary
// page; FixedDictionary keeps the values of a fixed-width type (INT32 and FLOAT as their
// 32 bits, INT64 and DOUBLE as 64, FIXED_LEN_BYTE_ARRAY decimals as 128), which the column
// writer turns into PLAIN bytes when it writes the page.
//
// Memory is MemoryBytes(): the values and the table; adding a value allocates only when a
// buffer grows. Clear gives it all back. Not thread-safe.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "formats/parquet/buffer.h"

namespace millrace::formats::parquet {

// A cheap hash of short byte strings (wyhash's folded multiply); not for untrusted
// adversaries, only for spreading values over the table.
inline uint64_t HashMix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t HashBytes(const char* p, size_t n) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
  auto load64 = [](const char* q) {
    uint64_t v;
    std::memcpy(&v, q, 8);
    return v;
  };
  auto load32 = [](const char* q) {
    uint32_t v;
    std::memcpy(&v, q, 4);
    return uint64_t{v};
  };
  uint64_t seed = k0 ^ n;
  uint64_t a, b;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p), b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p), b = load32(p + n - 4);
    } else if (n > 0) {
      a = (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
          (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) | static_cast<uint8_t>(p[n - 1]);
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    size_t left = n;
    while (left > 16) {
      seed = HashMix(load64(p) ^ k1, load64(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = load64(p + left - 16), b = load64(p + left - 8);
  }
  return HashMix(k1 ^ n, HashMix(a ^ k1, b ^ seed));
}

class ByteArrayDictionary {
 public:
  // The index of `value`, appending it as a new entry if it is not there yet (then
  // `*added` is set, else cleared).
  // `hash` is HashBytes(value).
  uint32_t Insert(std::string_view value, uint64_t hash, bool* added) {
    if ((size() + 1) * 2 > slots_.size()) Grow();
    const uint32_t tag = Tag(hash);
    const size_t mask = slots_.size() - 1;
    for (size_t pos = tag & mask;; pos = (pos + 1) & mask) {
      const Slot& slot = slots_[pos];
      if (slot.index == 0) {
        *added = true;
        return Add(value, tag, pos);
      }
      if (slot.tag == tag && slot.length == value.size() &&
          Equal(plain_.data() + slot.offset + 4, value.data(), value.size())) {
        *added = false;
        return slot.index - 1;
      }
    }
  }
  uint32_t Insert(std::string_view value, bool* added) {
    return Insert(value, HashBytes(value.data(), value.size()), added);
  }
  // Starts loading the table slot where the value of this hash would be, for an Insert
  // soon after.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Tag(hash) & (slots_.size() - 1)]);
  }

  uint32_t size() const { return static_cast<uint32_t>(offsets_.size()); }
  // The entries PLAIN-encoded (4-byte little-endian length, bytes), in index order.
  std::string_view plain() const { return plain_.view(); }
  // The PLAIN bytes of entry `index` (length prefix included).
  std::string_view PlainEntry(uint32_t index) const {
    const char* e = plain_.data() + offsets_[index];
    uint32_t length;
    std::memcpy(&length, e, 4);
    return {e, size_t{length} + 4};
  }
  size_t MemoryBytes() const {
    return plain_.capacity() + offsets_.CapacityBytes() + slots_.CapacityBytes();
  }
  void Clear();

 private:
  // An entry as the table finds it: compared by tag and length before its bytes are read.
  // Offsets fit 32 bits: an entry is added only while the dictionary is within
  // dictionary_bytes (at most 1 GiB), and holds at most 1 GiB (kMaxValueBytes).
  struct Slot {
    uint32_t tag;     // the value's hash, folded
    uint32_t index;   // the entry's index + 1; 0: empty
    uint32_t offset;  // where its length prefix starts in plain_
    uint32_t length;
  };

  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash ^ (hash >> 32)); }
  // memcmp(a, b, n) == 0, without a call for the short values dictionaries mostly hold.
  static bool Equal(const char* a, const char* b, size_t n) {
    auto load64 = [](const char* p) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    };
    auto load32 = [](const char* p) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    };
    if (n >= 8) {
      if (n > 64) return std::memcmp(a, b, n) == 0;
      uint64_t diff = 0;
      for (size_t k = 0; k + 8 < n; k += 8) diff |= load64(a + k) ^ load64(b + k);
      return (diff | (load64(a + n - 8) ^ load64(b + n - 8))) == 0;
    }
    if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
    for (size_t k = 0; k < n; ++k)
      if (a[k] != b[k]) return false;
    return true;
  }
  uint32_t Add(std::string_view value, uint32_t tag, size_t pos);
  void Grow();

  ByteBuffer plain_;
  PodVector<uint32_t> offsets_;  // where each entry's length prefix starts in plain_
  PodVector<Slot> slots_;
};

// Key: uint32_t, uint64_t or unsigned __int128. Each slot of the table holds its key, so
// that a lookup touches one cache line (the tables of large dictionaries are not in cache
// while a row's other columns are written), and InsertBatch prefetches the slots of many
// keys before it looks at any, so that their cache misses overlap.
template <class Key>
class FixedDictionary {
 public:
  uint32_t Insert(Key key, bool* added) {
    if ((size() + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t pos = Hash(key) >> shift_;; pos = (pos + 1) & mask) {
      Slot& slot = slots_[pos];
      if (slot.index == 0) {
        values_.push_back(key);
        slot.key = key;
        slot.index = size();
        *added = true;
        return size() - 1;
      }
      if (slot.key == key) {
        *added = false;
        return slot.index - 1;
      }
    }
  }

  // Appends the index of each of keys[0, n) (converted to Key) to `*indices`, adding the
  // keys not there yet and calling on_added(key) for each new one, in order.
  template <class In, class OnAdded>
  void InsertBatch(const In* keys, size_t n, PodVector<uint32_t>* indices, OnAdded&& on_added) {
    constexpr size_t kAhead = 16;  // prefetch distance, in keys
    for (size_t k = 0; k < n; ++k) {
      if (k + kAhead < n && !slots_.empty())
        __builtin_prefetch(&slots_[Hash(static_cast<Key>(keys[k + kAhead])) >> shift_]);
      const Key key = static_cast<Key>(keys[k]);
      bool added;
      indices->push_back(Insert(key, &added));
      if (added) on_added(key);
    }
  }

  uint32_t size() const { return static_cast<uint32_t>(values_.size()); }
  const Key& operator[](uint32_t index) const { return values_[index]; }
  const Key* data() const { return values_.data(); }
  size_t MemoryBytes() const { return values_.CapacityBytes() + slots_.CapacityBytes(); }
  void Clear() {
    values_.Release();
    slots_.Release();
    shift_ = 64;
  }

 private:
  struct Slot {
    Key key;
    uint32_t index;  // the entry's index + 1; 0: empty
  };

  // The table position is the hash's top bits. Fibonacci hashing for integers: keys that
  // are close together (ids, timestamps, cents) land evenly apart.
  static uint64_t Hash(Key key) {
    if constexpr (sizeof(Key) <= 8) {
      return static_cast<uint64_t>(key) * 0x9e3779b97f4a7c15ull;
    } else {
      return HashMix(static_cast<uint64_t>(key) ^ 0x9e3779b97f4a7c15ull,
                     static_cast<uint64_t>(key >> 64) ^ 0xe7037ed1a0b428dbull);
    }
  }
  void Grow() {
    const size_t n = slots_.empty() ? 256 : slots_.size() * 2;
    slots_.AssignZeros(n);
    shift_ = 64 - std::countr_zero(n);
    const size_t mask = n - 1;
    for (uint32_t index = 0; index < size(); ++index) {
      size_t pos = Hash(values_[index]) >> shift_;
      while (slots_[pos].index != 0) pos = (pos + 1) & mask;
      slots_[pos] = Slot{values_[index], index + 1};
    }
  }

  PodVector<Key> values_;  // in index order
  PodVector<Slot> slots_;
  int shift_ = 64;  // 64 - log2(slots)
};

}  // namespace millrace::formats::parquet
