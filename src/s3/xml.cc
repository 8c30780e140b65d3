#include "s3/xml.h"

namespace millrace::s3 {

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

XmlWriter::XmlWriter(std::string_view root) : root_(root) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out_.append(root);
  out_.append(" xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
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

}  // namespace millrace::s3
