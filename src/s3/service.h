// S3Service: the S3 API on the server's port (docs/s3-api.md), for requests signed for the
// SigV4 service "s3". A local dataset is a bucket (delivery::BucketOf names it); its files
// are the bucket's objects. Path-style addressing ("/bucket/key").
//
// What is served today: ListBuckets, HeadBucket, GetBucketLocation, ListObjects (v1),
// ListObjectsV2, ListObjectVersions (unversioned), HeadObject and GetObject (Range; If-Match,
// If-None-Match, If-Modified-Since, If-Unmodified-Since). Everything else answers AWS's
// NotImplemented, naming the operation. Access: an admin key reads every bucket; a bucket-read key
// (`millrace keys create --scope bucket-read --bucket B`) lists and reads its buckets only
// and sees only them in ListBuckets; other keys get AccessDenied. (Policies come with the
// access issue, #14.)
//
// Requests are authenticated before anything else (CheckHead, before a body is read;
// Verify on the whole request), then served on the service's own worker threads: object
// reads do not stall the event loops. Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "http/message.h"
#include "http/work_queue.h"
#include "iam/directory.h"
#include "iam/store.h"

namespace millrace::s3 {

struct ServiceOptions {
  std::string data_dir;  // local datasets are under <data_dir>/datasets/<name>/
  std::string region = "us-east-1";
  bool auth = true;
  // Requests served at once: uploads spend most of their time in fsync, so more than cores.
  int workers = 8;
  // How often lifecycle rules are carried out (expired objects deleted); 0: never. Expired
  // objects are invisible at once either way.
  int64_t lifecycle_interval_ms = 60000;
  // Set ("s3.example.internal"): a request to Host <bucket>.<domain> is virtual-hosted
  // style (the path is the key). Path-style requests are served either way.
  std::string domain;
};

class BucketCache;     // service.cc
class MultipartStore;  // store.h
struct Context;        // service.cc

class S3Service {
 public:
  S3Service(catalog::Catalog* catalog, iam::Directory* directory, iam::IamStore* iam,
            const Clock* clock, ServiceOptions options);
  ~S3Service();  // answers what is still queued with 503
  S3Service(const S3Service&) = delete;
  S3Service& operator=(const S3Service&) = delete;

  // Whether the request is signed for service "s3" (Authorization header or presigned
  // X-Amz-Credential) and is no Kinesis call (no X-Amz-Target).
  static bool Handles(const http::Request& req);
  // Authentication of a request's head, before its body is read.
  std::optional<http::Response> CheckHead(const http::Request& head) const;
  void Handle(http::Request&& request, http::Responder responder);
  // For the server's body diversion (http::ServerOptions::body_diversion): the Upload that
  // takes a PutObject's or UploadPart's body to disk as it arrives, or nullptr to buffer
  // it. Runs on a loop thread after CheckHead let the head through.
  std::shared_ptr<http::BodyConsumer> DivertBody(const http::Request& head);
  // Deletes what lifecycle rules expired; how many objects. (The sweeper thread calls it.)
  size_t SweepOnce();

  // The serving itself, on the calling thread (for tests).
  http::Response Serve(const http::Request& request);

 private:
  catalog::Catalog* const catalog_;
  iam::Directory* const directory_;
  const Clock* const clock_;
  const ServiceOptions options_;
  void SweepLoop();

  std::unique_ptr<BucketCache> buckets_;
  std::unique_ptr<MultipartStore> multipart_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<http::WorkQueue> queue_;  // made after everything it serves with
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;  // GUARDED_BY(sweep_mu_)
  std::thread sweeper_;
};

}  // namespace millrace::s3
