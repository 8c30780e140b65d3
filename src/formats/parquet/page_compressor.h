// PageCompressor: compresses page bodies with a column chunk's codec (docs/format/
// parquet.md, "Compression"), reusing its output buffer and, for zstd, one compression
// context, so that a page costs no allocation once the buffers have grown. It also lends
// the column writers a scratch buffer to assemble a page body in. One per file writer,
// shared by its column writers, which flush one page at a time. Not thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "formats/parquet/buffer.h"
#include "formats/parquet/metadata.h"

namespace millrace::formats::parquet {

class PageCompressor {
 public:
  explicit PageCompressor(Codec codec);
  ~PageCompressor();
  PageCompressor(const PageCompressor&) = delete;
  PageCompressor& operator=(const PageCompressor&) = delete;

  Codec codec() const { return codec_; }
  // Scratch for a page body, free between two page flushes.
  ByteBuffer* body() { return &body_; }
  // The compressed form of `input`, or of body() followed by `tail` (body() may then be
  // appended to): snappy's raw block format (read from the two pieces, which are not
  // copied together), one gzip member, or one zstd frame (level 3, with checksum and
  // content size); the input itself when uncompressed. Valid until the next call or
  // Release. Fails (kInternal) only if a compression library does.
  Result<std::string_view> Compress(std::string_view input);
  Result<std::string_view> CompressBody(std::string_view tail);
  // Gives back the buffers' memory (they grow again on the next page).
  void Release();

 private:
  struct ZstdContext;

  const Codec codec_;
  ByteBuffer body_, out_;
  std::unique_ptr<ZstdContext> zstd_;
};

}  // namespace millrace::formats::parquet
