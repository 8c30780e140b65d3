// WorkQueue: requests served off the event loops by a few worker threads of their own (the
// control API's catalog writes, the S3 API's file reads), in arrival order, with a bound:
// past `max_queued` waiting requests, or once stopping, a request gets `refuse`'s answer at
// once instead of waiting.
//
// Thread-safe. The destructor stops: the request being served finishes, those still
// queued are answered with refuse(/*stopping=*/true).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"
#include "http/message.h"

namespace millrace::http {

class WorkQueue {
 public:
  using ServeFn = std::function<Response(const Request&)>;
  using RefuseFn = std::function<Response(bool stopping)>;

  // `serve` runs on the workers; it and `refuse` must stay valid until destruction.
  WorkQueue(int workers, size_t max_queued, ServeFn serve, RefuseFn refuse);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Submit(Request&& request, Responder responder);
  // The same, served by `serve` instead of the queue's own (another service's requests
  // that must run in the same order as this queue's).
  void Submit(Request&& request, Responder responder, ServeFn serve);

 private:
  struct Job {
    Request request;
    Responder responder;
    ServeFn serve;  // empty: serve_
  };
  void WorkerLoop();

  const size_t max_queued_;
  const ServeFn serve_;
  const RefuseFn refuse_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // started last in the constructor
};

}  // namespace millrace::http
