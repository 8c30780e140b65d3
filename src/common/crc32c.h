// CRC-32C (Castagnoli), as used to frame the on-disk log (docs/format/log.md).
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace millrace::crc32c {

// Extends `crc` (the CRC of some earlier bytes, 0 for none) over data[0, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// LevelDB's masking: a CRC stored next to the data it covers is masked so that the CRC
// of a string that itself contains CRCs does not degenerate.
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return ((rot >> 17) | (rot << 15));
}

}  // namespace millrace::crc32c
