// formats/parquet: the byte-level pieces (Thrift compact protocol, the RLE/bit-packed
// hybrid, PLAIN values, the footer) against vectors worked out by hand from the specs, and
// the writer's checks of schemas and values. Independent readers are
// formats_parquet_readers_test.cc's business.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "formats/parquet/column_writer.h"
#include "formats/parquet/file_writer.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/rle.h"
#include "formats/parquet/thrift_compact.h"

namespace millrace::formats::parquet {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

TEST(ThriftCompact, FieldsAndDeltas) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.BeginStruct();
  // The high nibble is the id's delta from the previous field (1 each here).
  w.FieldI32(1, 3);        // type i32 (5): 0x15, zigzag(3) = 6
  w.FieldI64(2, -1);       // i64 (6): 0x16, zigzag(-1) = 1
  w.FieldBool(3, true);    // the value is the type: 0x11
  w.FieldBool(4, false);   // 0x12
  w.FieldBinary(5, "ab");  // binary (8): 0x18, length 2
  w.FieldI32(40, 300);     // delta 35 > 15: long form 0x05, zigzag(40) = 80, zigzag(300) = 600
  w.EndStruct();
  EXPECT_EQ(out,
            Bytes({0x15, 6, 0x16, 1, 0x11, 0x12, 0x18, 2, 'a', 'b', 0x05, 80, 0xd8, 0x04, 0x00}));
}

TEST(ThriftCompact, ListsAndNestedStructs) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.BeginStruct();
  w.FieldListBegin(1, ThriftType::kI32, 2);  // 0x19, size 2 elem i32: 0x25
  w.ElemI32(0);
  w.ElemI32(-2);
  w.FieldStructBegin(2);  // 0x1c
  w.BeginStruct();
  w.FieldI32(1, 1);  // field ids restart inside the nested struct: 0x15 2
  w.EndStruct();
  w.FieldListBegin(3, ThriftType::kBinary, 15);  // 15 elements: long list header 0xf8 15
  for (int i = 0; i < 15; ++i) w.ElemBinary("");
  w.EndStruct();
  std::string want = Bytes({0x19, 0x25, 0, 3, 0x1c, 0x15, 2, 0, 0x19, 0xf8, 15});
  want += std::string(15, '\0');
  want.push_back('\0');
  EXPECT_EQ(out, want);
}

TEST(Rle, BitWidth) {
  EXPECT_EQ(BitWidth(0), 0);
  EXPECT_EQ(BitWidth(1), 1);
  EXPECT_EQ(BitWidth(2), 2);
  EXPECT_EQ(BitWidth(255), 8);
  EXPECT_EQ(BitWidth(256), 9);
}

TEST(Rle, RunsAndBitPacking) {
  std::string out;
  // Encodings.md's example: 0..7 at bit width 3 is one bit-packed group.
  RleBitPackedEncode({0, 1, 2, 3, 4, 5, 6, 7}, 3, &out);
  EXPECT_EQ(out, Bytes({0x03, 0x88, 0xc6, 0xfa}));

  out.clear();
  RleBitPackedEncode(std::vector<uint32_t>(100, 1), 1, &out);  // one RLE run: 100 << 1, value
  EXPECT_EQ(out, Bytes({0xc8, 0x01, 0x01}));

  out.clear();
  // 3 literals, then a run of 13: the literals take 5 of the run to fill a group of 8,
  // the remaining 8 are an RLE run.
  std::vector<uint32_t> v = {1, 0, 1};
  v.insert(v.end(), 13, 1);
  RleBitPackedEncode(v, 1, &out);
  EXPECT_EQ(out, Bytes({0x03, 0xfd, 0x10, 0x01}));

  out.clear();
  RleBitPackedEncode({1, 0, 1}, 1, &out);  // the last group padded with zeros
  EXPECT_EQ(out, Bytes({0x03, 0x05}));

  out.clear();
  RleBitPackedEncode({}, 1, &out);
  EXPECT_EQ(out, "");
}

TEST(Schema, DecimalWidthsAndTypes) {
  EXPECT_EQ(DecimalByteWidth(19), 9);
  EXPECT_EQ(DecimalByteWidth(38), 16);
  EXPECT_EQ(DecimalByteWidth(20), 9);
  EXPECT_EQ(DecimalByteWidth(21), 9);  // 2^71 > 10^21
  EXPECT_EQ(DecimalByteWidth(22), 10);
  ParquetColumn c{.name = "d", .type = ColumnType::kDecimal, .precision = 9, .scale = 2};
  EXPECT_EQ(*ToSchemaElement(c).type, PhysicalType::kInt32);
  c.precision = 18;
  EXPECT_EQ(*ToSchemaElement(c).type, PhysicalType::kInt64);
  c.precision = 30;
  SchemaElement e = ToSchemaElement(c);
  EXPECT_EQ(*e.type, PhysicalType::kFixedLenByteArray);
  EXPECT_EQ(*e.type_length, 13);
}

TEST(Schema, Validation) {
  EXPECT_FALSE(ValidateSchema({}).ok());
  EXPECT_FALSE(ValidateSchema({{{.name = "a"}, {.name = "a"}}}).ok());
  EXPECT_FALSE(ValidateSchema({{{.name = ""}}}).ok());
  EXPECT_FALSE(
      ValidateSchema({{{.name = "d", .type = ColumnType::kDecimal, .precision = 39}}}).ok());
  EXPECT_FALSE(
      ValidateSchema({{{.name = "d", .type = ColumnType::kDecimal, .precision = 3, .scale = 4}}})
          .ok());
  EXPECT_TRUE(ValidateSchema({{{.name = "a"}, {.name = "b", .type = ColumnType::kInt64}}}).ok());
  EXPECT_FALSE(ParseCodec("lz4").ok());
  EXPECT_EQ(ParseCodec("zstd").value(), Codec::kZstd);
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

ParquetSchema TwoColumns() {
  return {{{.name = "id", .type = ColumnType::kInt32, .nullable = false},
           {.name = "s", .type = ColumnType::kString, .nullable = true}}};
}

TEST(ParquetFileWriter, RejectsBadValuesAndKeepsGoing) {
  auto w = ParquetFileWriter::Create(TwoColumns(), {});
  ASSERT_TRUE(w.ok());
  ParquetFileWriter& f = **w;
  EXPECT_TRUE(f.AppendRow({int32_t{1}, std::string_view("a")}).ok());
  Status s = f.AppendRow({std::monostate{}, std::string_view("b")});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'id'"), std::string::npos) << s.message();
  EXPECT_FALSE(f.AppendRow({int64_t{1} << 40, std::monostate{}}).ok());    // out of int32
  EXPECT_FALSE(f.AppendRow({int32_t{2}, std::string_view("\xff")}).ok());  // not UTF-8
  EXPECT_FALSE(f.AppendRow({int32_t{2}, 1.5}).ok());                       // wrong type
  EXPECT_FALSE(f.AppendRow({int32_t{2}}).ok());                            // too few values
  EXPECT_TRUE(f.AppendRow({int32_t{2}, std::monostate{}}).ok());
  EXPECT_EQ(f.RowCount(), 2);
  Result<std::string> file = f.Finish();
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->substr(0, 4), "PAR1");
  EXPECT_EQ(file->substr(file->size() - 4), "PAR1");
  EXPECT_EQ(f.Finish().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(f.AppendRow({int32_t{3}, std::monostate{}}).code(), Code::kFailedPrecondition);
}

TEST(ParquetFileWriter, DecimalRange) {
  auto w = ParquetFileWriter::Create(
      {{{.name = "d", .type = ColumnType::kDecimal, .nullable = false, .precision = 3}}}, {});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->AppendRow({int32_t{999}}).ok());
  EXPECT_TRUE((*w)->AppendRow({int32_t{-999}}).ok());
  EXPECT_FALSE((*w)->AppendRow({int32_t{1000}}).ok());
  EXPECT_FALSE((*w)->AppendRow({Int128{-1000}}).ok());
}

TEST(ParquetFileWriter, EmptyFileFooter) {
  ParquetWriterOptions o;
  o.codec = Codec::kUncompressed;
  auto w = ParquetFileWriter::Create({{{.name = "a", .type = ColumnType::kBoolean}}}, o);
  ASSERT_TRUE(w.ok());
  Result<std::string> file = (*w)->Finish();
  ASSERT_TRUE(file.ok());
  // PAR1, the footer, its 4-byte length, PAR1. The footer starts version 2 (0x15 0x04), then
  // the schema list of 2 structs (0x19 0x2c), the root's name (0x48 6 "schema").
  const std::string& f = *file;
  uint32_t len = DecodeFixed32(f.data() + f.size() - 8);
  ASSERT_EQ(f.size(), 4 + len + 8);
  std::string footer = f.substr(4, len);
  EXPECT_EQ(footer.substr(0, 12),
            Bytes({0x15, 0x04, 0x19, 0x2c, 0x48, 6, 's', 'c', 'h', 'e', 'm', 'a'}));
  EXPECT_NE(footer.find("millrace.schema"), std::string::npos);
  EXPECT_NE(footer.find("millrace"), std::string::npos);
}

TEST(ParquetFileWriter, OptionsChecked) {
  ParquetWriterOptions o;
  o.row_group_rows = 0;
  EXPECT_FALSE(ParquetFileWriter::Create(TwoColumns(), o).ok());
  o.row_group_rows = 10;
  o.key_value_metadata = {{"millrace.schema", "x"}};
  EXPECT_FALSE(ParquetFileWriter::Create(TwoColumns(), o).ok());
}

}  // namespace
}  // namespace millrace::formats::parquet
