#include "common/request_id.h"

#include <cstdint>
#include <cstdio>
#include <random>

#include "common/encoding.h"

namespace millrace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

std::string NewExtendedRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string bytes;
  bytes.reserve(48);
  for (int i = 0; i < 6; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 8; ++j) bytes.push_back(static_cast<char>((v >> (8 * j)) & 0xff));
  }
  return Base64Encode(bytes);
}

}  // namespace millrace
