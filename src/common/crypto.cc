#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/encoding.h"

namespace millrace::crypto {

namespace {

// OpenSSL 3's one-shot EVP_Digest/HMAC fetch the algorithm and allocate a context on every
// call, taking global locks; on the request path that cost more than the hashing. So the
// algorithms are fetched once and each thread reuses one digest context.
const EVP_MD* FetchedSha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
const EVP_MD* FetchedMd5() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

EVP_MD_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

template <size_t N>
std::array<uint8_t, N> DigestOf(const EVP_MD* md, std::string_view a, std::string_view b = {}) {
  std::array<uint8_t, N> out;
  EVP_MD_CTX* ctx = ThreadCtx();
  unsigned int len = 0;
  if (!md || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      (!b.empty() && EVP_DigestUpdate(ctx, b.data(), b.size()) != 1) ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1)
    std::abort();  // only if OpenSSL lacks SHA-256/MD5: a broken installation
  return out;
}

}  // namespace

Digest32 Sha256(std::string_view data) { return DigestOf<32>(FetchedSha256(), data); }

std::string Sha256Hex(std::string_view data) {
  Digest32 d = Sha256(data);
  return HexEncode(d.data(), d.size());
}

// HMAC (RFC 2104) over SHA-256: H((K ^ opad) || H((K ^ ipad) || m)).
Digest32 HmacSha256(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  uint8_t k[kBlock] = {0};
  if (key.size() > kBlock) {
    Digest32 kd = Sha256(key);
    std::memcpy(k, kd.data(), kd.size());
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  Digest32 inner = DigestOf<32>(FetchedSha256(), std::string_view(ipad, kBlock), data);
  return DigestOf<32>(FetchedSha256(), std::string_view(opad, kBlock),
                      std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size()));
}

Digest16 Md5(std::string_view data) { return DigestOf<16>(FetchedMd5(), data); }

void RandomBytes(void* out, size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) std::abort();
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- Sealed secrets ----

namespace {
constexpr std::string_view kSealPrefix = "v1:";
constexpr size_t kNonceBytes = 12, kTagBytes = 16;

struct CipherDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter>;
}  // namespace

bool IsSealed(std::string_view value) { return value.substr(0, kSealPrefix.size()) == kSealPrefix; }

std::string Seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (key.size() != 32) std::abort();  // programmer error: the key file is checked on load
  std::string raw(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  RandomBytes(bytes, kNonceBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k, bytes) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes + kNonceBytes, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          bytes + kNonceBytes + plaintext.size()) != 1)
    std::abort();  // only if OpenSSL lacks AES-GCM: a broken installation
  return std::string(kSealPrefix) + Base64Encode(raw);
}

bool Open(std::string_view key, std::string_view sealed, std::string_view aad,
          std::string* plaintext) {
  if (key.size() != 32 || !IsSealed(sealed)) return false;
  std::string raw;
  if (!Base64Decode(sealed.substr(kSealPrefix.size()), &raw) ||
      raw.size() < kNonceBytes + kTagBytes)
    return false;
  const size_t n = raw.size() - kNonceBytes - kTagBytes;
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  std::string out(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k, bytes) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        bytes + kNonceBytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, bytes + kNonceBytes + n) != 1)
    return false;
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin) != 1)
    return false;
  *plaintext = std::move(out);
  return true;
}

}  // namespace millrace::crypto
