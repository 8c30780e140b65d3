#include "formats/parquet/dictionary.h"

#include <functional>

#include "common/encoding.h"

namespace millrace::formats::parquet {

namespace {

uint32_t Hash32(std::string_view s) {
  return static_cast<uint32_t>(std::hash<std::string_view>{}(s) >> 32);
}

}  // namespace

std::string_view ByteArrayDictionary::Entry(uint32_t index) const {
  const char* p = plain_.data() + offsets_[index];
  return std::string_view(p + 4, DecodeFixed32(p));
}

uint32_t ByteArrayDictionary::Insert(std::string_view value, bool* added) {
  *added = false;
  if (slots_.empty() || (offsets_.size() + 1) * 2 > slots_.size()) Grow();
  const uint32_t h = Hash32(value);
  const size_t mask = slots_.size() - 1;
  for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
    uint64_t slot = slots_[pos];
    if (slot == 0) {
      uint32_t index = size();
      offsets_.push_back(plain_.size());
      PutFixed32(&plain_, static_cast<uint32_t>(value.size()));
      plain_.append(value);
      slots_[pos] = (uint64_t{h} << 32) | (uint64_t{index} + 1);
      *added = true;
      return index;
    }
    if (static_cast<uint32_t>(slot >> 32) == h) {
      uint32_t index = static_cast<uint32_t>(slot) - 1;
      if (Entry(index) == value) return index;
    }
  }
}

void ByteArrayDictionary::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  const size_t mask = slots_.size() - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    size_t pos = (slot >> 32) & mask;
    while (slots_[pos] != 0) pos = (pos + 1) & mask;
    slots_[pos] = slot;
  }
}

void ByteArrayDictionary::Clear() {
  // Released, not kept: one chunk's dictionary may have held a value of up to 1 GiB.
  std::string().swap(plain_);
  std::vector<size_t>().swap(offsets_);
  std::vector<uint64_t>().swap(slots_);
}

}  // namespace millrace::formats::parquet
