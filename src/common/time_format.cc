#include "common/time_format.h"

#include <cstdio>
#include <ctime>

namespace millrace {

std::string FormatUtc(int64_t unix_seconds, const char* format) {
  std::time_t s = static_cast<std::time_t>(unix_seconds);
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[96];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string Iso8601(int64_t units, int digits) {
  int64_t per_second = 1;
  for (int i = 0; i < digits; ++i) per_second *= 10;
  int64_t secs = units / per_second, frac = units % per_second;
  if (frac < 0) {
    frac += per_second;
    secs -= 1;
  }
  std::string out = FormatUtc(secs, "%Y-%m-%dT%H:%M:%S");
  if (digits > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ".%0*lld", digits, static_cast<long long>(frac));
    out += buf;
  }
  return out + "Z";
}

}  // namespace millrace
