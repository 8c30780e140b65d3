// TLS for the HTTP server (OpenSSL): a certificate and key loaded from PEM files, ALPN
// choosing "h2" when the client offers it (else "http/1.1"), and a reload that swaps in new
// files for the connections that come after it (SIGHUP; a failed reload keeps the old pair).
//
// Thread-safe: NewSsl from any loop thread, Reload from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace millrace::http {

class TlsContext {
 public:
  // Loads the certificate chain and private key (PEM); an error says which file and why.
  static Result<std::shared_ptr<TlsContext>> Load(std::string cert_path, std::string key_path);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Reads both files again; on success, new connections use them.
  Status Reload();
  // A server-side SSL for the accepted socket `fd` (nullptr when OpenSSL fails). It reads
  // ahead (as many bytes as the socket holds, in one read(2)) and sends with MSG_NOSIGNAL.
  SSL* NewSsl(int fd);

 private:
  TlsContext(std::string cert_path, std::string key_path)
      : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)) {}
  static Result<SSL_CTX*> Build(const std::string& cert_path, const std::string& key_path);

  const std::string cert_path_, key_path_;
  std::mutex mu_;
  SSL_CTX* ctx_ = nullptr;  // guarded by mu_; each SSL holds its own reference
};

// Whether the last read(2) under `ssl` found the socket drained (a short read or EAGAIN)
// and OpenSSL holds no bytes it has not returned: with edge-triggered epoll, the socket
// then needs no read until its next event.
bool TlsDrained(SSL* ssl);

// The protocol ALPN chose for `ssl` ("h2", "http/1.1"), or empty.
std::string AlpnProtocol(const SSL* ssl);

}  // namespace millrace::http
