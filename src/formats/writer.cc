// The file types and compressions behind writer.h. Each file type's writer produces the
// uncompressed file; compression wraps it here (Parquet compresses its pages itself).
#include "formats/writer.h"

#include <cassert>

#include "formats/compression.h"

namespace millrace::formats {

namespace detail {
// Defined in jsonl_writer.cc and raw_writer.cc (declared here, not in a header, because
// writer.h is the module's only contract; a mismatch is a link error).
std::unique_ptr<FileWriter> NewJsonlWriter();
std::unique_ptr<FileWriter> NewRawWriter(std::string delimiter);
// typed_writer.cc
Result<std::unique_ptr<FileWriter>> NewCsvWriter(const FormatSpec& spec);
Result<std::unique_ptr<FileWriter>> NewParquetWriter(const FormatSpec& spec);
Status CheckParquetCodec(std::string_view compression);
}  // namespace detail

namespace {

enum class FileType { kJsonl, kOther, kCsv, kParquet };

Result<FileType> ParseFileType(std::string_view name) {
  if (name == "jsonl") return FileType::kJsonl;
  if (name == "other") return FileType::kOther;
  if (name == "csv") return FileType::kCsv;
  if (name == "parquet") return FileType::kParquet;
  return Status::InvalidArgument("unsupported file type '" + std::string(name) +
                                 "' (expected jsonl, csv, parquet or other)");
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
  if (*type == FileType::kCsv || *type == FileType::kParquet) {
    if (!spec.schema || !spec.schema->HasColumns())
      return Status::InvalidArgument(spec.file_type + " files need a schema with columns");
  }
  if (*type == FileType::kParquet) return detail::CheckParquetCodec(spec.compression);
  Result<Compression> compression = ParseCompression(spec.compression);
  if (!compression.ok()) return compression.status();
  return Status::Ok();
}

Result<std::unique_ptr<FileWriter>> NewWriter(const FormatSpec& spec) {
  MILLRACE_RETURN_IF_ERROR(ValidateSpec(spec));
  Result<FileType> type = ParseFileType(spec.file_type);
  if (*type == FileType::kParquet) return detail::NewParquetWriter(spec);
  Result<Compression> compression = ParseCompression(spec.compression);
  if (!compression.ok()) return compression.status();
  std::unique_ptr<FileWriter> writer;
  if (*type == FileType::kCsv) {
    auto csv = detail::NewCsvWriter(spec);
    if (!csv.ok()) return csv.status();
    writer = std::move(*csv);
  } else {
    writer = *type == FileType::kJsonl ? detail::NewJsonlWriter()
                                       : detail::NewRawWriter(spec.record_delimiter);
  }
  if (*compression == Compression::kNone) return writer;
  return std::unique_ptr<FileWriter>(
      std::make_unique<CompressingWriter>(std::move(writer), *compression));
}

std::string FileExtension(const FormatSpec& spec) {
  if (!spec.file_extension.empty()) return spec.file_extension;
  // An invalid spec is a caller's bug (ValidateSpec first); it gets no extension.
  Result<FileType> type = ParseFileType(spec.file_type);
  if (type.ok() && *type == FileType::kParquet) return ".parquet";
  Result<Compression> compression = ParseCompression(spec.compression);
  assert(type.ok() && compression.ok());
  std::string ext = !type.ok()                  ? ""
                    : *type == FileType::kJsonl ? ".jsonl"
                    : *type == FileType::kCsv   ? ".csv"
                                                : "";
  if (compression.ok()) ext += CompressionExtension(*compression);
  return ext;
}

std::string ContentType(const FormatSpec& spec) {
  Result<FileType> type = ParseFileType(spec.file_type);
  if (type.ok() && *type == FileType::kParquet) return "application/vnd.apache.parquet";
  Result<Compression> compression = ParseCompression(spec.compression);
  assert(type.ok() && compression.ok());
  if (compression.ok() && *compression != Compression::kNone)
    return CompressionContentType(*compression);
  if (type.ok() && *type == FileType::kJsonl) return "application/x-ndjson";
  if (type.ok() && *type == FileType::kCsv) return "text/csv";
  return "application/octet-stream";
}

}  // namespace millrace::formats
