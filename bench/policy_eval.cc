// policy_eval: how long authorization takes, in process (issue #14's target: < 5 us for a
// principal with 10 policies of 10 statements).
//
//   policy_eval [--iterations N] [--json-out FILE]
//
// Three measurements, each the median of 15 runs of N evaluations:
//   evaluate     iam::Evaluate over 10 identity policies x 10 statements (wildcard actions,
//                ARN patterns with ${aws:username}, a StringLike / IpAddress / DateLessThan
//                condition on most statements), for a request the last statement allows:
//                every statement is looked at.
//   deny         the same policies, a request none allows.
//   wide         an action 90 statements name, on a resource none of them matches: each of
//                the 90 is evaluated down to its resources and conditions (the worst case).
//   request      what a service does per request: Directory::NewContext (the global
//                condition keys: source IP, time, principal) + Directory::Authorize.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "iam/directory.h"
#include "iam/policy.h"

namespace millrace::bench {
namespace {

std::string PolicyDoc(int p) {
  std::string s = "{\"Version\":\"2012-10-17\",\"Statement\":[";
  for (int i = 0; i < 10; ++i) {
    if (i) s += ",";
    const bool last = p == 9 && i == 9;
    s += "{\"Sid\":\"S" + std::to_string(p) + "x" + std::to_string(i) + "\",\"Effect\":\"Allow\",";
    s += last ? "\"Action\":[\"s3:GetObject\",\"s3:GetObjectVersion\"],"
              : "\"Action\":[\"kinesis:Describe*\",\"s3:List*\",\"sqs:Send" + std::to_string(i) +
                    "*\"],";
    s += "\"Resource\":[\"arn:aws:s3:::bucket-" + std::to_string(p) + "/home/${aws:username}/*\"," +
         "\"arn:aws:s3:::exports/" + (last ? std::string("acme") : "c" + std::to_string(i)) +
         "/*\"]";
    if (i % 3 == 0)
      s += ",\"Condition\":{\"StringLike\":{\"aws:userid\":[\"AIDA*\",\"AROA*\"]}}";
    else if (i % 3 == 1)
      s += ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"127.0.0.0/8\",\"10.0.0.0/8\"]}}";
    else
      s += ",\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"}}";
    s += "}";
  }
  return s + "]}";
}

template <typename F>
double MedianNanos(int iterations, F&& f) {
  std::vector<double> runs;
  for (int r = 0; r < 15; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) f();
    auto t1 = std::chrono::steady_clock::now();
    runs.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / iterations);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

int Main(int argc, char** argv) {
  int iterations = 20000;
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--iterations")
      iterations = std::atoi(argv[i + 1]);
    else if (a == "--json-out")
      json_out = argv[i + 1];
  }
  std::vector<iam::PolicyPtr> policies;
  for (int p = 0; p < 10; ++p) {
    auto parsed = iam::Policy::Parse(PolicyDoc(p), false);
    if (!parsed.ok()) {
      std::fprintf(stderr, "policy_eval: %s\n", parsed.status().ToString().c_str());
      return 1;
    }
    policies.push_back(*parsed);
  }
  iam::PolicySet set;
  for (auto& p : policies) set.identity.push_back(p.get());
  set.resource_account = "000000000000";
  iam::RequestContext allow;
  allow.action = "s3:GetObject";
  allow.resource = "arn:aws:s3:::exports/acme/2026/12/06/part-0001.json";
  allow.principal = {"000000000000", "arn:aws:iam::000000000000:user/acme", "", false};
  allow.keys = {{"aws:username", "acme"},
                {"aws:userid", "AIDAEXAMPLE"},
                {"aws:sourceip", "127.0.0.1"},
                {"aws:currenttime", "2026-12-06T03:00:00Z"}};
  iam::RequestContext deny = allow;
  deny.resource = "arn:aws:s3:::exports/globex/2026/12/06/part-0001.json";
  // The worst case: an action 90 of the 100 statements name (s3:List*), on a resource none
  // of them matches, so that every one of those is looked at down to its resources (with
  // ${aws:username} expanded) and conditions.
  iam::RequestContext wide = allow;
  wide.action = "s3:ListBucket";
  wide.resource = "arn:aws:s3:::elsewhere";
  if (iam::Evaluate(set, allow) != iam::Decision::kAllow ||
      iam::Evaluate(set, deny) != iam::Decision::kImplicitDeny) {
    std::fprintf(stderr, "policy_eval: the benchmark's policies do not decide as designed\n");
    return 1;
  }
  volatile int sink = 0;
  double evaluate =
      MedianNanos(iterations, [&] { sink += static_cast<int>(iam::Evaluate(set, allow)); });
  double denied =
      MedianNanos(iterations, [&] { sink += static_cast<int>(iam::Evaluate(set, deny)); });
  double widest =
      MedianNanos(iterations, [&] { sink += static_cast<int>(iam::Evaluate(set, wide)); });

  // The per-request path of a service, through a Directory over a scratch catalog.
  std::string dir = std::filesystem::temp_directory_path() / "millrace-policy-eval-XXXXXX";
  if (!::mkdtemp(dir.data())) return 1;
  auto catalog = catalog::Catalog::Open(dir + "/catalog.db");
  if (!catalog.ok()) return 1;
  iam::Directory directory(catalog->get(), SystemClock::Default(), {});
  iam::Principal principal;
  principal.ref = allow.principal;
  principal.username = "acme";
  principal.user_id = "AIDAEXAMPLE";
  principal.policies = policies;
  http::Request req;
  req.remote_address = "127.0.0.1:40000";
  double request = MedianNanos(iterations, [&] {
    iam::RequestContext rc = directory.NewContext(principal, req, "s3:GetObject", allow.resource);
    sink += static_cast<int>(directory.Authorize(principal, rc, nullptr, "000000000000"));
  });
  std::filesystem::remove_all(dir);

  std::printf("policy_eval: 10 policies x 10 statements, median of 15 x %d\n", iterations);
  std::printf("  evaluate (allowed by the last statement)  %8.0f ns\n", evaluate);
  std::printf("  evaluate (denied: no statement allows)    %8.0f ns\n", denied);
  std::printf("  evaluate (90 statements name the action)  %8.0f ns\n", widest);
  std::printf("  per request (context + authorize)         %8.0f ns\n", request);
  if (!json_out.empty()) {
    if (FILE* f = std::fopen(json_out.c_str(), "a")) {
      std::fprintf(f,
                   "{\"bench\":\"policy_eval\",\"policies\":10,\"statements\":10,"
                   "\"evaluate_allow_ns\":%.0f,\"evaluate_deny_ns\":%.0f,\"evaluate_wide_ns\":%.0f,"
                   "\"request_ns\":%.0f}\n",
                   evaluate, denied, widest, request);
      std::fclose(f);
    }
  }
  return 0;
}

}  // namespace
}  // namespace millrace::bench

int main(int argc, char** argv) { return millrace::bench::Main(argc, argv); }
