#include "formats/time_zone.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>

namespace millrace::formats {
namespace {

constexpr size_t kMaxZoneFileBytes = 1 << 20;  // the largest zone files are a few KiB

// Zones loaded, by path. A dataset's document is parsed (and its time zone checked) when a
// consumer starts, when a delivery resolves its schema and whenever the control or Firehose
// API reads it; its file is read and parsed again only when it changed (tzdata upgraded in
// place: another modification time or size). Only zones that loaded are kept, so the map
// holds at most the database's ~600 names.
struct CachedZone {
  int64_t mtime_ns = 0;
  int64_t size = 0;
  std::shared_ptr<const TimeZone> zone;
};
std::mutex cache_mu;
std::map<std::string, CachedZone, std::less<>>& Cache() {
  static auto* cache = new std::map<std::string, CachedZone, std::less<>>();
  return *cache;
}

constexpr int64_t kDaySeconds = 86400;

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
int64_t Be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{Be32(p)} << 32) | Be32(p + 4));
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t DaysOf(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day))
      .time_since_epoch()
      .count();
}

bool Leap(int year) { return std::chrono::year(year).is_leap(); }

int YearOf(int64_t unix_seconds) {
  using namespace std::chrono;
  int64_t days = unix_seconds / kDaySeconds - (unix_seconds % kDaySeconds < 0 ? 1 : 0);
  return static_cast<int>(year_month_day(sys_days(std::chrono::days(days))).year());
}

// A reader over a POSIX TZ string.
struct RuleReader {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool Eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  // A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -.
  bool Name() {
    if (Eat('<')) {
      size_t start = i;
      while (!done() && peek() != '>') {
        char c = peek();
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') return false;
        ++i;
      }
      return Eat('>') && i - start >= 4;  // 3+ characters and the '>'
    }
    size_t start = i;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek()))) ++i;
    return i - start >= 3;
  }
  bool Number(int max_digits, int* out) {
    int v = 0, n = 0;
    while (!done() && std::isdigit(static_cast<unsigned char>(peek())) && n < max_digits) {
      v = v * 10 + (peek() - '0');
      ++i;
      ++n;
    }
    *out = v;
    return n > 0;
  }
  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536's extension of times).
  bool Time(int32_t* out) {
    int sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    int h = 0, m = 0, sec = 0;
    if (!Number(3, &h) || h > 167) return false;
    if (Eat(':')) {
      if (!Number(2, &m) || m > 59) return false;
      if (Eat(':') && (!Number(2, &sec) || sec > 59)) return false;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool When(TimeZone::Rule::When* w) {
    if (Eat('J')) {
      w->kind = TimeZone::Rule::When::kJulianNoLeap;
      if (!Number(3, &w->day) || w->day < 1 || w->day > 365) return false;
    } else if (Eat('M')) {
      w->kind = TimeZone::Rule::When::kMonthWeekDay;
      if (!Number(2, &w->month) || w->month < 1 || w->month > 12 || !Eat('.') ||
          !Number(1, &w->week) || w->week < 1 || w->week > 5 || !Eat('.') ||
          !Number(1, &w->weekday) || w->weekday > 6)
        return false;
    } else {
      w->kind = TimeZone::Rule::When::kZeroBased;
      if (!Number(3, &w->day) || w->day > 365) return false;
    }
    w->time = 7200;
    if (Eat('/')) return Time(&w->time);
    return true;
  }
};

// Seconds since the epoch of local midnight (as days) of `w` in `year`, plus its time.
int64_t LocalSecondsOf(const TimeZone::Rule::When& w, int year) {
  int64_t day = 0;
  switch (w.kind) {
    case TimeZone::Rule::When::kJulianNoLeap:  // 1-365, February 29 never counted
      day = DaysOf(year, 1, 1) + w.day - 1 + (Leap(year) && w.day >= 60 ? 1 : 0);
      break;
    case TimeZone::Rule::When::kZeroBased:
      day = DaysOf(year, 1, 1) + w.day;
      break;
    case TimeZone::Rule::When::kMonthWeekDay: {
      const int64_t first = DaysOf(year, static_cast<unsigned>(w.month), 1);
      const int first_weekday = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01: Thu
      int64_t d = first + (w.weekday - first_weekday + 7) % 7 + 7 * (w.week - 1);
      const unsigned next_month = w.month == 12 ? 1 : w.month + 1;
      const int64_t month_end = DaysOf(w.month == 12 ? year + 1 : year, next_month, 1);
      while (d >= month_end) d -= 7;  // week 5: the last such day
      day = d;
      break;
    }
  }
  return day * kDaySeconds + w.time;
}

}  // namespace

bool TimeZone::ValidName(std::string_view name) {
  if (name.empty() || name.size() > 50 || name.front() == '/' || name.back() == '/') return false;
  char prev = '\0';
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '_';
    if (!ok || (c == '/' && prev == '/')) return false;
    prev = c;
  }
  return true;
}

bool TimeZone::ParseRule(std::string_view text, Rule* out) {
  RuleReader r{text};
  Rule rule;
  int32_t west = 0;
  if (!r.Name() || !r.Time(&west)) return false;
  rule.std_offset = -west;
  if (!r.done()) {
    if (!r.Name()) return false;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!r.done() && r.peek() != ',') {
      if (!r.Time(&west)) return false;
      rule.dst_offset = -west;
    }
    if (r.Eat(',')) {
      if (!r.When(&rule.start) || !r.Eat(',') || !r.When(&rule.end)) return false;
    } else {  // POSIX's default when the rule is left out: the United States' since 2007
      rule.start = {Rule::When::kMonthWeekDay, 0, 3, 2, 0, 7200};
      rule.end = {Rule::When::kMonthWeekDay, 0, 11, 1, 0, 7200};
    }
  }
  if (!r.done()) return false;
  *out = rule;
  return true;
}

int32_t TimeZone::Rule::OffsetAt(int64_t t) const {
  if (!has_dst) return std_offset;
  const int year = YearOf(t + std_offset);
  // The start is given in standard time, the end in daylight time.
  const int64_t begins = LocalSecondsOf(start, year) - std_offset;
  const int64_t ends = LocalSecondsOf(end, year) - dst_offset;
  if (begins < ends) return t >= begins && t < ends ? dst_offset : std_offset;
  // The southern hemisphere: daylight time spans the new year.
  return t >= ends && t < begins ? std_offset : dst_offset;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Parse(std::string_view name,
                                                        std::string_view bytes) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("time zone " + std::string(name) + ": " + why);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t size = bytes.size();
  struct Counts {
    uint32_t isut, isstd, leap, time, type, chars;
  };
  auto header = [&](size_t at, Counts* c) {
    if (size < at + 44 || std::string_view(bytes.data() + at, 4) != "TZif") return false;
    const unsigned char* h = p + at + 20;
    *c = {Be32(h), Be32(h + 4), Be32(h + 8), Be32(h + 12), Be32(h + 16), Be32(h + 20)};
    return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->chars <= 65536 &&
           c->leap <= 100000 && (c->isut == 0 || c->isut == c->type) &&
           (c->isstd == 0 || c->isstd == c->type);
  };
  auto block_size = [](const Counts& c, size_t time_bytes) {
    return c.time * time_bytes + c.time + c.type * 6 + c.chars + c.leap * (time_bytes + 4) +
           c.isstd + c.isut;
  };
  Counts c{};
  if (!header(0, &c)) return bad("not a TZif file");
  const char version = bytes[4];
  size_t at = 44;
  size_t time_bytes = 4;
  if (version >= '2') {  // skip the 32-bit block: the 64-bit one follows with its header
    at += block_size(c, 4);
    if (!header(at, &c)) return bad("a truncated or damaged TZif file");
    at += 44;
    time_bytes = 8;
  }
  if (size < at + block_size(c, time_bytes)) return bad("a truncated TZif file");
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = std::string(name);
  const unsigned char* times = p + at;
  const unsigned char* indices = times + c.time * time_bytes;
  const unsigned char* types = indices + c.time;
  std::vector<int32_t> offsets(c.type);
  for (uint32_t i = 0; i < c.type; ++i) {
    offsets[i] = static_cast<int32_t>(Be32(types + 6 * i));
    if (offsets[i] < -25 * 3600 || offsets[i] > 26 * 3600) return bad("an offset out of range");
  }
  zone->offset_before_ = offsets[0];
  for (uint32_t i = 0; i < c.time; ++i) {
    const int64_t t =
        time_bytes == 8 ? Be64(times + 8 * i) : static_cast<int32_t>(Be32(times + 4 * i));
    if (indices[i] >= c.type) return bad("a transition to an undefined type");
    if (!zone->transitions_.empty() && t <= zone->transitions_.back())
      return bad("transitions out of order");
    zone->transitions_.push_back(t);
    zone->offset_after_.push_back(offsets[indices[i]]);
  }
  at += block_size(c, time_bytes);
  if (time_bytes == 8 && at < size && bytes[at] == '\n') {  // the footer: "\n<TZ string>\n"
    size_t end = bytes.find('\n', at + 1);
    if (end == std::string_view::npos) return bad("an unterminated footer");
    std::string_view footer = bytes.substr(at + 1, end - at - 1);
    if (!footer.empty()) {
      if (!ParseRule(footer, &zone->rule_)) return bad("a footer that is not a POSIX TZ rule");
      zone->has_rule_ = true;
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name,
                                                       std::string_view dir) {
  if (!ValidName(name))
    return Status::InvalidArgument(
        "time zone must be 1 to 50 of a-z A-Z / _ naming a zone "
        "(\"Asia/Tokyo\")");
  const std::string path = std::string(dir) + "/" + std::string(name);
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<size_t>(st.st_size) > kMaxZoneFileBytes) {
    if (fd >= 0) ::close(fd);
    return Status::InvalidArgument("time zone " + std::string(name) +
                                   " is not in the time zone database (" + std::string(dir) +
                                   "; Debian's tzdata package)");
  }
  const int64_t mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard<std::mutex> l(cache_mu);
    auto it = Cache().find(path);
    if (it != Cache().end() && it->second.mtime_ns == mtime_ns &&
        it->second.size == static_cast<int64_t>(st.st_size)) {
      ::close(fd);
      return it->second.zone;
    }
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  auto zone = Parse(name, bytes);
  if (zone.ok()) {
    std::lock_guard<std::mutex> l(cache_mu);
    Cache()[path] = CachedZone{mtime_ns, static_cast<int64_t>(st.st_size), *zone};
  }
  return zone;
}

int32_t TimeZone::OffsetAt(int64_t t) const {
  if (transitions_.empty() || t < transitions_.front())
    return transitions_.empty() && has_rule_ ? rule_.OffsetAt(t) : offset_before_;
  if (t >= transitions_.back() && has_rule_) return rule_.OffsetAt(t);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  return offset_after_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

}  // namespace millrace::formats
