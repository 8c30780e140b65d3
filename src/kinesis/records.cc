#include "kinesis/records.h"

#include "common/encoding.h"
#include "kinesis/schema.h"

namespace millrace::kinesis {

Status ParsePutEntry(simdjson::dom::element e, streams::PutEntry* out) {
  std::string_view data = GetString(e, "Data").value_or("");
  std::string_view key = GetString(e, "PartitionKey").value_or("");
  out->partition_key.assign(key);
  out->data.reserve(Base64DecodedLength(data));
  if (!Base64Decode(data, &out->data)) return Status::InvalidArgument("Data is not valid base64.");
  if (auto h = GetString(e, "ExplicitHashKey")) {
    auto v = ParseUint128Decimal(*h);
    if (!v)
      return Status::InvalidArgument(
          "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
          "Specified value was " +
          std::string(*h));
    out->explicit_hash_key = *v;
  }
  return Status::Ok();
}

}  // namespace millrace::kinesis
