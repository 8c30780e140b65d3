#include "objstore/http_client.h"

#include <curl/curl.h>

#include <chrono>
#include <cstring>
#include <memory>

namespace millrace::objstore {
namespace {

constexpr size_t kMaxIdleHandles = 16;

void GlobalInit() {
  // curl_global_init is not thread-safe against other libcurl calls; run it once, before
  // any handle exists. Never cleaned up: the process keeps libcurl until it exits.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after a 1xx): forget earlier headers
    response->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;  // the blank line
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  response->headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  return size * n;
}

// Stall detection: the transfer is aborted once neither counter has moved for timeout_ms.
// (libcurl's LOW_SPEED_* options average over a window of several seconds, so a stalled
// upload that had moved many bytes would linger long past the timeout.) libcurl calls this
// often while data moves and about once a second while none does.
struct Progress {
  std::chrono::steady_clock::time_point last_move;
  curl_off_t up = 0, down = 0;
  int timeout_ms = 0;
  bool stalled = false;
};

int OnProgress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* p = static_cast<Progress*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (up != p->up || down != p->down) {
    p->up = up;
    p->down = down;
    p->last_move = now;
    return 0;
  }
  if (now - p->last_move < std::chrono::milliseconds(p->timeout_ms)) return 0;
  p->stalled = true;
  return 1;  // abort: CURLE_ABORTED_BY_CALLBACK
}

bool IsTransient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// Frees a curl_slist on scope exit.
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

const std::string* HttpResponse::FindHeader(std::string_view name) const {
  for (const http::Header& h : headers)
    if (http::EqualsIgnoreCase(h.name, name)) return &h.value;
  return nullptr;
}

HttpClient::HttpClient(int timeout_ms) : timeout_ms_(timeout_ms) { GlobalInit(); }

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::Acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      // Back to default options; the handle keeps its live connections and TLS sessions.
      curl_easy_reset(static_cast<CURL*>(h));
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::Release(void* handle) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  CURL* h = static_cast<CURL*>(Acquire());
  if (h == nullptr) return Status::Internal("curl_easy_init failed");

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      headers.release();
      headers.reset(next);
    }
  };
  bool has_content_type = false;
  for (const http::Header& hd : request.headers) {
    add_header(hd.name + ": " + hd.value);
    has_content_type |= http::EqualsIgnoreCase(hd.name, "Content-Type");
  }
  add_header("Expect:");  // no 100-continue round trip: S3 answers errors after the body
  const bool sends_body = request.method == "PUT" || request.method == "POST";
  // libcurl labels a body it posts as a form unless told otherwise; send no type instead.
  if (sends_body && !has_content_type) add_header("Content-Type:");

  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  Progress progress;
  progress.last_move = std::chrono::steady_clock::now();
  progress.timeout_ms = timeout_ms_;
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85 replaced the bitmask with a string
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);    // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys may hold "." and ".." segments
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &progress);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (sends_body) {
    // Sent from the caller's buffer, not copied (the buffer outlives this call).
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }

  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  // The handle must not point at this frame's header list and buffers any more.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  Release(h);

  if (rc != CURLE_OK) {
    std::string what = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (progress.stalled)
      what = "no byte moved for " + std::to_string(timeout_ms_) + " ms (timeout_ms)";
    std::string msg = request.method + " " + request.url + ": " + what;
    if (IsTransient(rc) || progress.stalled) return Status::Unavailable(std::move(msg));
    return Status::IoError(std::move(msg));
  }
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace millrace::objstore
