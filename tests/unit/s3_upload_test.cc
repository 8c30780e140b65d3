// The upload path of the S3 API (s3/upload.h, s3/store.h, s3/xml.h): aws-chunked decoding
// with AWS's own published streaming example, the checksums' known values, key checks and
// request XML.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/sigv4.h"
#include "s3/store.h"
#include "s3/upload.h"
#include "s3/xml.h"

namespace millrace::s3 {
namespace {

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-s3-upload-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // AWS's example "PUT Object" with a chunked body (Amazon S3 API reference,
  // sigv4-streaming): 66560 bytes of 'a' in chunks of 65536, 1024 and 0, with the
  // documented seed and chunk signatures.
  static constexpr const char* kSeed =
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  static constexpr const char* kChunkSigs[] = {
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"};

  static auth::VerifiedIdentity ExampleIdentity() {
    auth::VerifiedIdentity id;
    id.amz_date = "20130524T000000Z";
    id.scope = "20130524/us-east-1/s3/aws4_request";
    id.signature = kSeed;
    id.signing_key =
        auth::SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
    return id;
  }
  static http::Request ExampleHead() {
    http::Request r;
    r.method = "PUT";
    r.path = "/examplebucket/chunkObject.txt";
    r.headers = {{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                 {"Content-Encoding", "aws-chunked"},
                 {"x-amz-decoded-content-length", "66560"}};
    return r;
  }
  static std::string ExampleBody(int corrupt_chunk = -1) {
    std::string body;
    const size_t sizes[] = {65536, 1024, 0};
    for (int i = 0; i < 3; ++i) {
      std::ostringstream line;
      line << std::hex << sizes[i] << ";chunk-signature=" << kChunkSigs[i] << "\r\n";
      body += line.str();
      std::string data(sizes[i], 'a');
      if (i == corrupt_chunk) data[10] = 'b';
      body += data;
      if (sizes[i] > 0) body += "\r\n";
    }
    return body + "\r\n";
  }

  std::string dir_;
};

TEST_F(UploadTest, AwsPublishedStreamingExampleDecodesInAnyPieces) {
  const std::string body = ExampleBody();
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, body.size()}) {
    auto u = Upload::Start(ExampleHead(), ExampleIdentity(), dir_);
    for (size_t off = 0; off < body.size(); off += piece)
      u->Consume(std::string_view(body).substr(off, piece));
    auto err = u->Finish();
    ASSERT_FALSE(err.has_value()) << err->code << ": " << err->message;
    EXPECT_EQ(u->size(), 66560u);
  }
}

TEST_F(UploadTest, ATamperedChunkOrACutBodyIsRefused) {
  auto u = Upload::Start(ExampleHead(), ExampleIdentity(), dir_);
  u->Consume(ExampleBody(/*corrupt_chunk=*/1));
  auto err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "SignatureDoesNotMatch");

  const std::string body = ExampleBody();
  u = Upload::Start(ExampleHead(), ExampleIdentity(), dir_);
  u->Consume(std::string_view(body).substr(0, body.size() - 200));
  err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "IncompleteBody");

  // Chunks without signatures in a signed body.
  u = Upload::Start(ExampleHead(), ExampleIdentity(), dir_);
  u->Consume("5\r\nhello\r\n0\r\n\r\n");
  err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "SignatureDoesNotMatch");
  // Nothing is left behind by failed uploads.
  u.reset();
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(UploadTest, ChecksumsMatchTheirKnownValues) {
  // The check values of each algorithm's catalogue entry, for "123456789".
  auto crc = [](ChecksumAlgorithm a) {
    Checksum c(a);
    c.Update("1234");
    c.Update("56789");
    return c.FinalBase64();
  };
  EXPECT_EQ(crc(ChecksumAlgorithm::kCrc32), "y/Q5Jg==");          // 0xcbf43926
  EXPECT_EQ(crc(ChecksumAlgorithm::kCrc32c), "4waSgw==");         // 0xe3069283
  EXPECT_EQ(crc(ChecksumAlgorithm::kCrc64Nvme), "rosUhgp5mIg=");  // 0xae8b14860a799888
  EXPECT_EQ(crc(ChecksumAlgorithm::kSha1), "98O8HYCOBHMq32eZZczDTKeuNEE=");
  EXPECT_EQ(crc(ChecksumAlgorithm::kSha256), "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=");
}

TEST_F(UploadTest, UnsignedTrailerChecksumIsVerified) {
  http::Request head;
  head.headers = {{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                  {"x-amz-trailer", "x-amz-checksum-crc32"},
                  {"x-amz-decoded-content-length", "9"}};
  auto u = Upload::Start(head, std::nullopt, dir_);
  u->Consume("9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg==\r\n\r\n");
  EXPECT_FALSE(u->Finish().has_value());
  EXPECT_EQ(u->checksum(), "y/Q5Jg==");
  u = Upload::Start(head, std::nullopt, dir_);
  u->Consume("9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
  auto err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "BadDigest");
  // More bytes than x-amz-decoded-content-length announced.
  u = Upload::Start(head, std::nullopt, dir_);
  u->Consume("a\r\n123456789X\r\n0\r\n\r\n");
  err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "IncompleteBody");
}

TEST_F(UploadTest, CommitMakesTheObjectWithItsAttributes) {
  http::Request head;
  // The Content-MD5 of "hello" is XUFAKrxLKna5cZ2REBfFkg==; another one is refused.
  head.headers = {{"Content-MD5", "4vxxTEcn7pOV8yTNLn8zHw=="}};
  auto u = Upload::Start(head, std::nullopt, dir_);
  u->Consume("hello");
  auto err = u->Finish();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "BadDigest");
  head.headers = {{"Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="}};
  u = Upload::Start(head, std::nullopt, dir_);
  u->Consume("hello");
  ASSERT_FALSE(u->Finish().has_value());
  std::filesystem::create_directory(dir_ + "/bucket");
  int dir = ::open((dir_ + "/bucket").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(u->Commit(dir, "obj", ObjectAttrs{"", "text/plain", "x-amz-meta-a:1\n", ""}).ok());
  ::close(dir);
  std::ifstream in(dir_ + "/bucket/obj");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "hello");
  u.reset();  // the committed file stays
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/bucket/obj"));
}

TEST(S3StoreTest, KeysThatCannotBeFilesAreRefused) {
  EXPECT_FALSE(CheckKeyForWrite("2026/12/06/file.jsonl").has_value());
  EXPECT_EQ(CheckKeyForWrite(std::string(1025, 'k'))->code, "KeyTooLongError");
  for (const char* bad : {"", "a/../b", "..", "a//b", "dir/", "./a", "a/.tmp-1", "x.tmp"})
    EXPECT_TRUE(CheckKeyForWrite(bad).has_value()) << bad;
  EXPECT_TRUE(ValidBucketName("my-bucket.1"));
  for (const char* bad : {"ab", "Upper", "a..b", "-a", "a-", "10.0.0.1", "under_score"})
    EXPECT_FALSE(ValidBucketName(bad)) << bad;
}

TEST(S3StoreTest, LifecycleExpiryRoundsUpToMidnight) {
  Bucket b;
  b.lifecycle = {{"r", "logs/", 1, true}, {"off", "", 1, false}};
  const int64_t noon = 1764979200000 + 12 * 3600 * 1000;  // 2025-12-06T12:00Z
  auto at = ExpiryMs(b, "logs/x", noon);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(*at, 1764979200000 + 2 * 86400000LL);          // midnight after a day has passed
  EXPECT_FALSE(ExpiryMs(b, "other/x", noon).has_value());  // the disabled rule counts not
}

TEST(S3XmlTest, ParsesRequestsAndRefusesWhatIsNotPlainXml) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object><Quiet>true</Quiet>"
      "</Delete>");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->name, "Delete");
  ASSERT_EQ(doc->Children("Object").size(), 2u);
  EXPECT_EQ(doc->Children("Object")[0]->Child("Key")->text, "a&b");
  EXPECT_FALSE(ParseXml("<Delete><Object></Delete>").has_value());
  EXPECT_FALSE(ParseXml("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").has_value());
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  for (int i = 0; i < 40; ++i) deep += "</a>";
  EXPECT_FALSE(ParseXml(deep).has_value());
  EXPECT_FALSE(ParseXml("<a/><b/>").has_value());
}

}  // namespace
}  // namespace millrace::s3
