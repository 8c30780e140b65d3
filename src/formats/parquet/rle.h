// The RLE/bit-packed hybrid encoding (parquet-format Encodings.md, "Run Length Encoding /
// Bit-Packing Hybrid"), used for repetition and definition levels and dictionary indices.
//
//   run := rle-run | bit-packed-run
//   rle-run := varint(count << 1) value (ceil(bit_width / 8) bytes, little-endian)
//   bit-packed-run := varint(groups << 1 | 1) groups * 8 values packed LSB first
//
// A run of equal values becomes an RLE run when it is at least 8 long after lending the
// literals before it enough values to fill their last group of 8; everything else is
// bit-packed in groups of 8. Only the last group may be padded (with zeros): readers know
// the value count from the page header, so padding is allowed only there.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/parquet/buffer.h"

namespace millrace::formats::parquet {

// The number of bits needed for values 0 .. max_value (0 for max_value 0).
int BitWidth(uint32_t max_value);

// Encodes values one at a time, for levels, whose bit width is known before the first
// value. Memory is the encoded runs, the bit-packed literals waiting for their run header
// and at most 7 values; a run of equal values is only counted, so a page of a million
// nulls costs a few bytes. Not thread-safe.
class RleBitPackedEncoder {
 public:
  // bit_width 0..32; every value must be < 2^bit_width.
  explicit RleBitPackedEncoder(int bit_width) : bit_width_(bit_width) {}

  void Put(uint32_t v) {
    if (v == run_value_) {
      ++run_length_;
      return;
    }
    EndRun();
    run_value_ = v;
    run_length_ = 1;
  }

  // Appends the encoding of every value put since the last call (without a length prefix)
  // to `*out` (a std::string or ByteBuffer) and starts afresh.
  template <class Out>
  void Finish(Out* out) {
    Complete();
    out->append(encoded_.data(), encoded_.size());
    encoded_.clear();
  }
  // Gives back the memory of its buffers (the encoder must be empty: just finished).
  void Release() {
    std::string().swap(encoded_);
    std::string().swap(literals_);
  }

  // The encoded size so far, give or take a few bytes for the runs in progress.
  size_t EstimatedBytes() const {
    return encoded_.size() + literals_.size() +
           (group_size_ + std::min<size_t>(run_length_, 8)) * bit_width_ / 8;
  }

 private:
  void Complete();  // places everything put so far into encoded_
  void EndRun();
  void PushLiteral(uint32_t v);
  void PackGroup();
  void FlushLiterals();

  const int bit_width_;
  std::string encoded_;   // complete runs
  std::string literals_;  // bit-packed groups of the literal run in progress
  size_t literal_groups_ = 0;
  uint32_t group_[8] = {};  // the literal group being filled
  size_t group_size_ = 0;
  uint32_t run_value_ = 0;  // the trailing run of equal values, not yet placed
  size_t run_length_ = 0;
};

// Appends the hybrid encoding of `values` (each < 2^bit_width, bit_width 0..32) to `*out`,
// without any length prefix: the same bytes as RleBitPackedEncoder given them one by one,
// written straight into `*out` (for dictionary indices, whose page is encoded at once).
void RleBitPackedEncode(const uint32_t* values, size_t n, int bit_width, ByteBuffer* out);
void RleBitPackedEncode(const std::vector<uint32_t>& values, int bit_width, std::string* out);

}  // namespace millrace::formats::parquet
