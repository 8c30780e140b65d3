// The S3 wire as our client reads and writes it (docs/objstore.md): the XML bodies of the
// answers it parses (errors, ListObjectsV2, CreateMultipartUpload), the one body it sends
// (CompleteMultipartUpload), and the one place where an S3 failure becomes a Status.
//
// Not a general XML parser. S3 answers small, flat documents without comments, CDATA or
// nested elements of the same name, so an element's text is found between its tags and
// entity references are decoded. A document that does not have the expected shape parses
// as nullopt, never as a guess. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace millrace::objstore::s3 {

// Escapes '&', '<' and '>' for element text (quotes may stay: ETags carry them).
std::string XmlEscape(std::string_view text);
// Decodes &lt; &gt; &amp; &quot; &apos; &#N; and &#xH; (as UTF-8); an unknown or
// malformed reference is kept literally.
std::string XmlUnescape(std::string_view text);

// The raw (still escaped) content of each <name>...</name> in `xml`, in order; also
// matches <name attr="...">, and <name/> as empty content.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name);
// The unescaped text of the first <name> element, or nullopt if there is none.
std::optional<std::string> XmlText(std::string_view xml, std::string_view name);

// The <Error> document S3 sends with a failure (and, for CompleteMultipartUpload, may send
// with a 200).
struct ErrorBody {
  std::string code;     // "NoSuchBucket", "SignatureDoesNotMatch", ...
  std::string message;  // the human text
};
std::optional<ErrorBody> ParseError(std::string_view body);

// One page of a ListObjectsV2 answer (<ListBucketResult>). Keys are full bucket keys.
struct ListPage {
  std::vector<std::string> keys;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken, when truncated
};
std::optional<ListPage> ParseListObjectsV2(std::string_view body);

// The UploadId of a CreateMultipartUpload answer (<InitiateMultipartUploadResult>).
std::optional<std::string> ParseUploadId(std::string_view body);

struct CompletedPart {
  int number = 0;    // 1-based
  std::string etag;  // as the UploadPart answer's ETag header gave it, quotes included
};
// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...
std::string CompleteMultipartUploadBody(const std::vector<CompletedPart>& parts);

// The Status for an S3 answer that is not a success (object_store.h's contract):
// kUnavailable for 5xx, 429 and the throttling and timeout codes (a retry may succeed);
// kPermissionDenied for 403 and the credential codes; kNotFound for NoSuchBucket;
// kIoError otherwise. The message is "<context>: HTTP <status> <Code>: <Message>".
// `http_status` may be 200 when the body is an <Error> (CompleteMultipartUpload).
Status ErrorStatus(int http_status, std::string_view body, std::string_view context);

}  // namespace millrace::objstore::s3
