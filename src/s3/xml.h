// The S3 API's XML: answers (a document of nested elements in AWS's namespace) and errors
// (<Error><Code>...). Text is escaped; element names are the caller's constants.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/xml_writer.h"

namespace millrace::s3 {

using millrace::AppendEscaped;

// An answer in S3's namespace.
class XmlWriter : public millrace::XmlWriter {
 public:
  explicit XmlWriter(std::string_view root)
      : millrace::XmlWriter(root, "http://s3.amazonaws.com/doc/2006-03-01/") {}
};

// <Error><Code/><Message/>[<extra_name>extra_value</extra_name>]<RequestId/></Error>
std::string ErrorXml(std::string_view code, std::string_view message, std::string_view extra_name,
                     std::string_view extra_value, std::string_view request_id);

// A request's XML body (DeleteObjects, CompleteMultipartUpload, lifecycle), parsed by
// expat into elements: names without their namespace prefix, text with entities decoded.
struct XmlNode {
  std::string name;
  std::string text;  // the element's own character data, concatenated
  std::vector<XmlNode> children;

  const XmlNode* Child(std::string_view child_name) const;  // the first, or nullptr
  std::vector<const XmlNode*> Children(std::string_view child_name) const;
};

// The root element, or nullopt for a document that is not well-formed XML, holds a DOCTYPE
// (no entity tricks), nests deeper than 16 or is larger than `max_bytes`.
std::optional<XmlNode> ParseXml(std::string_view body, size_t max_bytes = 2 << 20);

}  // namespace millrace::s3
