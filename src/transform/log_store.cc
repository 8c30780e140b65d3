#include "transform/log_store.h"

#include <algorithm>

namespace millrace::transform {
namespace {

const Clock* DefaultClock() {
  static const SystemClock clock;
  return &clock;
}

}  // namespace

LogStore::LogStore(const Clock* clock) : clock_(clock ? clock : DefaultClock()) {}

LogSink LogStore::SinkFor(const std::string& name) {
  return [this, name](const LogLine& line) { Add(name, line); };
}

void LogStore::Add(const std::string& name, const LogLine& line) {
  StoredLogLine stored{0, line};
  if (stored.line.text.size() > kMaxLogLineBytes) stored.line.text.resize(kMaxLogLineBytes);
  const size_t size = stored.line.text.size();
  std::lock_guard<std::mutex> l(mu_);
  stored.time_ms = clock_->NowMillis();  // under the lock: a ring is in time order
  Ring& ring = rings_[name];
  ring.lines.push_back(std::move(stored));
  ring.bytes += size;
  while (ring.lines.size() > 1 && (ring.lines.size() > kMaxLines || ring.bytes > kMaxBytes)) {
    ring.bytes -= ring.lines.front().line.text.size();
    ring.lines.pop_front();
  }
}

std::vector<StoredLogLine> LogStore::Read(const std::string& name, int64_t since_ms,
                                          size_t limit) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rings_.find(name);
  if (it == rings_.end() || limit == 0) return {};
  const auto& lines = it->second.lines;
  // Lines arrive in clock order (stamped under the lock), unless the clock steps back.
  auto first = std::find_if(lines.begin(), lines.end(),
                            [&](const StoredLogLine& s) { return s.time_ms >= since_ms; });
  size_t available = static_cast<size_t>(lines.end() - first);
  if (available > limit) first += static_cast<std::ptrdiff_t>(available - limit);
  std::vector<StoredLogLine> out;
  for (; first != lines.end(); ++first)
    if (first->time_ms >= since_ms) out.push_back(*first);
  return out;
}

void LogStore::Drop(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  rings_.erase(name);
}

}  // namespace millrace::transform
