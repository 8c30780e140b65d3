// The identity directory: who a signed request is, temporary credentials (sealed session
// tokens) and their failure modes, and the policies of scoped keys.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "auth/sigv4.h"
#include "iam/directory.h"
#include "iam/store.h"

namespace millrace::iam {
namespace {

constexpr char kAccount[] = "111122223333";

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-iam-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto c = catalog::Catalog::Open(dir_ + "/catalog.db");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
    store_ = std::make_unique<IamStore>(catalog_.get(), kAccount);
    dir_obj_ = std::make_unique<Directory>(catalog_.get(), &clock_,
                                           DirectoryOptions{kAccount, "us-east-1"});
  }
  void TearDown() override {
    dir_obj_.reset();
    store_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A user with an inline policy and an access key; returns (id, secret).
  std::pair<std::string, std::string> User(const std::string& name, const std::string& policy) {
    auto u = store_->CreateUser(kAccount, name, "/");
    EXPECT_EQ(u.index(), 0u);
    EXPECT_FALSE(store_->PutInline(false, kAccount, name, "p", policy));
    auto k = store_->CreateAccessKey(kAccount, name);
    EXPECT_EQ(k.index(), 0u);
    dir_obj_->Invalidate();
    const auto& key = std::get<AccessKeyInfo>(k);
    return {key.access_key_id, key.secret};
  }

  http::Request Signed(const auth::Credentials& creds, const std::string& service = "s3") {
    http::Request r;
    r.method = "GET";
    r.target = r.path = "/bucket/key";
    r.headers.push_back({"Host", "localhost"});
    r.remote_address = "127.0.0.1:5000";
    auth::Signer(creds, "us-east-1", service).Sign(&r, clock_.NowMillis());
    return r;
  }

  std::variant<Authenticated, auth::AuthError> Auth(const http::Request& r) {
    auth::VerifyOptions vo;
    vo.service = "s3";
    return dir_obj_->Authenticate(r, vo);
  }

  static auth::AuthErrorKind Kind(const std::variant<Authenticated, auth::AuthError>& v) {
    EXPECT_EQ(v.index(), 1u) << "expected a refusal";
    return v.index() == 1 ? std::get<auth::AuthError>(v).kind
                          : auth::AuthErrorKind::kInvalidSignature;
  }

  std::string dir_;
  ManualClock clock_{1'780'000'000'000};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<IamStore> store_;
  std::unique_ptr<Directory> dir_obj_;
};

const char kReadAll[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]})";

TEST_F(DirectoryTest, UsersSignAsThemselves) {
  auto [id, secret] = User("alice", kReadAll);
  auto r = Auth(Signed({id, secret, ""}));
  ASSERT_EQ(r.index(), 0u) << std::get<auth::AuthError>(r).message;
  const Principal& p = *std::get<Authenticated>(r).principal;
  EXPECT_EQ(p.ref.arn, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(p.username, "alice");
  // The context refers to the request and the principal: both outlive it.
  const http::Request request = Signed({id, secret, ""});
  RequestContext rc = dir_obj_->NewContext(p, request, "s3:GetObject", "arn:aws:s3:::b/k");
  EXPECT_EQ(*rc.Key("aws:username"), "alice");
  EXPECT_EQ(*rc.Key("aws:sourceip"), "127.0.0.1");
  EXPECT_EQ(dir_obj_->Authorize(p, rc, nullptr, kAccount), Decision::kAllow);
  rc.action = "s3:PutObject";
  EXPECT_EQ(dir_obj_->Authorize(p, rc, nullptr, kAccount), Decision::kImplicitDeny);
  // A long-term key with a session token is refused.
  EXPECT_EQ(Kind(Auth(Signed({id, secret, "some-token"}))), auth::AuthErrorKind::kInvalidToken);
  // A deleted key stops working as soon as the directory reloads.
  EXPECT_FALSE(store_->DeleteAccessKey(kAccount, "alice", id));
  dir_obj_->Invalidate();
  EXPECT_EQ(Kind(Auth(Signed({id, secret, ""}))), auth::AuthErrorKind::kUnrecognizedClient);
}

TEST_F(DirectoryTest, SessionTokensCarryTheSessionAndExpire) {
  auto [id, secret] = User("bob", kReadAll);
  RoleDoc role;
  role.account = kAccount;
  role.name = "reader";
  role.trust =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]})";
  ASSERT_EQ(store_->CreateRole(role).index(), 0u);
  ASSERT_FALSE(store_->PutInline(true, kAccount, "reader", "p", kReadAll));
  dir_obj_->Invalidate();
  auto bob = std::get<Authenticated>(Auth(Signed({id, secret, ""}))).principal;
  auto found = dir_obj_->FindRole(kAccount, "reader");
  ASSERT_TRUE(found);
  SessionCredentials s1 = dir_obj_->IssueSession(*bob, &*found, "s1", 900, "", clock_.NowMillis());
  SessionCredentials s2 = dir_obj_->IssueSession(*bob, &*found, "s2", 900, "", clock_.NowMillis());
  EXPECT_TRUE(s1.access_key_id.starts_with("ASIA"));

  auto ok = Auth(Signed({s1.access_key_id, s1.secret_access_key, s1.session_token}));
  ASSERT_EQ(ok.index(), 0u) << std::get<auth::AuthError>(ok).message;
  const Principal& p = *std::get<Authenticated>(ok).principal;
  EXPECT_EQ(p.ref.arn, "arn:aws:sts::111122223333:assumed-role/reader/s1");
  EXPECT_EQ(p.ref.role_arn, "arn:aws:iam::111122223333:role/reader");
  EXPECT_EQ(p.policies.size(), 1u);

  // No token, a token of another session, a tampered token.
  EXPECT_EQ(Kind(Auth(Signed({s1.access_key_id, s1.secret_access_key, ""}))),
            auth::AuthErrorKind::kInvalidToken);
  EXPECT_EQ(Kind(Auth(Signed({s1.access_key_id, s1.secret_access_key, s2.session_token}))),
            auth::AuthErrorKind::kInvalidToken);
  std::string tampered = s1.session_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Kind(Auth(Signed({s1.access_key_id, s1.secret_access_key, tampered}))),
            auth::AuthErrorKind::kInvalidToken);
  // The right token with a wrong secret: the signature fails.
  EXPECT_EQ(Kind(Auth(Signed({s1.access_key_id, s2.secret_access_key, s1.session_token}))),
            auth::AuthErrorKind::kInvalidSignature);

  // Past its expiration (signed at that time, so only the token is stale).
  clock_.Advance(901'000);
  EXPECT_EQ(Kind(Auth(Signed({s1.access_key_id, s1.secret_access_key, s1.session_token}))),
            auth::AuthErrorKind::kExpiredToken);

  // A deleted role's sessions stop at once.
  SessionCredentials s3 = dir_obj_->IssueSession(*bob, &*found, "s3", 900, "", clock_.NowMillis());
  ASSERT_EQ(Auth(Signed({s3.access_key_id, s3.secret_access_key, s3.session_token})).index(), 0u);
  ASSERT_FALSE(store_->DeleteInline(true, kAccount, "reader", "p"));
  ASSERT_FALSE(store_->DeleteRole(kAccount, "reader"));
  dir_obj_->Invalidate();
  EXPECT_EQ(Kind(Auth(Signed({s3.access_key_id, s3.secret_access_key, s3.session_token}))),
            auth::AuthErrorKind::kInvalidToken);
}

TEST_F(DirectoryTest, SessionPoliciesNarrowTheSession) {
  auto [id, secret] = User(
      "carol",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})");
  auto carol = std::get<Authenticated>(Auth(Signed({id, secret, ""}))).principal;
  SessionCredentials s = dir_obj_->IssueSession(
      *carol, nullptr, "", 3600,
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]})",
      clock_.NowMillis());
  auto r = Signed({s.access_key_id, s.secret_access_key, s.session_token});
  auto a = Auth(r);
  ASSERT_EQ(a.index(), 0u);
  const Principal& p = *std::get<Authenticated>(a).principal;
  EXPECT_EQ(p.ref.arn, "arn:aws:iam::111122223333:user/carol");
  EXPECT_TRUE(p.temporary());
  RequestContext rc = dir_obj_->NewContext(p, r, "s3:GetObject", "arn:aws:s3:::b/k");
  EXPECT_EQ(dir_obj_->Authorize(p, rc, nullptr, kAccount), Decision::kAllow);
  rc.action = "s3:PutObject";
  EXPECT_EQ(dir_obj_->Authorize(p, rc, nullptr, kAccount), Decision::kImplicitDeny);
}

TEST_F(DirectoryTest, ScopedKeysArePolicies) {
  catalog::KeyRow k;
  k.access_key_id = "MRKAPRODUCER0000";
  k.secret = "producer-secret";
  k.scope = "producer";
  k.streams = {"orders"};
  ASSERT_TRUE(catalog_->CreateKey(k).ok());
  dir_obj_->Invalidate();
  http::Request r = Signed({k.access_key_id, k.secret, ""});
  auth::VerifyOptions vo;
  vo.service = "s3";
  auto a = dir_obj_->Authenticate(r, vo);
  ASSERT_EQ(a.index(), 0u);
  const Principal& p = *std::get<Authenticated>(a).principal;
  auto decide = [&](const std::string& action, const std::string& stream) {
    RequestContext rc = dir_obj_->NewContext(
        p, r, action, "arn:aws:kinesis:us-east-1:111122223333:stream/" + stream);
    return dir_obj_->Authorize(p, rc, nullptr, kAccount);
  };
  EXPECT_EQ(decide("kinesis:PutRecord", "orders"), Decision::kAllow);
  EXPECT_EQ(decide("kinesis:ListShards", "orders"), Decision::kAllow);
  EXPECT_EQ(decide("kinesis:GetRecords", "orders"), Decision::kImplicitDeny);
  EXPECT_EQ(decide("kinesis:PutRecord", "payments"), Decision::kImplicitDeny);
  EXPECT_EQ(decide("kinesis:DeleteStream", "orders"), Decision::kImplicitDeny);
}

TEST(Names, AsIamAllowsThem) {
  EXPECT_TRUE(ValidIamName("share-acme_1+=,.@", 64));
  EXPECT_FALSE(ValidIamName("", 64));
  EXPECT_FALSE(ValidIamName("a/b", 64));
  EXPECT_FALSE(ValidIamName(std::string(65, 'a'), 64));
  EXPECT_EQ(RoleArn("1", "/a/", "r"), "arn:aws:iam::1:role/a/r");
}

}  // namespace
}  // namespace millrace::iam
