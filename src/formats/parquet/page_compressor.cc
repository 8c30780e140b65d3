#include "formats/parquet/page_compressor.h"

#include <snappy-sinksource.h>
#include <snappy.h>
#include <zstd.h>

#include <algorithm>
#include <string>

#include "formats/compression.h"

namespace millrace::formats::parquet {

namespace {

constexpr int kZstdLevel = 3;  // as formats/compression.h's whole-file zstd

// Two pieces read one after the other, as snappy::Compress takes its input: it compresses
// 64 KiB blocks, straight from a piece when the block lies in one and from a copy of the
// block's parts otherwise, giving the bytes RawCompress gives for the pieces together.
class TwoPieceSource final : public snappy::Source {
 public:
  TwoPieceSource(std::string_view first, std::string_view second)
      : first_(first), second_(second) {}
  size_t Available() const override { return first_.size() + second_.size(); }
  const char* Peek(size_t* length) override {
    const std::string_view& piece = first_.empty() ? second_ : first_;
    *length = piece.size();
    return piece.data();
  }
  void Skip(size_t n) override {
    const size_t from_first = std::min(n, first_.size());
    first_.remove_prefix(from_first);
    second_.remove_prefix(n - from_first);
  }

 private:
  std::string_view first_, second_;
};

}  // namespace

struct PageCompressor::ZstdContext {
  ZSTD_CCtx* cctx = nullptr;
  ~ZstdContext() { ZSTD_freeCCtx(cctx); }
};

PageCompressor::PageCompressor(Codec codec) : codec_(codec) {}

PageCompressor::~PageCompressor() = default;

Result<std::string_view> PageCompressor::Compress(std::string_view input) {
  switch (codec_) {
    case Codec::kUncompressed:
      return input;
    case Codec::kSnappy: {
      out_.clear();
      char* p = out_.Extend(snappy::MaxCompressedLength(input.size()));
      size_t n = 0;
      snappy::RawCompress(input.data(), input.size(), p, &n);
      out_.Truncate(n);
      return out_.view();
    }
    case Codec::kGzip: {  // Parquet's GZIP is the gzip (RFC 1952) format, as ours is
      Result<std::string> gz = formats::Compress(Compression::kGzip, input);
      if (!gz.ok()) return gz.status();
      out_.clear();
      out_.append(*gz);
      return out_.view();
    }
    case Codec::kZstd: {
      if (!zstd_) {
        auto z = std::make_unique<ZstdContext>();
        z->cctx = ZSTD_createCCtx();
        if (z->cctx == nullptr) return Status::Internal("zstd: cannot create a context");
        if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, kZstdLevel)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_contentSizeFlag, 1)))
          return Status::Internal("zstd: cannot set parameters");
        zstd_ = std::move(z);
      }
      out_.clear();
      const size_t bound = ZSTD_compressBound(input.size());
      char* p = out_.Extend(bound);
      size_t n = ZSTD_compress2(zstd_->cctx, p, bound, input.data(), input.size());
      if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
      out_.Truncate(n);
      return out_.view();
    }
  }
  return Status::Internal("unknown parquet codec");
}

Result<std::string_view> PageCompressor::CompressBody(std::string_view tail) {
  if (codec_ != Codec::kSnappy || tail.empty()) {
    body_.append(tail);
    return Compress(body_.view());
  }
  const size_t n = body_.size() + tail.size();
  out_.clear();
  TwoPieceSource source(body_.view(), tail);
  snappy::UncheckedByteArraySink sink(out_.Extend(snappy::MaxCompressedLength(n)));
  out_.Truncate(snappy::Compress(&source, &sink));
  return out_.view();
}

void PageCompressor::Release() {
  body_.Release();
  out_.Release();
  zstd_.reset();
}

}  // namespace millrace::formats::parquet
