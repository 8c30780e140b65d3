#include "formats/compression.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "common/crc32c.h"
#include "common/encoding.h"

namespace millrace::formats {

namespace {

constexpr int kGzipLevel = 6;  // zlib's default; gzip(1)'s too
constexpr int kZstdLevel = 3;  // zstd's default
constexpr int kGzipOsUnix = 3;

// One gzip member: a fixed 10-byte header (no mtime, no name, OS = Unix), deflate, CRC-32
// and size trailer. zlib's deflate is deterministic for a given level and zlib version.
Result<std::string> Gzip(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: gzip wrapper instead of zlib's.
  if (deflateInit2(&zs, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Status::Internal("gzip: deflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  gz_header header{};
  header.time = 0;  // no modification time: the same records give the same bytes
  header.os = kGzipOsUnix;
  if (deflateSetHeader(&zs, &header) != Z_OK)
    return Status::Internal("gzip: deflateSetHeader failed");

  std::string out;
  out.resize(deflateBound(&zs, data.size()));
  size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  // avail_in/avail_out are 32-bit: feed at most 1 GiB at a time.
  constexpr size_t kStep = size_t{1} << 30;
  while (rc != Z_STREAM_END) {
    if (out_pos == out.size()) out.resize(out.size() + out.size() / 2 + 64);
    size_t in_n = std::min(kStep, data.size() - in_pos);
    size_t out_n = std::min(kStep, out.size() - out_pos);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_pos));
    zs.avail_in = static_cast<uInt>(in_n);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(out_n);
    bool last = in_pos + in_n == data.size();
    rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      return Status::Internal("gzip: deflate failed (" + std::to_string(rc) + ")");
    in_pos += in_n - zs.avail_in;
    out_pos += out_n - zs.avail_out;
  }
  out.resize(out_pos);
  return out;
}

Result<std::string> Zstd(std::string_view data) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return Status::Internal("zstd: cannot create a context");
  // One thread (nbWorkers 0, the default) keeps the output independent of scheduling.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, kZstdLevel)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1)))
    return Status::Internal("zstd: cannot set parameters");
  std::string out;
  out.resize(ZSTD_compressBound(data.size()));
  size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

// The Snappy framing format: the stream identifier chunk, then one data chunk per 64 KiB of
// input. A data chunk is [type:1][length:3 LE][masked CRC-32C of the uncompressed bytes:4 LE]
// [payload], where length counts the CRC and the payload.
void AppendSnappyChunk(uint8_t type, uint32_t masked_crc, std::string_view payload,
                       std::string* out) {
  uint32_t length = static_cast<uint32_t>(payload.size() + 4);
  out->push_back(static_cast<char>(type));
  out->push_back(static_cast<char>(length & 0xff));
  out->push_back(static_cast<char>((length >> 8) & 0xff));
  out->push_back(static_cast<char>((length >> 16) & 0xff));
  PutFixed32(out, masked_crc);
  out->append(payload);
}

Result<std::string> SnappyFramed(std::string_view data) {
  std::string out(kSnappyStreamIdentifier, kSnappyStreamIdentifierSize);
  out.reserve(kSnappyStreamIdentifierSize + snappy::MaxCompressedLength(data.size()) +
              (data.size() / kSnappyMaxChunkInput + 1) * 8);
  std::string scratch(snappy::MaxCompressedLength(kSnappyMaxChunkInput), '\0');
  for (size_t pos = 0; pos < data.size(); pos += kSnappyMaxChunkInput) {
    std::string_view chunk = data.substr(pos, kSnappyMaxChunkInput);
    uint32_t crc = crc32c::Mask(crc32c::Value(chunk.data(), chunk.size()));
    size_t n = 0;
    snappy::RawCompress(chunk.data(), chunk.size(), scratch.data(), &n);
    // As Go's snappy writer does: store the chunk uncompressed unless compression saves at
    // least 1/8 of it (decompression is then not worth its time).
    if (n < chunk.size() - chunk.size() / 8) {
      AppendSnappyChunk(kSnappyCompressedChunk, crc, std::string_view(scratch.data(), n), &out);
    } else {
      AppendSnappyChunk(kSnappyUncompressedChunk, crc, chunk, &out);
    }
  }
  return out;
}

}  // namespace

Result<Compression> ParseCompression(std::string_view name) {
  if (name.empty()) return Compression::kNone;
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  if (name == "snappy") return Compression::kSnappy;
  return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                 "' (expected gzip, zstd, snappy or none)");
}

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kSnappy:
      return "snappy";
  }
  return "";
}

const char* CompressionExtension(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "";
    case Compression::kGzip:
      return ".gz";
    case Compression::kZstd:
      return ".zst";
    case Compression::kSnappy:
      return ".snappy";
  }
  return "";
}

const char* CompressionContentType(Compression c) {
  switch (c) {
    case Compression::kNone:
      return nullptr;
    case Compression::kGzip:
      return "application/gzip";
    case Compression::kZstd:
      return "application/zstd";
    case Compression::kSnappy:
      return "application/x-snappy-framed";
  }
  return nullptr;
}

Result<std::string> Compress(Compression c, std::string_view data) {
  switch (c) {
    case Compression::kNone:
      return std::string(data);
    case Compression::kGzip:
      return Gzip(data);
    case Compression::kZstd:
      return Zstd(data);
    case Compression::kSnappy:
      return SnappyFramed(data);
  }
  return Status::Internal("unknown compression");
}

}  // namespace millrace::formats
