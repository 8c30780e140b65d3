#include "formats/parquet/thrift_compact.h"

#include <cassert>

namespace millrace::formats::parquet {

void ThriftCompactWriter::EndStruct() {
  assert(!last_field_.empty());
  out_->push_back('\0');  // stop field
  last_field_.pop_back();
}

void ThriftCompactWriter::FieldHeader(int16_t id, ThriftType type) {
  assert(!last_field_.empty() && id > last_field_.back());
  int delta = id - last_field_.back();
  if (delta >= 1 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<uint8_t>(type)));
  } else {  // long form: the type byte, then the id as a zigzag varint i16
    out_->push_back(static_cast<char>(type));
    Varint(ZigZag(id));
  }
  last_field_.back() = id;
}

void ThriftCompactWriter::FieldBool(int16_t id, bool v) {
  // A bool field's value is its type nibble.
  FieldHeader(id, v ? ThriftType::kBoolTrue : ThriftType::kBoolFalse);
}

void ThriftCompactWriter::FieldI64As(int16_t id, ThriftType type, int64_t v) {
  FieldHeader(id, type);
  Varint(ZigZag(v));
}

void ThriftCompactWriter::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, ThriftType::kBinary);
  ElemBinary(v);
}

void ThriftCompactWriter::FieldListBegin(int16_t id, ThriftType elem, size_t size) {
  FieldHeader(id, ThriftType::kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint8_t>(elem)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<uint8_t>(elem)));
    Varint(size);
  }
}

void ThriftCompactWriter::ElemBinary(std::string_view v) {
  Varint(v.size());
  out_->append(v);
}

void ThriftCompactWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

}  // namespace millrace::formats::parquet
