#include "http/message.h"

#include <unistd.h>

#include <cctype>

namespace millrace::http {

FileBody::~FileBody() {
  if (fd >= 0) ::close(fd);
}

// ASCII only, as header names are (RFC 9110 5.1); not the C library's tolower, a call per
// character in the locale: header lookups took 6,000 instructions of every request.
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (static_cast<unsigned>(x - 'A') < 26u) x += 'a' - 'A';
    if (static_cast<unsigned>(y - 'A') < 26u) y += 'a' - 'A';
    if (x != y) return false;
  }
  return true;
}

const std::string* Request::FindHeader(std::string_view name) const {
  for (const Header& h : headers)
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  return nullptr;
}

bool BodyStream::Write(std::string_view bytes) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cancelled_) return false;
  queued_.append(bytes);
  WakeLocked(lock);
  return true;
}

void BodyStream::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  WakeLocked(lock);
}

void BodyStream::WakeLocked(std::unique_lock<std::mutex>& lock) {
  if (woken_ || !wake_) return;
  woken_ = true;
  std::function<void()> wake = wake_;
  lock.unlock();
  wake();
}

size_t BodyStream::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_.size();
}

bool BodyStream::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void BodyStream::SetWake(std::function<void()> wake) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_ = std::move(wake);
  woken_ = false;
  if (!queued_.empty() || finished_) WakeLocked(lock);
}

void BodyStream::Take(std::string* out, bool* finished) {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = false;
  out->append(queued_);
  queued_.clear();
  *finished = finished_;
}

void BodyStream::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  queued_.clear();
  wake_ = nullptr;
}

Responder::~Responder() {
  if (sink_) {
    Response r;
    r.status = 500;
    r.body = "{\"__type\":\"InternalFailure\",\"message\":\"request was not answered\"}";
    sink_->Deliver(std::move(r));
  }
}

void Responder::Send(Response response) {
  if (!sink_) return;
  std::shared_ptr<Sink> sink = std::move(sink_);
  sink_.reset();
  sink->Deliver(std::move(response));
}

}  // namespace millrace::http
