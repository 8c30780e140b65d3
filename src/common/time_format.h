// UTC times as text, in the few shapes the wire formats need.
#pragma once

#include <cstdint>
#include <string>

namespace millrace {

// strftime's `format` of the UTC time `unix_seconds` ("%a, %d %b %Y %H:%M:%S GMT").
std::string FormatUtc(int64_t unix_seconds, const char* format);

// ISO 8601 with a fraction of `digits` digits (3: milliseconds, 6: microseconds) and "Z":
// Iso8601(1733446923123, 3) is "2024-12-06T01:02:03.123Z". `units` counts 10^-digits
// seconds since the epoch; times before it are handled (the fraction is never negative).
std::string Iso8601(int64_t units, int digits);

}  // namespace millrace
