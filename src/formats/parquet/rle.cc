#include "formats/parquet/rle.h"

#include <cassert>

namespace millrace::formats::parquet {

namespace {

constexpr size_t kMinRleRun = 8;  // shorter runs are cheaper bit-packed

void PutUvarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Bit-packs values[begin, end) padded with zeros to a multiple of 8 values.
void PutBitPacked(const std::vector<uint32_t>& values, size_t begin, size_t end, int bit_width,
                  std::string* out) {
  if (begin == end) return;
  size_t groups = (end - begin + 7) / 8;
  PutUvarint((groups << 1) | 1, out);
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = begin; i < begin + groups * 8; ++i) {
    uint64_t v = i < end ? values[i] : 0;
    acc |= v << bits;
    bits += bit_width;
    while (bits >= 8) {
      out->push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
  // 8 values of any width fill whole bytes: nothing is left over.
  assert(bits == 0);
}

void PutRleRun(uint32_t value, size_t count, int bit_width, std::string* out) {
  PutUvarint(static_cast<uint64_t>(count) << 1, out);
  for (int b = 0; b < (bit_width + 7) / 8; ++b)
    out->push_back(static_cast<char>((value >> (8 * b)) & 0xff));
}

}  // namespace

int BitWidth(uint32_t max_value) {
  int w = 0;
  while (max_value != 0) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

void RleBitPackedEncode(const std::vector<uint32_t>& values, int bit_width, std::string* out) {
  assert(bit_width >= 0 && bit_width <= 32);
  size_t literal_begin = 0;  // values[literal_begin, i) wait to be bit-packed
  size_t i = 0;
  while (i < values.size()) {
    size_t run_end = i + 1;
    while (run_end < values.size() && values[run_end] == values[i]) ++run_end;
    // A bit-packed run must hold a multiple of 8 values unless it ends the data, so the
    // pending literals take enough of this run to fill their last group.
    size_t pending = i - literal_begin;
    size_t fill = (8 - pending % 8) % 8;
    if (run_end - i >= fill + kMinRleRun) {
      PutBitPacked(values, literal_begin, i + fill, bit_width, out);
      PutRleRun(values[i], run_end - i - fill, bit_width, out);
      literal_begin = run_end;
    }
    i = run_end;
  }
  PutBitPacked(values, literal_begin, values.size(), bit_width, out);
}

}  // namespace millrace::formats::parquet
