#include "kinesis/records.h"

#include "common/encoding.h"
#include "kinesis/schema.h"

namespace millrace::kinesis {

Status ParsePutEntry(simdjson::dom::element e, streams::PutEntry* out) {
  std::string_view data = GetString(e, "Data").value_or("");
  std::string_view key = GetString(e, "PartitionKey").value_or("");
  out->partition_key.assign(key);
  if (const std::string* raw = ResolveBlob(data)) {  // a CBOR request's bytes, as sent
    out->data = *raw;
  } else {
    out->data.reserve(Base64DecodedLength(data));
    if (!Base64Decode(data, &out->data))
      return Status::InvalidArgument("Data is not valid base64.");
  }
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

std::optional<std::string> OversizedRecords(const streams::Stream& stream,
                                            const std::vector<streams::PutEntry>& entries,
                                            bool batch) {
  size_t max_bytes;
  {
    std::shared_lock<std::shared_mutex> r(stream.mu);
    max_bytes = static_cast<size_t>(stream.max_record_kib) * 1024;
  }
  std::vector<std::string> errors;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].data.size() <= max_bytes) continue;
    // Today's AWS answers a record over the stream's maximum (but within the model's
    // 10 MiB) without quoting the value, unlike its model checks.
    errors.push_back("Value at '" +
                     (batch ? "records." + std::to_string(i + 1) + ".member.data" : "data") +
                     "' failed to satisfy constraint: Member must have length less than or "
                     "equal to " +
                     std::to_string(max_bytes));
  }
  if (errors.empty()) return std::nullopt;
  std::string msg = std::to_string(errors.size()) + " validation error" +
                    (errors.size() > 1 ? "s" : "") + " detected: ";
  for (size_t i = 0; i < errors.size(); ++i) msg += (i ? "; " : "") + errors[i];
  return msg;
}

}  // namespace millrace::kinesis
