#include "formats/parquet/rle.h"

#include <cassert>
#include <cstring>

namespace millrace::formats::parquet {

namespace {

constexpr size_t kMinRleRun = 8;  // shorter runs are cheaper bit-packed

template <class Out>
void PutUvarint(uint64_t v, Out* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Bit-packs values[0, count) LSB first into `groups` groups of 8 (count <= 8 * groups; the
// rest of the last group is zeros).
void Pack(const uint32_t* values, size_t count, size_t groups, int width, ByteBuffer* out) {
  const size_t bytes = groups * static_cast<size_t>(width);
  char* p = out->Extend(bytes);
  char* const end = p + bytes;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t k = 0; k < groups * 8; ++k) {
    acc |= static_cast<uint64_t>(k < count ? values[k] : 0) << bits;
    bits += width;
    if (bits >= 32) {
      uint32_t word = static_cast<uint32_t>(acc);
      std::memcpy(p, &word, 4);  // little-endian, as the encoding is
      p += 4;
      acc >>= 32;
      bits -= 32;
    }
  }
  while (p < end) {  // 8 * width bits per group: whole bytes
    *p++ = static_cast<char>(acc & 0xff);
    acc >>= 8;
  }
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

void RleBitPackedEncoder::PackGroup() {
  // 8 values of any width fill whole bytes.
  uint64_t acc = 0;
  int bits = 0;
  for (uint32_t v : group_) {
    acc |= static_cast<uint64_t>(v) << bits;
    bits += bit_width_;
    while (bits >= 8) {
      literals_.push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
  assert(bits == 0);
  ++literal_groups_;
  group_size_ = 0;
}

void RleBitPackedEncoder::PushLiteral(uint32_t v) {
  group_[group_size_++] = v;
  if (group_size_ == 8) PackGroup();
}

void RleBitPackedEncoder::FlushLiterals() {
  if (group_size_ > 0) {  // only when finishing: the data's last group, padded with zeros
    std::fill(group_ + group_size_, group_ + 8, 0);
    PackGroup();
  }
  if (literal_groups_ == 0) return;
  PutUvarint((static_cast<uint64_t>(literal_groups_) << 1) | 1, &encoded_);
  encoded_ += literals_;
  literals_.clear();
  literal_groups_ = 0;
}

void RleBitPackedEncoder::EndRun() {
  if (run_length_ == 0) return;
  // A bit-packed run must hold a multiple of 8 values unless it ends the data, so the
  // literals waiting take enough of this run to fill their last group.
  size_t fill = (8 - group_size_) % 8;
  if (run_length_ >= fill + kMinRleRun) {
    for (size_t k = 0; k < fill; ++k) PushLiteral(run_value_);
    FlushLiterals();
    PutUvarint(static_cast<uint64_t>(run_length_ - fill) << 1, &encoded_);
    for (int b = 0; b < (bit_width_ + 7) / 8; ++b)
      encoded_.push_back(static_cast<char>((run_value_ >> (8 * b)) & 0xff));
  } else {
    for (size_t k = 0; k < run_length_; ++k) PushLiteral(run_value_);
  }
  run_length_ = 0;
}

void RleBitPackedEncoder::Complete() {
  EndRun();
  FlushLiterals();
  run_value_ = 0;
}

void RleBitPackedEncode(const uint32_t* values, size_t n, int bit_width, ByteBuffer* out) {
  assert(bit_width >= 0 && bit_width <= 32);
  // RleBitPackedEncoder's decisions with the whole input in view: the literals before a
  // run of equal values that is long enough (>= 8 after filling their last group from it)
  // are one bit-packed run, the rest of that run an RLE run; literals at the end are padded.
  const int value_bytes = (bit_width + 7) / 8;
  size_t i = 0;
  while (i < n) {
    const size_t literals_begin = i;
    size_t literals = 0, run_begin = n, run_length = 0, fill = 0;
    for (size_t j = i; j < n;) {
      size_t k = j + 1;
      while (k < n && values[k] == values[j]) ++k;
      const size_t f = (8 - literals % 8) % 8;
      if (k - j >= f + kMinRleRun) {
        run_begin = j, run_length = k - j, fill = f;
        break;
      }
      literals += k - j;
      j = k;
    }
    // The literals and the values they take from the run are contiguous.
    const size_t count = literals + fill;
    if (count > 0) {
      const size_t groups = (count + 7) / 8;
      PutUvarint((static_cast<uint64_t>(groups) << 1) | 1, out);
      Pack(values + literals_begin, count, groups, bit_width, out);
    }
    if (run_length == 0) break;
    PutUvarint(static_cast<uint64_t>(run_length - fill) << 1, out);
    const uint32_t v = values[run_begin];
    for (int b = 0; b < value_bytes; ++b) out->push_back(static_cast<char>((v >> (8 * b)) & 0xff));
    i = run_begin + run_length;
  }
}

void RleBitPackedEncode(const std::vector<uint32_t>& values, int bit_width, std::string* out) {
  ByteBuffer buffer;
  RleBitPackedEncode(values.data(), values.size(), bit_width, &buffer);
  out->append(buffer.data(), buffer.size());
}

}  // namespace millrace::formats::parquet
