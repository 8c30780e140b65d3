#include "kinesis/eventstream.h"

#include <zlib.h>

#include <cstdint>

namespace millrace::kinesis {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t Crc(std::string_view bytes, uint32_t crc = 0) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace

void AppendEventMessage(const EventHeaders& headers, std::string_view payload, std::string* out) {
  std::string h;
  for (const auto& [name, value] : headers) {
    h.push_back(static_cast<char>(name.size()));
    h.append(name);
    h.push_back(7);  // string
    h.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    h.push_back(static_cast<char>(value.size() & 0xff));
    h.append(value);
  }
  const size_t start = out->size();
  PutU32(out, static_cast<uint32_t>(12 + h.size() + payload.size() + 4));
  PutU32(out, static_cast<uint32_t>(h.size()));
  PutU32(out, Crc(std::string_view(out->data() + start, 8)));
  out->append(h);
  out->append(payload);
  PutU32(out, Crc(std::string_view(out->data() + start, out->size() - start)));
}

void AppendEvent(std::string_view event_type, std::string_view content_type,
                 std::string_view payload, std::string* out) {
  AppendEventMessage(
      {{":event-type", event_type}, {":content-type", content_type}, {":message-type", "event"}},
      payload, out);
}

void AppendException(std::string_view exception_type, std::string_view content_type,
                     std::string_view payload, std::string* out) {
  AppendEventMessage({{":exception-type", exception_type},
                      {":content-type", content_type},
                      {":message-type", "exception"}},
                     payload, out);
}

}  // namespace millrace::kinesis
