#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>

namespace millrace::http {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Prefers h2, then http/1.1; a client offering neither gets no ALPN (and HTTP/1.1).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kOurs[] = "\x02h2\x08http/1.1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kOurs, sizeof(kOurs) - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

Result<SSL_CTX*> TlsContext::Build(const std::string& cert_path, const std::string& key_path) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::Internal("TLS: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    std::string why = OpenSslError();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument("tls-cert " + cert_path + ": " + why);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string why = OpenSslError();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument("tls-key " + key_path + ": " + why);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    std::string why = OpenSslError();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument("tls-key " + key_path + " does not match tls-cert " + cert_path +
                                   ": " + why);
  }
  return ctx;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Load(std::string cert_path, std::string key_path) {
  std::shared_ptr<TlsContext> t(new TlsContext(std::move(cert_path), std::move(key_path)));
  MILLRACE_RETURN_IF_ERROR(t->Reload());
  return t;
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

Status TlsContext::Reload() {
  Result<SSL_CTX*> built = Build(cert_path_, key_path_);
  if (!built.ok()) return built.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (ctx_) SSL_CTX_free(ctx_);  // connections that hold it keep their own reference
  ctx_ = *built;
  return Status::Ok();
}

SSL* TlsContext::NewSsl(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

std::string AlpnProtocol(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace millrace::http
