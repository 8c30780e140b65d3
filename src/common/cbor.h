// CBOR (RFC 8949) as the AWS SDKs send it for Kinesis (application/x-amz-cbor-1.1: the Java
// SDK v1 and v2, the KPL and the KCL), converted to and from the JSON the handlers speak, so
// that both encodings share every line of the service's logic (docs/format/cbor.md).
//
// Requests, CBOR -> JSON text: maps (text keys) become objects, arrays arrays, text strings
// strings, byte strings base64 strings (the JSON form of a blob), integers and floats
// numbers, tag 1 (a timestamp: integer epoch milliseconds as the Java SDK writes it, or
// float epoch seconds as RFC 8949 defines it) a number of epoch seconds, other tags their
// content, undefined null. Definite and indefinite lengths; at most kMaxDepth levels; a map
// key that is not a text string, a break outside an indefinite item, a truncated item,
// bytes after the top item, NaN or infinity are errors.
//
// Answers, JSON -> CBOR: the reverse, told by `kind` which members are blobs (base64
// decoded to byte strings) and timestamps (epoch seconds to tag 1 over integer epoch
// milliseconds, as the Java SDK reads them); maps and arrays get definite lengths.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace millrace {

inline constexpr int kCborMaxDepth = 64;

// Byte strings kept out of a transcoded document: the JSON holds a reference in their
// place, "\u0001<tag><index>", which only this table resolves (`tag` is random per table,
// so no text string of a request can pass for one).
struct CborBlobs {
  CborBlobs();  // a fresh random tag
  std::string tag;
  std::vector<std::string> bytes;
  // The bytes a reference stands for; null for any other string.
  const std::string* Resolve(std::string_view value) const;
};

// Appends the JSON form of the one CBOR item `in` to *out; an error says what is wrong.
// Byte strings become base64 strings; with `blobs`, they go there instead (a reference in
// the JSON), sparing a base64 round trip to a reader that resolves them.
std::optional<std::string> CborToJson(std::string_view in, std::string* out,
                                      CborBlobs* blobs = nullptr);

enum class CborMember { kPlain, kBlob, kTimestamp };
// Classifies an object member by its key (the Kinesis rule: KinesisCborMember).
using CborClassifier = std::function<CborMember(std::string_view key)>;

// Appends the CBOR form of `value` to *out. False if a blob member is not base64 or a
// timestamp member not a number (the caller's own JSON: a bug).
bool JsonToCbor(simdjson::dom::element value, const CborClassifier& kind, std::string* out);

}  // namespace millrace
