#include "formats/naming.h"

#include <algorithm>
#include <chrono>

#include "common/crypto.h"

namespace millrace::formats {

namespace {

struct UtcTime {
  int year, month, day, hour, minute, second;
};

// Years 0000 to 9999: times outside are clamped (they only come from a broken clock).
constexpr int64_t kMinMs = -62167219200000;  // 0000-01-01T00:00:00Z
constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

UtcTime ToUtc(int64_t ms) {
  using namespace std::chrono;
  ms = std::clamp(ms, kMinMs, kMaxMs);
  // floor, not truncation: -1 ms is 1969-12-31 23:59:59.
  sys_seconds t = floor<seconds>(sys_time<milliseconds>(milliseconds(ms)));
  sys_days day = floor<days>(t);
  year_month_day ymd(day);
  hh_mm_ss hms(t - day);
  return {static_cast<int>(ymd.year()),
          static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())),
          static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count()),
          static_cast<int>(hms.seconds().count())};
}

// Zero-padded to `width` digits; `v` >= 0.
void AppendPadded(std::string* out, int v, int width) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width) out->append(width - digits.size(), '0');
  out->append(digits);
}

void AppendHourFolder(std::string* out, const UtcTime& t) {
  AppendPadded(out, t.year, 4);
  out->push_back('/');
  AppendPadded(out, t.month, 2);
  out->push_back('/');
  AppendPadded(out, t.day, 2);
  out->push_back('/');
  AppendPadded(out, t.hour, 2);
  out->push_back('/');
}

}  // namespace

const char* ErrorOutputTypeName(ErrorOutputType type) {
  switch (type) {
    case ErrorOutputType::kProcessingFailed:
      return "processing-failed";
    case ErrorOutputType::kFormatConversionFailed:
      return "format-conversion-failed";
  }
  return "processing-failed";
}

std::string TimePrefix(int64_t arrival_ms) {
  std::string out;
  AppendHourFolder(&out, ToUtc(arrival_ms));
  return out;
}

std::string ObjectFileName(const FileName& name) {
  UtcTime t = ToUtc(name.arrival_ms);
  std::string out;
  out.reserve(name.consumer.size() + name.uuid.size() + name.extension.size() + 40);
  out.append(name.consumer);
  out.push_back('-');
  out.append(std::to_string(name.version));
  out.push_back('-');
  AppendPadded(&out, t.year, 4);
  for (int part : {t.month, t.day, t.hour, t.minute, t.second}) {
    out.push_back('-');
    AppendPadded(&out, part, 2);
  }
  out.push_back('-');
  out.append(name.uuid);
  out.append(name.extension);
  return out;
}

std::string DataObjectKey(std::string_view prefix, const FileName& name) {
  std::string out(prefix);
  AppendHourFolder(&out, ToUtc(name.arrival_ms));
  out.append(ObjectFileName(name));
  return out;
}

std::string ErrorObjectKey(std::string_view prefix, ErrorOutputType type, const FileName& name) {
  std::string out(prefix);
  out.append(ErrorOutputTypeName(type));
  out.push_back('/');
  AppendHourFolder(&out, ToUtc(name.arrival_ms));
  out.append(ObjectFileName(name));
  return out;
}

std::string DeterministicUuid(std::string_view seed) {
  crypto::Digest32 d = crypto::Sha256(seed);
  d[6] = static_cast<uint8_t>((d[6] & 0x0f) | 0x40);  // version 4
  d[8] = static_cast<uint8_t>((d[8] & 0x3f) | 0x80);  // variant 10 (RFC 4122)
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 0x0f]);
  }
  return out;
}

}  // namespace millrace::formats
