// ByteArrayDictionary: the distinct values of a BYTE_ARRAY column chunk, in first-seen
// order, kept as the PLAIN bytes of its dictionary page (docs/format/parquet.md,
// "Dictionary") and found again through an open-addressing hash table of entry indexes.
//
// Memory is the PLAIN bytes plus about 24 bytes per entry (an offset and two table slots);
// adding a value allocates only when a buffer grows. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::formats::parquet {

class ByteArrayDictionary {
 public:
  // The index of `value`, appending it as a new entry if it is not there yet (then
  // `*added` is set).
  uint32_t Insert(std::string_view value, bool* added);

  uint32_t size() const { return static_cast<uint32_t>(offsets_.size()); }
  // The entries PLAIN-encoded (4-byte little-endian length, bytes), in index order.
  const std::string& plain() const { return plain_; }
  // What the dictionary holds in memory.
  size_t MemoryBytes() const {
    return plain_.capacity() + offsets_.capacity() * sizeof(size_t) +
           slots_.capacity() * sizeof(uint64_t);
  }
  void Clear();

 private:
  std::string_view Entry(uint32_t index) const;
  void Grow();

  std::string plain_;
  std::vector<size_t> offsets_;  // where each entry's length prefix starts in plain_
  // Empty (0), or the entry's hash (high 32 bits) and index + 1 (low 32 bits). The table is
  // at most half full.
  std::vector<uint64_t> slots_;
};

}  // namespace millrace::formats::parquet
