// JsonWriter: appends compact JSON to a string, for wire responses on hot paths.
//
//   JsonWriter w(&out);
//   w.BeginObject(); w.Key("ShardId"); w.String(id); w.EndObject();
//
// Commas are inserted automatically. The writer does not check that the calls form a
// valid document; that is the caller's contract (a programmer error, asserted in debug).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace millrace {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() {
    Prefix();
    out_->push_back('{');
    first_.push_back(true);
  }
  void EndObject() {
    out_->push_back('}');
    first_.pop_back();
  }
  void BeginArray() {
    Prefix();
    out_->push_back('[');
    first_.push_back(true);
  }
  void EndArray() {
    out_->push_back(']');
    first_.pop_back();
  }
  // `key` must need no escaping (keys are the API's member names).
  void Key(std::string_view key) {
    Prefix();
    out_->push_back('"');
    out_->append(key);
    out_->push_back('"');
    out_->push_back(':');
    after_key_ = true;
  }
  void String(std::string_view s) {
    Prefix();
    AppendQuoted(s);
  }
  void Int(int64_t v) {
    Prefix();
    out_->append(std::to_string(v));
  }
  void Uint(uint64_t v) {
    Prefix();
    out_->append(std::to_string(v));
  }
  void Double(double v);
  void Bool(bool v) {
    Prefix();
    out_->append(v ? "true" : "false");
  }
  void Null() {
    Prefix();
    out_->append("null");
  }
  // Writes `s` as a JSON string whose content is the base64 encoding of `bytes`.
  void Base64(std::string_view bytes);
  // Writes `s`, which the caller knows needs no escaping (digits, ids), as a JSON string.
  void PlainString(std::string_view s) {
    Prefix();
    out_->push_back('"');
    out_->append(s);
    out_->push_back('"');
  }
  // The buffer, for writers that append a value's bytes themselves after Prefix().
  std::string* BeginRawString() {
    Prefix();
    out_->push_back('"');
    return out_;
  }
  void EndRawString() { out_->push_back('"'); }
  // Appends already-serialized JSON as a value.
  void Raw(std::string_view json) {
    Prefix();
    out_->append(json);
  }

  // Appends `s` quoted and escaped per RFC 8259 to `out`.
  static void Quote(std::string_view s, std::string* out);

 private:
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_->push_back(',');
      first_.back() = false;
    }
  }
  void AppendQuoted(std::string_view s) { Quote(s, out_); }

  std::string* out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace millrace
