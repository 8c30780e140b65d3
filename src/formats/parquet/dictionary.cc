#include "formats/parquet/dictionary.h"

namespace millrace::formats::parquet {

uint32_t ByteArrayDictionary::Add(std::string_view value, uint32_t tag, size_t pos) {
  const uint32_t index = size();
  const uint32_t offset = static_cast<uint32_t>(plain_.size());
  offsets_.push_back(offset);
  plain_.AppendFixed32(static_cast<uint32_t>(value.size()));
  plain_.append(value);
  slots_[pos] = Slot{tag, index + 1, offset, static_cast<uint32_t>(value.size())};
  return index;
}

void ByteArrayDictionary::Grow() {
  PodVector<Slot> old = std::move(slots_);
  const size_t n = old.empty() ? 256 : old.size() * 2;
  slots_.AssignZeros(n);
  const size_t mask = n - 1;
  for (size_t k = 0; k < old.size(); ++k) {
    const Slot& slot = old[k];
    if (slot.index == 0) continue;
    size_t pos = slot.tag & mask;
    while (slots_[pos].index != 0) pos = (pos + 1) & mask;
    slots_[pos] = slot;
  }
}

void ByteArrayDictionary::Clear() {
  // Released, not kept: one chunk's dictionary may have held a value of up to 1 GiB.
  plain_.Release();
  offsets_.Release();
  slots_.Release();
}

}  // namespace millrace::formats::parquet
