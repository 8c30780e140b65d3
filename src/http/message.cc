#include "http/message.h"

#include <unistd.h>

#include <cctype>

namespace millrace::http {

FileBody::~FileBody() {
  if (fd >= 0) ::close(fd);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

const std::string* Request::FindHeader(std::string_view name) const {
  for (const Header& h : headers)
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  return nullptr;
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
