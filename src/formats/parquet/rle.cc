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

void RleBitPackedEncoder::Finish(std::string* out) {
  EndRun();
  FlushLiterals();
  out->append(encoded_);
  encoded_.clear();
  run_value_ = 0;
}

void RleBitPackedEncode(const std::vector<uint32_t>& values, int bit_width, std::string* out) {
  assert(bit_width >= 0 && bit_width <= 32);
  RleBitPackedEncoder e(bit_width);
  for (uint32_t v : values) e.Put(v);
  e.Finish(out);
}

}  // namespace millrace::formats::parquet
