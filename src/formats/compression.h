// Compression of whole dataset files, applied by the writers at Finish (docs/format/
// datasets.md, "Compression"). Every codec here is deterministic: the same input gives the
// same bytes with the same library versions, which delivery relies on to rewrite a file
// under the same key after a crash. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace millrace::formats {

enum class Compression {
  kNone,    // ""
  kGzip,    // "gzip": RFC 1952, one member, mtime 0, no file name, zlib level 6
  kZstd,    // "zstd": RFC 8878, one frame, level 3, content size and checksum in the frame
  kSnappy,  // "snappy": the Snappy *framing* format (framing_format.txt), not Hadoop's
};

// "", "gzip", "zstd", "snappy" (exactly; the dataset API's spelling). Anything else is
// InvalidArgument naming the value.
Result<Compression> ParseCompression(std::string_view name);
const char* CompressionName(Compression c);       // the inverse of ParseCompression
const char* CompressionExtension(Compression c);  // "", ".gz", ".zst", ".snappy"
// The Content-Type of a compressed file ("application/gzip", ...); nullptr for kNone.
const char* CompressionContentType(Compression c);

// The compressed form of `data`. Fails (kInternal) only if a library does, which means a bug
// or an allocation failure.
Result<std::string> Compress(Compression c, std::string_view data);

// Snappy framing format constants, pinned by docs/format/datasets.md.
inline constexpr char kSnappyStreamIdentifier[] = "\xff\x06\x00\x00sNaPpY";  // 10 bytes
inline constexpr size_t kSnappyStreamIdentifierSize = 10;
inline constexpr uint8_t kSnappyCompressedChunk = 0x00;
inline constexpr uint8_t kSnappyUncompressedChunk = 0x01;
inline constexpr size_t kSnappyMaxChunkInput = 65536;  // uncompressed bytes per data chunk
static_assert(sizeof(kSnappyStreamIdentifier) == kSnappyStreamIdentifierSize + 1);

}  // namespace millrace::formats
