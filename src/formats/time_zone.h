// TimeZone: a zone of the IANA time zone database as the system installs it (TZif files,
// RFC 8536, under /usr/share/zoneinfo: Debian's tzdata), for the local times of file names
// and prefixes (Firehose's CustomTimeZone). Our own reader: GCC 12's libstdc++ has no
// std::chrono::tzdb, and glibc's localtime_r goes through the process-wide TZ.
//
// Offsets come from the file's transitions (64-bit data of version 2+ files), and past the
// last one from its footer, a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). Immutable
// once loaded: thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace millrace::formats {

class TimeZone {
 public:
  static constexpr std::string_view kZoneDir = "/usr/share/zoneinfo";

  // Whether `name` has the form Firehose accepts for CustomTimeZone: 1-50 of a-z A-Z / _,
  // no leading '/', no empty part ("Asia/Tokyo"). A name of that form cannot leave the
  // zone folder.
  static bool ValidName(std::string_view name);
  // Loads zone `name` from `dir`; InvalidArgument for a name that is not valid or not a
  // zone there, naming it.
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name,
                                                      std::string_view dir = kZoneDir);
  // Parses a TZif file's bytes (exposed for tests).
  static Result<std::shared_ptr<const TimeZone>> Parse(std::string_view name,
                                                       std::string_view bytes);

  // Seconds east of UTC at `unix_seconds`.
  int32_t OffsetAt(int64_t unix_seconds) const;
  const std::string& name() const { return name_; }

  // A POSIX TZ rule (the footer), exposed for tests.
  struct Rule {
    int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    int32_t dst_offset = 0;
    // When DST starts and ends: a day of the year and the local time of day (seconds; may
    // be negative or past 24 h, RFC 8536's extension).
    struct When {
      enum Kind { kJulianNoLeap, kZeroBased, kMonthWeekDay } kind = kMonthWeekDay;
      int day = 0, month = 0, week = 0, weekday = 0;
      int32_t time = 7200;
    } start, end;
    int32_t OffsetAt(int64_t unix_seconds) const;
  };
  // False for a string that is not a POSIX TZ rule.
  static bool ParseRule(std::string_view text, Rule* out);

 private:
  std::string name_;
  std::vector<int64_t> transitions_;   // ascending, unix seconds
  std::vector<int32_t> offset_after_;  // offset from each transition on
  int32_t offset_before_ = 0;          // before the first transition (time type 0)
  bool has_rule_ = false;
  Rule rule_;  // after the last transition, when the file has a footer
};

}  // namespace millrace::formats
