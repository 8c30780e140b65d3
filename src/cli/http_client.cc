#include "cli/http_client.h"

#include <curl/curl.h>

#include <fstream>
#include <memory>
#include <mutex>

#include "common/clock.h"

namespace millrace::cli {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

HttpClient::HttpClient(std::string endpoint, std::optional<auth::Credentials> credentials,
                       std::string region)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      region_(std::move(region)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

Result<HttpAnswer> HttpClient::Send(const std::string& method, const std::string& path,
                                    const std::string& query, const std::string& body) const {
  // http(s)://authority[/base]
  size_t scheme_end = endpoint_.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : endpoint_.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return Status::InvalidArgument("the endpoint must look like http://HOST:PORT, not '" +
                                   endpoint_ + "'");
  std::string rest = endpoint_.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string base = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.empty())
    return Status::InvalidArgument("the endpoint '" + endpoint_ + "' names no host");

  http::Request req;
  req.method = method;
  req.path = base + path;
  req.query = query;
  req.target = req.path + (query.empty() ? "" : "?" + query);
  req.body = body;
  req.headers.push_back({"Host", authority});
  req.headers.push_back({"Accept", "application/json"});
  const bool send_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (send_body) req.headers.push_back({"Content-Type", "application/json"});
  if (credentials_) {
    auth::Signer signer(*credentials_, region_, "millrace");
    (void)signer.Sign(&req, SystemClock::Default()->NowMillis());
  }

  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  if (!h) return Status::Internal("libcurl: cannot create a handle");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&headers](const std::string& line) {
    curl_slist* l = curl_slist_append(headers.get(), line.c_str());  // the head, or null
    if (!l) return false;
    (void)headers.release();
    headers.reset(l);
    return true;
  };
  for (const auto& hd : req.headers)
    if (!add(hd.name + ": " + hd.value)) return Status::Internal("libcurl: out of memory");
  if (!add("Expect:")) return Status::Internal("libcurl: out of memory");
  const std::string url = scheme + "://" + authority + req.target;
  std::string answer_body;
  CURL* c = h.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (send_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer_body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  // Generous: an update may wait for a consumer to finish a write before it restarts.
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    return Status::Unavailable("cannot reach " + endpoint_ + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return HttpAnswer{static_cast<int>(status), std::move(answer_body)};
}

Result<auth::Credentials> ReadCredentialsFile(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read the credentials file " + path);
  auth::Credentials creds;
  bool in_profile = false, found = false;
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = Trim(line.substr(1, line.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = Trim(name.substr(8));  // config-file style
      in_profile = name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") creds.access_key_id = value;
    if (key == "aws_secret_access_key") creds.secret_access_key = value;
    if (key == "aws_session_token") creds.session_token = value;
  }
  if (!found)
    return Status::NotFound("the credentials file " + path + " has no [" + profile + "] profile");
  if (creds.access_key_id.empty() || creds.secret_access_key.empty())
    return Status::InvalidArgument("the [" + profile + "] profile of " + path +
                                   " lacks aws_access_key_id or aws_secret_access_key");
  return creds;
}

}  // namespace millrace::cli
