#include "formats/failed_record.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace millrace::formats {

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xc0) == 0x80; };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xe0 && c1 < 0xa0) return 0;  // overlong
    if (c == 0xed && c1 > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xf0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xf4 && c1 > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A JSON string must be valid UTF-8; messages and keys that are not (a transformation's
// output, say) have each bad byte replaced by U+FFFD rather than making the line invalid.
void TextValue(JsonWriter& w, std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) {
    w.String(s);
    return;
  }
  std::string clean;
  clean.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      clean.append("\xef\xbf\xbd");
      ++i;
    } else {
      clean.append(s.substr(i, n));
      i += n;
    }
  }
  w.String(clean);
}

}  // namespace

void AppendFailedRecord(ErrorOutputType type, const FailedRecord& r, std::string* out) {
  const bool processing = type == ErrorOutputType::kProcessingFailed;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("attemptsMade");
  w.Int(r.attempts_made);
  w.Key("arrivalTimestamp");
  w.Int(r.arrival_ms);
  // errorCode/errorMessage in both outputs (the fields the issue and most of Firehose's
  // guide name); format-conversion-failed also carries Firehose's lastErrorCode and
  // lastErrorMessage, as its data-format-conversion page names them.
  w.Key("errorCode");
  TextValue(w, r.error_code);
  w.Key("errorMessage");
  TextValue(w, r.error_message);
  if (!processing) {
    w.Key("lastErrorCode");
    TextValue(w, r.error_code);
    w.Key("lastErrorMessage");
    TextValue(w, r.error_message);
  }
  w.Key("attemptEndingTimestamp");
  w.Int(r.attempt_ending_ms);
  w.Key("rawData");
  w.Base64(r.raw_data);
  if (processing) {
    w.Key("lambdaArn");
    TextValue(w, r.lambda_arn);
  }
  if (!r.sequence_number.empty()) {
    w.Key("sequenceNumber");
    TextValue(w, r.sequence_number);
  }
  if (!r.partition_key.empty()) {
    w.Key("partitionKey");
    TextValue(w, r.partition_key);
  }
  if (!r.shard_id.empty()) {
    w.Key("shardId");
    TextValue(w, r.shard_id);
  }
  w.EndObject();
  out->push_back('\n');
}

std::string FailedRecordLine(ErrorOutputType type, const FailedRecord& r) {
  std::string out;
  AppendFailedRecord(type, r, &out);
  return out;
}

}  // namespace millrace::formats
