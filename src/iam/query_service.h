// STS and IAM over AWS's query protocol: a form-encoded POST (or a GET with the same
// parameters in the query) naming an Action, answered in XML in the service's namespace
// (docs/iam.md lists the actions). Signed for "sts" or "iam"; every action authenticates
// first, then is authorized by the directory's evaluator with IAM's action names
// (sts:AssumeRole is authorized by the role's trust policy, across accounts by both sides).
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "http/message.h"
#include "http/work_queue.h"
#include "iam/directory.h"
#include "iam/store.h"

namespace millrace::iam {

class QueryService {
 public:
  QueryService(Directory* directory, IamStore* store, const Clock* clock, bool auth);
  ~QueryService();

  // A request for STS or IAM: signed for either, or a form-encoded POST without a Kinesis
  // X-Amz-Target.
  static bool Handles(const http::Request& req);
  std::optional<http::Response> CheckHead(const http::Request& head);
  void Handle(http::Request&& request, http::Responder responder);

  http::Response Serve(const http::Request& req);

 private:
  Directory* const directory_;
  IamStore* const store_;
  const Clock* const clock_;
  const bool auth_;
  std::mutex write_mu_;  // IAM's changes, one at a time
  std::unique_ptr<http::WorkQueue> queue_;
};

}  // namespace millrace::iam
