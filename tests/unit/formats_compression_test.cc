// formats/compression: every codec round-trips through its own library's decoder (and, where
// the machine has it, through an independent command-line tool), is deterministic, and
// writes the framing that docs/format/datasets.md specifies byte by byte.
#include <gtest/gtest.h>
#include <snappy.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "common/crc32c.h"
#include "formats/compression.h"

namespace millrace::formats {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(zs.avail_in, 0u) << "bytes after the gzip member";
  inflateEnd(&zs);
  return out;
}

std::string Unzstd(const std::string& in) {
  unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  EXPECT_NE(size, ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_NE(size, ZSTD_CONTENTSIZE_ERROR);
  std::string out(size, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

// A Snappy framing format reader written from framing_format.txt, independent of the
// writer: checks the stream identifier, every chunk's type, length and CRC.
std::string Unsnappy(const std::string& in) {
  std::string out;
  EXPECT_EQ(in.substr(0, 10), std::string("\xff\x06\x00\x00sNaPpY", 10));
  size_t pos = 10;
  while (pos < in.size()) {
    EXPECT_LE(pos + 4, in.size());
    uint8_t type = static_cast<uint8_t>(in[pos]);
    size_t len = static_cast<uint8_t>(in[pos + 1]) | static_cast<uint8_t>(in[pos + 2]) << 8 |
                 static_cast<uint8_t>(in[pos + 3]) << 16;
    pos += 4;
    EXPECT_LE(pos + len, in.size());
    EXPECT_GE(len, 4u);
    uint32_t masked = static_cast<uint8_t>(in[pos]) | static_cast<uint8_t>(in[pos + 1]) << 8 |
                      static_cast<uint8_t>(in[pos + 2]) << 16 |
                      static_cast<uint32_t>(static_cast<uint8_t>(in[pos + 3])) << 24;
    std::string_view payload(in.data() + pos + 4, len - 4);
    std::string chunk;
    if (type == 0x00) {
      EXPECT_TRUE(snappy::Uncompress(payload.data(), payload.size(), &chunk));
    } else {
      EXPECT_EQ(type, 0x01);
      chunk.assign(payload);
    }
    EXPECT_LE(chunk.size(), 65536u);
    uint32_t crc = crc32c::Value(chunk.data(), chunk.size());
    uint32_t want = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;  // the spec's mask, spelled out
    EXPECT_EQ(masked, want);
    out += chunk;
    pos += len;
  }
  return out;
}

std::string Decompress(Compression c, const std::string& in) {
  switch (c) {
    case Compression::kNone:
      return in;
    case Compression::kGzip:
      return Gunzip(in);
    case Compression::kZstd:
      return Unzstd(in);
    case Compression::kSnappy:
      return Unsnappy(in);
  }
  return "";
}

std::string Sample(size_t n, uint32_t seed) {
  // Text-like (compressible) with random runs (not), so both snappy chunk kinds appear.
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    if (rng() % 4 == 0) {
      for (int i = 0; i < 300; ++i) s.push_back(static_cast<char>(rng()));
    } else {
      s += "{\"event\":\"click\",\"user\":" + std::to_string(rng() % 1000) + "}\n";
    }
  }
  s.resize(n);
  return s;
}

constexpr Compression kAll[] = {Compression::kNone, Compression::kGzip, Compression::kZstd,
                                Compression::kSnappy};

TEST(Compression, ParsesNamesAndRefusesOthers) {
  for (Compression c : kAll) {
    Result<Compression> parsed = ParseCompression(CompressionName(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, c);
  }
  Result<Compression> bad = ParseCompression("GZIP");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'GZIP'"), std::string::npos);
  EXPECT_FALSE(ParseCompression("hadoop_snappy").ok());
}

TEST(Compression, ExtensionsAndContentTypes) {
  EXPECT_STREQ(CompressionExtension(Compression::kNone), "");
  EXPECT_STREQ(CompressionExtension(Compression::kGzip), ".gz");
  EXPECT_STREQ(CompressionExtension(Compression::kZstd), ".zst");
  EXPECT_STREQ(CompressionExtension(Compression::kSnappy), ".snappy");
  EXPECT_EQ(CompressionContentType(Compression::kNone), nullptr);
  EXPECT_STREQ(CompressionContentType(Compression::kGzip), "application/gzip");
  EXPECT_STREQ(CompressionContentType(Compression::kZstd), "application/zstd");
  EXPECT_STREQ(CompressionContentType(Compression::kSnappy), "application/x-snappy-framed");
}

TEST(Compression, RoundTripsAndIsDeterministic) {
  // Sizes around the snappy chunk size and zlib's internal buffers.
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{65535}, size_t{65536}, size_t{65537},
                   size_t{3} << 20}) {
    std::string data = Sample(n, static_cast<uint32_t>(n));
    for (Compression c : kAll) {
      SCOPED_TRACE(std::string(CompressionName(c)) + " " + std::to_string(n));
      Result<std::string> a = Compress(c, data);
      Result<std::string> b = Compress(c, data);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      ASSERT_TRUE(b.ok());
      EXPECT_EQ(*a, *b) << "not deterministic";
      EXPECT_EQ(Decompress(c, *a), data);
    }
  }
}

TEST(Compression, GzipHeaderHasNoTimeAndNoName) {
  Result<std::string> gz = Compress(Compression::kGzip, "hello\n");
  ASSERT_TRUE(gz.ok());
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix).
  EXPECT_EQ(gz->substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10));
  // Trailer: CRC-32 and ISIZE of the input, little-endian.
  uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>("hello\n"), 6);
  std::string tail = gz->substr(gz->size() - 8);
  EXPECT_EQ(static_cast<uint8_t>(tail[0]), crc & 0xff);
  EXPECT_EQ(static_cast<uint8_t>(tail[3]), crc >> 24);
  EXPECT_EQ(tail.substr(4), std::string("\x06\x00\x00\x00", 4));
}

TEST(Compression, ZstdFrameCarriesSizeAndChecksum) {
  std::string data = Sample(1000, 7);
  Result<std::string> z = Compress(Compression::kZstd, data);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // frame magic
  EXPECT_EQ(ZSTD_getFrameContentSize(z->data(), z->size()), 1000u);
  uint8_t descriptor = static_cast<uint8_t>((*z)[4]);
  EXPECT_TRUE(descriptor & 0x04) << "content checksum flag";
  // A flipped byte in the content is caught by the checksum (or the entropy decoder).
  std::string bad = *z;
  bad[bad.size() / 2] ^= 0x55;
  std::string out(2000, '\0');
  EXPECT_TRUE(ZSTD_isError(ZSTD_decompress(out.data(), out.size(), bad.data(), bad.size())));
}

TEST(Compression, SnappyFramingLayout) {
  Result<std::string> empty = Compress(Compression::kSnappy, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::string(kSnappyStreamIdentifier, kSnappyStreamIdentifierSize));

  // Compressible: one compressed chunk whose payload is raw snappy of the input.
  std::string text(1000, 'a');
  Result<std::string> framed = Compress(Compression::kSnappy, text);
  ASSERT_TRUE(framed.ok());
  ASSERT_GT(framed->size(), 18u);
  EXPECT_EQ(static_cast<uint8_t>((*framed)[10]), kSnappyCompressedChunk);
  std::string raw;
  snappy::Compress(text.data(), text.size(), &raw);
  EXPECT_EQ(framed->substr(18), raw);

  // Incompressible: stored as an uncompressed chunk.
  std::string noise;
  std::mt19937 rng(3);
  for (int i = 0; i < 5000; ++i) noise.push_back(static_cast<char>(rng()));
  framed = Compress(Compression::kSnappy, noise);
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(static_cast<uint8_t>((*framed)[10]), kSnappyUncompressedChunk);
  EXPECT_EQ(framed->substr(18), noise);

  // 64 KiB + 1 byte: two data chunks.
  std::string big(65537, 'b');
  framed = Compress(Compression::kSnappy, big);
  ASSERT_TRUE(framed.ok());
  size_t first_len = static_cast<uint8_t>((*framed)[11]) |
                     static_cast<uint8_t>((*framed)[12]) << 8 |
                     static_cast<uint8_t>((*framed)[13]) << 16;
  size_t second = 10 + 4 + first_len;
  ASSERT_LT(second, framed->size());
  EXPECT_EQ(Unsnappy(framed->substr(0, second)), std::string(65536, 'b'));
  EXPECT_EQ(Unsnappy(*framed), big);
}

// Independent readers: the gzip and zstd command-line tools, and python-snappy's framing
// decoder (Debian's python3-snappy), when the machine has them.
std::string TempFile(const std::string& contents) {
  char path[] = "/tmp/millrace_formats_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "";
  close(fd);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

bool RunReader(const std::string& command, const std::string& compressed, std::string* out) {
  std::string path = TempFile(compressed);
  if (path.empty()) return false;
  FILE* p = popen((command + " < " + path).c_str(), "r");
  if (!p) return false;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int rc = pclose(p);
  std::remove(path.c_str());
  return rc == 0;
}

bool Have(const std::string& check) {
  return std::system((check + " >/dev/null 2>&1").c_str()) == 0;
}

// python-snappy's StreamDecompressor checks the stream identifier, chunk types, lengths and
// CRCs. Debian's 0.5.3 on Python 3.11 has a broken C CRC-32C (SystemError about
// PY_SSIZE_T_CLEAN); the script then gives it a pure-Python one, still independent of ours.
const char kSnappyReader[] = R"(import sys
import snappy.snappy as s
try:
    s._crc32c(b"x")
except SystemError:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    def crc32c(data):
        c = 0xFFFFFFFF
        for b in data:
            c = table[(c ^ b) & 0xFF] ^ (c >> 8)
        return c ^ 0xFFFFFFFF
    s._crc32c = crc32c
d = s.StreamDecompressor()
out = d.decompress(sys.stdin.buffer.read())
d.flush()
sys.stdout.buffer.write(out)
)";

TEST(Compression, IndependentReadersAgree) {
  std::string data = Sample(200000, 11);
  std::string script = TempFile(kSnappyReader);
  ASSERT_FALSE(script.empty());
  struct Reader {
    Compression c;
    std::string check, command;
  } readers[] = {
      {Compression::kGzip, "gzip --version", "gzip -dc"},
      {Compression::kZstd, "zstd --version", "zstd -dcq"},
      {Compression::kSnappy, "/usr/bin/python3 -c 'import snappy'", "/usr/bin/python3 " + script},
  };
  int ran = 0;
  for (const Reader& r : readers) {
    if (!Have(r.check)) continue;
    SCOPED_TRACE(r.command);
    Result<std::string> compressed = Compress(r.c, data);
    ASSERT_TRUE(compressed.ok());
    std::string out;
    EXPECT_TRUE(RunReader(r.command, *compressed, &out));
    EXPECT_EQ(out.size(), data.size());
    EXPECT_TRUE(out == data) << "the reader's bytes differ";
    ++ran;
  }
  std::remove(script.c_str());
  if (ran == 0) GTEST_SKIP() << "no independent reader on this machine";
}

}  // namespace
}  // namespace millrace::formats
