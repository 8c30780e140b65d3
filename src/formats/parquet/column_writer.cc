#include "formats/parquet/column_writer.h"

#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "common/encoding.h"
#include "formats/compression.h"
#include "formats/parquet/rle.h"

namespace millrace::formats::parquet {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

bool IsByteArray(PhysicalType t) { return t == PhysicalType::kByteArray; }

constexpr int64_t kMaxPageEntries = int64_t{1} << 24;

Int128 Pow10(int n) {
  Int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

std::string Int128ToString(Int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : v;
  std::string s;
  while (u != 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

// Big-endian two's complement in `width` bytes (FIXED_LEN_BYTE_ARRAY decimals).
void PutBigEndian(Int128 v, int width, std::string* out) {
  for (int b = width - 1; b >= 0; --b)
    out->push_back(static_cast<char>(static_cast<unsigned __int128>(v) >> (8 * b) & 0xff));
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += n + 1;
  }
  return true;
}

Result<std::string> CompressPage(Codec codec, std::string_view body) {
  switch (codec) {
    case Codec::kUncompressed:
      return std::string(body);
    case Codec::kSnappy: {
      std::string out(snappy::MaxCompressedLength(body.size()), '\0');
      size_t n = 0;
      snappy::RawCompress(body.data(), body.size(), out.data(), &n);
      out.resize(n);
      return out;
    }
    case Codec::kGzip:  // Parquet's GZIP is the gzip (RFC 1952) format, as ours is
      return Compress(Compression::kGzip, body);
    case Codec::kZstd:  // one zstd frame
      return Compress(Compression::kZstd, body);
  }
  return Status::Internal("unknown parquet codec");
}

ColumnWriter::ColumnWriter(LeafColumn leaf, const ColumnWriterOptions& options)
    : leaf_(std::move(leaf)),
      type_(leaf_.column.type),
      element_(ToSchemaElement(leaf_.column)),
      physical_(*element_.type),
      options_(options),
      dictionary_column_(options.dictionary && IsByteArray(physical_)),
      use_dictionary_(dictionary_column_),
      repetition_levels_(BitWidth(static_cast<uint32_t>(leaf_.max_repetition))),
      definition_levels_(BitWidth(static_cast<uint32_t>(leaf_.max_definition))) {}

Status ColumnWriter::Convert(const ParquetValue& v, Cell* cell) const {
  const ParquetColumn& column = leaf_.column;
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("parquet column '" + column.name + "' (" +
                                   ColumnTypeName(type_) + "): " + what);
  };
  *cell = Cell{};
  if (std::holds_alternative<std::monostate>(v)) {
    if (!column.nullable) return bad("null in a column that is not nullable");
    return Status::Ok();
  }
  cell->null = false;
  // An integer of any accepted width, for the integer-backed types.
  std::optional<Int128> integer =
      std::visit(Overloaded{[](int32_t x) -> std::optional<Int128> { return x; },
                            [](int64_t x) -> std::optional<Int128> { return x; },
                            [](Int128 x) -> std::optional<Int128> { return x; },
                            [](const auto&) -> std::optional<Int128> { return std::nullopt; }},
                 v);
  switch (type_) {
    case ColumnType::kBoolean:
      if (!std::holds_alternative<bool>(v)) return bad("expected a boolean");
      cell->b = std::get<bool>(v);
      return Status::Ok();
    case ColumnType::kInt32:
    case ColumnType::kDate:
      if (!integer || std::holds_alternative<Int128>(v)) return bad("expected an integer");
      if (*integer < std::numeric_limits<int32_t>::min() ||
          *integer > std::numeric_limits<int32_t>::max())
        return bad(Int128ToString(*integer) + " is out of the int32 range");
      cell->i = static_cast<int64_t>(*integer);
      return Status::Ok();
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      if (!integer || std::holds_alternative<Int128>(v)) return bad("expected an integer");
      cell->i = static_cast<int64_t>(*integer);
      return Status::Ok();
    case ColumnType::kFloat:
      if (!std::holds_alternative<float>(v)) return bad("expected a float");
      cell->d = std::get<float>(v);
      return Status::Ok();
    case ColumnType::kDouble:
      if (std::holds_alternative<float>(v)) {
        cell->d = std::get<float>(v);
      } else if (std::holds_alternative<double>(v)) {
        cell->d = std::get<double>(v);
      } else {
        return bad("expected a double");
      }
      return Status::Ok();
    case ColumnType::kString:
    case ColumnType::kJson:
    case ColumnType::kBinary:
      if (!std::holds_alternative<std::string_view>(v)) return bad("expected a string");
      cell->s = std::get<std::string_view>(v);
      if (cell->s.size() > kMaxValueBytes)
        return bad("a value of " + std::to_string(cell->s.size()) + " bytes (the limit is " +
                   std::to_string(kMaxValueBytes) + ")");
      if (type_ != ColumnType::kBinary && !IsValidUtf8(cell->s))
        return bad("the string is not valid UTF-8");
      return Status::Ok();
    case ColumnType::kDecimal: {
      if (!integer) return bad("expected an unscaled decimal integer");
      Int128 limit = Pow10(column.precision);
      if (*integer <= -limit || *integer >= limit)
        return bad("unscaled value " + Int128ToString(*integer) + " has more than " +
                   std::to_string(column.precision) + " digits");
      cell->i = static_cast<int64_t>(*integer);  // exact when precision <= 18
      cell->wide = *integer;
      return Status::Ok();
    }
    case ColumnType::kList:  // never a leaf
    case ColumnType::kStruct:
      break;
  }
  return bad("not a leaf column");
}

void ColumnWriter::AppendPlain(const Cell& cell, std::string* out) {
  switch (physical_) {
    case PhysicalType::kBoolean:
      // Bit-packed, LSB first; the last byte is padded with zeros.
      if (page_bools_ % 8 == 0) out->push_back('\0');
      if (cell.b) out->back() = static_cast<char>(out->back() | (1 << (page_bools_ % 8)));
      ++page_bools_;
      break;
    case PhysicalType::kInt32:
      PutFixed32(out, static_cast<uint32_t>(static_cast<int32_t>(cell.i)));
      break;
    case PhysicalType::kInt64:
      PutFixed64(out, static_cast<uint64_t>(cell.i));
      break;
    case PhysicalType::kFloat: {
      float f = static_cast<float>(cell.d);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      PutFixed32(out, bits);
      break;
    }
    case PhysicalType::kDouble: {
      uint64_t bits;
      std::memcpy(&bits, &cell.d, 8);
      PutFixed64(out, bits);
      break;
    }
    case PhysicalType::kByteArray:
      PutFixed32(out, static_cast<uint32_t>(cell.s.size()));
      out->append(cell.s);
      break;
    case PhysicalType::kFixedLenByteArray:
      PutBigEndian(cell.wide, *element_.type_length, out);
      break;
    case PhysicalType::kInt96:
      break;  // never written
  }
}

void ColumnWriter::UpdateStatistics(const Cell& cell) {
  switch (physical_) {
    case PhysicalType::kBoolean:
      min_b_ = has_min_max_ ? (min_b_ && cell.b) : cell.b;
      max_b_ = has_min_max_ ? (max_b_ || cell.b) : cell.b;
      break;
    case PhysicalType::kInt32:
    case PhysicalType::kInt64:
    case PhysicalType::kFixedLenByteArray: {
      Int128 v = physical_ == PhysicalType::kFixedLenByteArray ? cell.wide : cell.i;
      min_i_ = has_min_max_ ? std::min(min_i_, v) : v;
      max_i_ = has_min_max_ ? std::max(max_i_, v) : v;
      break;
    }
    case PhysicalType::kFloat:
    case PhysicalType::kDouble:
      if (std::isnan(cell.d)) return;  // NaN has no place in the order; readers skip it too
      min_d_ = has_min_max_ ? std::min(min_d_, cell.d) : cell.d;
      max_d_ = has_min_max_ ? std::max(max_d_, cell.d) : cell.d;
      break;
    case PhysicalType::kByteArray:
      // std::string compares as unsigned bytes, Parquet's order for BYTE_ARRAY.
      if (!has_min_max_ || cell.s < std::string_view(min_s_)) min_s_.assign(cell.s);
      if (!has_min_max_ || cell.s > std::string_view(max_s_)) max_s_.assign(cell.s);
      break;
    case PhysicalType::kInt96:
      return;
  }
  has_min_max_ = true;
}

Statistics ColumnWriter::EncodeStatistics() const {
  Statistics s;
  s.null_count = null_count_;
  if (!has_min_max_) return s;
  std::string min, max;
  switch (physical_) {
    case PhysicalType::kBoolean:
      min.push_back(min_b_ ? 1 : 0);
      max.push_back(max_b_ ? 1 : 0);
      break;
    case PhysicalType::kInt32:
      PutFixed32(&min, static_cast<uint32_t>(static_cast<int32_t>(min_i_)));
      PutFixed32(&max, static_cast<uint32_t>(static_cast<int32_t>(max_i_)));
      break;
    case PhysicalType::kInt64:
      PutFixed64(&min, static_cast<uint64_t>(static_cast<int64_t>(min_i_)));
      PutFixed64(&max, static_cast<uint64_t>(static_cast<int64_t>(max_i_)));
      break;
    case PhysicalType::kFixedLenByteArray:
      PutBigEndian(min_i_, *element_.type_length, &min);
      PutBigEndian(max_i_, *element_.type_length, &max);
      break;
    case PhysicalType::kFloat:
    case PhysicalType::kDouble: {
      // parquet.thrift: a zero min is written as -0.0 and a zero max as +0.0, so that
      // readers need not know which zeros the chunk holds.
      double lo = min_d_ == 0 ? -0.0 : min_d_;
      double hi = max_d_ == 0 ? 0.0 : max_d_;
      std::string* outs[] = {&min, &max};
      double vals[] = {lo, hi};
      for (int k = 0; k < 2; ++k) {
        if (physical_ == PhysicalType::kFloat) {
          float f = static_cast<float>(vals[k]);
          uint32_t bits;
          std::memcpy(&bits, &f, 4);
          PutFixed32(outs[k], bits);
        } else {
          uint64_t bits;
          std::memcpy(&bits, &vals[k], 8);
          PutFixed64(outs[k], bits);
        }
      }
      break;
    }
    case PhysicalType::kByteArray:
      if (min_s_.size() > options_.max_statistics_bytes ||
          max_s_.size() > options_.max_statistics_bytes)
        return s;
      min = min_s_;
      max = max_s_;
      break;
    case PhysicalType::kInt96:
      return s;
  }
  s.min_value = std::move(min);
  s.max_value = std::move(max);
  return s;
}

size_t ColumnWriter::PageEstimate() const {
  size_t levels = repetition_levels_.EstimatedBytes() + definition_levels_.EstimatedBytes();
  if (page_uses_dictionary_) {
    // The indices wait unpacked (4 bytes each) until the page is cut: count them at that
    // size, so that a page of narrow indices cannot hold 32 times page_bytes in memory.
    return levels + 1 + page_indices_.size() * sizeof(uint32_t);
  }
  return levels + page_plain_.size();
}

size_t ColumnWriter::BufferedBytes() const {
  return chunk_pages_.size() + dictionary_.plain().size() + PageEstimate();
}

void ColumnWriter::AppendValue(const Cell& cell) {
  ++page_non_null_;
  UpdateStatistics(cell);
  if (page_uses_dictionary_) {
    bool added;
    page_indices_.push_back(dictionary_.Insert(cell.s, &added));
    if (added && dictionary_.plain().size() > options_.dictionary_bytes) {
      // Fall back: this page ends with the row, and the dictionary as it is then; later
      // pages are PLAIN.
      use_dictionary_ = false;
      cut_after_row_ = true;
    }
  } else {
    AppendPlain(cell, &page_plain_);
  }
}

Status ColumnWriter::Append(const Cell& cell) {
  StartEntry();
  if (leaf_.max_definition > 0) definition_levels_.Put(cell.null ? 0 : 1);
  if (cell.null) {
    ++null_count_;
  } else {
    AppendValue(cell);
  }
  return EndRow();
}

Status ColumnWriter::AppendNested(std::span<const uint8_t> repetition,
                                  std::span<const uint8_t> definition,
                                  std::span<const Cell> values) {
  const uint8_t max_definition = static_cast<uint8_t>(leaf_.max_definition);
  size_t next_value = 0;
  for (size_t k = 0; k < definition.size(); ++k) {
    StartEntry();
    if (leaf_.max_repetition > 0) repetition_levels_.Put(repetition[k]);
    if (max_definition > 0) definition_levels_.Put(definition[k]);
    if (definition[k] < max_definition) {
      ++null_count_;
    } else {
      AppendValue(values[next_value++]);
    }
  }
  return EndRow();
}

Status ColumnWriter::EndRow() {
  // Pages are cut only here, so that every page starts a row (repetition level 0). Level
  // entries of nulls cost almost nothing encoded, so their count is bounded on its own
  // (num_values is an int32, and readers size buffers by it).
  if (cut_after_row_ || PageEstimate() >= options_.page_bytes || page_levels_ >= kMaxPageEntries) {
    cut_after_row_ = false;
    return FlushPage();
  }
  return Status::Ok();
}

Status ColumnWriter::FlushPage() {
  if (page_levels_ == 0) return Status::Ok();
  std::string& body = page_body_;
  body.clear();
  // Data page v1: the repetition levels, then the definition levels, each in the hybrid
  // encoding behind its 4-byte length, each left out when its maximum is 0.
  auto levels = [&body](RleBitPackedEncoder* encoder) {
    size_t at = body.size();
    PutFixed32(&body, 0);
    encoder->Finish(&body);
    uint32_t length = static_cast<uint32_t>(body.size() - at - 4);
    std::memcpy(body.data() + at, &length, 4);  // little-endian, as PutFixed32
  };
  if (leaf_.max_repetition > 0) levels(&repetition_levels_);
  if (leaf_.max_definition > 0) levels(&definition_levels_);
  // A page without values needs no dictionary: it is written PLAIN (its values are empty),
  // so a chunk of nulls only has no dictionary page.
  bool dictionary_page = page_uses_dictionary_ && page_non_null_ > 0;
  if (dictionary_page) {
    int width = std::max(1, BitWidth(dictionary_.size() - 1));
    body.push_back(static_cast<char>(width));
    RleBitPackedEncode(page_indices_, width, &body);
  } else {
    body += page_plain_;
  }
  Result<std::string> compressed = CompressPage(options_.codec, body);
  if (!compressed.ok()) return compressed.status();

  PageHeader h;
  h.type = PageType::kDataPage;
  h.uncompressed_page_size = static_cast<int32_t>(body.size());
  h.compressed_page_size = static_cast<int32_t>(compressed->size());
  DataPageHeader& d = h.data_page_header.emplace();
  d.num_values = static_cast<int32_t>(page_levels_);
  d.encoding = dictionary_page ? Encoding::kRleDictionary : Encoding::kPlain;
  size_t before = chunk_pages_.size();
  SerializePageHeader(h, &chunk_pages_);
  chunk_uncompressed_ += static_cast<int64_t>(chunk_pages_.size() - before + body.size());
  chunk_pages_ += *compressed;
  (dictionary_page ? chunk_dictionary_pages_ : chunk_plain_pages_) = true;

  chunk_values_ += page_levels_;
  page_levels_ = page_non_null_ = page_bools_ = 0;
  page_plain_.clear();
  page_indices_.clear();
  // Kept for the next page unless a single large value grew them far past a page.
  if (page_plain_.capacity() > 2 * options_.page_bytes) std::string().swap(page_plain_);
  if (page_body_.capacity() > 2 * options_.page_bytes) std::string().swap(page_body_);
  return Status::Ok();
}

Result<ColumnChunk> ColumnWriter::FinishChunk(std::string* out) {
  MILLRACE_RETURN_IF_ERROR(FlushPage());
  ColumnChunk chunk;
  ColumnMetaData& m = chunk.meta_data;
  m.type = physical_;
  m.path_in_schema = leaf_.path;
  m.codec = options_.codec;
  m.num_values = chunk_values_;
  chunk.file_offset = static_cast<int64_t>(out->size());
  int64_t uncompressed = chunk_uncompressed_;
  size_t start = out->size();
  if (chunk_dictionary_pages_) {
    const std::string& plain = dictionary_.plain();
    Result<std::string> compressed = CompressPage(options_.codec, plain);
    if (!compressed.ok()) return compressed.status();
    PageHeader h;
    h.type = PageType::kDictionaryPage;
    h.uncompressed_page_size = static_cast<int32_t>(plain.size());
    h.compressed_page_size = static_cast<int32_t>(compressed->size());
    DictionaryPageHeader& d = h.dictionary_page_header.emplace();
    d.num_values = static_cast<int32_t>(dictionary_.size());
    d.encoding = Encoding::kPlain;
    m.dictionary_page_offset = static_cast<int64_t>(out->size());
    SerializePageHeader(h, out);
    uncompressed += static_cast<int64_t>(out->size() - start + plain.size());
    *out += *compressed;
  }
  m.data_page_offset = static_cast<int64_t>(out->size());
  *out += chunk_pages_;
  m.total_uncompressed_size = uncompressed;
  m.total_compressed_size = static_cast<int64_t>(out->size() - start);
  // Sorted by value, as Arrow lists them: PLAIN (values or the dictionary page), RLE
  // (levels), RLE_DICTIONARY (indices).
  if (chunk_plain_pages_ || chunk_dictionary_pages_) m.encodings.push_back(Encoding::kPlain);
  m.encodings.push_back(Encoding::kRle);
  if (chunk_dictionary_pages_) m.encodings.push_back(Encoding::kRleDictionary);
  m.statistics = EncodeStatistics();

  chunk_pages_.clear();
  chunk_values_ = chunk_uncompressed_ = 0;
  chunk_plain_pages_ = chunk_dictionary_pages_ = false;
  dictionary_.Clear();
  null_count_ = 0;
  has_min_max_ = false;
  min_s_.clear();
  max_s_.clear();
  return chunk;
}

}  // namespace millrace::formats::parquet
