#include "delivery/partition_query.h"

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include <climits>

#include "delivery/jq_messages.h"

namespace millrace::delivery {
namespace {

bool IdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IdentChar(char c) { return IdentStart(c) || (c >= '0' && c <= '9'); }

// "{k: .a.b, "k2": .c}": the fields, or empty when the expression is not of that form.
std::vector<std::pair<std::string, std::vector<std::string>>> ParseFields(std::string_view e) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  size_t i = 0;
  auto ws = [&] {
    while (i < e.size() && (e[i] == ' ' || e[i] == '\t' || e[i] == '\n' || e[i] == '\r')) ++i;
  };
  auto ident = [&](std::string* s) {
    if (i >= e.size() || !IdentStart(e[i])) return false;
    size_t start = i;
    while (i < e.size() && IdentChar(e[i])) ++i;
    *s = std::string(e.substr(start, i - start));
    return true;
  };
  ws();
  if (i >= e.size() || e[i++] != '{') return {};
  for (;;) {
    ws();
    std::string key;
    if (i < e.size() && e[i] == '"') {
      size_t end = e.find('"', i + 1);
      if (end == std::string_view::npos) return {};
      key = std::string(e.substr(i + 1, end - i - 1));
      if (key.find('\\') != std::string::npos) return {};
      i = end + 1;
    } else if (!ident(&key)) {
      return {};
    }
    ws();
    if (i >= e.size() || e[i++] != ':') return {};
    ws();
    std::vector<std::string> path;
    while (i < e.size() && e[i] == '.') {
      ++i;
      std::string seg;
      if (!ident(&seg)) return {};
      path.push_back(std::move(seg));
    }
    if (path.empty()) return {};
    out.emplace_back(std::move(key), std::move(path));
    ws();
    if (i < e.size() && e[i] == ',') {
      ++i;
      continue;
    }
    if (i < e.size() && e[i] == '}') {
      ++i;
      break;
    }
    return {};
  }
  ws();
  if (i != e.size() || out.size() > PartitionQuery::kMaxKeys) return {};
  for (size_t a = 0; a < out.size(); ++a)  // a key given twice: jq keeps the last; leave it to jq
    for (size_t b = a + 1; b < out.size(); ++b)
      if (out[a].first == out[b].first) return {};
  return out;
}

}  // namespace

bool PartitionQuery::FastExtract(std::string_view record, formats::PartitionValues* out) {
  simdjson::dom::element doc;
  if (parser_.parse(record.data(), record.size()).get(doc) != simdjson::SUCCESS) return false;
  for (const auto& [key, path] : fields_) {
    simdjson::dom::element v = doc;
    for (const std::string& seg : path) {
      simdjson::dom::object obj;
      if (v.get(obj) != simdjson::SUCCESS) return false;  // jq: null, or an error
      bool found = false;
      for (auto field : obj)  // the last member of that name, as jq
        if (field.key == seg) {
          v = field.value;
          found = true;
        }
      if (!found) return false;  // null in jq: its message
    }
    std::string text;
    switch (v.type()) {
      case simdjson::dom::element_type::STRING:
        text = std::string(v.get_string().value_unsafe());
        break;
      case simdjson::dom::element_type::INT64: {
        // jq holds numbers as doubles: past 2^53 it prints another number.
        const int64_t n = v.get_int64().value_unsafe();
        if (n > (int64_t{1} << 53) || n < -(int64_t{1} << 53)) return false;
        text = std::to_string(n);
        break;
      }
      case simdjson::dom::element_type::BOOL:
        text = v.get_bool().value_unsafe() ? "true" : "false";
        break;
      default:  // fractions (jq's own number printing), big numbers, null, arrays, objects
        return false;
    }
    if (!ValidPartitionValue(text)) return false;  // jq's path gives the reason
    (*out)[key] = std::move(text);
  }
  return true;
}

bool ValidPartitionValue(std::string_view v) {
  if (v.empty() || v.size() > PartitionQuery::kMaxValueBytes || v == "." || v == "..") return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("_.*'()!-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<PartitionQuery>> PartitionQuery::Compile(std::string_view expression) {
  if (expression.size() > kMaxExpressionBytes)
    return Status::InvalidArgument("is longer than " + std::to_string(kMaxExpressionBytes) +
                                   " bytes");
  if (expression.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("must not contain a NUL character");
  std::unique_ptr<PartitionQuery> q(new PartitionQuery());
  q->jq_ = jq_init();
  if (q->jq_ == nullptr) return Status::ResourceExhausted("jq_init failed");
  jq_set_error_cb(q->jq_, CollectJqMessage, &q->messages_);
  const std::string text(expression);
  if (!jq_compile(q->jq_, text.c_str())) {
    std::string why = q->messages_.empty() ? "does not compile" : q->messages_;
    return Status::InvalidArgument("is not a valid jq expression: " + why);
  }
  q->fields_ = ParseFields(expression);
  return q;
}

PartitionQuery::~PartitionQuery() {
  if (jq_ != nullptr) jq_teardown(&jq_);
}

bool PartitionQuery::Extract(std::string_view record, formats::PartitionValues* out,
                             std::string* why) {
  out->clear();
  why->clear();
  if (!fields_.empty()) {
    if (FastExtract(record, out)) return true;
    out->clear();
  }
  if (record.size() > static_cast<size_t>(INT_MAX)) {
    *why = "the record is too large to evaluate";
    return false;
  }
  jv value = jv_parse_sized(record.data(), static_cast<int>(record.size()));
  if (!jv_is_valid(value)) {
    jv_free(value);
    *why = "the record is not one JSON value, so its partition keys cannot be read";
    return false;
  }
  messages_.clear();
  jq_start(jq_, value, 0);  // takes `value`
  jv result = jq_next(jq_);
  bool ok = false;
  if (!jv_is_valid(result)) {
    *why = "the partition key query gave no value";
    if (jv_invalid_has_msg(jv_copy(result)))
      *why += ": " + JqText(jv_invalid_get_msg(jv_copy(result)));
  } else if (jv_get_kind(result) != JV_KIND_OBJECT) {
    *why = "the partition key query must give an object of keys, not " +
           std::string(jv_kind_name(jv_get_kind(result)));
  } else if (static_cast<size_t>(jv_object_length(jv_copy(result))) > kMaxKeys) {
    *why = "the partition key query gave more than 50 keys";
  } else {
    ok = true;
    jv_object_foreach(result, key, v) {
      std::string name = jv_string_value(key);
      std::string text;
      switch (jv_get_kind(v)) {
        case JV_KIND_STRING:
          text = jv_string_value(v);
          break;
        case JV_KIND_NUMBER:
        case JV_KIND_TRUE:
        case JV_KIND_FALSE:
          text = JqText(jv_copy(v));
          break;
        default:
          if (ok)
            *why = "the partition key " + name + " is " + jv_kind_name(jv_get_kind(v)) +
                   ", not a string, number or boolean";
          ok = false;
      }
      jv_free(key);
      jv_free(v);
      if (!ok) continue;
      if (!ValidPartitionValue(text)) {
        *why = "the partition key " + name + "'s value '" + text.substr(0, 64) +
               "' cannot be part of an object key (1 to 512 of A-Z a-z 0-9 _ . * ' ( ) ! -)";
        ok = false;
        continue;
      }
      (*out)[name] = std::move(text);
    }
  }
  jv_free(result);
  // The rest of the outputs are not used; jq_start of the next record resets the state.
  if (!ok) out->clear();
  return ok;
}

}  // namespace millrace::delivery
