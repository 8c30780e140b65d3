// The RLE/bit-packed hybrid encoding (parquet-format Encodings.md, "Run Length Encoding /
// Bit-Packing Hybrid"), used for definition levels and dictionary indices.
//
//   run := rle-run | bit-packed-run
//   rle-run := varint(count << 1) value (ceil(bit_width / 8) bytes, little-endian)
//   bit-packed-run := varint(groups << 1 | 1) groups * 8 values packed LSB first
//
// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of
// 8. Only the last group may be padded (with zeros): readers know the value count from the
// page header, so padding is allowed only there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace millrace::formats::parquet {

// The number of bits needed for values 0 .. max_value (0 for max_value 0).
int BitWidth(uint32_t max_value);

// Appends the hybrid encoding of `values` (each < 2^bit_width, bit_width 0..32) to `*out`,
// without any length prefix.
void RleBitPackedEncode(const std::vector<uint32_t>& values, int bit_width, std::string* out);

}  // namespace millrace::formats::parquet
