#include "auth/sigv4.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <utility>

#include "common/crypto.h"
#include "common/encoding.h"

namespace millrace::auth {
namespace {

constexpr int64_t kMaxPresignExpiresSeconds = 7 * 24 * 3600;  // 604800, as AWS

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendEncoded(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (IsUnreserved(c)) {
    out->push_back(static_cast<char>(c));
  } else {
    out->push_back('%');
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 0xf]);
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::string DigestBytes(const crypto::Digest32& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// ---- Calendar (proleptic Gregorian, UTC), after H. Hinnant's days_from_civil ----

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::optional<int64_t> MakeTime(int y, int mo, int d, int h, int mi, int s) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  int dim = kDays[mo - 1] + (mo == 2 && IsLeap(y) ? 1 : 0);
  if (d > dim) return std::nullopt;
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

// Reads s[pos, pos+n) as a decimal number; false unless all are digits.
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// ---- Query strings ----

struct QueryParam {
  std::string name;   // decoded
  std::string value;  // decoded
};

std::vector<QueryParam> ParseQuery(std::string_view query) {
  std::vector<QueryParam> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    params.push_back({UriDecode(name), UriDecode(value)});
  }
  return params;
}

const std::string* FindParam(const std::vector<QueryParam>& params, std::string_view name) {
  for (const QueryParam& p : params)
    if (p.name == name) return &p.value;
  return nullptr;
}

// ---- Paths ----

// botocore's remove_dot_segments: drops empty and "." segments, ".." pops one; keeps a
// trailing '/' only if the path had one and something is left.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

// ---- Signing helpers ----

// Headers a signer leaves unsigned: hop-by-hop ones a proxy may rewrite, and those SDKs
// add or change after signing.
bool IsUnsignedHeader(std::string_view lower_name) {
  static constexpr std::string_view kUnsigned[] = {
      "authorization", "user-agent",       "x-amzn-trace-id",   "expect",  "connection",
      "keep-alive",    "proxy-connection", "transfer-encoding", "upgrade", "te"};
  for (std::string_view u : kUnsigned)
    if (u == lower_name) return true;
  return false;
}

std::vector<std::string> HeadersToSign(const std::vector<http::Header>& headers,
                                       std::string_view also_skip) {
  std::vector<std::string> names;
  for (const http::Header& h : headers) {
    std::string lower = ToLower(h.name);
    if (!IsUnsignedHeader(lower) && lower != also_skip) names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void RemoveHeaders(std::vector<http::Header>* headers,
                   std::initializer_list<std::string_view> names) {
  std::erase_if(*headers, [&](const http::Header& h) {
    for (std::string_view n : names)
      if (http::EqualsIgnoreCase(h.name, n)) return true;
    return false;
  });
}

SigningTrace Compute(std::string_view method, std::string_view canonical_uri,
                     std::string_view canonical_query, std::string_view canonical_headers,
                     std::string_view signed_headers, std::string_view payload_hash,
                     std::string_view amz_date, std::string_view scope,
                     std::string_view signing_key) {
  SigningTrace t;
  t.canonical_request = CanonicalRequest(method, canonical_uri, canonical_query, canonical_headers,
                                         signed_headers, payload_hash);
  t.string_to_sign = StringToSign(amz_date, scope, t.canonical_request);
  t.signature = Signature(signing_key, t.string_to_sign);
  return t;
}

bool IsHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (HexValue(c) < 0) return false;
  return true;
}

// ---- Verification helpers ----

// What a request claims, from its Authorization header or its presigned query.
struct Claims {
  std::string authorization;  // the header value, for messages
  std::string credential;
  std::string signed_headers;
  std::string signature;
  std::string session_token;
  std::string content_sha256_param;  // presigned X-Amz-Content-Sha256, if any
  int64_t time_s = 0;
  std::optional<int64_t> expires_s;
  bool presigned = false;
};

AuthError Error(AuthErrorKind kind, std::string message) { return {kind, std::move(message)}; }
AuthError Incomplete(std::string message) {
  return Error(AuthErrorKind::kIncompleteSignature, std::move(message));
}
AuthError Invalid(std::string message) {
  return Error(AuthErrorKind::kInvalidSignature, std::move(message));
}

// What an error message quotes of the request is abbreviated, so that a hostile 60 KB
// header never comes back in an answer (or a log line) whole.
std::string Quoted(std::string_view s) { return Abbreviate(s, 256); }

std::string BadDateMessage(std::string_view value) {
  return "Date must be in ISO-8601 'basic format'. Got '" + Quoted(value) +
         "'. See http://en.wikipedia.org/wiki/ISO_8601";
}

std::optional<AuthError> ParseHeaderClaims(const http::Request& r, std::string_view header,
                                           Claims* c) {
  c->authorization = std::string(header);
  std::string_view v = Trim(header);
  size_t sp = v.find_first_of(" \t");
  std::string_view algorithm = v.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : v.substr(sp + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view value = Trim(part.substr(eq + 1));
    std::string* slot = key == "Credential"      ? &c->credential
                        : key == "SignedHeaders" ? &c->signed_headers
                        : key == "Signature"     ? &c->signature
                                                 : nullptr;
    if (slot && slot->empty()) *slot = std::string(value);
  }
  const std::string* amz_date = r.FindHeader("x-amz-date");
  const std::string* date = amz_date ? amz_date : r.FindHeader("date");

  // AWS lists every missing part in one message, then echoes the header.
  std::string missing;
  if (c->credential.empty()) missing += "Authorization header requires 'Credential' parameter. ";
  if (c->signature.empty()) missing += "Authorization header requires 'Signature' parameter. ";
  if (c->signed_headers.empty())
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!date)
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  if (!missing.empty()) return Incomplete(missing + "Authorization=" + Quoted(c->authorization));
  if (algorithm != kAlgorithm)
    return Incomplete(
        "The authorization mechanism you have provided is not supported. Please use "
        "AWS4-HMAC-SHA256.");

  std::optional<int64_t> t = amz_date ? ParseAmzDate(*amz_date) : ParseHttpDate(*date);
  if (!t) return Incomplete(BadDateMessage(*date));
  c->time_s = *t;
  if (const std::string* token = r.FindHeader("x-amz-security-token")) c->session_token = *token;
  return std::nullopt;
}

std::optional<AuthError> ParsePresignedClaims(const std::vector<QueryParam>& params, Claims* c) {
  c->presigned = true;
  static constexpr std::string_view kRequired[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                                   "X-Amz-Signature", "X-Amz-Date",
                                                   "X-Amz-SignedHeaders"};
  std::string missing;
  for (std::string_view name : kRequired) {
    const std::string* v = FindParam(params, name);
    if (!v || v->empty())
      missing += "AWS query-string parameters must include '" + std::string(name) + "'. ";
  }
  if (!missing.empty()) return Incomplete(missing + "Re-examine the query-string parameters.");
  if (*FindParam(params, "X-Amz-Algorithm") != kAlgorithm)
    return Incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  c->credential = *FindParam(params, "X-Amz-Credential");
  c->signature = *FindParam(params, "X-Amz-Signature");
  c->signed_headers = *FindParam(params, "X-Amz-SignedHeaders");
  const std::string& date = *FindParam(params, "X-Amz-Date");
  std::optional<int64_t> t = ParseAmzDate(date);
  if (!t) return Incomplete(BadDateMessage(date));
  c->time_s = *t;
  if (const std::string* e = FindParam(params, "X-Amz-Expires")) {
    std::string_view s = *e;
    bool negative = !s.empty() && s.front() == '-';
    if (negative) s.remove_prefix(1);
    if (s.empty() || s.size() > 12 ||
        !std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return Incomplete("X-Amz-Expires should be a number");
    int64_t n = std::stoll(std::string(s));
    if (negative && n != 0) return Incomplete("X-Amz-Expires must be non-negative");
    if (n > kMaxPresignExpiresSeconds)
      return Incomplete(
          "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires "
          "must be less than 604800 seconds");
    c->expires_s = n;
  }
  if (const std::string* tok = FindParam(params, "X-Amz-Security-Token")) c->session_token = *tok;
  if (const std::string* h = FindParam(params, "X-Amz-Content-Sha256"))
    c->content_sha256_param = *h;
  return std::nullopt;
}

std::vector<std::string> SplitSignedHeaders(std::string_view s) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::count(s.begin(), s.end(), ';')) + 1);
  while (true) {
    size_t semi = s.find(';');
    out.push_back(ToLower(s.substr(0, semi)));
    if (semi == std::string_view::npos) break;
    s = s.substr(semi + 1);
  }
  return out;
}

}  // namespace

// ---- Time ----

std::string FormatAmzDate(int64_t unix_seconds) {
  int64_t days = FloorDiv(unix_seconds, 86400);
  int64_t secs = unix_seconds - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) {  // not a date a request can carry; formatted all the same
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%04lld%02u%02uT%02d%02d%02dZ", static_cast<long long>(y), m, d,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
    return buf;
  }
  // By hand: every request's check formats the time (snprintf took 2,900 instructions).
  std::string out(16, '0');
  auto put = [&out](size_t at, int64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  put(4, m, 2);
  put(6, d, 2);
  out[8] = 'T';
  put(9, secs / 3600, 2);
  put(11, secs / 60 % 60, 2);
  put(13, secs % 60, 2);
  out[15] = 'Z';
  return out;
}

std::optional<int64_t> ParseAmzDate(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  if (!Digits(s, 0, 4, &y) || !Digits(s, 4, 2, &mo) || !Digits(s, 6, 2, &d) ||
      !Digits(s, 9, 2, &h) || !Digits(s, 11, 2, &mi) || !Digits(s, 13, 2, &sec))
    return std::nullopt;
  return MakeTime(y, mo, d, h, mi, sec);
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  s = Trim(s);
  if (std::optional<int64_t> t = ParseAmzDate(s)) return t;
  // IMF-fixdate: "Sun, 30 Aug 2015 12:36:00 GMT"
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  int d, y, h, mi, sec;
  if (!Digits(s, 5, 2, &d) || !Digits(s, 12, 4, &y) || !Digits(s, 17, 2, &h) ||
      !Digits(s, 20, 2, &mi) || !Digits(s, 23, 2, &sec))
    return std::nullopt;
  for (int m = 0; m < 12; ++m)
    if (s.substr(8, 3) == kMonths[m]) return MakeTime(y, m + 1, d, h, mi, sec);
  return std::nullopt;
}

// ---- Canonical request builders ----

CanonicalOptions CanonicalOptions::ForService(std::string_view service) {
  if (service.starts_with("s3")) return {false, false, true};
  return {};
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (keep_slash && c == '/') {
      out.push_back('/');
    } else {
      AppendEncoded(&out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::optional<std::string> QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (UriDecode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : UriDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < s.size() && (hi = HexValue(s[i + 1])) >= 0 &&
        (lo = HexValue(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view path, const CanonicalOptions& options) {
  std::string p = path.empty() ? std::string("/") : std::string(path);
  if (options.normalize_path) p = NormalizePath(p);
  if (options.double_encode_path) return UriEncode(p, /*keep_slash=*/true);
  // Single encoding: put each byte in canonical form; an encoded "%2F" stays encoded, since
  // it is part of a segment, not a separator.
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    int hi, lo;
    if (p[i] == '%' && i + 2 < p.size() && (hi = HexValue(p[i + 1])) >= 0 &&
        (lo = HexValue(p[i + 2])) >= 0) {
      AppendEncoded(&out, static_cast<unsigned char>(hi << 4 | lo));
      i += 2;
    } else if (p[i] == '/') {
      out.push_back('/');
    } else {
      AppendEncoded(&out, static_cast<unsigned char>(p[i]));
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view query, std::span<const std::string_view> exclude) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (QueryParam& p : ParseQuery(query)) {
    if (std::find(exclude.begin(), exclude.end(), p.name) != exclude.end()) continue;
    encoded.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string CanonicalHeaders(std::span<const http::Header> headers,
                             std::span<const std::string> signed_headers) {
  std::string out;
  size_t size = 0;
  for (const http::Header& h : headers) size += h.name.size() + h.value.size() + 2;
  out.reserve(size);  // every field once, as a request signs them: one allocation
  for (const std::string& name : signed_headers) {
    out += name;
    out += ':';
    bool first = true;
    for (const http::Header& h : headers) {
      if (!http::EqualsIgnoreCase(h.name, name)) continue;
      if (!first) out += ',';
      first = false;
      bool in_space = false;
      for (char c : Trim(h.value)) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
          in_space = true;
          continue;
        }
        if (in_space) out += ' ';
        in_space = false;
        out += c;
      }
    }
    out += '\n';
  }
  return out;
}

std::string JoinSignedHeaders(std::span<const std::string> signed_headers) {
  std::string out;
  for (const std::string& h : signed_headers) {
    if (!out.empty()) out += ';';
    out += h;
  }
  return out;
}

std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, std::string_view canonical_headers,
                             std::string_view signed_headers, std::string_view payload_hash) {
  std::string out;
  out.reserve(method.size() + canonical_uri.size() + canonical_query.size() +
              canonical_headers.size() + signed_headers.size() + payload_hash.size() + 8);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(canonical_headers).append("\n");
  out.append(signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out;
  out.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out.append(crypto::Sha256Hex(canonical_request));
  return out;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  // The key changes once a day per secret/region/service: a small per-thread cache saves
  // four HMACs on almost every request.
  struct Entry {
    std::string secret, date, region, service, key;
  };
  thread_local Entry cache[8];
  thread_local unsigned next = 0;
  for (const Entry& e : cache)
    if (!e.key.empty() && e.date == date && e.region == region && e.service == service &&
        crypto::ConstantTimeEquals(e.secret, secret))
      return e.key;
  std::string k = DigestBytes(crypto::HmacSha256("AWS4" + std::string(secret), date));
  k = DigestBytes(crypto::HmacSha256(k, region));
  k = DigestBytes(crypto::HmacSha256(k, service));
  k = DigestBytes(crypto::HmacSha256(k, "aws4_request"));
  cache[next++ % 8] =
      Entry{std::string(secret), std::string(date), std::string(region), std::string(service), k};
  return k;
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  crypto::Digest32 d = crypto::HmacSha256(signing_key, string_to_sign);
  return HexEncode(d.data(), d.size());
}

// ---- Signer ----

Signer::Signer(Credentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)) {}

SigningTrace Signer::Sign(http::Request* r, int64_t now_ms, const SignOptions& o) const {
  CanonicalOptions co = o.canonical.value_or(CanonicalOptions::ForService(service_));
  std::string amz_date = FormatAmzDate(FloorDiv(now_ms, 1000));
  std::string date = amz_date.substr(0, 8);
  std::string scope = CredentialScope(date, region_, service_);

  RemoveHeaders(&r->headers, {"authorization", "x-amz-date", "x-amz-security-token"});
  std::string payload = o.payload_hash;
  if (payload.empty()) {
    const std::string* h =
        o.add_content_sha256_header ? nullptr : r->FindHeader("x-amz-content-sha256");
    payload = h ? *h : crypto::Sha256Hex(r->body);
  }
  if (!credentials_.session_token.empty())
    r->headers.push_back({"X-Amz-Security-Token", credentials_.session_token});
  r->headers.push_back({"X-Amz-Date", amz_date});
  if (o.add_content_sha256_header) {
    RemoveHeaders(&r->headers, {"x-amz-content-sha256"});
    r->headers.push_back({"x-amz-content-sha256", payload});
  }

  std::vector<std::string> names =
      HeadersToSign(r->headers, o.omit_session_token ? "x-amz-security-token" : "");
  std::string joined = JoinSignedHeaders(names);
  SigningTrace t = Compute(r->method, CanonicalUri(r->path, co), CanonicalQuery(r->query),
                           CanonicalHeaders(r->headers, names), joined, payload, amz_date, scope,
                           SigningKey(credentials_.secret_access_key, date, region_, service_));
  r->headers.push_back({"Authorization", std::string(kAlgorithm) +
                                             " Credential=" + credentials_.access_key_id + "/" +
                                             scope + ", SignedHeaders=" + joined +
                                             ", Signature=" + t.signature});
  return t;
}

SigningTrace Signer::Presign(http::Request* r, int64_t now_ms, const SignOptions& o) const {
  CanonicalOptions co = o.canonical.value_or(CanonicalOptions::ForService(service_));
  std::string amz_date = FormatAmzDate(FloorDiv(now_ms, 1000));
  std::string date = amz_date.substr(0, 8);
  std::string scope = CredentialScope(date, region_, service_);

  std::string payload = o.payload_hash;
  if (payload.empty()) {
    const std::string* h = r->FindHeader("x-amz-content-sha256");
    payload = h                               ? *h
              : co.unsigned_presigned_payload ? std::string(kUnsignedPayload)
                                              : crypto::Sha256Hex(r->body);
  }
  std::vector<std::string> names = HeadersToSign(r->headers, "");
  std::string joined = JoinSignedHeaders(names);

  std::string q = r->query;
  auto add = [&q](std::string_view name, std::string_view value) {
    if (!q.empty()) q += '&';
    q.append(name).append("=").append(UriEncode(value, false));
  };
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", credentials_.access_key_id + "/" + scope);
  add("X-Amz-Date", amz_date);
  add("X-Amz-SignedHeaders", joined);
  add("X-Amz-Expires", std::to_string(o.expires_seconds));
  const bool token = !credentials_.session_token.empty();
  if (token && !o.omit_session_token) add("X-Amz-Security-Token", credentials_.session_token);
  SigningTrace t = Compute(r->method, CanonicalUri(r->path, co), CanonicalQuery(q),
                           CanonicalHeaders(r->headers, names), joined, payload, amz_date, scope,
                           SigningKey(credentials_.secret_access_key, date, region_, service_));
  if (token && o.omit_session_token) add("X-Amz-Security-Token", credentials_.session_token);
  add("X-Amz-Signature", t.signature);
  r->query = std::move(q);
  r->target = r->path + "?" + r->query;
  return t;
}

// ---- Verify ----

std::string_view AuthErrorName(AuthErrorKind kind) {
  switch (kind) {
    case AuthErrorKind::kMissingAuthenticationToken:
      return "MissingAuthenticationTokenException";
    case AuthErrorKind::kIncompleteSignature:
      return "IncompleteSignatureException";
    case AuthErrorKind::kUnrecognizedClient:
      return "UnrecognizedClientException";
    case AuthErrorKind::kInvalidSignature:
      return "InvalidSignatureException";
    case AuthErrorKind::kRequestExpired:
      return "AccessDeniedException";
    case AuthErrorKind::kContentSha256Mismatch:
      return "XAmzContentSHA256Mismatch";
    case AuthErrorKind::kInvalidToken:
      return "UnrecognizedClientException";
    case AuthErrorKind::kExpiredToken:
      return "ExpiredTokenException";
  }
  return "InvalidSignatureException";
}

namespace {

// Verify's steps; with head_only, it stops after the key look-up (step 5), before anything
// that needs the body, and returns an empty identity on success.
VerifyResult VerifySteps(const http::Request& r, const SecretLookup& lookup, int64_t now_ms,
                         const VerifyOptions& options, SigningTrace* trace, bool head_only) {
  // 1. Which scheme: the Authorization header or a presigned query, never both.
  const std::string* header = r.FindHeader("authorization");
  std::vector<QueryParam> params = ParseQuery(r.query);
  const bool presigned = FindParam(params, "X-Amz-Algorithm") ||
                         FindParam(params, "X-Amz-Credential") ||
                         FindParam(params, "X-Amz-Signature");
  if (!header && !presigned)
    return Error(AuthErrorKind::kMissingAuthenticationToken, "Missing Authentication Token");
  if (header && presigned)
    return Incomplete(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified");

  // 2. Well-formedness.
  Claims c;
  std::optional<AuthError> err =
      header ? ParseHeaderClaims(r, *header, &c) : ParsePresignedClaims(params, &c);
  if (err) return std::move(*err);
  const std::string amz_date = FormatAmzDate(c.time_s);

  // 2b. What must be signed: host, and every x-amz-* header the request carries.
  {
    const std::vector<std::string> signed_names = SplitSignedHeaders(c.signed_headers);
    auto is_signed = [&](std::string_view lower) {
      return std::find(signed_names.begin(), signed_names.end(), lower) != signed_names.end();
    };
    // HTTP/2 clients sign the :authority pseudo-header instead of Host (the AWS SDK for
    // JavaScript v3 does); AWS accepts either, as its message says.
    if (!is_signed("host") && !is_signed(":authority"))
      return Incomplete(
          "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    std::string unsigned_headers;
    for (const http::Header& h : r.headers) {
      std::string lower = ToLower(h.name);
      if (!lower.starts_with("x-amz-") || is_signed(lower)) continue;
      if (lower == "x-amz-security-token" && options.allow_unsigned_security_token) continue;
      if (unsigned_headers.find(lower) != std::string::npos) continue;
      if (!unsigned_headers.empty()) unsigned_headers += ",";
      unsigned_headers += lower;
      if (unsigned_headers.size() > 256) break;  // enough to name the problem
    }
    if (!unsigned_headers.empty())
      return Incomplete("There were headers present in the request which were not signed: " +
                        unsigned_headers);
  }

  // 3. The credential scope: AKID/YYYYMMDD/region/service/aws4_request.
  std::vector<std::string_view> scope_parts;
  for (std::string_view s = c.credential;;) {
    size_t slash = s.find('/');
    scope_parts.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s = s.substr(slash + 1);
  }
  if (scope_parts.size() != 5)
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        Quoted(c.credential) + "'");
  const std::string_view key_id = scope_parts[0], date = scope_parts[1], region = scope_parts[2],
                         service = scope_parts[3];
  if (scope_parts[4] != "aws4_request")
    return Invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                   Quoted(scope_parts[4]) + "'. ");
  if (date != std::string_view(amz_date).substr(0, 8))
    return Invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP. ");
  std::string scope_error;
  if (!options.region.empty() && region != options.region)
    scope_error += "Credential should be scoped to a valid region, not '" + Quoted(region) + "'. ";
  if (!options.service.empty() && service != options.service)
    scope_error += "Credential should be scoped to correct service: '" + options.service + "'. ";
  if (!scope_error.empty()) return Invalid(scope_error);

  // 4. The time: within the skew of now, or, presigned with X-Amz-Expires, not yet expired.
  const int64_t request_ms = c.time_s * 1000;
  const int64_t now_s = FloorDiv(now_ms, 1000);
  const int64_t skew_s = options.max_skew_ms / 1000;
  const std::string minutes = std::to_string(options.max_skew_ms / 60000);
  if (c.presigned && c.expires_s) {
    if (now_ms > (c.time_s + *c.expires_s) * 1000)
      return Error(AuthErrorKind::kRequestExpired, "Request has expired");
  } else if (now_ms - request_ms > options.max_skew_ms) {
    return Invalid("Signature expired: " + amz_date + " is now earlier than " +
                   FormatAmzDate(now_s - skew_s) + " (" + FormatAmzDate(now_s) + " - " + minutes +
                   " min.)");
  }
  if (request_ms - now_ms > options.max_skew_ms)
    return Invalid("Signature not yet current: " + amz_date + " is still later than " +
                   FormatAmzDate(now_s + skew_s) + " (" + FormatAmzDate(now_s) + " + " + minutes +
                   " min.)");

  // 5. The key.
  std::optional<std::string> secret = lookup(key_id);
  if (!secret)
    return Error(AuthErrorKind::kUnrecognizedClient,
                 "The security token included in the request is invalid.");
  if (head_only) return VerifiedIdentity{};

  // 6. The signature.
  const CanonicalOptions co = options.canonical.value_or(CanonicalOptions::ForService(service));
  const bool allow_unsigned = options.allow_unsigned_payload.value_or(service.starts_with("s3"));
  const std::string* content_header = r.FindHeader("x-amz-content-sha256");
  std::string payload;
  if (c.presigned && !c.content_sha256_param.empty()) {
    payload = c.content_sha256_param;
  } else if (content_header && (allow_unsigned || IsHexSha256(*content_header))) {
    payload = *content_header;
  } else if (c.presigned && co.unsigned_presigned_payload && allow_unsigned) {
    payload = std::string(kUnsignedPayload);
  } else {
    payload = crypto::Sha256Hex(r.body);
  }
  const std::string scope = CredentialScope(date, region, service);
  const std::string key = SigningKey(*secret, date, region, service);
  const std::vector<std::string> names = SplitSignedHeaders(c.signed_headers);
  const std::string canonical_uri = CanonicalUri(r.path, co);
  const std::string canonical_headers = CanonicalHeaders(r.headers, names);
  auto attempt = [&](std::span<const std::string_view> exclude) {
    SigningTrace t = Compute(r.method, canonical_uri, CanonicalQuery(r.query, exclude),
                             canonical_headers, c.signed_headers, payload, amz_date, scope, key);
    bool match = crypto::ConstantTimeEquals(t.signature, c.signature);
    if (trace) *trace = t;
    return match;
  };
  static constexpr std::string_view kSignatureOnly[] = {"X-Amz-Signature"};
  static constexpr std::string_view kSignatureAndToken[] = {"X-Amz-Signature",
                                                            "X-Amz-Security-Token"};
  bool match = attempt(c.presigned ? kSignatureOnly : std::span<const std::string_view>());
  // Some clients append the session token to a presigned URL after signing it.
  if (!match && c.presigned && !c.session_token.empty()) match = attempt(kSignatureAndToken);
  if (!match)
    return Invalid(
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.");

  // 7. The payload: the signature covers the declared hash; the body must match it.
  if (options.check_content_sha256 && payload != kUnsignedPayload && IsHexSha256(payload) &&
      ToLower(payload) != crypto::Sha256Hex(r.body))
    return Error(AuthErrorKind::kContentSha256Mismatch,
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");

  VerifiedIdentity id;
  id.access_key_id = std::string(key_id);
  id.region = std::string(region);
  id.service = std::string(service);
  id.session_token = c.session_token;
  id.amz_date = amz_date;
  id.scope = scope;
  id.signature = c.signature;
  id.signing_key = key;
  id.payload_hash = payload;
  id.presigned = c.presigned;
  return id;
}

}  // namespace

VerifyResult Verify(const http::Request& r, const SecretLookup& lookup, int64_t now_ms,
                    const VerifyOptions& options, SigningTrace* trace) {
  return VerifySteps(r, lookup, now_ms, options, trace, false);
}

std::optional<AuthError> VerifyHead(const http::Request& head, const SecretLookup& lookup,
                                    int64_t now_ms, const VerifyOptions& options) {
  VerifyResult res = VerifySteps(head, lookup, now_ms, options, nullptr, true);
  if (res.ok()) return std::nullopt;
  return res.error();
}

}  // namespace millrace::auth
