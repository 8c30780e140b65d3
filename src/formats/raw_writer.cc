// other: the records' bytes concatenated exactly as sent, with nothing between them, as
// Firehose delivers to S3 by default. Any bytes are accepted; a reader that needs record
// boundaries has to find them in the data itself.
#include <memory>
#include <string>

#include "formats/writer.h"

namespace millrace::formats {

namespace {

class RawWriter final : public FileWriter {
 public:
  explicit RawWriter(std::string delimiter) : delimiter_(std::move(delimiter)) {}
  Status Add(const InputRecord& r) override {
    if (finished_) return Status::FailedPrecondition("raw writer: Add after Finish");
    buffer_.append(r.data);
    buffer_.append(delimiter_);
    ++count_;
    return Status::Ok();
  }

  size_t RecordCount() const override { return count_; }
  size_t BufferedBytes() const override { return buffer_.size(); }

  Result<std::string> Finish() override {
    if (finished_) return Status::FailedPrecondition("raw writer: Finish called twice");
    finished_ = true;
    return std::move(buffer_);
  }

 private:
  const std::string delimiter_;
  std::string buffer_;
  size_t count_ = 0;
  bool finished_ = false;
};

}  // namespace

namespace detail {
std::unique_ptr<FileWriter> NewRawWriter(std::string delimiter) {
  return std::make_unique<RawWriter>(std::move(delimiter));
}
}  // namespace detail

}  // namespace millrace::formats
