#include "common/xml_writer.h"

namespace millrace {

void AppendEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&apos;");
        break;
      case '\r':
        out->append("&#13;");
        break;
      default:
        out->push_back(c);
    }
  }
}

XmlWriter::XmlWriter(std::string_view root, std::string_view xmlns) : root_(root) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out_.append(root);
  out_.append(" xmlns=\"");
  out_.append(xmlns);
  out_.append("\">");
}

void XmlWriter::Open(std::string_view name) {
  out_.push_back('<');
  out_.append(name);
  out_.push_back('>');
}

void XmlWriter::Close(std::string_view name) {
  out_.append("</");
  out_.append(name);
  out_.push_back('>');
}

void XmlWriter::Element(std::string_view name, std::string_view text) {
  Open(name);
  AppendEscaped(text, &out_);
  Close(name);
}

void XmlWriter::Text(std::string_view text) { AppendEscaped(text, &out_); }

std::string XmlWriter::Finish() {
  Close(root_);
  return std::move(out_);
}

}  // namespace millrace
