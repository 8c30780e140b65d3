#include "formats/parquet/column_writer.h"

#include <simdjson.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/encoding.h"
#include "formats/parquet/rle.h"

namespace millrace::formats::parquet {

namespace {

constexpr int64_t kMaxPageEntries = int64_t{1} << 24;
constexpr size_t kPendingBatch = 64;  // values looked up in a dictionary at once

// Big-endian two's complement in `width` bytes (FIXED_LEN_BYTE_ARRAY decimals).
template <class Out>
void PutBigEndian(Int128 v, int width, Out* out) {
  for (int b = width - 1; b >= 0; --b)
    out->push_back(static_cast<char>(static_cast<unsigned __int128>(v) >> (8 * b) & 0xff));
}

size_t PlainWidth(PhysicalType t, const SchemaElement& e) {
  switch (t) {
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
      return 4;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      return 8;
    case PhysicalType::kFixedLenByteArray:
      return static_cast<size_t>(*e.type_length);
    default:
      return 0;
  }
}

uint32_t FloatBits(double d) {
  float f = static_cast<float>(d);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

uint64_t DoubleBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return bits;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  // simdjson's validator: the same rules (no overlong forms, surrogates or code points past
  // U+10FFFF), many bytes at a time.
  return simdjson::validate_utf8(s.data(), s.size());
}

ColumnWriter::ColumnWriter(LeafColumn leaf, const ColumnWriterOptions& options,
                           WriterContext* context)
    : leaf_(std::move(leaf)),
      type_(leaf_.column.type),
      element_(ToSchemaElement(leaf_.column)),
      physical_(*element_.type),
      plain_width_(PlainWidth(physical_, element_)),
      decimal_limit_(Pow10(leaf_.column.type == ColumnType::kDecimal ? leaf_.column.precision : 0)),
      options_(options),
      check_utf8_(options.validate_utf8 &&
                  (type_ == ColumnType::kString || type_ == ColumnType::kJson)),
      own_context_(context == nullptr ? std::make_unique<WriterContext>(options.codec) : nullptr),
      context_(context == nullptr ? own_context_.get() : context),
      use_dictionary_(options.dictionary && physical_ != PhysicalType::kBoolean),
      repetition_levels_(BitWidth(static_cast<uint32_t>(leaf_.max_repetition))),
      definition_levels_(BitWidth(static_cast<uint32_t>(leaf_.max_definition))) {}

ColumnWriter::~ColumnWriter() { context_->buffered_bytes -= reported_; }

Status ColumnWriter::Convert(const ParquetValue& v, Cell* cell) const {
  const ParquetColumn& column = leaf_.column;
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("parquet column '" + column.name + "' (" +
                                   ColumnTypeName(type_) + "): " + what);
  };
  // Each case below sets the fields its physical type reads (not a whole new Cell: this
  // runs for every value).
  cell->null = false;
  cell->hashed = false;
  cell->s = {};
  // The accepted alternatives of each type (schema.h), then what is wrong with the others.
  switch (type_) {
    case ColumnType::kBoolean:
      if (const bool* b = std::get_if<bool>(&v)) {
        cell->b = *b;
        return Status::Ok();
      }
      break;
    case ColumnType::kInt32:
    case ColumnType::kDate:
      if (const int32_t* x = std::get_if<int32_t>(&v)) {
        cell->i = *x;
        return Status::Ok();
      }
      if (const int64_t* x = std::get_if<int64_t>(&v)) {
        if (*x < std::numeric_limits<int32_t>::min() || *x > std::numeric_limits<int32_t>::max())
          return bad(std::to_string(*x) + " is out of the int32 range");
        cell->i = *x;
        return Status::Ok();
      }
      break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      if (const int64_t* x = std::get_if<int64_t>(&v)) {
        cell->i = *x;
        return Status::Ok();
      }
      if (const int32_t* x = std::get_if<int32_t>(&v)) {
        cell->i = *x;
        return Status::Ok();
      }
      break;
    case ColumnType::kFloat:
      if (const float* x = std::get_if<float>(&v)) {
        cell->d = *x;
        return Status::Ok();
      }
      break;
    case ColumnType::kDouble:
      if (const double* x = std::get_if<double>(&v)) {
        cell->d = *x;
        return Status::Ok();
      }
      if (const float* x = std::get_if<float>(&v)) {
        cell->d = *x;
        return Status::Ok();
      }
      break;
    case ColumnType::kString:
    case ColumnType::kJson:
    case ColumnType::kBinary:
      if (const std::string_view* s = std::get_if<std::string_view>(&v)) {
        cell->s = *s;
        if (s->size() > kMaxValueBytes)
          return bad("a value of " + std::to_string(s->size()) + " bytes (the limit is " +
                     std::to_string(kMaxValueBytes) + ")");
        if (check_utf8_ && !IsValidUtf8(*s)) return bad("the string is not valid UTF-8");
        if (use_dictionary_) {
          cell->hash = HashBytes(s->data(), s->size());
          cell->hashed = true;
          bytes_dictionary_.Prefetch(cell->hash);
        }
        return Status::Ok();
      }
      break;
    case ColumnType::kDecimal: {
      Int128 x;
      if (const Int128* w = std::get_if<Int128>(&v)) {
        x = *w;
      } else if (const int64_t* l = std::get_if<int64_t>(&v)) {
        x = *l;
      } else if (const int32_t* n = std::get_if<int32_t>(&v)) {
        x = *n;
      } else {
        break;
      }
      if (x <= -decimal_limit_ || x >= decimal_limit_)
        return bad("unscaled value " + Int128ToString(x) + " has more than " +
                   std::to_string(column.precision) + " digits");
      cell->i = static_cast<int64_t>(x);  // exact when precision <= 18
      cell->wide = x;
      return Status::Ok();
    }
    case ColumnType::kList:  // never a leaf
    case ColumnType::kStruct:
      return bad("not a leaf column");
  }
  cell->null = true;
  if (std::holds_alternative<std::monostate>(v)) {
    if (!column.nullable) return bad("null in a column that is not nullable");
    return Status::Ok();
  }
  switch (type_) {
    case ColumnType::kBoolean:
      return bad("expected a boolean");
    case ColumnType::kFloat:
      return bad("expected a float");
    case ColumnType::kDouble:
      return bad("expected a double");
    case ColumnType::kString:
    case ColumnType::kJson:
    case ColumnType::kBinary:
      return bad("expected a string");
    case ColumnType::kDecimal:
      return bad("expected an unscaled decimal integer");
    default:
      return bad("expected an integer");
  }
}

void ColumnWriter::AppendPlain(const Cell& cell, ByteBuffer* out) {
  switch (physical_) {
    case PhysicalType::kBoolean:
      // Bit-packed, LSB first; the last byte is padded with zeros.
      if (page_bools_ % 8 == 0) out->push_back('\0');
      if (cell.b) out->back() = static_cast<char>(out->back() | (1 << (page_bools_ % 8)));
      ++page_bools_;
      break;
    case PhysicalType::kInt32:
      out->AppendFixed32(static_cast<uint32_t>(static_cast<int32_t>(cell.i)));
      break;
    case PhysicalType::kInt64:
      out->AppendFixed64(static_cast<uint64_t>(cell.i));
      break;
    case PhysicalType::kFloat:
      out->AppendFixed32(FloatBits(cell.d));
      break;
    case PhysicalType::kDouble:
      out->AppendFixed64(DoubleBits(cell.d));
      break;
    case PhysicalType::kByteArray: {
      const uint32_t n = static_cast<uint32_t>(cell.s.size());
      char* p = out->Extend(4 + size_t{n});
      std::memcpy(p, &n, 4);  // little-endian length
      if (n != 0) std::memcpy(p + 4, cell.s.data(), n);
      break;
    }
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
      if (physical_ == PhysicalType::kFloat) {
        PutFixed32(&min, FloatBits(lo));
        PutFixed32(&max, FloatBits(hi));
      } else {
        PutFixed64(&min, DoubleBits(lo));
        PutFixed64(&max, DoubleBits(hi));
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

size_t ColumnWriter::DictionaryPlainBytes() const {
  switch (physical_) {
    case PhysicalType::kByteArray:
      return bytes_dictionary_.plain().size();
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
      return dictionary32_.size() * plain_width_;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      return dictionary64_.size() * plain_width_;
    case PhysicalType::kFixedLenByteArray:
      return dictionary128_.size() * plain_width_;
    default:
      return 0;
  }
}

uint32_t ColumnWriter::DictionarySize() const {
  switch (physical_) {
    case PhysicalType::kByteArray:
      return bytes_dictionary_.size();
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
      return dictionary32_.size();
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      return dictionary64_.size();
    case PhysicalType::kFixedLenByteArray:
      return dictionary128_.size();
    default:
      return 0;
  }
}

size_t ColumnWriter::DictionaryMemory() const {
  return bytes_dictionary_.MemoryBytes() + dictionary32_.MemoryBytes() +
         dictionary64_.MemoryBytes() + dictionary128_.MemoryBytes();
}

std::string_view ColumnWriter::DictionaryPage(ByteBuffer* scratch) const {
  switch (physical_) {
    case PhysicalType::kByteArray:
      return bytes_dictionary_.plain();  // kept PLAIN already
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:  // 4 bytes little-endian each: the values as they lie
      return {reinterpret_cast<const char*>(dictionary32_.data()), dictionary32_.size() * 4};
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      return {reinterpret_cast<const char*>(dictionary64_.data()), dictionary64_.size() * 8};
    case PhysicalType::kFixedLenByteArray:
      scratch->clear();
      for (uint32_t k = 0; k < dictionary128_.size(); ++k)
        PutBigEndian(static_cast<Int128>(dictionary128_[k]), *element_.type_length, scratch);
      return scratch->view();
    default:
      return {};
  }
}

void ColumnWriter::ExpandIndices(ByteBuffer* out) const {
  const uint32_t* indices = page_indices_.data();
  const size_t n = page_indices_.size();
  switch (physical_) {
    case PhysicalType::kByteArray:
      for (size_t k = 0; k < n; ++k) out->append(bytes_dictionary_.PlainEntry(indices[k]));
      break;
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
      for (size_t k = 0; k < n; ++k) out->AppendFixed32(dictionary32_[indices[k]]);
      break;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      for (size_t k = 0; k < n; ++k) out->AppendFixed64(dictionary64_[indices[k]]);
      break;
    case PhysicalType::kFixedLenByteArray:
      for (size_t k = 0; k < n; ++k)
        PutBigEndian(static_cast<Int128>(dictionary128_[indices[k]]), *element_.type_length, out);
      break;
    default:
      break;
  }
}

void ColumnWriter::ClearDictionary() {
  bytes_dictionary_.Clear();
  dictionary32_.Clear();
  dictionary64_.Clear();
  dictionary128_.Clear();
  dictionary_memory_ = 0;
}

void ColumnWriter::AddedEntry(const Cell& cell) {
  // Every distinct value of the chunk passes here once, so its min and max are the
  // chunk's (the values of PLAIN pages are counted one by one).
  UpdateStatistics(cell);
  if (DictionaryPlainBytes() > options_.dictionary_bytes) {
    // Fall back: this page ends with the row, and the dictionary as it is then; later
    // pages are PLAIN.
    use_dictionary_ = false;
    cut_after_row_ = true;
  }
}

void ColumnWriter::DictionaryGrew() {
  dictionary_memory_ = DictionaryMemory();
  // The trial ends early: FlushPage decides whether the dictionary pays.
  if (!chunk_dictionary_pages_ && dictionary_memory_ >= options_.dictionary_trial_memory)
    cut_after_row_ = true;
}

void ColumnWriter::AppendDictionaryValue(const Cell& cell) {
  bool added = false;
  uint32_t index = 0;
  switch (physical_) {
    case PhysicalType::kByteArray:
      index = cell.hashed ? bytes_dictionary_.Insert(cell.s, cell.hash, &added)
                          : bytes_dictionary_.Insert(cell.s, &added);
      page_indexed_plain_bytes_ += 4 + cell.s.size();
      break;
    case PhysicalType::kInt32:
      pending_.push_back(static_cast<uint32_t>(static_cast<int32_t>(cell.i)));
      if (pending_.size() == kPendingBatch) ResolvePending();
      return;
    case PhysicalType::kFloat:
      pending_.push_back(FloatBits(cell.d));
      if (pending_.size() == kPendingBatch) ResolvePending();
      return;
    case PhysicalType::kInt64:
      pending_.push_back(static_cast<uint64_t>(cell.i));
      if (pending_.size() == kPendingBatch) ResolvePending();
      return;
    case PhysicalType::kDouble:
      pending_.push_back(DoubleBits(cell.d));
      if (pending_.size() == kPendingBatch) ResolvePending();
      return;
    case PhysicalType::kFixedLenByteArray:
      index = dictionary128_.Insert(static_cast<unsigned __int128>(cell.wide), &added);
      break;
    case PhysicalType::kBoolean:  // never dictionary-encoded (the constructor's choice)
    case PhysicalType::kInt96:
      assert(false);
      return;
  }
  page_indices_.push_back(index);
  if (added) {
    AddedEntry(cell);
    DictionaryGrew();
  }
}

void ColumnWriter::ResolvePending() {
  if (pending_.empty()) return;
  Cell cell;
  cell.null = false;
  switch (physical_) {
    case PhysicalType::kInt32:
      dictionary32_.InsertBatch(pending_.data(), pending_.size(), &page_indices_, [&](uint32_t k) {
        cell.i = static_cast<int32_t>(k);
        AddedEntry(cell);
      });
      break;
    case PhysicalType::kFloat:
      dictionary32_.InsertBatch(pending_.data(), pending_.size(), &page_indices_, [&](uint32_t k) {
        float f;
        std::memcpy(&f, &k, 4);
        cell.d = f;
        AddedEntry(cell);
      });
      break;
    case PhysicalType::kInt64:
      dictionary64_.InsertBatch(pending_.data(), pending_.size(), &page_indices_, [&](uint64_t k) {
        cell.i = static_cast<int64_t>(k);
        AddedEntry(cell);
      });
      break;
    case PhysicalType::kDouble:
      dictionary64_.InsertBatch(pending_.data(), pending_.size(), &page_indices_, [&](uint64_t k) {
        std::memcpy(&cell.d, &k, 8);
        AddedEntry(cell);
      });
      break;
    default:
      assert(false);
  }
  pending_.clear();
  DictionaryGrew();
}

void ColumnWriter::AppendValue(const Cell& cell) {
  ++page_non_null_;
  if (page_uses_dictionary_) {
    AppendDictionaryValue(cell);
  } else {
    UpdateStatistics(cell);
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
  const size_t page = PageEstimate();
  Report(page);
  // Pages are cut only here, so that every page starts a row (repetition level 0). Level
  // entries of nulls cost almost nothing encoded, so their count is bounded on its own
  // (num_values is an int32, and readers size buffers by it).
  if (cut_after_row_ || page >= options_.page_bytes || page_levels_ >= kMaxPageEntries) {
    cut_after_row_ = false;
    return FlushPage();
  }
  return Status::Ok();
}

Status ColumnWriter::AppendPage(PageHeader* header, const std::string_view* body,
                                std::string_view tail, ByteBuffer* out) {
  PageCompressor& compressor = context_->compressor;
  const size_t size = body != nullptr ? body->size() : compressor.body()->size() + tail.size();
  Result<std::string_view> compressed =
      body != nullptr ? compressor.Compress(*body) : compressor.CompressBody(tail);
  if (!compressed.ok()) return compressed.status();
  header->uncompressed_page_size = static_cast<int32_t>(size);
  header->compressed_page_size = static_cast<int32_t>(compressed->size());
  header_.clear();
  SerializePageHeader(*header, &header_);
  out->append(header_);
  out->append(*compressed);
  chunk_uncompressed_ += static_cast<int64_t>(header_.size() + size);
  return Status::Ok();
}

Status ColumnWriter::FlushPage() {
  if (page_levels_ == 0) return Status::Ok();
  ResolvePending();
  cut_after_row_ = false;  // this is the cut (a fallback found by ResolvePending included)
  ByteBuffer& body = *context_->compressor.body();
  body.clear();
  // Data page v1: the repetition levels, then the definition levels, each in the hybrid
  // encoding behind its 4-byte length, each left out when its maximum is 0.
  auto levels = [&body](RleBitPackedEncoder* encoder) {
    size_t at = body.size();
    body.AppendFixed32(0);
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
    const size_t levels_end = body.size();
    const int width = std::max(1, BitWidth(DictionarySize() - 1));
    body.push_back(static_cast<char>(width));
    RleBitPackedEncode(page_indices_.data(), page_indices_.size(), width, &body);
    const size_t plain_bytes = physical_ == PhysicalType::kByteArray
                                   ? page_indexed_plain_bytes_
                                   : static_cast<size_t>(page_non_null_) * plain_width_;
    if (!chunk_dictionary_pages_ &&
        DictionaryPlainBytes() + (body.size() - levels_end) >= plain_bytes) {
      // The chunk's first dictionary-encoded page, whose dictionary holds only its values,
      // is no smaller than PLAIN: the dictionary does not pay for this column, which is
      // PLAIN from this page on.
      body.Truncate(levels_end);
      ExpandIndices(&body);
      ClearDictionary();
      use_dictionary_ = false;
      dictionary_page = false;
    }
  }

  PageHeader h;
  h.type = PageType::kDataPage;
  DataPageHeader& d = h.data_page_header.emplace();
  d.num_values = static_cast<int32_t>(page_levels_);
  d.encoding = dictionary_page ? Encoding::kRleDictionary : Encoding::kPlain;
  // The page: body (levels, then the indices or the values taken from the dictionary),
  // then the PLAIN values if the page has them; without levels, those values alone.
  const std::string_view values = page_plain_.view();
  MILLRACE_RETURN_IF_ERROR(body.empty() ? AppendPage(&h, &values, {}, &chunk_pages_)
                                        : AppendPage(&h, nullptr, values, &chunk_pages_));
  (dictionary_page ? chunk_dictionary_pages_ : chunk_plain_pages_) = true;
  chunk_bytes_ = chunk_pages_.size() + dictionary_page_.size();

  chunk_values_ += page_levels_;
  page_levels_ = page_non_null_ = page_bools_ = 0;
  page_indexed_plain_bytes_ = 0;
  page_uses_dictionary_ = false;
  page_plain_.clear();
  page_indices_.clear();
  // Kept for the next page unless a single large value grew them far past a page.
  if (page_plain_.capacity() > 2 * options_.page_bytes) page_plain_.Release();
  if (body.capacity() > 2 * options_.page_bytes) body.Release();
  Report(PageEstimate());
  return Status::Ok();
}

Result<size_t> ColumnWriter::FinishPages() {
  MILLRACE_RETURN_IF_ERROR(FlushPage());
  dictionary_page_.clear();
  if (chunk_dictionary_pages_) {
    PageHeader h;
    h.type = PageType::kDictionaryPage;
    DictionaryPageHeader& d = h.dictionary_page_header.emplace();
    d.num_values = static_cast<int32_t>(DictionarySize());
    d.encoding = Encoding::kPlain;
    const std::string_view plain = DictionaryPage(context_->compressor.body());
    MILLRACE_RETURN_IF_ERROR(AppendPage(&h, &plain, {}, &dictionary_page_));
  }
  // The next chunk starts a dictionary of its own, and its first page is a while away:
  // the page buffers go too.
  ClearDictionary();
  page_plain_.Release();
  page_indices_.Release();
  repetition_levels_.Release();
  definition_levels_.Release();
  chunk_bytes_ = chunk_pages_.size() + dictionary_page_.size();
  Report(PageEstimate());
  return chunk_bytes_;
}

ColumnChunk ColumnWriter::ChunkMetadata(int64_t file_offset) const {
  ColumnChunk chunk;
  ColumnMetaData& m = chunk.meta_data;
  m.type = physical_;
  m.path_in_schema = leaf_.path;
  m.codec = options_.codec;
  m.num_values = chunk_values_;
  chunk.file_offset = file_offset;
  if (!dictionary_page_.empty()) m.dictionary_page_offset = file_offset;
  m.data_page_offset = file_offset + static_cast<int64_t>(dictionary_page_.size());
  m.total_uncompressed_size = chunk_uncompressed_;
  m.total_compressed_size = static_cast<int64_t>(dictionary_page_.size() + chunk_pages_.size());
  // Sorted by value, as Arrow lists them: PLAIN (values or the dictionary page), RLE
  // (levels), RLE_DICTIONARY (indices).
  if (chunk_plain_pages_ || chunk_dictionary_pages_) m.encodings.push_back(Encoding::kPlain);
  m.encodings.push_back(Encoding::kRle);
  if (chunk_dictionary_pages_) m.encodings.push_back(Encoding::kRleDictionary);
  m.statistics = EncodeStatistics();
  return chunk;
}

void ColumnWriter::WriteChunk(std::string* out) {
  if (!dictionary_page_.empty()) out->append(dictionary_page_.data(), dictionary_page_.size());
  if (!chunk_pages_.empty()) out->append(chunk_pages_.data(), chunk_pages_.size());
  chunk_pages_.Release();
  dictionary_page_.Release();
  chunk_bytes_ = 0;
  chunk_values_ = chunk_uncompressed_ = 0;
  chunk_plain_pages_ = chunk_dictionary_pages_ = false;
  null_count_ = 0;
  has_min_max_ = false;
  std::string().swap(min_s_);  // one may have been a value of up to 1 GiB
  std::string().swap(max_s_);
  Report(PageEstimate());
}

}  // namespace millrace::formats::parquet
