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

}  // namespace millrace::crypto
