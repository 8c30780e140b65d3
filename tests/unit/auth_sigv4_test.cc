// SigV4 against the AWS signing test suite (shared/testdata/aws-sigv4/v4, see its README):
// for every case folder, the Signer must reproduce the canonical request, string to sign,
// signature and signed request exactly, for header signing and for presigning; the
// Verifier must accept both signed requests, computing the same canonical request, and
// refuse them after any change to a signed part. Below the vectors, the exact AWS error
// messages and the S3 path rules.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/sigv4.h"
#include "common/crypto.h"

namespace millrace::auth {
namespace {

const std::string kVectorDir = MILLRACE_SHARED_DIR "/testdata/aws-sigv4/v4";
constexpr int64_t kSkewMs = 15 * 60 * 1000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view TrimWs(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void SetTarget(http::Request* r, std::string target) {
  r->target = std::move(target);
  size_t q = r->target.find('?');
  r->path = r->target.substr(0, q);
  r->query = q == std::string::npos ? "" : r->target.substr(q + 1);
}

void Retarget(http::Request* r) { r->target = r->path + (r->query.empty() ? "" : "?" + r->query); }

// The suite's raw requests: "METHOD target HTTP/1.1" (the target may hold spaces and raw
// UTF-8), headers "Name:value" with obs-fold continuation lines, a blank line, the body.
http::Request ParseRawRequest(std::string_view text) {
  http::Request r;
  size_t pos = 0;
  auto next_line = [&](std::string_view* line) {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    *line = text.substr(pos, nl - pos);
    pos = std::min(nl + 1, text.size());
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return true;
  };
  std::string_view line;
  if (!next_line(&line)) return r;
  size_t first = line.find(' '), last = line.rfind(' ');
  r.method = std::string(line.substr(0, first));
  SetTarget(&r, std::string(line.substr(first + 1, last - first - 1)));
  while (next_line(&line) && !line.empty()) {
    if ((line.front() == ' ' || line.front() == '\t') && !r.headers.empty()) {
      r.headers.back().value += " " + std::string(TrimWs(line));
      continue;
    }
    size_t colon = line.find(':');
    r.headers.push_back(
        {std::string(line.substr(0, colon)), std::string(TrimWs(line.substr(colon + 1)))});
  }
  r.body = std::string(text.substr(pos));
  return r;
}

struct Case {
  std::string name;
  std::string dir;
  Credentials credentials;
  std::string region;
  std::string service;
  int64_t now_ms = 0;
  bool normalize = true;
  bool omit_session_token = false;
  bool sign_body = false;
  int64_t expires = 0;
  http::Request request;

  std::string File(const std::string& f) const { return ReadFile(dir + "/" + f); }
  http::Request Raw(const std::string& f) const { return ParseRawRequest(File(f)); }
  CanonicalOptions Canonical() const { return {normalize, true, false}; }
  SignOptions SignOpts() const {
    SignOptions o;
    o.canonical = Canonical();
    o.add_content_sha256_header = sign_body;
    o.omit_session_token = omit_session_token;
    o.expires_seconds = expires;
    return o;
  }
  VerifyOptions VerifyOpts() const {
    VerifyOptions o;
    o.region = region;
    o.service = service;
    o.canonical = Canonical();
    // The suite's post-sts-header-after adds the token after signing; Millrace refuses
    // that by default (every x-amz-* header signed) and takes it only when told to.
    o.allow_unsigned_security_token = omit_session_token;
    return o;
  }
  SecretLookup Lookup(std::string secret_suffix = "") const {
    return [this, secret_suffix](std::string_view id) -> std::optional<std::string> {
      if (id != credentials.access_key_id) return std::nullopt;
      return credentials.secret_access_key + secret_suffix;
    };
  }
};

std::vector<std::string> ListCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kVectorDir, ec))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Case LoadCase(const std::string& name) {
  Case k;
  k.name = name;
  k.dir = kVectorDir + "/" + name;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string json(k.File("context.json"));
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << name;
  auto str = [](simdjson::dom::element e, const char* key) {
    std::string_view v;
    return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
  };
  auto flag = [&doc](const char* key, bool fallback) {
    bool v;
    return doc[key].get(v) == simdjson::SUCCESS ? v : fallback;
  };
  simdjson::dom::element creds = doc["credentials"];
  k.credentials = {str(creds, "access_key_id"), str(creds, "secret_access_key"),
                   str(creds, "token")};
  k.region = str(doc, "region");
  k.service = str(doc, "service");
  k.normalize = flag("normalize", true);
  k.omit_session_token = flag("omit_session_token", false);
  k.sign_body = flag("sign_body", false);
  int64_t expires = 0;
  EXPECT_EQ(doc["expiration_in_seconds"].get(expires), simdjson::SUCCESS) << name;
  k.expires = expires;
  std::string ts = str(doc, "timestamp");  // "2015-08-30T12:36:00Z"
  std::erase_if(ts, [](char c) { return c == '-' || c == ':'; });
  std::optional<int64_t> t = ParseAmzDate(ts);
  EXPECT_TRUE(t.has_value()) << name << ": timestamp " << ts;
  k.now_ms = t.value_or(0) * 1000;
  k.request = k.Raw("request.txt");
  return k;
}

void ExpectSameRequest(const http::Request& got, const http::Request& want) {
  EXPECT_EQ(got.method, want.method);
  EXPECT_EQ(got.target, want.target);
  EXPECT_EQ(got.body, want.body);
  ASSERT_EQ(got.headers.size(), want.headers.size());
  for (size_t i = 0; i < got.headers.size(); ++i) {
    EXPECT_EQ(got.headers[i].name, want.headers[i].name) << "header " << i;
    EXPECT_EQ(got.headers[i].value, want.headers[i].value) << "header " << i;
  }
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    size_t at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s = s.substr(at + 1);
  }
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(1, sep) : "") + parts[i];
  return out;
}

// Every change to a signed part of `signed_req`, labelled.
std::vector<std::pair<std::string, http::Request>> Tamperings(const Case& k,
                                                              const http::Request& signed_req,
                                                              bool presigned) {
  std::vector<std::pair<std::string, http::Request>> out;
  auto add = [&](std::string label, auto mutate) {
    http::Request r = signed_req;
    mutate(r);
    Retarget(&r);
    out.emplace_back(std::move(label), std::move(r));
  };
  add("method", [](http::Request& r) { r.method = r.method == "POST" ? "PUT" : "POST"; });
  add("path", [](http::Request& r) { r.path = "/tampered" + r.path; });
  add("body", [](http::Request& r) { r.body += "x"; });
  add("new query parameter",
      [](http::Request& r) { r.query += r.query.empty() ? "tamper=1" : "&tamper=1"; });

  std::vector<std::string> pairs;
  if (!signed_req.query.empty()) pairs = Split(signed_req.query, '&');
  std::string signed_list;
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::string name = UriDecode(pairs[i].substr(0, pairs[i].find('=')));
    if (name == "X-Amz-SignedHeaders")
      signed_list = UriDecode(pairs[i].substr(pairs[i].find('=') + 1));
    if (name == "X-Amz-Signature") continue;                               // tampered below
    if (name == "X-Amz-Security-Token" && k.omit_session_token) continue;  // not signed
    add("query value " + name, [&pairs, i](http::Request& r) {
      std::vector<std::string> p = pairs;
      p[i] += "x";
      r.query = Join(p, '&');
    });
    add("query dropped " + name, [&pairs, i](http::Request& r) {
      std::vector<std::string> p = pairs;
      p.erase(p.begin() + static_cast<std::ptrdiff_t>(i));
      r.query = Join(p, '&');
    });
  }
  if (!presigned) {
    std::string_view auth = signed_req.HeaderOr("Authorization", "");
    size_t at = auth.find("SignedHeaders=");
    EXPECT_NE(at, std::string_view::npos) << k.name;
    if (at != std::string_view::npos) {
      std::string_view rest = auth.substr(at + 14);
      signed_list = std::string(rest.substr(0, rest.find(',')));
    }
  }
  EXPECT_FALSE(signed_list.empty()) << k.name;
  for (const std::string& name : Split(signed_list, ';')) {
    add("header value " + name, [&name](http::Request& r) {
      for (http::Header& h : r.headers)
        if (http::EqualsIgnoreCase(h.name, name)) {
          h.value += "x";
          break;
        }
    });
    add("header removed " + name, [&name](http::Request& r) {
      std::erase_if(r.headers,
                    [&](const http::Header& h) { return http::EqualsIgnoreCase(h.name, name); });
    });
    add("header duplicated " + name, [&name](http::Request& r) {
      r.headers.push_back({name, "extra"});
    });
  }
  add("signature", [presigned](http::Request& r) {
    std::string* s = nullptr;
    if (presigned) {
      s = &r.query;
    } else {
      for (http::Header& h : r.headers)
        if (http::EqualsIgnoreCase(h.name, "Authorization")) s = &h.value;
    }
    ASSERT_NE(s, nullptr);
    ASSERT_FALSE(s->empty());
    s->back() = s->back() == '0' ? '1' : '0';
  });
  return out;
}

class SigV4Vectors : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { k_ = LoadCase(GetParam()); }
  Case k_;
};

TEST_P(SigV4Vectors, HeaderSigningMatchesSuite) {
  http::Request r = k_.request;
  Signer signer(k_.credentials, k_.region, k_.service);
  SigningTrace t = signer.Sign(&r, k_.now_ms, k_.SignOpts());
  EXPECT_EQ(t.canonical_request, k_.File("header-canonical-request.txt"));
  EXPECT_EQ(t.string_to_sign, k_.File("header-string-to-sign.txt"));
  EXPECT_EQ(t.signature, k_.File("header-signature.txt"));
  ExpectSameRequest(r, k_.Raw("header-signed-request.txt"));
}

TEST_P(SigV4Vectors, PresigningMatchesSuite) {
  http::Request r = k_.request;
  Signer signer(k_.credentials, k_.region, k_.service);
  SigningTrace t = signer.Presign(&r, k_.now_ms, k_.SignOpts());
  EXPECT_EQ(t.canonical_request, k_.File("query-canonical-request.txt"));
  EXPECT_EQ(t.string_to_sign, k_.File("query-string-to-sign.txt"));
  EXPECT_EQ(t.signature, k_.File("query-signature.txt"));
  ExpectSameRequest(r, k_.Raw("query-signed-request.txt"));
}

void ExpectAccepted(const Case& k, const std::string& prefix, bool presigned) {
  http::Request r = k.Raw(prefix + "-signed-request.txt");
  SigningTrace trace;
  VerifyResult res = Verify(r, k.Lookup(), k.now_ms, k.VerifyOpts(), &trace);
  ASSERT_TRUE(res.ok()) << AuthErrorName(res.error().kind) << ": " << res.error().message;
  EXPECT_EQ(trace.canonical_request, k.File(prefix + "-canonical-request.txt"));
  EXPECT_EQ(trace.string_to_sign, k.File(prefix + "-string-to-sign.txt"));
  EXPECT_EQ(trace.signature, k.File(prefix + "-signature.txt"));
  const VerifiedIdentity& id = res.identity();
  EXPECT_EQ(id.access_key_id, k.credentials.access_key_id);
  EXPECT_EQ(id.region, k.region);
  EXPECT_EQ(id.service, k.service);
  EXPECT_EQ(id.session_token, k.credentials.session_token);
  EXPECT_EQ(id.signature, k.File(prefix + "-signature.txt"));
  EXPECT_EQ(id.amz_date, FormatAmzDate(k.now_ms / 1000));
  EXPECT_EQ(id.presigned, presigned);
}

TEST_P(SigV4Vectors, VerifierAcceptsHeaderSignedRequest) { ExpectAccepted(k_, "header", false); }
TEST_P(SigV4Vectors, VerifierAcceptsPresignedRequest) { ExpectAccepted(k_, "query", true); }

void ExpectEveryTamperingRefused(const Case& k, const std::string& file, bool presigned) {
  http::Request signed_req = k.Raw(file);
  int n = 0;
  for (const auto& [label, r] : Tamperings(k, signed_req, presigned)) {
    VerifyResult res = Verify(r, k.Lookup(), k.now_ms, k.VerifyOpts());
    EXPECT_FALSE(res.ok()) << k.name << ": accepted after changing the " << label;
    ++n;
  }
  EXPECT_GE(n, 8) << k.name;
}

TEST_P(SigV4Vectors, VerifierRefusesTamperedHeaderSignedRequest) {
  ExpectEveryTamperingRefused(k_, "header-signed-request.txt", false);
}
TEST_P(SigV4Vectors, VerifierRefusesTamperedPresignedRequest) {
  ExpectEveryTamperingRefused(k_, "query-signed-request.txt", true);
}

TEST_P(SigV4Vectors, VerifierRefusesWrongSecretAndUnknownKey) {
  for (const char* file : {"header-signed-request.txt", "query-signed-request.txt"}) {
    http::Request r = k_.Raw(file);
    VerifyResult wrong = Verify(r, k_.Lookup("x"), k_.now_ms, k_.VerifyOpts());
    ASSERT_FALSE(wrong.ok()) << file;
    EXPECT_EQ(wrong.error().kind, AuthErrorKind::kInvalidSignature) << file;
    auto none = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    VerifyResult unknown = Verify(r, none, k_.now_ms, k_.VerifyOpts());
    ASSERT_FALSE(unknown.ok()) << file;
    EXPECT_EQ(unknown.error().kind, AuthErrorKind::kUnrecognizedClient) << file;
    EXPECT_EQ(unknown.error().message, "The security token included in the request is invalid.");
  }
}

TEST_P(SigV4Vectors, VerifierRefusesSkewBeyondFifteenMinutes) {
  http::Request r = k_.Raw("header-signed-request.txt");
  auto at = [&](int64_t now_ms) { return Verify(r, k_.Lookup(), now_ms, k_.VerifyOpts()); };
  EXPECT_TRUE(at(k_.now_ms + kSkewMs).ok());
  EXPECT_TRUE(at(k_.now_ms - kSkewMs).ok());
  for (int64_t now : {k_.now_ms + kSkewMs + 1000, k_.now_ms - kSkewMs - 1000}) {
    VerifyResult res = at(now);
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error().kind, AuthErrorKind::kInvalidSignature);
  }

  http::Request q = k_.Raw("query-signed-request.txt");
  auto qat = [&](int64_t now_ms) { return Verify(q, k_.Lookup(), now_ms, k_.VerifyOpts()); };
  EXPECT_TRUE(qat(k_.now_ms + k_.expires * 1000).ok());
  VerifyResult expired = qat(k_.now_ms + k_.expires * 1000 + 1000);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, AuthErrorKind::kRequestExpired);
  EXPECT_EQ(expired.error().message, "Request has expired");
  VerifyResult early = qat(k_.now_ms - kSkewMs - 1000);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().kind, AuthErrorKind::kInvalidSignature);
}

TEST_P(SigV4Vectors, VerifierRefusesOtherRegionOrService) {
  http::Request r = k_.Raw("header-signed-request.txt");
  VerifyOptions o = k_.VerifyOpts();
  o.region = "eu-west-1";
  VerifyResult res = Verify(r, k_.Lookup(), k_.now_ms, o);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message,
            "Credential should be scoped to a valid region, not '" + k_.region + "'. ");
  o = k_.VerifyOpts();
  o.service = "kinesis";
  res = Verify(r, k_.Lookup(), k_.now_ms, o);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "Credential should be scoped to correct service: 'kinesis'. ");
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(AwsSuite, SigV4Vectors, ::testing::ValuesIn(ListCases()), CaseName);

TEST(SigV4Suite, EveryCaseFolderIsComplete) {
  std::vector<std::string> cases = ListCases();
  ASSERT_FALSE(cases.empty()) << "no vectors under " << kVectorDir;
  for (const std::string& c : cases)
    for (const char* f :
         {"context.json", "request.txt", "header-canonical-request.txt",
          "header-string-to-sign.txt", "header-signature.txt", "header-signed-request.txt",
          "query-canonical-request.txt", "query-string-to-sign.txt", "query-signature.txt",
          "query-signed-request.txt"})
      EXPECT_TRUE(std::filesystem::exists(kVectorDir + "/" + c + "/" + f)) << c << "/" << f;
  std::printf("[          ] %zu AWS SigV4 vector cases\n", cases.size());
}

// ---- Exact AWS messages and the rules the suite does not cover ----

const Credentials kExample{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

SecretLookup ExampleLookup() {
  return [](std::string_view id) -> std::optional<std::string> {
    if (id != kExample.access_key_id) return std::nullopt;
    return kExample.secret_access_key;
  };
}

int64_t Ms(const char* amz_date) { return ParseAmzDate(amz_date).value() * 1000; }

http::Request KinesisRequest() {
  http::Request r;
  r.method = "POST";
  SetTarget(&r, "/");
  r.headers.push_back({"Host", "kinesis.us-east-1.amazonaws.com"});
  r.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
  r.headers.push_back({"X-Amz-Target", "Kinesis_20131202.ListStreams"});
  r.body = "{}";
  return r;
}

http::Request SignedKinesisRequest(const char* amz_date) {
  http::Request r = KinesisRequest();
  Signer(kExample, "us-east-1", "kinesis").Sign(&r, Ms(amz_date));
  return r;
}

AuthError VerifyError(const http::Request& r, int64_t now_ms, const VerifyOptions& o = {}) {
  VerifyResult res = Verify(r, ExampleLookup(), now_ms, o);
  EXPECT_FALSE(res.ok());
  return res.ok() ? AuthError{} : res.error();
}

TEST(SigV4Messages, NoAuthenticationAtAll) {
  AuthError e = VerifyError(KinesisRequest(), Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kMissingAuthenticationToken);
  EXPECT_EQ(AuthErrorName(e.kind), "MissingAuthenticationTokenException");
  EXPECT_EQ(e.message, "Missing Authentication Token");
}

TEST(SigV4Messages, MalformedAuthorizationListsEveryMissingPart) {
  http::Request r = KinesisRequest();
  r.headers.push_back({"Authorization", "Bearer abc"});
  AuthError e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message,
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. Authorization=Bearer abc");

  r = KinesisRequest();
  r.headers.push_back({"X-Amz-Date", "20130524T000000Z"});
  r.headers.push_back(
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/kinesis/aws4_request"});
  e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message,
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 "
            "Credential=AKIDEXAMPLE/20130524/us-east-1/kinesis/aws4_request");
}

TEST(SigV4Messages, MalformedCredentialAndDate) {
  http::Request r = SignedKinesisRequest("20130524T000000Z");
  http::Request bad = r;
  for (http::Header& h : bad.headers)
    if (h.name == "Authorization") {
      size_t at = h.value.find("/us-east-1");
      h.value.erase(at, 10);  // AKIDEXAMPLE/20130524/kinesis/aws4_request
    }
  AuthError e = VerifyError(bad, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message,
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKIDEXAMPLE/20130524/kinesis/aws4_request'");

  bad = r;
  for (http::Header& h : bad.headers)
    if (h.name == "X-Amz-Date") h.value = "2013-05-24T00:00:00Z";
  e = VerifyError(bad, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message,
            "Date must be in ISO-8601 'basic format'. Got '2013-05-24T00:00:00Z'. See "
            "http://en.wikipedia.org/wiki/ISO_8601");

  bad = r;
  for (http::Header& h : bad.headers)
    if (h.name == "X-Amz-Date") h.value = "20130525T000000Z";
  e = VerifyError(bad, Ms("20130525T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kInvalidSignature);
  EXPECT_EQ(e.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP. ");
}

TEST(SigV4Messages, SignatureExpiredAndNotYetCurrent) {
  AuthError e = VerifyError(SignedKinesisRequest("20130524T000000Z"), Ms("20130524T002500Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kInvalidSignature);
  EXPECT_EQ(e.message,
            "Signature expired: 20130524T000000Z is now earlier than 20130524T001000Z "
            "(20130524T002500Z - 15 min.)");
  e = VerifyError(SignedKinesisRequest("20130524T002500Z"), Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kInvalidSignature);
  EXPECT_EQ(e.message,
            "Signature not yet current: 20130524T002500Z is still later than 20130524T001500Z "
            "(20130524T000000Z + 15 min.)");
}

TEST(SigV4Messages, SignatureMismatch) {
  http::Request r = SignedKinesisRequest("20130524T000000Z");
  r.body = "{\"Limit\":1}";
  AuthError e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kInvalidSignature);
  EXPECT_EQ(AuthErrorName(e.kind), "InvalidSignatureException");
  EXPECT_EQ(e.message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");
}

TEST(SigV4Messages, PresignedQueryProblems) {
  http::Request r = KinesisRequest();
  Signer(kExample, "us-east-1", "kinesis").Presign(&r, Ms("20130524T000000Z"));
  http::Request both = r;
  both.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=x"});
  EXPECT_EQ(VerifyError(both, Ms("20130524T000000Z")).kind, AuthErrorKind::kIncompleteSignature);

  http::Request partial = KinesisRequest();
  SetTarget(&partial, "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20130524T000000Z");
  AuthError e = VerifyError(partial, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message,
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
            "parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
            "'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");

  http::Request week = KinesisRequest();
  SignOptions o;
  o.expires_seconds = 604801;
  Signer(kExample, "us-east-1", "kinesis").Presign(&week, Ms("20130524T000000Z"), o);
  e = VerifyError(week, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_NE(e.message.find("604800 seconds"), std::string::npos) << e.message;
}

TEST(SigV4Verify, DateHeaderStandsInForXAmzDate) {
  http::Request r;
  r.method = "GET";
  SetTarget(&r, "/");
  r.headers.push_back({"Host", "example.amazonaws.com"});
  r.headers.push_back({"Date", "Sun, 30 Aug 2015 12:36:00 GMT"});
  std::vector<std::string> names = {"date", "host"};
  std::string cr = CanonicalRequest("GET", "/", "", CanonicalHeaders(r.headers, names), "date;host",
                                    crypto::Sha256Hex(""));
  std::string sts =
      StringToSign("20150830T123600Z", CredentialScope("20150830", "us-east-1", "service"), cr);
  std::string sig =
      Signature(SigningKey(kExample.secret_access_key, "20150830", "us-east-1", "service"), sts);
  r.headers.push_back({"Authorization",
                       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                       "aws4_request, SignedHeaders=date;host, Signature=" +
                           sig});
  VerifyResult res = Verify(r, ExampleLookup(), Ms("20150830T123600Z"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res.identity().amz_date, "20150830T123600Z");
}

TEST(SigV4Verify, S3PathsAreSinglyEncodedAndNotNormalized) {
  CanonicalOptions s3 = CanonicalOptions::ForService("s3");
  EXPECT_FALSE(s3.normalize_path);
  EXPECT_FALSE(s3.double_encode_path);
  EXPECT_TRUE(s3.unsigned_presigned_payload);
  EXPECT_EQ(CanonicalUri("/bucket/my%20key/a%2fb/./~x!", s3), "/bucket/my%20key/a%2Fb/./~x%21");
  CanonicalOptions other = CanonicalOptions::ForService("kinesis");
  EXPECT_EQ(CanonicalUri("/a%20b/./c/../d", other), "/a%2520b/d");
  EXPECT_EQ(CanonicalUri("", other), "/");
  EXPECT_EQ(CanonicalQuery("b=2&a=x+y&a=1&c"), "a=1&a=x%2By&b=2&c=");
}

TEST(SigV4Verify, S3SignedPayloadMustMatchBodyUnsignedNeedNot) {
  Signer s3(kExample, "us-east-1", "s3");
  http::Request r;
  r.method = "PUT";
  SetTarget(&r, "/bucket/my%20key");
  r.headers.push_back({"Host", "s3.amazonaws.com"});
  r.body = "hello";
  SignOptions o;
  o.add_content_sha256_header = true;
  http::Request signed_req = r;
  s3.Sign(&signed_req, Ms("20150830T123600Z"), o);
  VerifyResult res = Verify(signed_req, ExampleLookup(), Ms("20150830T123600Z"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res.identity().payload_hash, crypto::Sha256Hex("hello"));
  signed_req.body = "hellO";
  AuthError e = VerifyError(signed_req, Ms("20150830T123600Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kContentSha256Mismatch);

  o.payload_hash = std::string(kUnsignedPayload);
  http::Request unsigned_req = r;
  s3.Sign(&unsigned_req, Ms("20150830T123600Z"), o);
  unsigned_req.body = "anything";
  res = Verify(unsigned_req, ExampleLookup(), Ms("20150830T123600Z"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res.identity().payload_hash, kUnsignedPayload);

  http::Request presigned = r;
  presigned.method = "GET";
  presigned.body.clear();
  SigningTrace t = s3.Presign(&presigned, Ms("20150830T123600Z"));
  EXPECT_TRUE(t.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  res = Verify(presigned, ExampleLookup(), Ms("20150830T123600Z"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_TRUE(res.identity().presigned);
}

TEST(SigV4Verify, ResigningReplacesEarlierSignature) {
  http::Request r = SignedKinesisRequest("20130524T000000Z");
  Signer(kExample, "us-east-1", "kinesis").Sign(&r, Ms("20130524T010000Z"));
  EXPECT_EQ(std::count_if(r.headers.begin(), r.headers.end(),
                          [](const http::Header& h) { return h.name == "Authorization"; }),
            1);
  EXPECT_TRUE(Verify(r, ExampleLookup(), Ms("20130524T010000Z")).ok());
}

TEST(SigV4Time, FormatAndParse) {
  EXPECT_EQ(FormatAmzDate(0), "19700101T000000Z");
  EXPECT_EQ(FormatAmzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(951868799), "20000229T235959Z");
  EXPECT_EQ(ParseAmzDate("20000229T235959Z"), 951868799);
  EXPECT_EQ(ParseAmzDate("20150230T000000Z"), std::nullopt);
  EXPECT_EQ(ParseAmzDate("20150830T123600"), std::nullopt);
  EXPECT_EQ(ParseAmzDate("20150830T246000Z"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT"), 1440938160);
  EXPECT_EQ(ParseHttpDate("20150830T123600Z"), 1440938160);
  EXPECT_EQ(ParseHttpDate("Sun, 30 Foo 2015 12:36:00 GMT"), std::nullopt);
}

// ---- Strictness (issue #10): what AWS refuses, each a row ----

// A Kinesis request signed with exactly `signed_names`, the rest of its headers unsigned.
http::Request SignedOnly(std::vector<std::string> signed_names, const char* amz_date) {
  http::Request r = KinesisRequest();
  r.headers.push_back({"X-Amz-Date", amz_date});
  std::sort(signed_names.begin(), signed_names.end());
  std::string joined = JoinSignedHeaders(signed_names);
  std::string date = std::string(amz_date).substr(0, 8);
  std::string scope = CredentialScope(date, "us-east-1", "kinesis");
  std::string canonical =
      CanonicalRequest(r.method, "/", "", CanonicalHeaders(r.headers, signed_names), joined,
                       crypto::Sha256Hex(r.body));
  std::string sig = Signature(SigningKey(kExample.secret_access_key, date, "us-east-1", "kinesis"),
                              StringToSign(amz_date, scope, canonical));
  r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                            ", SignedHeaders=" + joined + ", Signature=" + sig});
  return r;
}

TEST(SigV4Strict, HostMustBeSigned) {
  http::Request r = SignedOnly({"x-amz-date", "x-amz-target", "content-type"}, "20130524T000000Z");
  AuthError e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_EQ(e.message, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST(SigV4Strict, EveryAmzHeaderMustBeSigned) {
  // The replay of the issue: x-amz-target unsigned, so it could be changed at will.
  http::Request r = SignedOnly({"host", "x-amz-date", "content-type"}, "20130524T000000Z");
  AuthError e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_EQ(e.kind, AuthErrorKind::kIncompleteSignature);
  EXPECT_NE(e.message.find("x-amz-target"), std::string::npos) << e.message;
  // Signed as the SDKs sign: accepted.
  http::Request ok =
      SignedOnly({"host", "x-amz-date", "x-amz-target", "content-type"}, "20130524T000000Z");
  EXPECT_TRUE(Verify(ok, ExampleLookup(), Ms("20130524T000000Z")).ok());
  // A token added after signing: refused unless the caller allows it.
  ok.headers.push_back({"X-Amz-Security-Token", "tok"});
  EXPECT_EQ(VerifyError(ok, Ms("20130524T000000Z")).kind, AuthErrorKind::kIncompleteSignature);
  VerifyOptions lenient;
  lenient.allow_unsigned_security_token = true;
  EXPECT_TRUE(Verify(ok, ExampleLookup(), Ms("20130524T000000Z"), lenient).ok());
}

TEST(SigV4Strict, UnsignedPayloadOnlyForS3) {
  Signer kinesis(kExample, "us-east-1", "kinesis");
  http::Request r = KinesisRequest();
  SignOptions o;
  o.add_content_sha256_header = true;
  o.payload_hash = std::string(kUnsignedPayload);
  kinesis.Sign(&r, Ms("20130524T000000Z"), o);
  EXPECT_EQ(VerifyError(r, Ms("20130524T000000Z")).kind, AuthErrorKind::kInvalidSignature);
  VerifyOptions allow;
  allow.allow_unsigned_payload = true;
  EXPECT_TRUE(Verify(r, ExampleLookup(), Ms("20130524T000000Z"), allow).ok());
}

TEST(SigV4Strict, ServiceAndRegionOfTheScope) {
  http::Request r = SignedKinesisRequest("20130524T000000Z");
  VerifyOptions s3;
  s3.service = "s3";
  EXPECT_EQ(VerifyError(r, Ms("20130524T000000Z"), s3).message,
            "Credential should be scoped to correct service: 's3'. ");
  VerifyOptions eu;
  eu.region = "eu-west-1";
  EXPECT_EQ(VerifyError(r, Ms("20130524T000000Z"), eu).message,
            "Credential should be scoped to a valid region, not 'us-east-1'. ");
}

TEST(SigV4Strict, MessagesQuoteAtMostAFewHundredBytes) {
  http::Request r = KinesisRequest();
  r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(60000, 'a')});
  AuthError e = VerifyError(r, Ms("20130524T000000Z"));
  EXPECT_LT(e.message.size(), 1024u);
}

TEST(SigV4Strict, VerifyHeadChecksAllThatNeedsNoBody) {
  http::Request r = SignedKinesisRequest("20130524T000000Z");
  EXPECT_FALSE(VerifyHead(r, ExampleLookup(), Ms("20130524T000000Z")).has_value());
  r.body = "a body the signature does not cover: only Verify can tell";
  EXPECT_FALSE(VerifyHead(r, ExampleLookup(), Ms("20130524T000000Z")).has_value());
  EXPECT_FALSE(Verify(r, ExampleLookup(), Ms("20130524T000000Z")).ok());
  SecretLookup none = [](std::string_view) { return std::optional<std::string>(); };
  auto e = VerifyHead(r, none, Ms("20130524T000000Z"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, AuthErrorKind::kUnrecognizedClient);
  auto late = VerifyHead(r, ExampleLookup(), Ms("20130524T003000Z"));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->kind, AuthErrorKind::kInvalidSignature);  // 30 minutes of skew
  EXPECT_TRUE(VerifyHead(KinesisRequest(), ExampleLookup(), Ms("20130524T000000Z")).has_value());
}

}  // namespace
}  // namespace millrace::auth
