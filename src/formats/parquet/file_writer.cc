#include "formats/parquet/file_writer.h"

#include "common/encoding.h"

namespace millrace::formats::parquet {

Result<Codec> ParseCodec(std::string_view name) {
  if (name.empty() || name == "none") return Codec::kUncompressed;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "zstd") return Codec::kZstd;
  if (name == "gzip") return Codec::kGzip;
  return Status::InvalidArgument("unknown parquet compression '" + std::string(name) +
                                 "' (expected snappy, zstd, gzip or none)");
}

Result<std::unique_ptr<ParquetFileWriter>> ParquetFileWriter::Create(ParquetSchema schema,
                                                                     ParquetWriterOptions options) {
  MILLRACE_RETURN_IF_ERROR(ValidateSchema(schema));
  if (options.row_group_rows < 1 || options.row_group_bytes < 1 || options.page_bytes < 1)
    return Status::InvalidArgument("parquet row group and page sizes must be positive");
  if (options.page_bytes > (size_t{1} << 30))
    return Status::InvalidArgument("parquet page size above 1 GiB");
  for (const auto& [key, value] : options.key_value_metadata) {
    if (key == kSchemaMetadataKey)
      return Status::InvalidArgument(std::string("parquet metadata key '") + kSchemaMetadataKey +
                                     "' is reserved");
  }
  return std::unique_ptr<ParquetFileWriter>(
      new ParquetFileWriter(std::move(schema), std::move(options)));
}

ParquetFileWriter::ParquetFileWriter(ParquetSchema schema, ParquetWriterOptions options)
    : schema_(std::move(schema)), options_(std::move(options)) {
  ColumnWriterOptions c;
  c.codec = options_.codec;
  c.page_bytes = options_.page_bytes;
  c.dictionary = options_.dictionary;
  c.dictionary_bytes = options_.dictionary_bytes;
  c.max_statistics_bytes = options_.max_statistics_bytes;
  for (const ParquetColumn& column : schema_.columns) {
    std::vector<ColumnWriter*> leaves;
    for (LeafColumn& leaf : LeafColumns(column)) {
      leaves_.push_back(std::make_unique<ColumnWriter>(std::move(leaf), c));
      leaves.push_back(leaves_.back().get());
    }
    Column& top = columns_.emplace_back();
    if (column.type == ColumnType::kList || column.type == ColumnType::kStruct) {
      top.nested = std::make_unique<Shredder>(column, std::move(leaves));
    } else {
      top.flat = leaves[0];
    }
  }
  cells_.resize(columns_.size());
  file_.append(kMagic, kMagicSize);

  SchemaElement root;
  root.name = "schema";
  root.num_children = static_cast<int32_t>(schema_.columns.size());
  metadata_.schema.push_back(root);
  for (const ParquetColumn& column : schema_.columns)
    AppendSchemaElements(column, &metadata_.schema);
  metadata_.key_value_metadata.emplace_back(kSchemaMetadataKey, SchemaJson(schema_));
  for (const auto& kv : options_.key_value_metadata) metadata_.key_value_metadata.push_back(kv);
  metadata_.created_by = kCreatedBy;
}

Status ParquetFileWriter::AppendRow(std::span<const ParquetValue> row) {
  if (finished_) return Status::FailedPrecondition("parquet writer already finished");
  if (row.size() != columns_.size())
    return Status::InvalidArgument("parquet row has " + std::to_string(row.size()) +
                                   " values for " + std::to_string(columns_.size()) + " columns");
  // Check every value (nested ones shredded into staging) before appending any, so that a
  // bad row leaves no trace.
  for (size_t i = 0; i < row.size(); ++i) {
    const Column& c = columns_[i];
    MILLRACE_RETURN_IF_ERROR(c.flat ? c.flat->Convert(row[i], &cells_[i])
                                    : c.nested->Shred(row[i]));
  }
  for (size_t i = 0; i < row.size(); ++i) {
    const Column& c = columns_[i];
    MILLRACE_RETURN_IF_ERROR(c.flat ? c.flat->Append(cells_[i]) : c.nested->Commit());
  }
  ++group_rows_;
  if (group_rows_ >= options_.row_group_rows) return FlushRowGroup();
  size_t buffered = 0;
  for (const auto& c : leaves_) buffered += c->BufferedBytes();
  if (buffered >= options_.row_group_bytes) return FlushRowGroup();
  return Status::Ok();
}

size_t ParquetFileWriter::BufferedBytes() const {
  size_t n = file_.size();
  for (const auto& c : leaves_) n += c->BufferedBytes();
  return n;
}

Status ParquetFileWriter::FlushRowGroup() {
  if (group_rows_ == 0) return Status::Ok();
  RowGroup group;
  group.num_rows = group_rows_;
  group.file_offset = static_cast<int64_t>(file_.size());
  group.ordinal = static_cast<int16_t>(metadata_.row_groups.size());
  for (const auto& c : leaves_) {
    Result<ColumnChunk> chunk = c->FinishChunk(&file_);
    if (!chunk.ok()) return chunk.status();
    group.total_byte_size += chunk->meta_data.total_uncompressed_size;
    group.total_compressed_size += chunk->meta_data.total_compressed_size;
    group.columns.push_back(std::move(*chunk));
  }
  metadata_.row_groups.push_back(std::move(group));
  rows_before_group_ += group_rows_;
  group_rows_ = 0;
  return Status::Ok();
}

Result<std::string> ParquetFileWriter::Finish() {
  if (finished_) return Status::FailedPrecondition("parquet writer already finished");
  finished_ = true;
  MILLRACE_RETURN_IF_ERROR(FlushRowGroup());
  metadata_.num_rows = rows_before_group_;
  size_t footer_start = file_.size();
  SerializeFileMetaData(metadata_, &file_);
  PutFixed32(&file_, static_cast<uint32_t>(file_.size() - footer_start));
  file_.append(kMagic, kMagicSize);
  return std::move(file_);
}

}  // namespace millrace::formats::parquet
