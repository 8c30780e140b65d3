// The csv and parquet FileWriters: records through a RecordMapper into rows of the
// dataset's schema, the rows into a CsvFileWriter or a ParquetFileWriter.
#include <memory>
#include <type_traits>

#include "formats/csv/csv_writer.h"
#include "formats/parquet/file_writer.h"
#include "formats/pg_copy.h"
#include "formats/record_mapper.h"
#include "formats/writer.h"

namespace millrace::formats {

namespace detail {

namespace {

// RowWriter is CsvFileWriter or ParquetFileWriter: AppendRow, RowCount, BufferedBytes,
// Finish.
template <class RowWriter>
class TypedWriter final : public FileWriter {
 public:
  TypedWriter(const TableSchema& schema, std::unique_ptr<RowWriter> rows)
      : mapper_(schema), rows_(std::move(rows)) {
    mapper_.set_sink_checks_nested(std::is_same_v<RowWriter, parquet::ParquetFileWriter>);
  }

  Status Add(const InputRecord& r) override {
    auto sink = [this](std::span<const parquet::ParquetValue> row) {
      return rows_->AppendRow(row);
    };
    MILLRACE_RETURN_IF_ERROR(mapper_.Map(r.data, sink));
    ++records_;
    return Status::Ok();
  }
  size_t RecordCount() const override { return records_; }
  size_t BufferedBytes() const override { return rows_->BufferedBytes(); }
  Result<std::string> Finish() override { return rows_->Finish(); }
  bool TakeBytes(std::string* out) override {
    if constexpr (requires { rows_->TakeBytes(out); }) {
      rows_->TakeBytes(out);
      return true;
    } else {
      return false;
    }
  }

 private:
  RecordMapper mapper_;
  std::unique_ptr<RowWriter> rows_;
  size_t records_ = 0;
};

}  // namespace

Status CheckParquetCodec(std::string_view compression) {
  return parquet::ParseCodec(compression.empty() ? "snappy" : compression).status();
}

Result<std::unique_ptr<FileWriter>> NewCsvWriter(const FormatSpec& spec) {
  csv::CsvOptions options;
  options.header = spec.csv_header;
  options.delimiter = spec.csv_delimiter;
  auto rows = csv::CsvFileWriter::Create(spec.schema->ToParquet(), options);
  if (!rows.ok()) return rows.status();
  return std::unique_ptr<FileWriter>(
      std::make_unique<TypedWriter<csv::CsvFileWriter>>(*spec.schema, std::move(*rows)));
}

Result<std::unique_ptr<FileWriter>> NewPgCopyRowsWriter(const FormatSpec& spec) {
  return std::unique_ptr<FileWriter>(std::make_unique<TypedWriter<PgCopyRows>>(
      *spec.schema, std::make_unique<PgCopyRows>(spec.schema->ToParquet())));
}

Result<std::unique_ptr<FileWriter>> NewParquetWriter(const FormatSpec& spec) {
  parquet::ParquetWriterOptions options;
  auto codec = parquet::ParseCodec(spec.compression.empty() ? "snappy" : spec.compression);
  if (!codec.ok()) return codec.status();
  options.codec = *codec;
  options.row_group_bytes = spec.row_group_bytes;
  // Strings from JSON records were validated by simdjson, CSV lines under "auto" by the
  // RecordMapper; only "csv" input leaves it to the writer.
  options.validate_utf8 = spec.schema->input == InputFormat::kCsv;
  auto rows = parquet::ParquetFileWriter::Create(spec.schema->ToParquet(), std::move(options));
  if (!rows.ok()) return rows.status();
  return std::unique_ptr<FileWriter>(
      std::make_unique<TypedWriter<parquet::ParquetFileWriter>>(*spec.schema, std::move(*rows)));
}

}  // namespace detail

}  // namespace millrace::formats
