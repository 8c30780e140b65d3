#include "s3/xml.h"

#include <expat.h>

namespace millrace::s3 {

std::string ErrorXml(std::string_view code, std::string_view message, std::string_view extra_name,
                     std::string_view extra_value, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
  AppendEscaped(code, &out);
  out.append("</Code><Message>");
  AppendEscaped(message, &out);
  out.append("</Message>");
  if (!extra_name.empty()) {
    out.append("<").append(extra_name).append(">");
    AppendEscaped(extra_value, &out);
    out.append("</").append(extra_name).append(">");
  }
  out.append("<RequestId>");
  AppendEscaped(request_id, &out);
  out.append("</RequestId></Error>");
  return out;
}

const XmlNode* XmlNode::Child(std::string_view child_name) const {
  for (const XmlNode& c : children)
    if (c.name == child_name) return &c;
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::Children(std::string_view child_name) const {
  std::vector<const XmlNode*> out;
  for (const XmlNode& c : children)
    if (c.name == child_name) out.push_back(&c);
  return out;
}

namespace {

constexpr size_t kMaxDepth = 16;

struct ParseState {
  XML_Parser parser = nullptr;
  std::vector<XmlNode> stack;  // open elements; stack[0] is a holder for the root
  bool failed = false;
};

void OnStart(void* data, const XML_Char* name, const XML_Char** /*attrs*/) {
  auto* st = static_cast<ParseState*>(data);
  if (st->stack.size() > kMaxDepth) {
    st->failed = true;
    XML_StopParser(st->parser, XML_FALSE);
    return;
  }
  std::string_view n(name);
  // With namespace processing the name is "uri local"; the local name is what counts.
  if (size_t sep = n.rfind('\x01'); sep != std::string_view::npos) n.remove_prefix(sep + 1);
  XmlNode node;
  node.name = std::string(n);
  st->stack.push_back(std::move(node));
}

void OnEnd(void* data, const XML_Char* /*name*/) {
  auto* st = static_cast<ParseState*>(data);
  XmlNode done = std::move(st->stack.back());
  st->stack.pop_back();
  st->stack.back().children.push_back(std::move(done));
}

void OnText(void* data, const XML_Char* s, int len) {
  auto* st = static_cast<ParseState*>(data);
  if (st->stack.size() > 1) st->stack.back().text.append(s, static_cast<size_t>(len));
}

void OnDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  auto* st = static_cast<ParseState*>(data);
  st->failed = true;
  XML_StopParser(st->parser, XML_FALSE);
}

}  // namespace

std::optional<XmlNode> ParseXml(std::string_view body, size_t max_bytes) {
  if (body.size() > max_bytes || body.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
  ParseState st;
  st.parser = XML_ParserCreateNS(nullptr, '\x01');
  if (!st.parser) return std::nullopt;
  st.stack.emplace_back();
  XML_SetUserData(st.parser, &st);
  XML_SetElementHandler(st.parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(st.parser, OnText);
  XML_SetStartDoctypeDeclHandler(st.parser, OnDoctype);
  const bool ok =
      XML_Parse(st.parser, body.data(), static_cast<int>(body.size()), XML_TRUE) == XML_STATUS_OK;
  XML_ParserFree(st.parser);
  if (!ok || st.failed || st.stack.size() != 1 || st.stack[0].children.size() != 1)
    return std::nullopt;
  return std::move(st.stack[0].children[0]);
}

}  // namespace millrace::s3
