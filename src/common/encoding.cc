#include "common/encoding.h"

#include <array>
#include <cstring>

namespace millrace {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = MakeDecodeTable();

// Every pair of characters (first << 8 | second) as the 12 bits they decode to, or 0xffff
// when either is not in the alphabet: the decoder and the check read two characters per
// load (the one-character table made base64 9 % of a PutRecords' server time).
struct PairDecodeTable {
  uint16_t v[65536];
  constexpr PairDecodeTable() : v{} {
    for (int i = 0; i < 65536; ++i) {
      const int a = kDecode[i >> 8], b = kDecode[i & 0xff];
      v[i] = a < 0 || b < 0 ? 0xffff : static_cast<uint16_t>(a << 6 | b);
    }
  }
};
constexpr PairDecodeTable kPairDecode;
constexpr unsigned kPairInvalid = 0x8000;  // set in the sentinel, never in 12 bits

unsigned Pair(const uint8_t* p) { return kPairDecode.v[p[0] << 8 | p[1]]; }

}  // namespace

// Every 12-bit value as its two base64 characters: the encoder emits two at a time.
struct PairTable {
  char c[4096][2];
  constexpr PairTable() : c{} {
    for (int i = 0; i < 4096; ++i) {
      c[i][0] = kAlphabet[i >> 6];
      c[i][1] = kAlphabet[i & 63];
    }
  }
};
constexpr PairTable kPairTable;

void Base64Encode(std::string_view in, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t n = in.size();
  size_t start = out->size();
  out->resize(start + (n + 2) / 3 * 4);
  char* o = out->data() + start;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    std::memcpy(o, kPairTable.c[v >> 12], 2);
    std::memcpy(o + 2, kPairTable.c[v & 0xfff], 2);
    o += 4;
  }
  if (i < n) {
    uint32_t v = p[i] << 16;
    if (i + 1 < n) v |= p[i + 1] << 8;
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = (i + 1 < n) ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  Base64Encode(in, &out);
  return out;
}

size_t Base64DecodedLength(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return in.size() / 4 * 3;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  return in.size() / 4 * 3 - pad;
}

bool Base64Decode(std::string_view in, std::string* out) {
  if (in.size() % 4 != 0) return false;
  size_t n = in.size();
  if (n == 0) return true;
  size_t pad = 0;
  if (in[n - 1] == '=') ++pad;
  if (in[n - 2] == '=') ++pad;
  size_t start = out->size();
  out->resize(start + n / 4 * 3 - pad);
  char* o = out->data() + start;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t full = n - (pad ? 4 : 0);
  for (size_t i = 0; i < full; i += 4) {
    const unsigned hi = Pair(p + i), lo = Pair(p + i + 2);
    if ((hi | lo) & kPairInvalid) return false;
    const uint32_t v = hi << 12 | lo;
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>(v >> 8);
    *o++ = static_cast<char>(v);
  }
  if (pad) {
    size_t i = n - 4;
    int a = kDecode[p[i]], b = kDecode[p[i + 1]];
    if ((a | b) < 0) return false;
    uint32_t v = (a << 18) | (b << 12);
    if (pad == 1) {
      int c = kDecode[p[i + 2]];
      if (c < 0) return false;
      v |= c << 6;
      *o++ = static_cast<char>(v >> 16);
      *o++ = static_cast<char>(v >> 8);
    } else {
      *o++ = static_cast<char>(v >> 16);
    }
  }
  return true;
}

bool Base64Valid(std::string_view in) {
  size_t n = in.size();
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  size_t pad = 0;
  if (in[n - 1] == '=') ++pad;
  if (in[n - 2] == '=') ++pad;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t chars = n - pad;
  unsigned pairs = 0;
  size_t i = 0;
  for (; i + 2 <= chars; i += 2) pairs |= Pair(p + i);
  if (pairs & kPairInvalid) return false;
  return i == chars || kDecode[p[i]] >= 0;  // an odd count: the last one on its own
}

std::string HexEncode(const void* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  auto digit = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string Abbreviate(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  std::string out(s.substr(0, cut));
  out += "...";
  return out;
}

}  // namespace millrace
