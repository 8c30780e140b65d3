#include "formats/parquet/metadata.h"

#include "formats/parquet/thrift_compact.h"

namespace millrace::formats::parquet {

namespace {

int32_t E(auto e) { return static_cast<int32_t>(e); }

void WriteLogicalType(const LogicalType& t, ThriftCompactWriter* w) {
  w->BeginStruct();  // the LogicalType union: exactly one member set
  switch (t.kind) {
    case LogicalType::Kind::kNone:
      break;
    case LogicalType::Kind::kString:
      w->FieldStructBegin(1);  // STRING: StringType {}
      w->BeginStruct();
      w->EndStruct();
      break;
    case LogicalType::Kind::kList:
      w->FieldStructBegin(3);  // LIST: ListType {}
      w->BeginStruct();
      w->EndStruct();
      break;
    case LogicalType::Kind::kDecimal:
      w->FieldStructBegin(5);  // DECIMAL: DecimalType {1: scale, 2: precision}
      w->BeginStruct();
      w->FieldI32(1, t.scale);
      w->FieldI32(2, t.precision);
      w->EndStruct();
      break;
    case LogicalType::Kind::kDate:
      w->FieldStructBegin(6);  // DATE: DateType {}
      w->BeginStruct();
      w->EndStruct();
      break;
    case LogicalType::Kind::kTimestamp:
      w->FieldStructBegin(8);  // TIMESTAMP: {1: isAdjustedToUTC, 2: unit}
      w->BeginStruct();
      w->FieldBool(1, t.adjusted_to_utc);
      w->FieldStructBegin(2);  // TimeUnit union: 1 MILLIS, 2 MICROS, each an empty struct
      w->BeginStruct();
      w->FieldStructBegin(static_cast<int16_t>(t.unit));
      w->BeginStruct();
      w->EndStruct();
      w->EndStruct();
      w->EndStruct();
      break;
  }
  w->EndStruct();
}

void WriteSchemaElement(const SchemaElement& e, ThriftCompactWriter* w) {
  w->BeginStruct();
  if (e.type) w->FieldI32(1, E(*e.type));
  if (e.type_length) w->FieldI32(2, *e.type_length);
  if (e.repetition) w->FieldI32(3, E(*e.repetition));
  w->FieldBinary(4, e.name);
  if (e.num_children) w->FieldI32(5, *e.num_children);
  if (e.converted_type) w->FieldI32(6, E(*e.converted_type));
  if (e.scale) w->FieldI32(7, *e.scale);
  if (e.precision) w->FieldI32(8, *e.precision);
  if (e.logical_type.kind != LogicalType::Kind::kNone) {
    w->FieldStructBegin(10);
    WriteLogicalType(e.logical_type, w);
  }
  w->EndStruct();
}

void WriteStatistics(const Statistics& s, ThriftCompactWriter* w) {
  w->BeginStruct();
  if (s.null_count) w->FieldI64(3, *s.null_count);
  if (s.max_value) w->FieldBinary(5, *s.max_value);
  if (s.min_value) w->FieldBinary(6, *s.min_value);
  w->EndStruct();
}

void WriteColumnMetaData(const ColumnMetaData& c, ThriftCompactWriter* w) {
  w->BeginStruct();
  w->FieldI32(1, E(c.type));
  w->FieldListBegin(2, ThriftType::kI32, c.encodings.size());
  for (Encoding e : c.encodings) w->ElemI32(E(e));
  w->FieldListBegin(3, ThriftType::kBinary, c.path_in_schema.size());
  for (const std::string& p : c.path_in_schema) w->ElemBinary(p);
  w->FieldI32(4, E(c.codec));
  w->FieldI64(5, c.num_values);
  w->FieldI64(6, c.total_uncompressed_size);
  w->FieldI64(7, c.total_compressed_size);
  w->FieldI64(9, c.data_page_offset);
  if (c.dictionary_page_offset) w->FieldI64(11, *c.dictionary_page_offset);
  w->FieldStructBegin(12);
  WriteStatistics(c.statistics, w);
  w->EndStruct();
}

void WriteRowGroup(const RowGroup& g, ThriftCompactWriter* w) {
  w->BeginStruct();
  w->FieldListBegin(1, ThriftType::kStruct, g.columns.size());
  for (const ColumnChunk& c : g.columns) {
    w->BeginStruct();
    w->FieldI64(2, c.file_offset);
    w->FieldStructBegin(3);
    WriteColumnMetaData(c.meta_data, w);
    w->EndStruct();
  }
  w->FieldI64(2, g.total_byte_size);
  w->FieldI64(3, g.num_rows);
  w->FieldI64(5, g.file_offset);
  w->FieldI64(6, g.total_compressed_size);
  w->FieldI16(7, g.ordinal);
  w->EndStruct();
}

}  // namespace

void SerializePageHeader(const PageHeader& h, std::string* out) {
  ThriftCompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, E(h.type));
  w.FieldI32(2, h.uncompressed_page_size);
  w.FieldI32(3, h.compressed_page_size);
  if (h.data_page_header) {
    const DataPageHeader& d = *h.data_page_header;
    w.FieldStructBegin(5);
    w.BeginStruct();
    w.FieldI32(1, d.num_values);
    w.FieldI32(2, E(d.encoding));
    w.FieldI32(3, E(d.definition_level_encoding));
    w.FieldI32(4, E(d.repetition_level_encoding));
    w.EndStruct();
  }
  if (h.dictionary_page_header) {
    const DictionaryPageHeader& d = *h.dictionary_page_header;
    w.FieldStructBegin(7);
    w.BeginStruct();
    w.FieldI32(1, d.num_values);
    w.FieldI32(2, E(d.encoding));
    w.EndStruct();
  }
  w.EndStruct();
}

void SerializeFileMetaData(const FileMetaData& m, std::string* out) {
  ThriftCompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, m.version);
  w.FieldListBegin(2, ThriftType::kStruct, m.schema.size());
  for (const SchemaElement& e : m.schema) WriteSchemaElement(e, &w);
  w.FieldI64(3, m.num_rows);
  w.FieldListBegin(4, ThriftType::kStruct, m.row_groups.size());
  for (const RowGroup& g : m.row_groups) WriteRowGroup(g, &w);
  if (!m.key_value_metadata.empty()) {
    w.FieldListBegin(5, ThriftType::kStruct, m.key_value_metadata.size());
    for (const auto& [key, value] : m.key_value_metadata) {
      w.BeginStruct();
      w.FieldBinary(1, key);
      w.FieldBinary(2, value);
      w.EndStruct();
    }
  }
  w.FieldBinary(6, m.created_by);
  size_t leaves = 0;
  for (const SchemaElement& e : m.schema) leaves += e.type.has_value();
  if (m.type_defined_column_orders && leaves > 0) {
    // One ColumnOrder union per leaf, each TYPE_ORDER (field 1, an empty struct).
    w.FieldListBegin(7, ThriftType::kStruct, leaves);
    for (size_t i = 0; i < leaves; ++i) {
      w.BeginStruct();
      w.FieldStructBegin(1);
      w.BeginStruct();
      w.EndStruct();
      w.EndStruct();
    }
  }
  w.EndStruct();
}

}  // namespace millrace::formats::parquet
