// XmlWriter: an XML answer of nested elements in one namespace (S3's, IAM's and STS's
// query APIs answer so). Text is escaped; element names are the caller's constants.
#pragma once

#include <string>
#include <string_view>

namespace millrace {

class XmlWriter {
 public:
  // Starts the document with its root element in namespace `xmlns`.
  XmlWriter(std::string_view root, std::string_view xmlns);
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

}  // namespace millrace
