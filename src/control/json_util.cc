#include "control/json_util.h"

#include <simdjson.h>

#include <cstdio>
#include <ctime>

#include "common/time_format.h"

namespace millrace::control {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// The string member "type" of an object, or "" when there is none.
std::string_view TypeOf(object o) {
  std::string_view t;
  if (o["type"].get(t) != simdjson::SUCCESS) return {};
  return t;
}

// Key() wants a key that needs no escaping; a member name from a request body may.
void EscapedKey(JsonWriter& w, std::string_view key) {
  std::string quoted;
  JsonWriter::Quote(key, &quoted);
  w.Key(std::string_view(quoted).substr(1, quoted.size() - 2));
}

// Writes base with patch applied (both objects) into `w`.
void Merge(JsonWriter& w, object base, object patch) {
  w.BeginObject();
  for (auto [key, value] : base) {
    element p;
    if (patch[key].get(p) != simdjson::SUCCESS) {  // untouched
      EscapedKey(w, key);
      w.Raw(simdjson::minify(value));
      continue;
    }
    if (p.type() == element_type::NULL_VALUE) continue;  // removed
    EscapedKey(w, key);
    if (p.type() == element_type::OBJECT && value.type() == element_type::OBJECT) {
      object po = p.get_object().value_unsafe();
      object bo = value.get_object().value_unsafe();
      std::string_view pt = TypeOf(po);
      if (pt.empty() || pt == TypeOf(bo)) {
        Merge(w, bo, po);
        continue;
      }
    }
    w.Raw(simdjson::minify(p));
  }
  for (auto [key, value] : patch) {
    element b;
    if (base[key].get(b) == simdjson::SUCCESS) continue;  // done above
    if (value.type() == element_type::NULL_VALUE) continue;
    EscapedKey(w, key);
    w.Raw(simdjson::minify(value));
  }
  w.EndObject();
}

}  // namespace

Status CheckObject(std::string_view body) {
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos)
    return Status::InvalidArgument("the body is empty; send a JSON object");
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  if (doc.type() != element_type::OBJECT)
    return Status::InvalidArgument("the body must be a JSON object");
  return Status::Ok();
}

Result<std::string> MergePatch(std::string_view base, std::string_view patch) {
  MILLRACE_RETURN_IF_ERROR(CheckObject(patch));
  simdjson::dom::parser base_parser, patch_parser;
  element b, p;
  if (base_parser.parse(base.data(), base.size()).get(b) != simdjson::SUCCESS ||
      b.type() != element_type::OBJECT)
    return Status::Corruption("a stored document is not a JSON object");
  if (patch_parser.parse(patch.data(), patch.size()).get(p) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  std::string out;
  JsonWriter w(&out);
  Merge(w, b.get_object().value_unsafe(), p.get_object().value_unsafe());
  return out;
}

void AddMembers(std::string* object, const std::function<void(JsonWriter&)>& write) {
  std::string extra;
  JsonWriter w(&extra);
  w.BeginObject();
  write(w);
  w.EndObject();
  if (extra.size() <= 2) return;                            // "{}": nothing to add
  if (object->size() < 2 || object->back() != '}') return;  // not an object: a caller's bug
  object->pop_back();
  if (object->back() != '{') object->push_back(',');
  object->append(extra, 1);
}

std::string IsoTime(int64_t unix_ms) { return Iso8601(unix_ms, 3); }

}  // namespace millrace::control
