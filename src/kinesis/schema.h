// Request schemas and their validation, as AWS JSON 1.1 services check requests:
//
//  1. Types first: a value of the wrong JSON type is a SerializationException
//     ("class java.lang.String can not be converted to an Integer", ...).
//  2. Then constraints, member by member in schema order, every failing constraint
//     reported (at most 10): ValidationException "2 validation errors detected: Value 'x'
//     at 'streamName' failed to satisfy constraint: Member must ...; Value ...".
//
// Schemas are static tables (one per action, in handlers/); the validator never throws.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cbor.h"

namespace millrace::kinesis {

enum class FieldType {
  kString,
  kInteger,
  kLong,
  kBoolean,
  kBlob,
  kTimestamp,
  kList,
  kMap,
  kStructure
};

struct Pattern {
  const char* text;                   // as printed in the message
  bool (*matches)(std::string_view);  // the matcher for that pattern
};

struct Field;
using Fields = std::vector<Field>;

struct Field {
  std::string name;  // wire name, e.g. "StreamName"
  FieldType type = FieldType::kString;
  bool not_null = false;
  std::optional<int64_t> min_len, max_len;
  const Pattern* pattern = nullptr;
  std::optional<int64_t> min_value, max_value;
  std::vector<std::string> enum_values;
  std::string member_str;            // how a list's members print in messages
  const Fields* children = nullptr;  // structure members, or a list's/map's member structure
  FieldType member_type = FieldType::kString;             // for lists and maps of scalars
  std::optional<int64_t> member_min_len, member_max_len;  // for lists/maps of strings
  std::optional<int64_t> key_min_len, key_max_len;        // for maps' keys
};

struct ValidationFailure {
  std::string type;  // "SerializationException" or "ValidationException"
  std::string message;
};

// Checks `doc` (a JSON object) against `fields`; nullopt if it passes.
std::optional<ValidationFailure> Validate(simdjson::dom::element doc, const Fields& fields);

// Patterns used by the Kinesis API.
extern const Pattern kStreamNamePattern;   // [a-zA-Z0-9_.-]+
extern const Pattern kHashKeyPattern;      // 0|([1-9]\d{0,38})
extern const Pattern kSequencePattern;     // 0|([1-9]\d{0,128})
extern const Pattern kStreamArnPattern;    // arn:aws.*:kinesis:.*:\d{12}:stream/\S+
extern const Pattern kResourceArnPattern;  // arn:aws.*:kinesis:.*:\d{12}:.+

// Convenience builders for the common members.
Field StreamNameField(bool required);
Field StreamArnField(bool required = false);
Field ShardIdField();  // a required ShardId, as GetShardIterator and SubscribeToShard take it

// Reading validated values.
std::optional<std::string_view> GetString(simdjson::dom::element doc, std::string_view key);
std::optional<int64_t> GetInt(simdjson::dom::element doc, std::string_view key);
std::optional<double> GetNumber(simdjson::dom::element doc, std::string_view key);

// The blobs of the CBOR request handled on this thread, for the duration of its synchronous
// handling: CborToJson left them out of the JSON (no base64 round trip) and put a reference
// in their place, which Blob members resolve here.
class RequestBlobs {
 public:
  explicit RequestBlobs(const CborBlobs* blobs);
  ~RequestBlobs();
  RequestBlobs(const RequestBlobs&) = delete;
  RequestBlobs& operator=(const RequestBlobs&) = delete;

 private:
  const CborBlobs* previous_;
};
// The bytes a Blob member's value stands for when it is a reference to the current
// request's blobs; null for anything else (base64 text, or a reference in a JSON request).
const std::string* ResolveBlob(std::string_view value);

}  // namespace millrace::kinesis
