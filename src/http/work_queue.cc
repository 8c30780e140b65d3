#include "http/work_queue.h"

namespace millrace::http {

WorkQueue::WorkQueue(int workers, size_t max_queued, ServeFn serve, RefuseFn refuse)
    : max_queued_(max_queued), serve_(std::move(serve)), refuse_(std::move(refuse)) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

WorkQueue::~WorkQueue() {
  std::deque<Job> left;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    left.swap(queue_);
  }
  for (auto& job : left) job.responder.Send(refuse_(true));
}

void WorkQueue::Submit(Request&& request, Responder responder) {
  Submit(std::move(request), std::move(responder), nullptr);
}

void WorkQueue::Submit(Request&& request, Responder responder, ServeFn serve) {
  std::unique_lock<std::mutex> l(mu_);
  if (stopping_ || queue_.size() >= max_queued_) {
    const bool stopping = stopping_;
    l.unlock();
    return responder.Send(refuse_(stopping));
  }
  queue_.push_back(Job{std::move(request), std::move(responder), std::move(serve)});
  l.unlock();
  cv_.notify_one();
}

void WorkQueue::WorkerLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.responder.Send(job.serve ? job.serve(job.request) : serve_(job.request));
  }
}

}  // namespace millrace::http
