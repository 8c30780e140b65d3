#include "formats/naming.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/crypto.h"

namespace millrace::formats {

namespace {

struct UtcTime {
  int year, month, day, hour, minute, second;
};

// Years 0000 to 9999: times outside are clamped (they only come from a broken clock).
constexpr int64_t kMinMs = -62167219200000;  // 0000-01-01T00:00:00Z
constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

UtcTime ToCivil(int64_t ms, const TimeZone* zone = nullptr) {
  using namespace std::chrono;
  ms = std::clamp(ms, kMinMs, kMaxMs);
  if (zone) {
    const int64_t s = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    ms = std::clamp(ms + int64_t{zone->OffsetAt(s)} * 1000, kMinMs, kMaxMs);
  }
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
  AppendHourFolder(&out, ToCivil(arrival_ms));
  return out;
}

std::string ObjectFileName(const FileName& name) {
  UtcTime t = ToCivil(name.arrival_ms, name.zone);
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
  AppendHourFolder(&out, ToCivil(name.arrival_ms, name.zone));
  out.append(ObjectFileName(name));
  return out;
}

std::string ErrorObjectKey(std::string_view prefix, ErrorOutputType type, const FileName& name) {
  std::string out(prefix);
  out.append(ErrorOutputTypeName(type));
  out.push_back('/');
  AppendHourFolder(&out, ToCivil(name.arrival_ms, name.zone));
  out.append(ObjectFileName(name));
  return out;
}

namespace {

constexpr size_t kMaxPrefixBytes = 1024;
constexpr std::string_view kLambdaKeyPrefix = "lambda:";
constexpr int kMaxExpressions = 50;

// One part of a prefix: literal text, or an expression.
struct PrefixPart {
  enum Kind { kText, kTimestamp, kRandom, kErrorType, kPartition } kind = kText;
  std::string text;  // kText: the text; kTimestamp: the pattern; kPartition: the key
};

bool SafeLiteral(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!-_.*'()/=+,;:@ ").find(c) != std::string_view::npos;
}

// Splits a prefix into parts; InvalidArgument (naming `field`) for what it cannot hold.
Status SplitPrefix(std::string_view field, std::string_view prefix, std::vector<PrefixPart>* out) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(field) + ": " + why);
  };
  if (prefix.size() > kMaxPrefixBytes) return bad("must be at most 1024 bytes");
  int expressions = 0;
  size_t i = 0;
  while (i < prefix.size()) {
    size_t at = prefix.find("!{", i);
    std::string_view text =
        prefix.substr(i, at == std::string_view::npos ? std::string_view::npos : at - i);
    for (char c : text)
      if (!SafeLiteral(c))
        return bad("the character '" + std::string(1, c) +
                   "' is not allowed (letters, digits and !-_.*'()/=+,;:@ and space are)");
    if (!text.empty()) out->push_back({PrefixPart::kText, std::string(text)});
    if (at == std::string_view::npos) break;
    size_t end = prefix.find('}', at);
    if (end == std::string_view::npos) return bad("an expression !{ is not closed by }");
    if (++expressions > kMaxExpressions) return bad("at most 50 expressions");
    std::string_view expr = prefix.substr(at + 2, end - at - 2);
    size_t colon = expr.find(':');
    std::string_view ns = expr.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : expr.substr(colon + 1);
    if (ns == "timestamp") {
      if (value.empty()) return bad("!{timestamp:} needs a pattern (yyyy/MM/dd)");
      out->push_back({PrefixPart::kTimestamp, std::string(value)});
    } else if (ns == "firehose" && value == "random-string") {
      out->push_back({PrefixPart::kRandom, ""});
    } else if (ns == "firehose" && value == "error-output-type") {
      out->push_back({PrefixPart::kErrorType, ""});
    } else if (ns == "partitionKeyFromQuery") {
      if (value.empty() || value.size() > 128)
        return bad("!{partitionKeyFromQuery:<key>} needs a key of 1 to 128 characters");
      out->push_back({PrefixPart::kPartition, std::string(value)});
    } else if (ns == "partitionKeyFromLambda") {
      if (value.empty() || value.size() > 128)
        return bad("!{partitionKeyFromLambda:<key>} needs a key of 1 to 128 characters");
      out->push_back({PrefixPart::kPartition, std::string(kLambdaKeyPrefix) + std::string(value)});
    } else {
      return bad("unknown expression !{" + std::string(expr.substr(0, 64)) +
                 "} (!{timestamp:...}, !{firehose:random-string} and "
                 "!{firehose:error-output-type} are known)");
    }
    i = end + 1;
  }
  return Status::Ok();
}

// Appends `t` in the pattern; InvalidArgument for a pattern it cannot write.
Status AppendTimestamp(std::string* out, std::string_view pattern, const UtcTime& t) {
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    if (c == '\'') {  // 'quoted text'; '' is a quote
      size_t end = pattern.find('\'', i + 1);
      if (end == std::string_view::npos)
        return Status::InvalidArgument("timestamp pattern: a quote is not closed");
      if (end == i + 1) {
        out->push_back('\'');
      } else {
        for (char q : pattern.substr(i + 1, end - i - 1))
          if (!SafeLiteral(q) || q == '\'')
            return Status::InvalidArgument("timestamp pattern: the character '" +
                                           std::string(1, q) + "' is not allowed");
        out->append(pattern.substr(i + 1, end - i - 1));
      }
      i = end + 1;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      if (!SafeLiteral(c))
        return Status::InvalidArgument("timestamp pattern: the character '" + std::string(1, c) +
                                       "' is not allowed");
      out->push_back(c);
      ++i;
      continue;
    }
    size_t run = 1;
    while (i + run < pattern.size() && pattern[i + run] == c) ++run;
    int value = 0;
    switch (c) {
      case 'y':
      case 'u':
        if (run == 2) {
          AppendPadded(out, t.year % 100, 2);
        } else if (run == 4) {
          AppendPadded(out, t.year, 4);
        } else {
          return Status::InvalidArgument("timestamp pattern: year as yyyy or yy");
        }
        i += run;
        continue;
      case 'M':
        value = t.month;
        break;
      case 'd':
        value = t.day;
        break;
      case 'H':
        value = t.hour;
        break;
      case 'm':
        value = t.minute;
        break;
      case 's':
        value = t.second;
        break;
      default:
        return Status::InvalidArgument(
            "timestamp pattern: the letter '" + std::string(1, c) +
            "' is not supported (y, M, d, H, m, s are; quote text as 'text')");
    }
    if (run > 2)
      return Status::InvalidArgument("timestamp pattern: " + std::string(run, c) +
                                     " is not supported (one or two letters)");
    AppendPadded(out, value, static_cast<int>(run));
    i += run;
  }
  return Status::Ok();
}

std::string RandomString(std::string_view uuid) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  crypto::Digest32 d = crypto::Sha256(std::string("random-string ") + std::string(uuid));
  std::string out;
  for (int i = 0; i < 11; ++i) out.push_back(kAlphabet[d[i] % 62]);
  return out;
}

// The prefix evaluated; false if a part cannot be (only for unchecked prefixes).
bool Evaluate(const std::vector<PrefixPart>& parts, const UtcTime& t, std::string_view uuid,
              std::string_view error_type, const PartitionValues* values, std::string* out) {
  for (const PrefixPart& p : parts) {
    switch (p.kind) {
      case PrefixPart::kText:
        out->append(p.text);
        break;
      case PrefixPart::kTimestamp:
        if (!AppendTimestamp(out, p.text, t).ok()) return false;
        break;
      case PrefixPart::kRandom:
        out->append(RandomString(uuid));
        break;
      case PrefixPart::kErrorType:
        out->append(error_type);
        break;
      case PrefixPart::kPartition:
        if (values) {
          auto it = values->find(p.text);
          if (it != values->end()) out->append(it->second);
        }
        break;
    }
  }
  return true;
}

// Whether an evaluated prefix stays in its folder.
bool StaysInFolder(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() == '/') return false;
  size_t start = 0;
  while (start < p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view seg = p.substr(start, slash - start);
    const bool last = slash == p.size();  // the start of the file name
    if ((seg.empty() && !last) || seg == "." || seg == ".." || seg.starts_with(".tmp-"))
      return false;
    start = slash + 1;
  }
  return true;
}

std::string EvaluateOrDefault(std::string_view prefix, const std::string* error_type,
                              const FileName& name, const PartitionValues* values) {
  std::vector<PrefixPart> parts;
  std::string out;
  if (!HasExpressions(prefix) || !SplitPrefix("prefix", prefix, &parts).ok()) {
    out.append(prefix);
    if (error_type) {
      out.append(*error_type);
      out.push_back('/');
    }
    AppendHourFolder(&out, ToCivil(name.arrival_ms, name.zone));
  } else if (!Evaluate(parts, ToCivil(name.arrival_ms, name.zone), name.uuid,
                       error_type ? std::string_view(*error_type) : "", values, &out)) {
    out.clear();  // a checked prefix cannot get here; the default then
    AppendHourFolder(&out, ToCivil(name.arrival_ms, name.zone));
  }
  out.append(ObjectFileName(name));
  return out;
}

}  // namespace

bool HasExpressions(std::string_view prefix) { return prefix.find("!{") != std::string_view::npos; }

Status CheckCustomPrefix(std::string_view field, std::string_view prefix, bool error_prefix) {
  std::vector<PrefixPart> parts;
  MILLRACE_RETURN_IF_ERROR(SplitPrefix(field, prefix, &parts));
  bool has_type = false;
  for (const PrefixPart& p : parts) {
    if (p.kind == PrefixPart::kPartition && error_prefix)
      return Status::InvalidArgument(std::string(field) +
                                     ": partition keys (!{partitionKeyFromQuery:...}, "
                                     "!{partitionKeyFromLambda:...}) cannot be in the error "
                                     "prefix (a record that failed may have no keys)");
    if (p.kind == PrefixPart::kErrorType) {
      if (!error_prefix)
        return Status::InvalidArgument(std::string(field) +
                                       ": !{firehose:error-output-type} belongs in the error "
                                       "prefix only");
      has_type = true;
    }
  }
  if (error_prefix && HasExpressions(prefix) && !has_type)
    return Status::InvalidArgument(std::string(field) +
                                   ": an error prefix with expressions must hold "
                                   "!{firehose:error-output-type}");
  // Evaluated at a sample time, with the widest values: what it gives must stay inside.
  std::string sample;
  UtcTime t{2024, 12, 31, 23, 59, 59};
  if (HasExpressions(prefix)) {
    for (const PrefixPart& p : parts)
      if (p.kind == PrefixPart::kTimestamp) {
        std::string ignored;
        Status st = AppendTimestamp(&ignored, p.text, t);
        if (!st.ok()) return Status::InvalidArgument(std::string(field) + ": " + st.message());
      }
    PartitionValues sample_values;
    for (const PrefixPart& p : parts)
      if (p.kind == PrefixPart::kPartition) sample_values[p.text] = "v";
    Evaluate(parts, t, "00000000-0000-4000-8000-000000000000", "processing-failed", &sample_values,
             &sample);
  } else {
    sample = std::string(prefix);
  }
  if (!StaysInFolder(sample))
    return Status::InvalidArgument(std::string(field) +
                                   ": must not start with '/' nor hold empty, '.', '..' or "
                                   "'.tmp-' parts");
  return Status::Ok();
}

std::vector<std::string> PartitionKeysOf(std::string_view prefix) {
  std::vector<PrefixPart> parts;
  std::vector<std::string> out;
  if (!SplitPrefix("prefix", prefix, &parts).ok()) return out;
  for (const PrefixPart& p : parts)
    if (p.kind == PrefixPart::kPartition && std::find(out.begin(), out.end(), p.text) == out.end())
      out.push_back(p.text);
  return out;
}

std::string CustomObjectKey(std::string_view prefix, const FileName& name,
                            const PartitionValues* values) {
  return EvaluateOrDefault(prefix, nullptr, name, values);
}

std::string CustomErrorKey(std::string_view prefix, ErrorOutputType type, const FileName& name) {
  const std::string t = ErrorOutputTypeName(type);
  return EvaluateOrDefault(prefix, &t, name, nullptr);
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
