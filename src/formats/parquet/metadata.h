// The Parquet footer and page header structures (parquet-format's parquet.thrift), only
// the fields this writer sets, and their Thrift compact serialization. Field ids and enum
// values are parquet.thrift's; docs/format/parquet.md lists which ones we write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace millrace::formats::parquet {

// parquet.thrift `Type`.
enum class PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};

// parquet.thrift `ConvertedType` (the legacy annotation, written beside LogicalType for
// older readers).
enum class ConvertedType : int32_t {
  kUtf8 = 0,
  kList = 3,
  kDecimal = 5,
  kDate = 6,
  kTimestampMillis = 9,
  kTimestampMicros = 10,
};

enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };

enum class Encoding : int32_t {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kRleDictionary = 8,
};

enum class Codec : int32_t {
  kUncompressed = 0,
  kSnappy = 1,
  kGzip = 2,
  kZstd = 6,
};

enum class PageType : int32_t { kDataPage = 0, kDictionaryPage = 2 };

// parquet.thrift `LogicalType`, a union; we write these members.
struct LogicalType {
  enum class Kind { kNone, kString, kList, kDecimal, kDate, kTimestamp };
  enum class TimeUnit { kMillis = 1, kMicros = 2 };  // the TimeUnit union's field ids
  Kind kind = Kind::kNone;
  int32_t precision = 0, scale = 0;   // kDecimal
  TimeUnit unit = TimeUnit::kMicros;  // kTimestamp
  bool adjusted_to_utc = true;        // kTimestamp
};

// One node of the schema tree; FileMetaData lists them depth first. A group (the root, a
// list or struct and a list's repeated middle level) has num_children and no type; a leaf
// has a type and no num_children.
struct SchemaElement {
  std::optional<PhysicalType> type;    // unset for groups
  std::optional<int32_t> type_length;  // FIXED_LEN_BYTE_ARRAY
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<int32_t> num_children;
  std::optional<ConvertedType> converted_type;
  std::optional<int32_t> scale, precision;
  LogicalType logical_type;
};

struct Statistics {
  std::optional<int64_t> null_count;
  std::optional<std::string> max_value, min_value;  // PLAIN-encoded, no length prefix
};

struct ColumnMetaData {
  PhysicalType type = PhysicalType::kInt32;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;               // levels, nulls included
  int64_t total_uncompressed_size = 0;  // pages and their headers
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  Statistics statistics;
};

struct ColumnChunk {
  int64_t file_offset = 0;  // the chunk's first page (as parquet-mr and Arrow write it)
  ColumnMetaData meta_data;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;  // uncompressed
  int64_t num_rows = 0;
  int64_t file_offset = 0;
  int64_t total_compressed_size = 0;
  int16_t ordinal = 0;
};

struct FileMetaData {
  int32_t version = 2;  // Arrow and parquet-mr write 1 or 2; 2 says logical types may occur
  std::vector<SchemaElement> schema;  // depth first; [0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
  std::string created_by;
  // Whether to write column_orders: one TypeDefinedOrder per leaf (schema elements with a
  // type, in schema order), which tells
  // readers that min_value/max_value follow each type's defined sort order.
  bool type_defined_column_orders = true;
};

struct DataPageHeader {
  int32_t num_values = 0;  // levels, nulls included
  Encoding encoding = Encoding::kPlain;
  Encoding definition_level_encoding = Encoding::kRle;
  Encoding repetition_level_encoding = Encoding::kRle;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
};

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_page_size = 0;  // after the header
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
};

// Append the compact-protocol encoding to `*out`.
void SerializePageHeader(const PageHeader& h, std::string* out);
void SerializeFileMetaData(const FileMetaData& m, std::string* out);

}  // namespace millrace::formats::parquet
