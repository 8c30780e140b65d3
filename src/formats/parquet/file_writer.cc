#include "formats/parquet/file_writer.h"

#include <algorithm>

#include "common/encoding.h"

namespace millrace::formats::parquet {

namespace {

constexpr size_t kPageBytes = size_t{1} << 20;      // page_bytes 0 means this,
constexpr size_t kZstdPageBytes = size_t{4} << 20;  // or this with zstd
constexpr size_t kMinPageBytes = size_t{64} << 10;  // unless page_bytes is smaller
// The buffer of a file past 1 MiB is reserved at 32 MiB at least (address space: only
// the pages written are memory). glibc's malloc maps a request that large on its own
// whatever its dynamic threshold (which stops at 32 MiB), so when the caller frees the
// file its memory goes back to the system; a smaller one would come from the heap and
// stay there after the caller frees it, where the next file's pages (mapped buffers,
// buffer.h) could not use it: the file's memory would count twice.
constexpr size_t kMinFileReserve = size_t{32} << 20;
constexpr size_t kSmallFileBytes = size_t{1} << 20;  // files this small are not worth it

// A leaf's share of the row group budget: every leaf fills a page at once, and the pages
// being filled count toward the row group's bytes, so at most half of a small row group's
// budget goes to them.
size_t LeafShare(const ParquetWriterOptions& options, size_t leaves) {
  return std::max(kMinPageBytes, options.row_group_bytes / (2 * std::max<size_t>(leaves, 1)));
}

}  // namespace

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
  if (options.row_group_rows < 1 || options.row_group_bytes < 1)
    return Status::InvalidArgument("parquet row group sizes must be positive");
  if (options.page_bytes > (size_t{1} << 30))
    return Status::InvalidArgument("parquet page size above 1 GiB");
  if (options.dictionary_bytes > (size_t{1} << 30))
    return Status::InvalidArgument("parquet dictionary size above 1 GiB");
  for (const auto& [key, value] : options.key_value_metadata) {
    if (key == kSchemaMetadataKey)
      return Status::InvalidArgument(std::string("parquet metadata key '") + kSchemaMetadataKey +
                                     "' is reserved");
  }
  return std::unique_ptr<ParquetFileWriter>(
      new ParquetFileWriter(std::move(schema), std::move(options)));
}

size_t PageBytes(const ParquetWriterOptions& options, size_t leaves) {
  size_t page = options.page_bytes;
  if (page == 0) page = options.codec == Codec::kZstd ? kZstdPageBytes : kPageBytes;
  return std::min(page, LeafShare(options, leaves));
}

ParquetFileWriter::ParquetFileWriter(ParquetSchema schema, ParquetWriterOptions options)
    : schema_(std::move(schema)), options_(std::move(options)), context_(options_.codec) {
  std::vector<std::vector<LeafColumn>> leaves_of;
  size_t leaves = 0;
  for (const ParquetColumn& column : schema_.columns) {
    leaves_of.push_back(LeafColumns(column));
    leaves += leaves_of.back().size();
  }
  ColumnWriterOptions c;
  c.codec = options_.codec;
  c.page_bytes = PageBytes(options_, leaves);
  c.dictionary = options_.dictionary;
  c.dictionary_bytes = options_.dictionary_bytes;
  c.dictionary_trial_memory = LeafShare(options_, leaves);
  c.max_statistics_bytes = options_.max_statistics_bytes;
  c.validate_utf8 = options_.validate_utf8;
  for (size_t k = 0; k < schema_.columns.size(); ++k) {
    const ParquetColumn& column = schema_.columns[k];
    std::vector<ColumnWriter*> leaves;
    for (LeafColumn& leaf : leaves_of[k]) {
      leaves_.push_back(std::make_unique<ColumnWriter>(std::move(leaf), c, &context_));
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
  if (group_rows_ >= options_.row_group_rows || context_.buffered_bytes >= options_.row_group_bytes)
    return FlushRowGroup(/*last=*/false);
  return Status::Ok();
}

Status ParquetFileWriter::FlushRowGroup(bool last) {
  // Sizes and metadata first, so that the file grows once (and, for the last row group,
  // with the footer in view); then each chunk is copied in and its memory given back.
  RowGroup group;
  size_t group_bytes = 0;
  const bool chunks = group_rows_ > 0;
  if (chunks) {
    for (const auto& c : leaves_) {
      Result<size_t> n = c->FinishPages();
      if (!n.ok()) return n.status();
      group_bytes += *n;
    }
    group.num_rows = group_rows_;
    group.file_offset = static_cast<int64_t>(file_.size());
    group.ordinal = static_cast<int16_t>(metadata_.row_groups.size());
    int64_t offset = group.file_offset;
    for (const auto& c : leaves_) {
      ColumnChunk chunk = c->ChunkMetadata(offset);
      offset += chunk.meta_data.total_compressed_size;
      group.total_byte_size += chunk.meta_data.total_uncompressed_size;
      group.total_compressed_size += chunk.meta_data.total_compressed_size;
      group.columns.push_back(std::move(chunk));
    }
    metadata_.row_groups.push_back(std::move(group));
    rows_before_group_ += group_rows_;
    group_rows_ = 0;
  }
  std::string footer;
  if (last) {
    metadata_.num_rows = rows_before_group_;
    SerializeFileMetaData(metadata_, &footer);
    PutFixed32(&footer, static_cast<uint32_t>(footer.size()));
    footer.append(kMagic, kMagicSize);
  }
  // Before the last row group, room for a small one more and the footer: a file cut soon
  // after its first row group (as the consumers cut them) is not moved to grow.
  const size_t room = last ? footer.size() : group_bytes / 8 + (size_t{64} << 10);
  const size_t need = file_.size() + group_bytes + room;
  if (need > file_.capacity())
    file_.reserve(need < kSmallFileBytes ? need : std::max(need, kMinFileReserve));
  if (chunks) {
    for (const auto& c : leaves_) c->WriteChunk(&file_);
  }
  file_ += footer;
  context_.compressor.Release();
  return Status::Ok();
}

Result<std::string> ParquetFileWriter::Finish() {
  if (finished_) return Status::FailedPrecondition("parquet writer already finished");
  finished_ = true;
  MILLRACE_RETURN_IF_ERROR(FlushRowGroup(/*last=*/true));
  return std::move(file_);
}

}  // namespace millrace::formats::parquet
