// The KMS key store: keys and aliases kept in the catalog (the material sealed, never in
// plain text), the states a key goes through, and its deletion once the waiting period
// has passed, after which what it sealed is unreadable for good.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "kms/key_store.h"

namespace millrace::kms {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-kms-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(Reopen());
  }
  void TearDown() override {
    keys_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }
  [[nodiscard]] bool Reopen() {
    keys_.reset();
    catalog_.reset();
    auto c = catalog::Catalog::Open(dir_ + "/catalog.db");
    if (!c.ok()) return false;
    catalog_ = std::move(*c);
    auto k = KeyStore::Open(catalog_.get(), &clock_, "111122223333", "eu-west-1");
    if (!k.ok()) {
      ADD_FAILURE() << k.status().ToString();
      return false;
    }
    keys_ = std::move(*k);
    return true;
  }

  std::string dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(KeyStoreTest, UuidsRoundTrip) {
  auto bytes = UuidBytes("1234abcd-12ab-34cd-56ef-1234567890ab");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 16u);
  EXPECT_EQ(UuidText(*bytes), "1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_FALSE(UuidBytes("1234abcd-12ab-34cd-56ef-1234567890a"));
  EXPECT_FALSE(UuidBytes("1234abcd+12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(UuidBytes("1234abcd-12ab-34cd-56ef-1234567890ag"));
}

TEST_F(KeyStoreTest, KeysAndAliasesResolveByEveryNameAndSurviveAReopen) {
  auto k = keys_->CreateKey("d");
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(keys_->CreateAlias("alias/a", k->id).ok());
  for (const std::string& ref :
       {k->id, keys_->KeyArn(k->id), std::string("alias/a"), keys_->AliasArn("alias/a")}) {
    auto d = keys_->Describe(ref);
    ASSERT_TRUE(d.ok()) << ref;
    EXPECT_EQ(d->id, k->id);
  }
  EXPECT_EQ(keys_->Describe("arn:aws:kms:us-east-1:111122223333:key/" + k->id).status().type(),
            "NotFoundException");  // another region's
  EXPECT_EQ(keys_->CreateAlias("alias/a", k->id).type(), "AlreadyExistsException");
  auto seal = keys_->KeyForStreams("alias/a");
  ASSERT_TRUE(seal.ok());
  auto before = keys_->SealKeyFor(*seal);
  ASSERT_TRUE(before.ok());
  // The material is in the catalog only sealed.
  std::ifstream in(dir_ + "/catalog.db", std::ios::binary);
  std::string db((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(db.find((*before)->material), std::string::npos);

  ASSERT_TRUE(Reopen());
  auto after = keys_->SealKeyFor(*seal);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->material, (*before)->material);
  EXPECT_EQ(keys_->Describe("alias/a")->id, k->id);
}

TEST_F(KeyStoreTest, StatesRefuseUseWithKinesisExceptions) {
  auto k = keys_->CreateKey("");
  ASSERT_TRUE(k.ok());
  const std::string id = keys_->KeyForStreams(k->id).value();
  ASSERT_TRUE(keys_->SetEnabled(k->id, false).ok());
  EXPECT_EQ(keys_->SealKeyFor(id).status().type(), "KMSDisabledException");
  EXPECT_EQ(keys_->KeyForStreams(k->id).status().type(), "KMSDisabledException");
  ASSERT_TRUE(keys_->ScheduleDeletion(k->id, 7).ok());
  EXPECT_EQ(keys_->SealKeyFor(id).status().type(), "KMSInvalidStateException");
  EXPECT_EQ(keys_->SetEnabled(k->id, true).status().type(), "KMSInvalidStateException");
  auto cancelled = keys_->CancelDeletion(k->id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, "Disabled");
  EXPECT_EQ(keys_->KeyForStreams("alias/nothing").status().type(), "KMSNotFoundException");
}

TEST_F(KeyStoreTest, ADeletedKeyIsGoneForGoodOnceItsDateHasPassed) {
  auto k = keys_->CreateKey("");
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(keys_->CreateAlias("alias/doomed", k->id).ok());
  const std::string id = keys_->KeyForStreams(k->id).value();
  ASSERT_TRUE(keys_->ScheduleDeletion(k->id, 7).ok());
  clock_.Advance(7 * kDayMs - 1);
  ASSERT_TRUE(Reopen());  // still pending: kept
  EXPECT_EQ(keys_->SealKeyFor(id).status().type(), "KMSInvalidStateException");
  clock_.Advance(1);
  // Refused at once, before anything sweeps it...
  EXPECT_EQ(keys_->SealKeyFor(id).status().type(), "KMSNotFoundException");
  // ...and deleted, aliases and material, at the next look.
  EXPECT_EQ(keys_->Describe(k->id).status().type(), "NotFoundException");
  EXPECT_TRUE(keys_->ListAliases(std::nullopt)->empty());
  ASSERT_TRUE(Reopen());
  EXPECT_EQ(keys_->SealKeyFor(id).status().type(), "KMSNotFoundException");
  EXPECT_TRUE(keys_->ListKeys().empty());
  auto docs = catalog_->ListDocs(catalog::DocKind::kKmsKey);
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
}

TEST_F(KeyStoreTest, TheKinesisManagedKeyIsMadeOnFirstUseAndCannotBeDisabled) {
  EXPECT_TRUE(keys_->ListKeys().empty());
  auto id = keys_->KeyForStreams("alias/aws/kinesis");
  ASSERT_TRUE(id.ok());
  auto d = keys_->Describe("alias/aws/kinesis");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->manager, "AWS");
  EXPECT_EQ(keys_->KeyForStreams("alias/aws/kinesis").value(), *id);  // one, not one per call
  EXPECT_EQ(keys_->SetEnabled("alias/aws/kinesis", false).status().type(), "AccessDeniedException");
  EXPECT_EQ(keys_->Describe("alias/aws/other").status().type(), "NotFoundException");
}

TEST_F(KeyStoreTest, KeysAndAliasesAreBoundedAsKmsQuotasAre) {
  keys_->SetLimitsForTest(2, 1);
  auto a = keys_->CreateKey("");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(keys_->CreateKey("").ok());
  EXPECT_EQ(keys_->CreateKey("").status().type(), "LimitExceededException");
  // The managed key is a key too.
  EXPECT_EQ(keys_->KeyForStreams("alias/aws/kinesis").status().type(), "LimitExceededException");
  ASSERT_TRUE(keys_->CreateAlias("alias/one", a->id).ok());
  EXPECT_EQ(keys_->CreateAlias("alias/two", a->id).type(), "LimitExceededException");
  ASSERT_TRUE(keys_->UpdateAlias("alias/one", a->id).ok());  // updating adds none
}

}  // namespace
}  // namespace millrace::kms
