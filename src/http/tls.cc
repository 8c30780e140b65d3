#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace millrace::http {
namespace {

// A socket BIO of our own: OpenSSL's would do, but cannot tell whether its last read
// drained the socket, so the loop would pay one more read(2), answered EAGAIN, per wake.
struct SocketBio {
  int fd = -1;
  bool drained = false;
};

int BioRead(BIO* b, char* buf, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t n;
  do {
    n = ::read(s->fd, buf, static_cast<size_t>(len));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->drained = true;
      BIO_set_retry_read(b);
    }
    return -1;
  }
  s->drained = n < len;
  return static_cast<int>(n);
}

int BioWrite(BIO* b, const char* buf, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t n;
  do {
    n = ::send(s->fd, buf, static_cast<size_t>(len), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return -1;
  }
  return static_cast<int>(n);
}

long BioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int BioCreate(BIO* b) {
  BIO_set_data(b, new SocketBio());
  BIO_set_init(b, 1);
  return 1;
}

int BioDestroy(BIO* b) {
  delete static_cast<SocketBio*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* SocketBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "millrace socket");
    if (m == nullptr) return m;
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    BIO_meth_set_destroy(m, BioDestroy);
    return m;
  }();
  return method;
}

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
  SSL_CTX_set_read_ahead(ctx, 1);  // one read(2) for what the socket holds, not two per record
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
  BIO_METHOD* method = SocketBioMethod();
  if (method == nullptr) return nullptr;
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  static_cast<SocketBio*>(BIO_get_data(bio))->fd = fd;
  SSL_set_bio(ssl, bio, bio);  // the SSL owns it
  SSL_set_accept_state(ssl);
  return ssl;
}

bool TlsDrained(SSL* ssl) {
  BIO* bio = SSL_get_rbio(ssl);
  if (bio == nullptr || SSL_has_pending(ssl)) return false;
  auto* s = static_cast<SocketBio*>(BIO_get_data(bio));
  return s != nullptr && s->drained;
}

std::string AlpnProtocol(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace millrace::http
