#include "objstore/s3_xml.h"

#include <cstdint>
#include <initializer_list>

namespace millrace::objstore::s3 {
namespace {

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The code point of a numeric reference body ("#65", "#x41"), or nullopt.
std::optional<uint32_t> NumericReference(std::string_view ref) {
  if (ref.size() < 2 || ref[0] != '#') return std::nullopt;
  bool hex = ref[1] == 'x' || ref[1] == 'X';
  std::string_view digits = ref.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  uint32_t cp = 0;
  for (char c : digits) {
    int v = (c >= '0' && c <= '9')          ? c - '0'
            : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                            : -1;
    if (v < 0) return std::nullopt;
    cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
  }
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

bool OneOf(std::string_view code, std::initializer_list<std::string_view> codes) {
  for (std::string_view c : codes)
    if (code == c) return true;
  return false;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    // The longest reference we decode is "&#x10FFFF;": look no further for its ';'.
    size_t semi = text[i] == '&' ? text.substr(i, 12).find(';') : std::string_view::npos;
    if (semi == std::string_view::npos) {
      out.push_back(text[i]);
      continue;
    }
    semi += i;
    std::string_view ref = text.substr(i + 1, semi - i - 1);
    if (ref == "lt") {
      out.push_back('<');
    } else if (ref == "gt") {
      out.push_back('>');
    } else if (ref == "amp") {
      out.push_back('&');
    } else if (ref == "quot") {
      out.push_back('"');
    } else if (ref == "apos") {
      out.push_back('\'');
    } else if (std::optional<uint32_t> cp = NumericReference(ref)) {
      AppendUtf8(&out, *cp);
    } else {
      out.push_back('&');  // not a reference we know: keep it as it came
      continue;
    }
    i = semi;
  }
  return out;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(name);
  const std::string close = "</" + std::string(name) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t after = pos + open.size();
    if (after >= xml.size()) break;
    char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      pos = after;  // a longer name ("<Errors" when looking for "<Error")
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <name/>
      out.push_back(std::string_view());
      pos = gt + 1;
      continue;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view name) {
  std::vector<std::string_view> all = XmlElements(xml, name);
  if (all.empty()) return std::nullopt;
  return XmlUnescape(all.front());
}

std::optional<ErrorBody> ParseError(std::string_view body) {
  std::vector<std::string_view> errors = XmlElements(body, "Error");
  if (errors.empty()) return std::nullopt;
  ErrorBody e;
  e.code = XmlText(errors.front(), "Code").value_or("");
  e.message = XmlText(errors.front(), "Message").value_or("");
  return e;
}

std::optional<ListPage> ParseListObjectsV2(std::string_view body) {
  std::vector<std::string_view> results = XmlElements(body, "ListBucketResult");
  if (results.empty()) return std::nullopt;
  std::string_view result = results.front();
  ListPage page;
  for (std::string_view contents : XmlElements(result, "Contents")) {
    std::optional<std::string> key = XmlText(contents, "Key");
    if (!key) return std::nullopt;
    page.keys.push_back(std::move(*key));
  }
  page.truncated = XmlText(result, "IsTruncated").value_or("false") == "true";
  page.next_token = XmlText(result, "NextContinuationToken").value_or("");
  return page;
}

std::optional<std::string> ParseUploadId(std::string_view body) {
  std::vector<std::string_view> results = XmlElements(body, "InitiateMultipartUploadResult");
  if (results.empty()) return std::nullopt;
  std::optional<std::string> id = XmlText(results.front(), "UploadId");
  if (!id || id->empty()) return std::nullopt;
  return id;
}

std::string CompleteMultipartUploadBody(const std::vector<CompletedPart>& parts) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const CompletedPart& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" +
           XmlEscape(p.etag) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

Status ErrorStatus(int http_status, std::string_view body, std::string_view context) {
  std::optional<ErrorBody> e = ParseError(body);
  const std::string code = e ? e->code : "";
  std::string msg = std::string(context) + ": HTTP " + std::to_string(http_status);
  if (!code.empty()) msg += " " + code;
  if (e && !e->message.empty()) msg += ": " + e->message;

  if (http_status >= 500 || http_status == 429 ||
      OneOf(code, {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                   "TooManyRequests", "InternalError", "ServiceUnavailable", "RequestTimeout"}))
    return Status::Unavailable(std::move(msg));
  if (http_status == 403 ||
      OneOf(code, {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
                   "InvalidToken", "TokenRefreshRequired"}))
    return Status::PermissionDenied(std::move(msg));
  if (code == "NoSuchBucket") return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

}  // namespace millrace::objstore::s3
