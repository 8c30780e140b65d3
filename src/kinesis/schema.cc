#include "kinesis/schema.h"

#include <cmath>

#include "common/encoding.h"

namespace millrace::kinesis {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool MatchStreamName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

bool MatchDecimal(std::string_view s, size_t max_extra_digits) {
  if (s == "0") return true;
  if (s.empty() || s[0] < '1' || s[0] > '9' || s.size() > 1 + max_extra_digits) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

bool MatchHashKey(std::string_view s) { return MatchDecimal(s, 38); }
bool MatchSequence(std::string_view s) { return MatchDecimal(s, 128); }

// arn:aws.*:kinesis:.*:\d{12}:<rest>; `rest_prefix` must start the rest.
bool MatchArn(std::string_view s, std::string_view rest_prefix, bool no_spaces) {
  if (s.substr(0, 7) != "arn:aws") return false;
  size_t k = s.find(":kinesis:");
  if (k == std::string_view::npos) return false;
  // Find ":<12 digits>:" after it (greedy .* means the last such occurrence works too).
  for (size_t i = s.size(); i-- > k + 8;) {
    if (s[i] != ':' || i < 13 || s[i - 13] != ':') continue;
    bool digits = true;
    for (size_t j = i - 12; j < i; ++j) digits = digits && IsDigit(s[j]);
    if (!digits || i - 13 < k + 8) continue;
    std::string_view rest = s.substr(i + 1);
    if (rest.substr(0, rest_prefix.size()) != rest_prefix || rest.size() <= rest_prefix.size())
      continue;
    if (no_spaces) {
      bool ok = true;
      for (char c : rest) ok = ok && !std::isspace(static_cast<unsigned char>(c));
      if (!ok) continue;
    }
    return true;
  }
  return false;
}

bool MatchStreamArn(std::string_view s) { return MatchArn(s, "stream/", true); }
bool MatchResourceArn(std::string_view s) { return MatchArn(s, "", false); }

const char* JsonTypeWord(element_type t) {
  switch (t) {
    case element_type::BOOL:
      return "class java.lang.Boolean";
    case element_type::STRING:
      return "class java.lang.String";
    default:
      return "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";
  }
}

bool IsNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

double NumberOf(element e) {
  switch (e.type()) {
    case element_type::INT64:
      return static_cast<double>(int64_t(e));
    case element_type::UINT64:
      return static_cast<double>(uint64_t(e));
    default:
      return double(e);
  }
}

std::optional<ValidationFailure> Serialization(std::string msg) {
  return ValidationFailure{"SerializationException", std::move(msg)};
}

// Step 1: JSON types. Mirrors the messages of AWS's Coral JSON deserializer.
std::optional<ValidationFailure> CheckType(element v, FieldType type, const Field& f) {
  element_type t = v.type();
  if (t == element_type::NULL_VALUE) return std::nullopt;
  auto structural = [&]() -> std::optional<ValidationFailure> {
    if (t == element_type::ARRAY) return Serialization("Start of list found where not expected");
    if (t == element_type::OBJECT)
      return Serialization("Start of structure or map found where not expected.");
    return std::nullopt;
  };
  switch (type) {
    case FieldType::kString:
      if (auto s = structural()) return s;
      if (t != element_type::STRING)
        return Serialization(std::string(JsonTypeWord(t)) + " can not be converted to an String");
      return std::nullopt;
    case FieldType::kInteger:
    case FieldType::kLong:
      if (auto s = structural()) return s;
      if (!IsNumber(t))
        return Serialization(std::string(JsonTypeWord(t)) + " can not be converted to an " +
                             (type == FieldType::kInteger ? "Integer" : "Long"));
      return std::nullopt;
    case FieldType::kBoolean:
      if (auto s = structural()) return s;
      if (t == element_type::STRING) {
        std::string up{std::string_view(v)};
        for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return Serialization("'" + up + "' can not be converted to an Boolean");
      }
      if (t != element_type::BOOL)
        return Serialization(std::string(JsonTypeWord(t)) + " can not be converted to an Boolean");
      return std::nullopt;
    case FieldType::kTimestamp:
      if (auto s = structural()) return s;
      if (!IsNumber(t))
        return Serialization(std::string(JsonTypeWord(t)) +
                             " can not be converted to milliseconds since epoch");
      return std::nullopt;
    case FieldType::kBlob: {
      if (auto s = structural()) return s;
      if (t != element_type::STRING)
        return Serialization(std::string(JsonTypeWord(t)) + " can not be converted to a Blob");
      std::string_view s = v;
      if (ResolveBlob(s) != nullptr) return std::nullopt;  // a CBOR byte string
      if (s.size() % 4 != 0)
        return Serialization("'" + std::string(s) +
                             "' can not be converted to a Blob: Base64 "
                             "encoded length is expected a multiple of 4 bytes but found: " +
                             std::to_string(s.size()));
      if (!Base64Valid(s))
        return Serialization("'" + std::string(s) +
                             "' can not be converted to a Blob: Invalid Base64 character");
      return std::nullopt;
    }
    case FieldType::kList: {
      if (t == element_type::OBJECT)
        return Serialization("Start of structure or map found where not expected.");
      if (t != element_type::ARRAY) return Serialization("Expected list or null");
      for (element child : simdjson::dom::array(v)) {
        auto r = f.children ? CheckType(child, FieldType::kStructure, f)
                            : CheckType(child, f.member_type, f);
        if (r) return r;
      }
      return std::nullopt;
    }
    case FieldType::kMap: {
      if (t == element_type::ARRAY) return Serialization("Start of list found where not expected");
      if (t != element_type::OBJECT) return Serialization("Expected map or null");
      for (auto [k, child] : simdjson::dom::object(v))
        if (auto r = CheckType(child, f.member_type, f)) return r;
      return std::nullopt;
    }
    case FieldType::kStructure: {
      if (t == element_type::ARRAY) return Serialization("Start of list found where not expected");
      if (t != element_type::OBJECT) return Serialization("Expected null");
      for (const Field& c : *f.children) {
        element cv;
        if (simdjson::dom::object(v)[c.name].get(cv) == simdjson::SUCCESS)
          if (auto r = CheckType(cv, c.type, c)) return r;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string LowerFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string ScalarString(element v) {
  switch (v.type()) {
    case element_type::STRING:
      return std::string(std::string_view(v));
    case element_type::BOOL:
      return bool(v) ? "true" : "false";
    case element_type::INT64:
      return std::to_string(int64_t(v));
    case element_type::UINT64:
      return std::to_string(uint64_t(v));
    case element_type::DOUBLE: {
      double d = double(v);
      if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
      return std::to_string(d);
    }
    default:
      return simdjson::minify(v);
  }
}

// How a value is shown in "Value '...' at ...".
// How much of a value a validation message quotes. AWS quotes values up to a limit too; a
// list of two million entries must not come back as a 130 MB message.
constexpr size_t kMaxQuotedValue = 1024;

std::string ValueString(element v, const Field& f) {
  if (f.type == FieldType::kBlob) {
    std::string bytes;
    if (const std::string* raw = ResolveBlob(std::string_view(v))) {
      bytes = *raw;
    } else {
      (void)Base64Decode(std::string_view(v), &bytes);
    }
    std::string n = std::to_string(bytes.size());
    return "java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]";
  }
  if (f.type == FieldType::kList) {
    std::string out = "[";
    bool first = true;
    for (element c : simdjson::dom::array(v)) {
      if (!first) out += ", ";
      first = false;
      out += f.member_str.empty() ? ScalarString(c) : f.member_str;
      if (out.size() > kMaxQuotedValue) return out + ", ...]";  // the list stays a list
    }
    return out + "]";
  }
  if (f.type == FieldType::kMap) {
    std::string out = "{";
    bool first = true;
    for (auto [k, c] : simdjson::dom::object(v)) {
      if (!first) out += ", ";
      first = false;
      out += std::string(k) + "=" + (f.member_str.empty() ? ScalarString(c) : f.member_str);
      if (out.size() > kMaxQuotedValue) return out + ", ...}";
    }
    return out + "}";
  }
  return ScalarString(v);
}

int64_t LengthOf(element v, const Field& f) {
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view s = v;
      if (f.type == FieldType::kBlob) {
        if (const std::string* raw = ResolveBlob(s)) return static_cast<int64_t>(raw->size());
        return static_cast<int64_t>(Base64DecodedLength(s));
      }
      // Lengths count characters, not bytes.
      int64_t n = 0;
      for (unsigned char c : s) n += (c & 0xc0) != 0x80;
      return n;
    }
    case element_type::ARRAY:
      return static_cast<int64_t>(simdjson::dom::array(v).size());
    case element_type::OBJECT:
      return static_cast<int64_t>(simdjson::dom::object(v).size());
    default:
      return 0;
  }
}

class Checker {
 public:
  static constexpr size_t kMaxErrors = 10;  // AWS reports at most ten
  std::vector<std::string> errors;

  void CheckFields(element obj, const Fields& fields, const std::string& parent) {
    for (const Field& f : fields) {
      if (errors.size() >= kMaxErrors) return;  // nothing more would be reported
      element v;
      bool present = simdjson::dom::object(obj)[f.name].get(v) == simdjson::SUCCESS &&
                     v.type() != element_type::NULL_VALUE;
      CheckField(present ? &v : nullptr, f, parent);
    }
  }

 private:
  void Fail(const element* v, const Field& f, const std::string& parent, const std::string& msg,
            const std::string& name_override = "") {
    if (errors.size() >= kMaxErrors) return;
    std::string value = "null";
    if (v) {
      // A list or map is cut by ValueString after whole members (kMaxQuotedValue plus one
      // member); anything else, here.
      value = "'" + Abbreviate(ValueString(*v, f), 2 * kMaxQuotedValue) + "'";
    }
    std::string at = (parent.empty() ? "" : parent + ".") +
                     (name_override.empty() ? LowerFirst(f.name) : name_override);
    errors.push_back("Value " + value + " at '" + at + "' failed to satisfy constraint: " + msg);
  }

  void CheckField(const element* v, const Field& f, const std::string& parent,
                  const std::string& name_override = "") {
    if (!v) {
      if (f.not_null) Fail(nullptr, f, parent, "Member must not be null", name_override);
      return;
    }
    if (f.pattern && v->type() == element_type::STRING && !f.pattern->matches(std::string_view(*v)))
      Fail(v, f, parent,
           std::string("Member must satisfy regular expression pattern: ") + f.pattern->text,
           name_override);
    if (f.min_len && LengthOf(*v, f) < *f.min_len)
      Fail(v, f, parent,
           "Member must have length greater than or equal to " + std::to_string(*f.min_len),
           name_override);
    if (f.max_len && LengthOf(*v, f) > *f.max_len)
      Fail(v, f, parent,
           "Member must have length less than or equal to " + std::to_string(*f.max_len),
           name_override);
    if ((f.min_value || f.max_value) && IsNumber(v->type())) {
      double d = std::floor(NumberOf(*v));
      if (f.min_value && d < static_cast<double>(*f.min_value))
        Fail(v, f, parent,
             "Member must have value greater than or equal to " + std::to_string(*f.min_value),
             name_override);
      if (f.max_value && d > static_cast<double>(*f.max_value))
        Fail(v, f, parent,
             "Member must have value less than or equal to " + std::to_string(*f.max_value),
             name_override);
    }
    if (!f.enum_values.empty() && v->type() == element_type::STRING) {
      std::string_view s = *v;
      bool ok = false;
      for (const auto& e : f.enum_values) ok = ok || s == e;
      if (!ok) {
        std::string set;
        for (const auto& e : f.enum_values) set += (set.empty() ? "" : ", ") + e;
        Fail(v, f, parent, "Member must satisfy enum value set: [" + set + "]", name_override);
      }
    }
    // The member's own path, built only when a child needs it (most fields have none).
    auto here = [&] {
      return (parent.empty() ? "" : parent + ".") +
             (name_override.empty() ? LowerFirst(f.name) : name_override);
    };
    // A list longer than allowed is reported as such; its members are not checked one by
    // one (2 million entries must not cost seconds of CPU for a refusal).
    const bool too_long =
        f.max_len && v->type() == element_type::ARRAY && LengthOf(*v, f) > *f.max_len;
    if (f.type == FieldType::kList && v->type() == element_type::ARRAY && !too_long) {
      const std::string list_path = f.children ? here() : std::string();
      int i = 0;
      for (element c : simdjson::dom::array(*v)) {
        if (errors.size() >= kMaxErrors) break;
        ++i;
        if (f.children) {
          if (c.type() == element_type::OBJECT)
            CheckFields(c, *f.children, list_path + "." + std::to_string(i) + ".member");
        } else if (f.member_min_len || f.member_max_len) {
          int64_t n = LengthOf(c, f);
          if ((f.member_min_len && n < *f.member_min_len) ||
              (f.member_max_len && n > *f.member_max_len)) {
            Fail(v, f, parent,
                 "Member must satisfy constraint: [Member must have length less than or equal to " +
                     std::to_string(f.member_max_len.value_or(0)) +
                     ", Member must have length greater than or equal to " +
                     std::to_string(f.member_min_len.value_or(0)) + "]",
                 name_override);
            break;
          }
        }
      }
    }
    if (f.type == FieldType::kMap && v->type() == element_type::OBJECT) {
      bool keys_ok = true, values_ok = true;
      for (auto [k, c] : simdjson::dom::object(*v)) {
        int64_t kn = static_cast<int64_t>(k.size());
        if ((f.key_min_len && kn < *f.key_min_len) || (f.key_max_len && kn > *f.key_max_len))
          keys_ok = false;
        if (c.type() == element_type::STRING) {
          int64_t vn = LengthOf(c, f);
          if ((f.member_min_len && vn < *f.member_min_len) ||
              (f.member_max_len && vn > *f.member_max_len))
            values_ok = false;
        }
      }
      auto bounds = [](std::optional<int64_t> lo, std::optional<int64_t> hi) {
        return "[Member must have length less than or equal to " + std::to_string(hi.value_or(0)) +
               ", Member must have length greater than or equal to " +
               std::to_string(lo.value_or(0)) + "]";
      };
      if (!keys_ok)
        Fail(v, f, parent,
             "Map keys must satisfy constraint: " + bounds(f.key_min_len, f.key_max_len),
             name_override);
      if (!values_ok)
        Fail(v, f, parent,
             "Map value must satisfy constraint: " + bounds(f.member_min_len, f.member_max_len),
             name_override);
    }
    if (f.type == FieldType::kStructure && f.children && v->type() == element_type::OBJECT)
      CheckFields(*v, *f.children, here());
  }
};

}  // namespace

const Pattern kStreamNamePattern{"[a-zA-Z0-9_.-]+", MatchStreamName};
const Pattern kHashKeyPattern{"0|([1-9]\\d{0,38})", MatchHashKey};
const Pattern kSequencePattern{"0|([1-9]\\d{0,128})", MatchSequence};
const Pattern kStreamArnPattern{"arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MatchStreamArn};
const Pattern kResourceArnPattern{"arn:aws.*:kinesis:.*:\\d{12}:.+", MatchResourceArn};

std::optional<ValidationFailure> Validate(element doc, const Fields& fields) {
  if (doc.type() != element_type::OBJECT)
    return ValidationFailure{"SerializationException", "Start of list found where not expected"};
  for (const Field& f : fields) {
    element v;
    if (simdjson::dom::object(doc)[f.name].get(v) == simdjson::SUCCESS)
      if (auto r = CheckType(v, f.type, f)) return r;
  }
  Checker c;
  c.CheckFields(doc, fields, "");
  if (c.errors.empty()) return std::nullopt;
  std::string msg = std::to_string(c.errors.size()) + " validation error" +
                    (c.errors.size() > 1 ? "s" : "") + " detected: ";
  for (size_t i = 0; i < c.errors.size(); ++i) msg += (i ? "; " : "") + c.errors[i];
  return ValidationFailure{"ValidationException", msg};
}

Field StreamNameField(bool required) {
  Field f;
  f.name = "StreamName";
  f.not_null = required;
  f.pattern = &kStreamNamePattern;
  f.min_len = 1;
  f.max_len = 128;
  return f;
}

Field ShardIdField() {
  Field f;
  f.name = "ShardId";
  f.not_null = true;
  f.min_len = 1;
  f.max_len = 128;
  f.pattern = &kStreamNamePattern;
  return f;
}

Field StreamArnField(bool required) {
  Field f;
  f.name = "StreamARN";
  f.not_null = required;
  f.pattern = &kStreamArnPattern;
  f.min_len = 1;
  f.max_len = 2048;
  return f;
}

std::optional<std::string_view> GetString(element doc, std::string_view key) {
  std::string_view s;
  if (doc[key].get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

std::optional<double> GetNumber(element doc, std::string_view key) {
  element v;
  if (doc[key].get(v) != simdjson::SUCCESS || !IsNumber(v.type())) return std::nullopt;
  return NumberOf(v);
}

std::optional<int64_t> GetInt(element doc, std::string_view key) {
  auto d = GetNumber(doc, key);
  if (!d) return std::nullopt;
  double f = std::floor(*d);
  if (f > 2147483647.0) f = 2147483647.0;  // AWS truncates Integer members
  return static_cast<int64_t>(f);
}

namespace {
thread_local const CborBlobs* t_request_blobs = nullptr;
}  // namespace

RequestBlobs::RequestBlobs(const CborBlobs* blobs) : previous_(t_request_blobs) {
  t_request_blobs = blobs;
}

RequestBlobs::~RequestBlobs() { t_request_blobs = previous_; }

const std::string* ResolveBlob(std::string_view value) {
  return t_request_blobs ? t_request_blobs->Resolve(value) : nullptr;
}

}  // namespace millrace::kinesis
