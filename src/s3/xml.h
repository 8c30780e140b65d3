// The S3 API's XML: answers (a document of nested elements in AWS's namespace) and errors
// (<Error><Code>...). Text is escaped; element names are the caller's constants.
#pragma once

#include <string>
#include <string_view>

namespace millrace::s3 {

class XmlWriter {
 public:
  // Starts the document with its root element (xmlns of S3's 2006-03-01 API).
  explicit XmlWriter(std::string_view root);
  void Open(std::string_view name);
  void Close(std::string_view name);
  void Element(std::string_view name, std::string_view text);
  void Text(std::string_view text);
  std::string Finish();  // closes the root

 private:
  std::string root_;
  std::string out_;
};

// Appends `s` with &, <, >, " and ' escaped.
void AppendEscaped(std::string_view s, std::string* out);

// <Error><Code/><Message/>[<extra_name>extra_value</extra_name>]<RequestId/></Error>
std::string ErrorXml(std::string_view code, std::string_view message, std::string_view extra_name,
                     std::string_view extra_value, std::string_view request_id);

}  // namespace millrace::s3
