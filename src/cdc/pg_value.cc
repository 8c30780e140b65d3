#include "cdc/pg_value.h"

#include <simdjson.h>

#include "common/encoding.h"
#include "common/json_writer.h"

namespace millrace::cdc {

namespace {

void Quote(std::string_view s, std::string* out) { JsonWriter::Quote(s, out); }

// {"<tag>":<quoted s>}
void Tagged(const char* tag, std::string_view s, std::string* out) {
  out->append("{\"").append(tag).append("\":");
  Quote(s, out);
  out->push_back('}');
}

void AppendString(std::string_view s, ImageFormat f, std::string* out) {
  if (f == ImageFormat::kDynamoDb)
    Tagged("S", s, out);
  else
    Quote(s, out);
}

// Whether `s` is a JSON number (RFC 8259 grammar).
bool IsJsonNumber(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i == n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == n;
}

// Significant digits of a plain decimal ("-0012.3400" has 4: 1, 2, 3, 4).
int SignificantDigits(std::string_view s) {
  std::string digits;
  for (char c : s)
    if (c >= '0' && c <= '9') digits.push_back(c);
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 1;
  size_t last = digits.find_last_not_of('0');
  // Trailing zeros of the integer part are significant; those after the point are not.
  size_t point = s.find('.');
  if (point == std::string_view::npos) return static_cast<int>(digits.size() - first);
  return static_cast<int>(last - first + 1);
}

void AppendNumber(std::string_view text, bool exact_only, ImageFormat f, std::string* out) {
  const bool number = IsJsonNumber(text) && (!exact_only || SignificantDigits(text) <= 15);
  if (f == ImageFormat::kDynamoDb) {
    // DynamoDB numbers are decimal strings of any precision; NaN and infinities are not.
    Tagged(IsJsonNumber(text) ? "N" : "S", text, out);
  } else if (number) {
    out->append(text);
  } else {
    Quote(text, out);
  }
}

// "2026-12-05 21:04:05.123+00" -> "2026-12-05T21:04:05.123Z"; "2026-12-05 21:04:05" ->
// "2026-12-05T21:04:05". Anything else (infinity, BC dates) stays as PostgreSQL wrote it.
std::string IsoTimestamp(std::string_view text, bool with_zone) {
  if (text.size() < 19 || text[10] != ' ' || text.ends_with(" BC")) return std::string(text);
  std::string s(text);
  s[10] = 'T';
  if (with_zone) {
    if (s.ends_with("+00"))
      s.replace(s.size() - 3, 3, "Z");
    else if (s.size() > 3 && (s[s.size() - 3] == '+' || s[s.size() - 3] == '-'))
      s.append(":00");  // "+05" -> "+05:00" (a session not in UTC)
  }
  return s;
}

void AppendBytea(std::string_view text, ImageFormat f, std::string* out) {
  std::string bytes;
  if (text.starts_with("\\x")) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    bytes.reserve((text.size() - 2) / 2);
    for (size_t i = 2; i + 1 < text.size(); i += 2) {
      int hi = hex(text[i]), lo = hex(text[i + 1]);
      if (hi < 0 || lo < 0) break;
      bytes.push_back(static_cast<char>(hi << 4 | lo));
    }
  } else {
    bytes.assign(text);  // escape format: not what the capture's sessions produce
  }
  std::string b64 = Base64Encode(bytes);
  if (f == ImageFormat::kDynamoDb)
    Tagged("B", b64, out);
  else
    Quote(b64, out);
}

void AppendJsonAsAttribute(simdjson::dom::element e, std::string* out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      out->append("{\"M\":{");
      bool first = true;
      for (auto field : simdjson::dom::object(e)) {
        if (!first) out->push_back(',');
        first = false;
        Quote(field.key, out);
        out->push_back(':');
        AppendJsonAsAttribute(field.value, out);
      }
      out->append("}}");
      return;
    }
    case element_type::ARRAY: {
      out->append("{\"L\":[");
      bool first = true;
      for (auto v : simdjson::dom::array(e)) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonAsAttribute(v, out);
      }
      out->append("]}");
      return;
    }
    case element_type::STRING:
      Tagged("S", std::string_view(e), out);
      return;
    case element_type::BOOL:
      out->append(bool(e) ? "{\"BOOL\":true}" : "{\"BOOL\":false}");
      return;
    case element_type::NULL_VALUE:
      out->append("{\"NULL\":true}");
      return;
    default:
      Tagged("N", simdjson::minify(e), out);
      return;
  }
}

void AppendJson(std::string_view text, ImageFormat f, std::string* out) {
  // json and jsonb output is JSON; checked all the same, so that a record is always JSON
  // (text that does not parse is kept as a string).
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text.data(), text.size()).get(e) != simdjson::SUCCESS) {
    AppendString(text, f, out);
    return;
  }
  if (f == ImageFormat::kPlain)
    out->append(text);
  else
    AppendJsonAsAttribute(e, out);
}

// Parses a PostgreSQL array literal ('{1,2,NULL}', '{{"a b",c},{d,e}}', '[0:1]={x,y}') and
// appends it as JSON, converting each element as `elem`.
class ArrayParser {
 public:
  ArrayParser(const TypeMap& types, uint32_t elem, char delim, ImageFormat f, std::string* out)
      : types_(types), elem_(elem), delim_(delim), f_(f), out_(out) {}

  bool Parse(std::string_view text) {
    if (!text.empty() && text[0] == '[') {  // explicit bounds: "[1:2]={...}"
      size_t eq = text.find('=');
      if (eq == std::string_view::npos) return false;
      text.remove_prefix(eq + 1);
    }
    s_ = text;
    pos_ = 0;
    return List() && pos_ == s_.size();
  }

 private:
  bool List() {
    if (pos_ >= s_.size() || s_[pos_] != '{') return false;
    ++pos_;
    out_->append(f_ == ImageFormat::kDynamoDb ? "{\"L\":[" : "[");
    bool first = true;
    while (pos_ < s_.size() && s_[pos_] != '}') {
      if (!first) {
        if (s_[pos_] != delim_) return false;
        ++pos_;
      }
      if (!first) out_->push_back(',');
      first = false;
      if (pos_ < s_.size() && s_[pos_] == '{') {
        if (!List()) return false;
      } else if (!Element()) {
        return false;
      }
    }
    if (pos_ >= s_.size()) return false;
    ++pos_;  // '}'
    out_->append(f_ == ImageFormat::kDynamoDb ? "]}" : "]");
    return true;
  }

  bool Element() {
    std::string value;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        value.push_back(s_[pos_++]);
      }
      if (pos_ >= s_.size()) return false;
      ++pos_;
      AppendValue(types_, elem_, value, f_, out_);
      return true;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != delim_ && s_[pos_] != '}') ++pos_;
    std::string_view raw = s_.substr(start, pos_ - start);
    if (raw.size() == 4 && (raw[0] | 0x20) == 'n' && (raw[1] | 0x20) == 'u' &&
        (raw[2] | 0x20) == 'l' && (raw[3] | 0x20) == 'l') {
      AppendNull(f_, out_);
      return true;
    }
    AppendValue(types_, elem_, raw, f_, out_);
    return true;
  }

  const TypeMap& types_;
  const uint32_t elem_;
  const char delim_;
  const ImageFormat f_;
  std::string* out_;
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const char* ImageFormatName(ImageFormat f) {
  return f == ImageFormat::kDynamoDb ? "dynamodb" : "plain";
}

TypeMap::TypeMap() {
  const TypeInfo builtin[] = {
      {oid::kBool, "bool", 'B'},
      {oid::kBytea, "bytea", 'U'},
      {oid::kInt8, "int8", 'N'},
      {oid::kInt2, "int2", 'N'},
      {oid::kInt4, "int4", 'N'},
      {oid::kOid, "oid", 'N'},
      {oid::kJson, "json", 'U'},
      {oid::kFloat4, "float4", 'N'},
      {oid::kFloat8, "float8", 'N'},
      {oid::kMoney, "money", 'N'},
      {oid::kDate, "date", 'D'},
      {oid::kTimestamp, "timestamp", 'D'},
      {oid::kTimestampTz, "timestamptz", 'D'},
      {oid::kNumeric, "numeric", 'N'},
      {oid::kJsonb, "jsonb", 'U'},
      {25, "text", 'S'},
      {1043, "varchar", 'S'},
      {1042, "bpchar", 'S'},
      {2950, "uuid", 'U'},
  };
  for (const TypeInfo& t : builtin) types_[t.oid] = t;
}

void TypeMap::Add(TypeInfo t) { types_[t.oid] = std::move(t); }

const TypeInfo* TypeMap::Find(uint32_t oid) const {
  auto it = types_.find(oid);
  return it == types_.end() ? nullptr : &it->second;
}

void AppendNull(ImageFormat f, std::string* out) {
  out->append(f == ImageFormat::kDynamoDb ? "{\"NULL\":true}" : "null");
}

void AppendValue(const TypeMap& types, uint32_t type_oid, std::string_view text, ImageFormat f,
                 std::string* out) {
  const TypeInfo* t = types.Find(type_oid);
  for (int depth = 0; t && t->base != 0 && depth < 8; ++depth) {  // a domain: its base type
    type_oid = t->base;
    t = types.Find(type_oid);
  }
  switch (type_oid) {
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid:
    case oid::kFloat4:
    case oid::kFloat8:
      return AppendNumber(text, false, f, out);
    case oid::kNumeric:
      return AppendNumber(text, true, f, out);
    case oid::kMoney:  // "$1,234.50": locale-formatted, not a number
      return AppendString(text, f, out);
    case oid::kBool:
      if (f == ImageFormat::kDynamoDb)
        out->append(text == "t" ? "{\"BOOL\":true}" : "{\"BOOL\":false}");
      else
        out->append(text == "t" ? "true" : "false");
      return;
    case oid::kJson:
    case oid::kJsonb:
      return AppendJson(text, f, out);
    case oid::kBytea:
      return AppendBytea(text, f, out);
    case oid::kTimestampTz:
      return AppendString(IsoTimestamp(text, true), f, out);
    case oid::kTimestamp:
      return AppendString(IsoTimestamp(text, false), f, out);
    default:
      break;
  }
  if (t && t->category == 'A' && t->elem != 0) {
    std::string json;
    ArrayParser p(types, t->elem, t->delim, f, &json);
    if (p.Parse(text)) {
      out->append(json);
      return;
    }
  }
  AppendString(text, f, out);
}

bool DecodeCopyField(std::string_view field, std::string* out) {
  out->clear();
  if (field == "\\N") return false;
  out->reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out->push_back(c);
      continue;
    }
    char e = field[++i];
    switch (e) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case 'x': {  // \xHH (one or two hex digits)
        int v = 0, n = 0;
        while (n < 2 && i + 1 < field.size() &&
               std::isxdigit(static_cast<unsigned char>(field[i + 1]))) {
          char h = field[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++n;
        }
        if (n == 0)
          out->push_back('x');
        else
          out->push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {  // \ooo (one to three octal digits)
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
            v = v * 8 + (field[++i] - '0');
            ++n;
          }
          out->push_back(static_cast<char>(v));
        } else {
          out->push_back(e);  // "\\" and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

}  // namespace millrace::cdc
