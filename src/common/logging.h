// One line per event, with a timestamp and a level, to stderr.
//
//   LOG(kInfo) << "listening on " << addr;
//
// Thread-safe: each line is formatted in a local buffer and written with one write(2).
#pragma once

#include <sstream>

namespace millrace {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warn", "error"; false if the name is unknown.
bool ParseLogLevel(const std::string& name, LogLevel* out);

// Turns the stream expression into void so that LOG can be one conditional expression.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return os_; }

 private:
  LogLevel level_;
  std::ostringstream os_;
};

}  // namespace millrace

// Usable as a single statement anywhere (no dangling else): `if (x) LOG(kInfo) << ...;`
#define LOG(level)                                          \
  (::millrace::LogLevel::level < ::millrace::GetLogLevel()) \
      ? (void)0                                             \
      : ::millrace::LogVoidify() &                          \
            ::millrace::LogLine(::millrace::LogLevel::level, __FILE__, __LINE__).stream()
