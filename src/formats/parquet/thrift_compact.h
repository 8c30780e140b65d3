// ThriftCompactWriter: the subset of the Thrift compact protocol (thrift/doc/specs/
// thrift-compact-protocol.md) that Parquet's FileMetaData and PageHeader need: structs,
// i16/i32/i64 (zigzag varints), bool fields, binary/string, and lists of those. Enums are
// i32. No reading, no maps or sets.
//
//   ThriftCompactWriter w(&out);
//   w.BeginStruct();
//   w.FieldI32(1, 7);
//   w.FieldListBegin(2, ThriftType::kStruct, n); ... w.BeginStruct() ... w.EndStruct() ...
//   w.EndStruct();
//
// Field ids within one struct must be written in increasing order (the short delta form
// needs it; Parquet's structs are written in id order anyway). Call order is the caller's
// contract, asserted in debug builds. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::formats::parquet {

// Compact protocol type ids (the low nibble of a field header or list header).
enum class ThriftType : uint8_t {
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

class ThriftCompactWriter {
 public:
  // `*out` must outlive the writer; bytes are appended.
  explicit ThriftCompactWriter(std::string* out) : out_(out) {}

  // A struct at top level, as a list element, or after FieldStructBegin.
  void BeginStruct() { last_field_.push_back(0); }
  // Writes the stop field.
  void EndStruct();

  void FieldBool(int16_t id, bool v);
  void FieldI16(int16_t id, int16_t v) { FieldI64As(id, ThriftType::kI16, v); }
  void FieldI32(int16_t id, int32_t v) { FieldI64As(id, ThriftType::kI32, v); }
  void FieldI64(int16_t id, int64_t v) { FieldI64As(id, ThriftType::kI64, v); }
  void FieldBinary(int16_t id, std::string_view v);
  // The field header of a nested struct; follow with BeginStruct ... EndStruct.
  void FieldStructBegin(int16_t id) { FieldHeader(id, ThriftType::kStruct); }
  // The field header and list header; follow with `size` elements of `elem` written with
  // the element functions below (or BeginStruct/EndStruct for struct elements).
  void FieldListBegin(int16_t id, ThriftType elem, size_t size);

  // List elements.
  void ElemI32(int32_t v) { Varint(ZigZag(v)); }
  void ElemBinary(std::string_view v);

  static uint64_t ZigZag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }

 private:
  void FieldHeader(int16_t id, ThriftType type);
  void FieldI64As(int16_t id, ThriftType type, int64_t v);
  void Varint(uint64_t v);

  std::string* const out_;
  std::vector<int16_t> last_field_;  // the last field id of each open struct
};

}  // namespace millrace::formats::parquet
