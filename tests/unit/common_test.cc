// common/: base64 (RFC 4648 vectors and round trips), CRC-32C, varints, JSON quoting.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/crc32c.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/request_id.h"
#include "common/uint128.h"

namespace millrace {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(plain[i]), coded[i]);
    std::string out;
    ASSERT_TRUE(Base64Decode(coded[i], &out));
    EXPECT_EQ(out, plain[i]);
    EXPECT_TRUE(Base64Valid(coded[i]));
    EXPECT_EQ(Base64DecodedLength(coded[i]), std::string(plain[i]).size());
  }
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::mt19937 rng(42);
  for (size_t n = 0; n < 300; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    std::string enc = Base64Encode(s), dec;
    ASSERT_TRUE(Base64Decode(enc, &dec));
    EXPECT_EQ(dec, s);
  }
}

TEST(Base64, RejectsMalformed) {
  std::string out;
  EXPECT_FALSE(Base64Decode("abc", &out));
  EXPECT_FALSE(Base64Decode("ab!d", &out));
  EXPECT_FALSE(Base64Valid("ab!d"));
  EXPECT_FALSE(Base64Valid("abc"));
  // Every byte at every position of a valid text: Base64Valid agrees with Base64Decode.
  const std::string good = "QUJDREVGR0hJSktMTU5PUA==";
  for (size_t at = 0; at < good.size(); ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string t = good;
      t[at] = static_cast<char>(b);
      std::string decoded;
      EXPECT_EQ(Base64Valid(t), Base64Decode(t, &decoded)) << at << " " << b;
    }
  }
}

TEST(Hex, RoundTripsAndRejectsMalformed) {
  std::string every;
  for (int i = 0; i < 256; ++i) every.push_back(static_cast<char>(i));
  std::string back;
  ASSERT_TRUE(HexDecode(HexEncode(every), &back));
  EXPECT_EQ(back, every);
  ASSERT_TRUE(HexDecode("ABcd", &back));
  EXPECT_EQ(back, "\xab\xcd");
  EXPECT_FALSE(HexDecode("abc", &back));  // odd length
  EXPECT_FALSE(HexDecode("zz", &back));
  EXPECT_FALSE(HexDecode("0x", &back));
}

TEST(Crc32c, KnownValues) {
  // From RFC 3720 (iSCSI) B.4: 32 bytes of zeros.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xe3069283u);
  uint32_t c = crc32c::Value("hello", 5);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(c)), c);
}

TEST(Varint, RoundTrips) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 40, ~0ull}) {
    std::string s;
    PutVarint64(&s, v);
    const char* p = s.data();
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&p, s.data() + s.size(), &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_EQ(UnZigZag(ZigZag(-5)), -5);
}

TEST(JsonWriter, EscapesAndSeparates) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.String("q\"\\\n\x01");
  w.Key("b");
  w.BeginArray();
  w.Int(1);
  w.Bool(false);
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out, "{\"a\":\"q\\\"\\\\\\n\\u0001\",\"b\":[1,false,null]}");
}

TEST(HashKey, Md5OfPartitionKeyAsBigEndianInteger) {
  // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
  EXPECT_EQ(Uint128ToDecimal(HashKeyOfPartitionKey("a")), "16955237001963240173058271559858726497");
  EXPECT_EQ(crypto::Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, SealedSecretsOpenOnlyWithTheirKeyAndAad) {
  const std::string key(32, 'k'), other(32, 'o');
  std::string sealed = crypto::Seal(key, "wJalrXUtnFEMI/K7MDENG", "AKID1");
  EXPECT_TRUE(crypto::IsSealed(sealed));
  EXPECT_EQ(sealed.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_NE(crypto::Seal(key, "wJalrXUtnFEMI/K7MDENG", "AKID1"), sealed);  // a fresh nonce
  std::string plain;
  ASSERT_TRUE(crypto::Open(key, sealed, "AKID1", &plain));
  EXPECT_EQ(plain, "wJalrXUtnFEMI/K7MDENG");
  EXPECT_FALSE(crypto::Open(other, sealed, "AKID1", &plain));  // another key file
  EXPECT_FALSE(crypto::Open(key, sealed, "AKID2", &plain));    // moved to another row
  std::string tampered = sealed;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(crypto::Open(key, tampered, "AKID1", &plain));
  EXPECT_FALSE(crypto::Open(key, "plain-text", "AKID1", &plain));
  EXPECT_FALSE(crypto::Open(key, "v1:", "AKID1", &plain));
}

TEST(Encoding, AbbreviateCutsAtACharacterBoundary) {
  EXPECT_EQ(Abbreviate("short", 10), "short");
  EXPECT_EQ(Abbreviate(std::string(300, 'a')), std::string(256, 'a') + "...");
  EXPECT_EQ(Abbreviate("ab\xc3\xa9", 3), "ab...");  // never half of the two-byte e-acute
}

// The request id is a version 4 UUID: 8-4-4-4-12 lowercase hex, '4' then 8-b where the
// version and variant go; every one different.
TEST(RequestId, IsARandomVersion4Uuid) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u) << id;
    for (size_t j = 0; j < id.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        ASSERT_EQ(id[j], '-') << id;
      } else {
        ASSERT_TRUE((id[j] >= '0' && id[j] <= '9') || (id[j] >= 'a' && id[j] <= 'f')) << id;
      }
    }
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace millrace
