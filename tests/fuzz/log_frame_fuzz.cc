// libFuzzer target for the on-disk record formats (log/format.h, docs/format/log.md):
// arbitrary bytes as a record payload inside a frame with a valid checksum (so decoding
// gets past the CRC), and as a segment index. Besides "no crash": decoded records never
// claim more bytes than the frame holds.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "log/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace millrace;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 3) return 0;
  log::FrameHeader h;
  h.record_count = static_cast<uint8_t>(in[0]);
  h.shard_index = static_cast<uint8_t>(in[1]);
  h.first_counter = static_cast<uint8_t>(in[2]);
  std::string_view payload = in.substr(3);
  std::string frame;
  log::EncodeFrame(h, payload, &frame);
  if (!log::VerifyFrame(frame)) std::abort();  // we just computed its checksum
  struct Sink {
    size_t bytes = 0;
  } sink;
  (void)log::DecodeFrameRecords(
      frame, 0, nullptr,
      [](void* ctx, log::Record&& r) {
        static_cast<Sink*>(ctx)->bytes += r.data.size() + r.partition_key.size();
      },
      &sink);
  if (sink.bytes > frame.size()) std::abort();
  int64_t a, b;
  (void)log::DecodeFrameTimeBounds(frame, &a, &b);
  uint64_t covered;
  (void)log::DecodeIndex(
      in, 1, &covered, [](void*, const log::FrameEntry&) {}, nullptr);
  return 0;
}
