// formats/parquet: the byte-level pieces (Thrift compact protocol, the RLE/bit-packed
// hybrid, PLAIN values, the footer) against vectors worked out by hand from the specs, the
// levels of nested rows against the Dremel rules worked out by hand, and the writer's
// checks of schemas and values. Independent readers are formats_parquet_readers_test.cc's
// business.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "formats/parquet/buffer.h"
#include "formats/parquet/column_writer.h"
#include "formats/parquet/file_writer.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/rle.h"
#include "formats/parquet/shredder.h"
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

// Decodes `n` values of the hybrid encoding at `*p` (advanced past them).
std::vector<uint32_t> RleDecode(const char** p, const char* end, int bit_width, size_t n) {
  std::vector<uint32_t> out;
  while (out.size() < n && *p < end) {
    uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = static_cast<uint8_t>(*(*p)++);
      header |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) break;
    }
    if ((header & 1) == 0) {  // RLE run
      uint32_t v = 0;
      for (int b = 0; b < (bit_width + 7) / 8; ++b)
        v |= uint32_t{static_cast<uint8_t>(*(*p)++)} << (8 * b);
      out.insert(out.end(), header >> 1, v);
    } else {  // bit-packed groups
      size_t values = (header >> 1) * 8;
      uint64_t acc = 0;
      int bits = 0;
      for (size_t k = 0; k < values; ++k) {
        while (bits < bit_width) {
          acc |= uint64_t{static_cast<uint8_t>(*(*p)++)} << bits;
          bits += 8;
        }
        uint32_t v = static_cast<uint32_t>(acc & ((uint64_t{1} << bit_width) - 1));
        acc >>= bit_width;
        bits -= bit_width;
        if (out.size() < n) out.push_back(v);
      }
    }
  }
  return out;
}

TEST(Rle, StreamingRoundTrips) {
  std::mt19937 rng(7);
  for (int width : {1, 2, 3, 5, 8, 13, 32}) {
    for (int trial = 0; trial < 50; ++trial) {
      // Runs of random lengths, some long, so that RLE and bit-packed runs alternate.
      std::vector<uint32_t> values;
      uint32_t max = width == 32 ? 0xffffffffu : (1u << width) - 1;
      while (values.size() < 2000) {
        uint32_t v = std::uniform_int_distribution<uint32_t>(0, max)(rng);
        size_t run = std::uniform_int_distribution<int>(0, 3)(rng) == 0
                         ? std::uniform_int_distribution<size_t>(1, 40)(rng)
                         : 1;
        values.insert(values.end(), run, v);
      }
      values.resize(std::uniform_int_distribution<size_t>(0, values.size())(rng));
      RleBitPackedEncoder e(width);
      for (uint32_t v : values) e.Put(v);
      size_t estimate = e.EstimatedBytes();
      std::string out;
      e.Finish(&out);
      // Within a few bytes: the run in progress counts as 8 values, headers not at all.
      EXPECT_LE(estimate, out.size() + width + 16);
      EXPECT_LE(out.size(), estimate + width + 16);
      const char* p = out.data();
      EXPECT_EQ(RleDecode(&p, out.data() + out.size(), width, values.size()), values);
      EXPECT_EQ(p, out.data() + out.size());
      // The encoder starts afresh after Finish.
      e.Put(1);
      out.clear();
      e.Finish(&out);
      // One bit-packed group: 8 values of `width` bits, the first 1.
      EXPECT_EQ(out, Bytes({0x03, 0x01}) + std::string(width - 1, '\0'));
    }
  }
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

// Nested columns: the schema tree, the levels of tricky rows, the pages they land in.

ParquetColumn Typed(const std::string& name, const std::string& type, bool nullable = true) {
  ParquetColumn c;
  c.name = name;
  c.nullable = nullable;
  Status s = ParseColumnType(type, &c);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return c;
}

TEST(Schema, NestedElementsAndLeaves) {
  ParquetColumn t = Typed("t", "list<struct<a:int64,b:list<string>>>", /*nullable=*/false);
  std::vector<SchemaElement> e;
  AppendSchemaElements(t, &e);
  ASSERT_EQ(e.size(), 7u);
  // required group t (LIST) { repeated group list { optional group element {
  //   optional int64 a; optional group b (LIST) { repeated group list {
  //     optional binary element (STRING); } } } } }
  const char* names[] = {"t", "list", "element", "a", "b", "list", "element"};
  Repetition reps[] = {Repetition::kRequired, Repetition::kRepeated, Repetition::kOptional,
                       Repetition::kOptional, Repetition::kOptional, Repetition::kRepeated,
                       Repetition::kOptional};
  std::optional<int32_t> children[] = {1, 1, 2, std::nullopt, 1, 1, std::nullopt};
  for (size_t k = 0; k < e.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(e[k].name, names[k]);
    EXPECT_EQ(e[k].repetition, reps[k]);
    EXPECT_EQ(e[k].num_children, children[k]);
    EXPECT_EQ(e[k].type.has_value(), !children[k].has_value());
  }
  EXPECT_EQ(e[0].converted_type, ConvertedType::kList);
  EXPECT_EQ(e[0].logical_type.kind, LogicalType::Kind::kList);
  EXPECT_EQ(e[4].converted_type, ConvertedType::kList);
  EXPECT_FALSE(e[1].converted_type.has_value());
  EXPECT_FALSE(e[2].converted_type.has_value());  // a struct has no annotation
  EXPECT_EQ(*e[3].type, PhysicalType::kInt64);
  EXPECT_EQ(*e[6].type, PhysicalType::kByteArray);
  EXPECT_EQ(e[6].converted_type, ConvertedType::kUtf8);

  std::vector<LeafColumn> leaves = LeafColumns(t);
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[0].path, (std::vector<std::string>{"t", "list", "element", "a"}));
  EXPECT_EQ(leaves[0].column.name, "t.element.a");
  EXPECT_EQ(leaves[0].max_definition, 3);  // t required: list 1, element 2, a 3
  EXPECT_EQ(leaves[0].max_repetition, 1);
  EXPECT_EQ(leaves[1].path,
            (std::vector<std::string>{"t", "list", "element", "b", "list", "element"}));
  EXPECT_EQ(leaves[1].column.name, "t.element.b.element");
  EXPECT_EQ(leaves[1].max_definition, 5);
  EXPECT_EQ(leaves[1].max_repetition, 2);

  // Flat columns are their own leaf.
  leaves = LeafColumns({.name = "x", .type = ColumnType::kInt32});
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].path, std::vector<std::string>{"x"});
  EXPECT_EQ(leaves[0].max_definition, 1);
  EXPECT_EQ(leaves[0].max_repetition, 0);
}

TEST(Schema, NestedValidation) {
  auto message = [](ParquetColumn c) {
    Status s = ValidateSchema({{std::move(c)}});
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    return s.message();
  };
  EXPECT_TRUE(ValidateSchema({{Typed("t", "list<struct<a:int64,b:list<json>>>")}}).ok());
  EXPECT_NE(message({.name = "l", .type = ColumnType::kList}).find("'l'"), std::string::npos);
  EXPECT_NE(message({.name = "s", .type = ColumnType::kStruct}).find("'s'"), std::string::npos);
  ParquetColumn dup = Typed("s", "struct<a:int64>");
  dup.children.push_back(dup.children[0]);
  EXPECT_NE(message(dup).find("appears twice"), std::string::npos);
  ParquetColumn scalar{.name = "x", .type = ColumnType::kInt64};
  scalar.children.push_back({.name = "y"});
  EXPECT_NE(message(scalar).find("'x'"), std::string::npos);
  ParquetColumn decimal = Typed("s", "struct<a:list<decimal(5,2)>>");
  decimal.children[0].children[0].scale = 7;
  EXPECT_NE(message(decimal).find("'s.a.element'"), std::string::npos);
  ParquetColumn deep = Typed("d", "int64");
  for (int k = 0; k < 33; ++k) {
    ParquetColumn outer{.name = "d", .type = ColumnType::kList};
    deep.name = "element";
    outer.children.push_back(std::move(deep));
    deep = std::move(outer);
  }
  EXPECT_NE(message(deep).find("32 deep"), std::string::npos);
}

// Shreds rows of one column given as JSON and shows each leaf's entries as
// "repetition,definition" with ":value" when the value is defined, e.g. "0,3:1 1,2".
class Shred {
 public:
  explicit Shred(ParquetColumn column) : column_(std::move(column)) {
    std::vector<ColumnWriter*> leaves;
    for (LeafColumn& leaf : LeafColumns(column_)) {
      writers_.push_back(std::make_unique<ColumnWriter>(std::move(leaf), ColumnWriterOptions{}));
      leaves.push_back(writers_.back().get());
    }
    shredder_ = std::make_unique<Shredder>(column_, std::move(leaves));
  }

  // "" is a std::monostate value.
  Status Row(const std::string& json) {
    ParquetValue v;
    if (!json.empty()) {
      simdjson::dom::element e;
      EXPECT_EQ(parser_.parse(json).get(e), simdjson::SUCCESS) << json;
      v = e;
    }
    return shredder_->Shred(v);
  }

  std::vector<std::string> Levels(const std::string& json) {
    Status s = Row(json);
    EXPECT_TRUE(s.ok()) << json << ": " << s.ToString();
    std::vector<std::string> out;
    for (size_t l = 0; l < writers_.size(); ++l) {
      const LeafColumn& leaf = writers_[l]->leaf();
      const Shredder::Staged& staged = shredder_->staged(l);
      std::string text;
      size_t value = 0;
      for (size_t k = 0; k < staged.definition.size(); ++k) {
        if (k) text += " ";
        text += std::to_string(staged.repetition[k]) + "," + std::to_string(staged.definition[k]);
        if (staged.definition[k] == leaf.max_definition) {
          const Cell& c = staged.cells[value++];
          text += ":" + (c.s.data() != nullptr ? std::string(c.s) : std::to_string(c.i));
        }
      }
      EXPECT_EQ(value, staged.cells.size());
      out.push_back(text);
    }
    // Commit must take what was staged.
    EXPECT_TRUE(shredder_->Commit().ok());
    return out;
  }

 private:
  ParquetColumn column_;
  std::vector<std::unique_ptr<ColumnWriter>> writers_;
  std::unique_ptr<Shredder> shredder_;
  simdjson::dom::parser parser_;
};

using Leaves = std::vector<std::string>;

TEST(Shredder, ListOfInt64) {
  Shred s(Typed("l", "list<int64>"));          // max definition 3, repetition 1
  EXPECT_EQ(s.Levels(""), Leaves{"0,0"});      // null list
  EXPECT_EQ(s.Levels("null"), Leaves{"0,0"});  // JSON null: the same
  EXPECT_EQ(s.Levels("[]"), Leaves{"0,1"});    // empty list
  EXPECT_EQ(s.Levels("[null]"), Leaves{"0,2"});
  EXPECT_EQ(s.Levels("[1,null,2]"), Leaves{"0,3:1 1,2 1,3:2"});

  Shred r(Typed("r", "list<int64>", /*nullable=*/false));  // max definition 2
  EXPECT_EQ(r.Levels("[]"), Leaves{"0,0"});
  EXPECT_EQ(r.Levels("[null]"), Leaves{"0,1"});
  EXPECT_EQ(r.Levels("[5,6]"), Leaves{"0,2:5 1,2:6"});
  Status st = r.Row("null");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("'r'"), std::string::npos) << st.message();
}

TEST(Shredder, StructWithList) {
  Shred s(Typed("s", "struct<a:int64,b:list<string>>"));  // a: 2, 0; b.element: 4, 1
  EXPECT_EQ(s.Levels(""), (Leaves{"0,0", "0,0"}));
  EXPECT_EQ(s.Levels("{}"), (Leaves{"0,1", "0,1"}));  // fields missing: null
  EXPECT_EQ(s.Levels("{\"a\":null,\"b\":null}"), (Leaves{"0,1", "0,1"}));
  EXPECT_EQ(s.Levels("{\"a\":1,\"b\":[]}"), (Leaves{"0,2:1", "0,2"}));
  EXPECT_EQ(s.Levels("{\"b\":[null,\"x\"],\"extra\":{\"deep\":[1]}}"),
            (Leaves{"0,1", "0,3 1,4:x"}));
}

TEST(Shredder, ListOfLists) {
  Shred s(Typed("ll", "list<list<int32>>"));  // max definition 5, repetition 2
  EXPECT_EQ(s.Levels(""), Leaves{"0,0"});
  EXPECT_EQ(s.Levels("[]"), Leaves{"0,1"});
  EXPECT_EQ(s.Levels("[null]"), Leaves{"0,2"});
  EXPECT_EQ(s.Levels("[[]]"), Leaves{"0,3"});
  EXPECT_EQ(s.Levels("[[null]]"), Leaves{"0,4"});
  // The first value of each inner list repeats at level 1 (the outer list), the others at 2.
  EXPECT_EQ(s.Levels("[[1,2],[],null,[3]]"), Leaves{"0,5:1 2,5:2 1,3 1,2 1,5:3"});
}

TEST(Shredder, ListOfStructsWithLists) {
  // x: max definition 4, repetition 1; y.element: 6, 2.
  Shred s(Typed("t", "list<struct<x:int32,y:list<string>>>"));
  EXPECT_EQ(s.Levels("[{\"x\":1,\"y\":[\"a\",\"b\"]},{\"y\":[]},null,{}]"),
            (Leaves{"0,4:1 1,3 1,2 1,3", "0,6:a 2,6:b 1,4 1,2 1,3"}));
  EXPECT_EQ(s.Levels("[]"), (Leaves{"0,1", "0,1"}));
  EXPECT_EQ(s.Levels("[{\"y\":[null]}]"), (Leaves{"0,3", "0,5"}));
}

TEST(Shredder, ConvertedTextStaysAliveUntilCommit) {
  // Each non-string value of a string list, and each json value, is converted into its own
  // scratch string: all of them must still be there when the row is committed.
  Shred s(Typed("l", "list<string>"));
  EXPECT_EQ(s.Levels("[1,true,{\"k\":[1, 2]},2.5,\"s\",[null]]"),
            Leaves{"0,3:1 1,3:true 1,3:{\"k\":[1,2]} 1,3:2.5 1,3:s 1,3:[null]"});
  Shred j(Typed("j", "struct<a:json,b:list<json>>"));
  EXPECT_EQ(j.Levels("{\"a\":{\"x\": 1},\"b\":[\"s\",null,[1, 2],{}]}"),
            (Leaves{"0,2:{\"x\":1}", "0,4:\"s\" 1,3 1,4:[1,2] 1,4:{}"}));
}

TEST(Shredder, ErrorsNameThePathAndLeaveNothing) {
  Shred s(Typed("t", "list<struct<x:int32,y:list<string>>>"));
  Status st = s.Row("[{\"x\":1},{\"x\":\"nope\"}]");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("'t.element.x'"), std::string::npos) << st.message();
  st = s.Row("[{\"y\":\"nope\"}]");
  EXPECT_NE(st.message().find("'t.element.y'"), std::string::npos) << st.message();
  st = s.Row("{}");
  EXPECT_NE(st.message().find("'t'"), std::string::npos) << st.message();
  // The next row is shredded from scratch.
  EXPECT_EQ(s.Levels("[{\"x\":7}]"), (Leaves{"0,4:7", "0,3"}));
}

// The parts of a Thrift compact struct this test needs: i32 fields and nested structs.
class CompactReader {
 public:
  explicit CompactReader(const char* p) : p_(p) {}
  const char* position() const { return p_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return v;
    }
  }
  int64_t ZigZag() {
    uint64_t v = Varint();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  // Reads a struct, calling `field(id, type)` for each field, which reads the value with
  // ZigZag or Struct or leaves it to Skip (returns false).
  template <class F>
  void Struct(F field) {
    int16_t last = 0;
    for (;;) {
      uint8_t b = static_cast<uint8_t>(*p_++);
      if (b == 0) return;
      int type = b & 0x0f;
      last = (b >> 4) != 0 ? static_cast<int16_t>(last + (b >> 4)) : static_cast<int16_t>(ZigZag());
      if (!field(last, type)) Skip(type);
    }
  }
  void Skip(int type) {
    switch (type) {
      case 1:
      case 2:
        return;
      case 3:
        ++p_;
        return;
      case 4:
      case 5:
      case 6:
        Varint();
        return;
      case 8:
        p_ += Varint();
        return;
      case 12:
        Struct([](int16_t, int) { return false; });
        return;
      default:
        ADD_FAILURE() << "unexpected thrift type " << type;
    }
  }

 private:
  const char* p_;
};

TEST(ParquetFileWriter, NestedPagesStartRows) {
  // One nullable list<int64> column of lists of 0..20 elements, cut into small pages.
  ParquetWriterOptions o;
  o.codec = Codec::kUncompressed;
  o.page_bytes = 64;
  o.row_group_rows = 300;
  auto w = ParquetFileWriter::Create({{Typed("l", "list<int64>")}}, o);
  ASSERT_TRUE(w.ok());
  simdjson::dom::parser parser;
  int64_t entries = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string json = "[";
    for (int k = 0; k < i % 21; ++k) json += (k ? "," : "") + std::to_string(i * 100 + k);
    json += "]";
    entries += std::max(1, i % 21);
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(json).get(e), simdjson::SUCCESS);
    ASSERT_TRUE((*w)->AppendRow({e}).ok());
  }
  Result<std::string> file = (*w)->Finish();
  ASSERT_TRUE(file.ok());
  const std::string& f = *file;
  const char* end = f.data() + f.size() - 8 - DecodeFixed32(f.data() + f.size() - 8);
  const char* p = f.data() + 4;
  int pages = 0;
  int64_t rows = 0, levels = 0;
  while (p < end) {
    int32_t type = -1, size = 0, num_values = 0;
    CompactReader r(p);
    r.Struct([&](int16_t id, int t) {
      if (id == 1)
        type = static_cast<int32_t>(r.ZigZag());
      else if (id == 3)
        size = static_cast<int32_t>(r.ZigZag());
      else if (id == 5)
        r.Struct([&](int16_t id5, int) {
          if (id5 != 1) return false;
          num_values = static_cast<int32_t>(r.ZigZag());
          return true;
        });
      else
        return false;
      return true;
    });
    p = r.position();
    ASSERT_EQ(type, 0) << "a data page (no dictionary for int64)";
    // Repetition levels (width 1), then definition levels (width 2), each behind its length.
    const char* body = p;
    uint32_t rep_bytes = DecodeFixed32(body);
    body += 4;
    std::vector<uint32_t> rep = RleDecode(&body, body + rep_bytes, 1, num_values);
    uint32_t def_bytes = DecodeFixed32(body);
    body += 4;
    std::vector<uint32_t> def = RleDecode(&body, body + def_bytes, 2, num_values);
    ASSERT_EQ(rep.size(), static_cast<size_t>(num_values));
    ASSERT_EQ(def.size(), static_cast<size_t>(num_values));
    EXPECT_EQ(rep[0], 0u) << "page " << pages << " does not start a row";
    for (uint32_t x : rep) rows += x == 0;
    levels += num_values;
    ++pages;
    p += size;
  }
  EXPECT_EQ(p, end);
  EXPECT_EQ(rows, 1000);
  EXPECT_EQ(levels, entries);
  EXPECT_GT(pages, 20);
}

// The pages of a file's column chunks, in file order (they run from byte 4 to the footer).
struct Page {
  int32_t type = -1, size = 0, num_values = 0, encoding = -1;
  std::string body;  // as stored (compressed when the codec compresses)
};

std::vector<Page> Pages(const std::string& f) {
  std::vector<Page> pages;
  const char* end = f.data() + f.size() - 8 - DecodeFixed32(f.data() + f.size() - 8);
  const char* p = f.data() + 4;
  while (p < end) {
    Page page;
    CompactReader r(p);
    auto header = [&](int16_t id, int) {  // DataPageHeader (5) and DictionaryPageHeader (7)
      if (id == 1) {
        page.num_values = static_cast<int32_t>(r.ZigZag());
      } else if (id == 2) {
        page.encoding = static_cast<int32_t>(r.ZigZag());
      } else {
        return false;
      }
      return true;
    };
    r.Struct([&](int16_t id, int) {
      if (id == 1) {
        page.type = static_cast<int32_t>(r.ZigZag());
      } else if (id == 3) {
        page.size = static_cast<int32_t>(r.ZigZag());
      } else if (id == 5 || id == 7) {
        r.Struct(header);
      } else {
        return false;
      }
      return true;
    });
    p = r.position();
    page.body.assign(p, static_cast<size_t>(page.size));
    p += page.size;
    pages.push_back(std::move(page));
  }
  EXPECT_EQ(p, end);
  return pages;
}

std::string WriteInt32s(const std::vector<int32_t>& values, ParquetWriterOptions o) {
  o.codec = Codec::kUncompressed;
  auto w = ParquetFileWriter::Create(
      {{{.name = "q", .type = ColumnType::kInt32, .nullable = false}}}, std::move(o));
  EXPECT_TRUE(w.ok());
  for (int32_t v : values) EXPECT_TRUE((*w)->AppendRow({v}).ok());
  Result<std::string> file = (*w)->Finish();
  EXPECT_TRUE(file.ok());
  return file.ok() ? *file : "";
}

TEST(Dictionary, Int32PagesByteForByte) {
  // docs/format/parquet.md's example: the dictionary page holds 5 and 7 PLAIN; the data
  // page is the bit width, then the indices 0 0 1 0 1 1 0 0 0 0 in the hybrid encoding:
  // one bit-packed run of 2 groups (header 2 << 1 | 1), LSB first, the last group padded.
  std::vector<Page> pages = Pages(WriteInt32s({5, 5, 7, 5, 7, 7, 5, 5, 5, 5}, {}));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].type, 2);  // DICTIONARY_PAGE
  EXPECT_EQ(pages[0].num_values, 2);
  EXPECT_EQ(pages[0].encoding, 0);  // PLAIN
  EXPECT_EQ(pages[0].body, Bytes({5, 0, 0, 0, 7, 0, 0, 0}));
  EXPECT_EQ(pages[1].type, 0);  // DATA_PAGE
  EXPECT_EQ(pages[1].num_values, 10);
  EXPECT_EQ(pages[1].encoding, 8);  // RLE_DICTIONARY
  EXPECT_EQ(pages[1].body, Bytes({0x01, 0x05, 0x34, 0x00}));
}

TEST(Dictionary, FirstPageThatDoesNotPayIsPlain) {
  // Distinct values: the dictionary (4 bytes each) and the indices would outweigh PLAIN.
  std::vector<int32_t> values;
  for (int i = 0; i < 100; ++i) values.push_back(i * 3);
  std::vector<Page> pages = Pages(WriteInt32s(values, {}));
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].type, 0);
  EXPECT_EQ(pages[0].encoding, 0);
  EXPECT_EQ(pages[0].body.size(), 400u);
  EXPECT_EQ(DecodeFixed32(pages[0].body.data() + 4 * 99), 297u);
}

TEST(Dictionary, FallbackKeepsTheDictionaryPage) {
  // Pages of 16 values (page_bytes 64: 4 bytes an index). The first (1, 2, 1, 2...) pays
  // for its dictionary; in the second the values turn distinct and the dictionary passes
  // 16 bytes (4 entries) when the page is cut (INT32 values are looked up in batches): that
  // page keeps the dictionary, the later ones are PLAIN.
  std::vector<int32_t> values;
  for (int i = 0; i < 20; ++i) values.push_back(1 + i % 2);
  for (int i = 0; i < 60; ++i) values.push_back(100 + i);
  ParquetWriterOptions o;
  o.page_bytes = 64;
  o.dictionary_bytes = 16;
  std::vector<Page> pages = Pages(WriteInt32s(values, o));
  ASSERT_GE(pages.size(), 4u);
  EXPECT_EQ(pages[0].type, 2);
  EXPECT_EQ(pages[0].num_values, 14);  // 1, 2, 100..111: all of the second page's values
  EXPECT_EQ(pages[1].encoding, 8);
  EXPECT_EQ(pages[2].encoding, 8);
  int64_t values_seen = pages[1].num_values + pages[2].num_values;
  for (size_t k = 3; k < pages.size(); ++k) {
    EXPECT_EQ(pages[k].type, 0);
    EXPECT_EQ(pages[k].encoding, 0) << "page " << k;
    EXPECT_EQ(pages[k].body.size(), 4u * pages[k].num_values);
    values_seen += pages[k].num_values;
  }
  EXPECT_EQ(values_seen, 80);
  EXPECT_EQ(pages.size(), 6u);  // the last 48 values: 3 PLAIN pages of 16
}

TEST(Rle, ArrayEncodingMatchesStreaming) {
  // RleBitPackedEncode (dictionary indices, the whole page at once) writes what the
  // streaming encoder (levels) writes.
  std::mt19937 rng(11);
  for (int width : {1, 2, 3, 7, 8, 13, 17, 32}) {
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<uint32_t> values;
      uint32_t max = width == 32 ? 0xffffffffu : (1u << width) - 1;
      while (values.size() < 3000) {
        uint32_t v = std::uniform_int_distribution<uint32_t>(0, max)(rng);
        size_t run = std::uniform_int_distribution<int>(0, 3)(rng) == 0
                         ? std::uniform_int_distribution<size_t>(1, 30)(rng)
                         : 1;
        values.insert(values.end(), run, v);
      }
      values.resize(std::uniform_int_distribution<size_t>(0, values.size())(rng));
      RleBitPackedEncoder e(width);
      for (uint32_t v : values) e.Put(v);
      std::string streaming, array;
      e.Finish(&streaming);
      RleBitPackedEncode(values, width, &array);
      ASSERT_EQ(array, streaming) << "width " << width << ", " << values.size() << " values";
    }
  }
}

TEST(ByteBuffer, GrowsIntoAMappingKeepsItsBytesAndReleases) {
  ByteBuffer b;
  std::string want;
  for (int i = 0; i < 100000; ++i) {  // 600 KB: from malloc's heap into a mapping of its own
    std::string piece = std::to_string(i) + ",";
    b.append(piece);
    want += piece;
  }
  b.AppendFixed32(0x01020304);
  want += Bytes({4, 3, 2, 1});
  ASSERT_EQ(b.view(), want);
  EXPECT_GE(b.capacity(), b.size());
  ByteBuffer moved = std::move(b);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(moved.view(), want);
  moved.Truncate(3);
  EXPECT_EQ(moved.view(), "0,1");
  moved.Release();
  EXPECT_EQ(moved.capacity(), 0u);
  moved.push_back('x');
  EXPECT_EQ(moved.view(), "x");
}

TEST(ParquetFileWriter, PageBytesFollowTheRowGroupBudget) {
  ParquetWriterOptions o;
  EXPECT_EQ(PageBytes(o, 11), size_t{1} << 20);
  o.codec = Codec::kZstd;
  EXPECT_EQ(PageBytes(o, 11), size_t{4} << 20);
  o.row_group_bytes = size_t{64} << 20;  // 64 MiB / 22 = 2.9 MiB
  EXPECT_EQ(PageBytes(o, 11), (size_t{64} << 20) / 22);
  o.row_group_bytes = size_t{5} << 20;
  EXPECT_EQ(PageBytes(o, 11), (size_t{5} << 20) / 22);
  o.row_group_bytes = size_t{1} << 20;  // never below 64 KiB...
  EXPECT_EQ(PageBytes(o, 11), size_t{64} << 10);
  o.page_bytes = 100;  // ...unless asked
  EXPECT_EQ(PageBytes(o, 11), 100u);
}

TEST(ParquetFileWriter, BufferedBytesCountDictionaries) {
  // 2,000 distinct 20-byte strings dictionary-encoded in one page in progress: the
  // dictionary (48 KB PLAIN) and its hash table count, not only the 8 KB of indices.
  auto w = ParquetFileWriter::Create({{{.name = "s", .type = ColumnType::kString}}}, {});
  ASSERT_TRUE(w.ok());
  std::vector<std::string> values;
  for (int i = 0; i < 2000; ++i) {
    char buf[32];
    snprintf(buf, sizeof buf, "value-%014d", i);
    values.push_back(buf);
  }
  for (int rep = 0; rep < 2; ++rep)
    for (const std::string& v : values) ASSERT_TRUE((*w)->AppendRow({std::string_view(v)}).ok());
  EXPECT_GT((*w)->BufferedBytes(), 2000u * 24 + 4096u * 16);
  Result<std::string> file = (*w)->Finish();
  ASSERT_TRUE(file.ok());
  std::vector<Page> pages = Pages(*file);
  ASSERT_EQ(pages.size(), 2u);  // it pays: each value twice
  EXPECT_EQ(pages[0].type, 2);
  EXPECT_EQ(pages[0].num_values, 2000);
}

}  // namespace
}  // namespace millrace::formats::parquet
