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
  void Key(std::string_view key) {
    Prefix();
    AppendQuoted(key);
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
