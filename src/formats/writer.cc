// The file types and compressions behind writer.h. Each file type's writer produces the
// uncompressed file; compression wraps it here, so a new type (csv, parquet) only has to
// produce bytes.
#include "formats/writer.h"

#include <cassert>

#include "formats/compression.h"

namespace millrace::formats {

namespace detail {
// Defined in jsonl_writer.cc and raw_writer.cc (declared here, not in a header, because
// writer.h is the module's only contract; a mismatch is a link error).
std::unique_ptr<FileWriter> NewJsonlWriter();
std::unique_ptr<FileWriter> NewRawWriter();
}  // namespace detail

namespace {

enum class FileType { kJsonl, kOther };

Result<FileType> ParseFileType(std::string_view name) {
  if (name == "jsonl") return FileType::kJsonl;
  if (name == "other") return FileType::kOther;
  return Status::InvalidArgument("unsupported file type '" + std::string(name) +
                                 "' (expected jsonl or other)");
}

// Buffers the inner writer's file and compresses it at Finish.
class CompressingWriter final : public FileWriter {
 public:
  CompressingWriter(std::unique_ptr<FileWriter> inner, Compression compression)
      : inner_(std::move(inner)), compression_(compression) {}

  Status Add(const InputRecord& r) override { return inner_->Add(r); }
  size_t RecordCount() const override { return inner_->RecordCount(); }
  size_t BufferedBytes() const override { return inner_->BufferedBytes(); }
  Result<std::string> Finish() override {
    Result<std::string> plain = inner_->Finish();
    if (!plain.ok()) return plain.status();
    std::string bytes = std::move(plain).value();
    return Compress(compression_, bytes);
  }

 private:
  const std::unique_ptr<FileWriter> inner_;
  const Compression compression_;
};

}  // namespace

Status ValidateSpec(const FormatSpec& spec) {
  Result<FileType> type = ParseFileType(spec.file_type);
  if (!type.ok()) return type.status();
  Result<Compression> compression = ParseCompression(spec.compression);
  if (!compression.ok()) return compression.status();
  return Status::Ok();
}

Result<std::unique_ptr<FileWriter>> NewWriter(const FormatSpec& spec) {
  Result<FileType> type = ParseFileType(spec.file_type);
  if (!type.ok()) return type.status();
  Result<Compression> compression = ParseCompression(spec.compression);
  if (!compression.ok()) return compression.status();
  std::unique_ptr<FileWriter> writer =
      *type == FileType::kJsonl ? detail::NewJsonlWriter() : detail::NewRawWriter();
  if (*compression == Compression::kNone) return writer;
  return std::unique_ptr<FileWriter>(
      std::make_unique<CompressingWriter>(std::move(writer), *compression));
}

std::string FileExtension(const FormatSpec& spec) {
  // An invalid spec is a caller's bug (ValidateSpec first); it gets no extension.
  Result<FileType> type = ParseFileType(spec.file_type);
  Result<Compression> compression = ParseCompression(spec.compression);
  assert(type.ok() && compression.ok());
  std::string ext = type.ok() && *type == FileType::kJsonl ? ".jsonl" : "";
  if (compression.ok()) ext += CompressionExtension(*compression);
  return ext;
}

std::string ContentType(const FormatSpec& spec) {
  Result<FileType> type = ParseFileType(spec.file_type);
  Result<Compression> compression = ParseCompression(spec.compression);
  assert(type.ok() && compression.ok());
  if (compression.ok() && *compression != Compression::kNone)
    return CompressionContentType(*compression);
  if (type.ok() && *type == FileType::kJsonl) return "application/x-ndjson";
  return "application/octet-stream";
}

}  // namespace millrace::formats
