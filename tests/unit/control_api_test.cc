// Unit tests of the control API: ControlApi::Handle driven with http::Request values, on a
// real (temporary) catalog, stream manager and delivery manager, with a manual clock.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>

#include <filesystem>
#include <future>

#include "auth/sigv4.h"
#include "common/encoding.h"
#include "control/api.h"
#include "control/history.h"
#include "control/json_util.h"
#include "control_test_util.h"

namespace millrace::control {
namespace {

http::Request MakeRequest(std::string method, std::string target, std::string body = "") {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  r.body = std::move(body);
  r.headers.push_back({"Host", "127.0.0.1:4580"});
  if (!r.body.empty()) r.headers.push_back({"Content-Type", "application/json"});
  return r;
}

bool BoolAt(const Reply& r, std::string_view pointer) {
  bool b = false;
  EXPECT_EQ(r.At(pointer).get(b), simdjson::SUCCESS) << pointer << " in " << r.body;
  return b;
}

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-control-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto c = catalog::Catalog::Open(dir_ + "/catalog.db");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
    streams::ManagerOptions o;
    o.data_dir = dir_;
    o.transition_ms = 0;
    o.clock = &clock_;
    o.catalog = catalog_.get();
    auto m = streams::StreamManager::Open(o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    streams_ = std::move(*m);
    delivery_ =
        std::make_unique<delivery::DeliveryManager>(catalog_.get(), streams_.get(), dir_, &clock_);
    keys_ = std::make_unique<iam::Directory>(catalog_.get(), &clock_, iam::DirectoryOptions{});
    api_ = std::make_unique<ControlApi>(catalog_.get(), streams_.get(), delivery_.get(),
                                        keys_.get(), /*auth_enabled=*/false);
  }
  void TearDown() override {
    api_.reset();
    delivery_.reset();
    keys_.reset();
    streams_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Reply> Send(ControlApi& api, http::Request req) {
    auto sink = std::make_shared<Capture>();
    auto answer = sink->promise.get_future();
    api.Handle(std::move(req), http::Responder(sink));
    http::Response r = answer.get();
    auto reply = std::make_unique<Reply>();
    reply->status = r.status;
    reply->body = std::move(r.body);
    EXPECT_EQ(reply->parser.parse(reply->body).get(reply->root), simdjson::SUCCESS)
        << "not JSON: " << reply->body;
    return reply;
  }
  std::unique_ptr<Reply> Call(std::string method, std::string target, std::string body = "") {
    return Send(*api_, MakeRequest(std::move(method), std::move(target), std::move(body)));
  }
  // Expects an error answer with this status and code whose message contains `text`.
  void ExpectError(const Reply& r, int status, const std::string& code, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Str("/error/code"), code) << r.body;
    EXPECT_NE(r.Str("/error/message").find(text), std::string::npos) << r.body;
  }
  void CreateStream(const std::string& name, int shards = 1) {
    ASSERT_TRUE(streams_->CreateStream(name, shards, streams::StreamMode::kProvisioned, {}).ok());
  }
  void CreateDataset(const std::string& name) {
    auto r =
        Call("POST", "/api/v1/datasets", R"({"name": ")" + name + R"(", "file_type": "jsonl"})");
    ASSERT_EQ(r->status, 201) << r->body;
  }
  void CreateConsumer(const std::string& name, const std::string& stream,
                      const std::string& dataset) {
    auto r = Call("POST", "/api/v1/consumers",
                  R"({"name": ")" + name + R"(", "stream": ")" + stream + R"(", "dataset": ")" +
                      dataset + R"(", "buffer_size_mib": 1, "buffer_interval_seconds": 60})");
    ASSERT_EQ(r->status, 201) << r->body;
  }

  std::string dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<streams::StreamManager> streams_;
  std::unique_ptr<delivery::DeliveryManager> delivery_;
  std::unique_ptr<iam::Directory> keys_;
  std::unique_ptr<ControlApi> api_;
};

constexpr const char* kS3Dataset = R"({"name": "lake", "file_type": "jsonl",
  "compression": "gzip", "target": {"type": "s3", "endpoint_url": "http://127.0.0.1:9000",
  "region": "eu-west-1", "bucket": "my-bucket", "prefix": "raw/", "access_key_id": "AK",
  "secret_access_key": "SECRET"}})";

TEST_F(ControlApiTest, DatasetLifecycle) {
  auto created = Call("POST", "/api/v1/datasets", kS3Dataset);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->Str("/name"), "lake");
  EXPECT_EQ(created->Str("/compression"), "gzip");
  EXPECT_EQ(created->Str("/target/bucket"), "my-bucket");
  EXPECT_EQ(created->Int("/version"), 1);
  EXPECT_EQ(created->Str("/created_at"), "2023-11-14T22:13:20.000Z");
  EXPECT_FALSE(created->Has("/target/secret_access_key")) << "secrets never leave";
  EXPECT_EQ(created->body.find("SECRET"), std::string::npos);

  auto list = Call("GET", "/api/v1/datasets");
  ASSERT_EQ(list->status, 200);
  ASSERT_EQ(list->Len("/datasets"), 1u);
  EXPECT_EQ(list->Str("/datasets/0/name"), "lake");
  EXPECT_EQ(list->body.find("SECRET"), std::string::npos);

  auto described = Call("GET", "/api/v1/datasets/lake");
  ASSERT_EQ(described->status, 200);
  EXPECT_EQ(described->Str("/target/prefix"), "raw/");

  // An update carries only what changes; the secret stays as stored.
  clock_.Advance(1000);
  auto updated = Call("PUT", "/api/v1/datasets/lake", R"({"target": {"prefix": "cooked/"}})");
  ASSERT_EQ(updated->status, 200) << updated->body;
  EXPECT_EQ(updated->Int("/version"), 2);
  EXPECT_EQ(updated->Str("/target/prefix"), "cooked/");
  EXPECT_EQ(updated->Str("/target/bucket"), "my-bucket");
  EXPECT_EQ(updated->Str("/updated_at"), "2023-11-14T22:13:21.000Z");
  auto stored = catalog_->GetDoc(catalog::DocKind::kDataset, "lake");
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_NE((*stored)->spec.find("SECRET"), std::string::npos);
  EXPECT_EQ((*stored)->version, 2);

  // A null removes a member; a target of another type replaces the old one whole.
  updated =
      Call("PUT", "/api/v1/datasets/lake", R"({"compression": null, "target": {"type": "local"}})");
  ASSERT_EQ(updated->status, 200) << updated->body;
  EXPECT_EQ(updated->Int("/version"), 3);
  EXPECT_FALSE(updated->Has("/compression"));
  EXPECT_EQ(updated->Str("/target/type"), "local");
  EXPECT_FALSE(updated->Has("/target/bucket"));

  auto deleted = Call("DELETE", "/api/v1/datasets/lake");
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  ExpectError(*Call("GET", "/api/v1/datasets/lake"), 404, "NotFound", "dataset lake");
  ExpectError(*Call("DELETE", "/api/v1/datasets/lake"), 404, "NotFound", "dataset lake");
  ExpectError(*Call("PUT", "/api/v1/datasets/lake", "{}"), 404, "NotFound", "dataset lake");
}

TEST_F(ControlApiTest, DatasetValidationNamesTheField) {
  ExpectError(*Call("POST", "/api/v1/datasets", R"({"name": "d"})"), 400, "ValidationError",
              "file_type: is required");
  ExpectError(*Call("POST", "/api/v1/datasets", R"({"name": "d", "file_type": "xml"})"), 400,
              "ValidationError", "file_type: must be");
  ExpectError(*Call("POST", "/api/v1/datasets",
                    R"({"name": "d", "file_type": "jsonl", "compression": "lz4"})"),
              400, "ValidationError", "compression: must be gzip, zstd or snappy");
  ExpectError(*Call("POST", "/api/v1/datasets", R"({"name": "bad name", "file_type": "jsonl"})"),
              400, "ValidationError", "name: may only contain");
  ExpectError(*Call("POST", "/api/v1/datasets",
                    R"({"name": "d", "file_type": "jsonl", "target": {"type": "s3",
                        "endpoint_url": "http://x", "access_key_id": "a",
                        "secret_access_key": "b"}})"),
              400, "ValidationError", "target.bucket");
  ExpectError(*Call("POST", "/api/v1/datasets", "{not json"), 400, "ValidationError",
              "not valid JSON");
  ExpectError(*Call("POST", "/api/v1/datasets", ""), 400, "ValidationError", "empty");
  ExpectError(*Call("POST", "/api/v1/datasets", "[1]"), 400, "ValidationError", "JSON object");
  for (const char* ext : {"json", ".", ".JSON", "./x", ".a b"})
    ExpectError(*Call("POST", "/api/v1/datasets",
                      R"({"name": "d", "file_type": "jsonl", "file_extension": ")" +
                          std::string(ext) + R"("})"),
                400, "ValidationError", "file_extension: must be a period");
  auto ext = Call("POST", "/api/v1/datasets",
                  R"({"name": "e", "file_type": "jsonl", "file_extension": ".json"})");
  ASSERT_EQ(ext->status, 201) << ext->body;
  EXPECT_EQ(ext->Str("/file_extension"), ".json");

  CreateDataset("d");
  ExpectError(*Call("POST", "/api/v1/datasets", R"({"name": "d", "file_type": "jsonl"})"), 409,
              "Conflict", "exists already");
  ExpectError(*Call("PUT", "/api/v1/datasets/d", R"({"name": "e"})"), 400, "ValidationError",
              "name: cannot be changed");
  ExpectError(*Call("PUT", "/api/v1/datasets/d", R"({"file_type": "pdf"})"), 400, "ValidationError",
              "file_type");
  EXPECT_EQ(Call("GET", "/api/v1/datasets/d")->Int("/version"), 1)
      << "a refused update changes nothing";
}

TEST_F(ControlApiTest, ConsumerNeedsItsStreamAndDataset) {
  const std::string body =
      R"({"name": "c", "stream": "orders", "dataset": "d", "buffer_size_mib": 1})";
  ExpectError(*Call("POST", "/api/v1/consumers", body), 404, "NotFound", "stream orders");
  CreateStream("orders");
  ExpectError(*Call("POST", "/api/v1/consumers", body), 404, "NotFound", "dataset d");
  CreateDataset("d");
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c", "stream": "orders", "dataset": "d", "buffer_size_mib": 500})"),
              400, "ValidationError", "buffer_size_mib: must be between 1 and 128");
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c", "stream": "orders", "dataset": "d",
                        "starting_position": "AT_TIMESTAMP"})"),
              400, "ValidationError", "starting_position");
  ExpectError(*Call("POST", "/api/v1/consumers", R"({"name": "c", "dataset": "d"})"), 400,
              "ValidationError", "stream: is required");
  auto created = Call("POST", "/api/v1/consumers", body);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->Str("/stream"), "orders");
  EXPECT_EQ(created->Str("/dataset"), "d");
  EXPECT_EQ(created->Int("/buffer_size_mib"), 1);
  EXPECT_EQ(created->Int("/buffer_interval_seconds"), 300);
  EXPECT_EQ(created->Str("/starting_position"), "TRIM_HORIZON");
  EXPECT_EQ(created->Int("/version"), 1);
  ExpectError(*Call("POST", "/api/v1/consumers", body), 409, "Conflict", "consumer c");
}

TEST_F(ControlApiTest, ConsumerLifecycleAndVersions) {
  CreateStream("orders", 2);
  CreateDataset("d");
  CreateConsumer("c", "orders", "d");

  auto described = Call("GET", "/api/v1/consumers/c");
  ASSERT_EQ(described->status, 200) << described->body;
  EXPECT_EQ(described->Int("/version"), 1);
  EXPECT_TRUE(described->Has("/state"));
  EXPECT_TRUE(described->Has("/last_error"));
  EXPECT_TRUE(described->Has("/records_delivered"));
  EXPECT_TRUE(described->Has("/objects_written"));
  EXPECT_TRUE(described->Has("/records_failed"));
  EXPECT_TRUE(described->Has("/lag/shards"));
  EXPECT_TRUE(described->Has("/status/state"));

  auto list = Call("GET", "/api/v1/consumers");
  ASSERT_EQ(list->status, 200);
  ASSERT_EQ(list->Len("/consumers"), 1u);
  EXPECT_EQ(list->Str("/consumers/0/name"), "c");

  auto updated = Call("PUT", "/api/v1/consumers/c", R"({"buffer_interval_seconds": 900})");
  ASSERT_EQ(updated->status, 200) << updated->body;
  EXPECT_EQ(updated->Int("/version"), 2);
  EXPECT_EQ(updated->Int("/buffer_interval_seconds"), 900);
  EXPECT_EQ(updated->Int("/buffer_size_mib"), 1) << "members not given stay";
  ExpectError(*Call("PUT", "/api/v1/consumers/c", R"({"dataset": "nope"})"), 404, "NotFound",
              "dataset nope");
  ExpectError(*Call("PUT", "/api/v1/consumers/c", R"({"stream": "nope"})"), 404, "NotFound",
              "stream nope");

  // A consumer's dataset cannot go while it is in use, and its updates restart the
  // consumer: a new consumer version.
  ExpectError(*Call("DELETE", "/api/v1/datasets/d"), 409, "Conflict", "used by consumer c");
  auto d = Call("PUT", "/api/v1/datasets/d", R"({"compression": "zstd"})");
  ASSERT_EQ(d->status, 200) << d->body;
  EXPECT_EQ(d->Int("/version"), 2);
  EXPECT_EQ(d->Str("/consumers/0"), "c");
  EXPECT_EQ(Call("GET", "/api/v1/consumers/c")->Int("/version"), 3);

  auto deleted = Call("DELETE", "/api/v1/consumers/c");
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  ExpectError(*Call("GET", "/api/v1/consumers/c"), 404, "NotFound", "consumer c");
  EXPECT_EQ(Call("DELETE", "/api/v1/datasets/d")->status, 200);
}

TEST_F(ControlApiTest, ConsumerCreatesItsDatasetWithIt) {
  CreateStream("orders");
  auto created = Call("POST", "/api/v1/consumers",
                      R"({"name": "c", "stream": "orders", "buffer_size_mib": 2,
                          "dataset": {"name": "fresh", "file_type": "jsonl", "compression": "gzip"}})");
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->Str("/dataset"), "fresh");
  EXPECT_EQ(created->Str("/created_dataset/name"), "fresh");
  auto d = Call("GET", "/api/v1/datasets/fresh");
  ASSERT_EQ(d->status, 200);
  EXPECT_EQ(d->Str("/compression"), "gzip");
  EXPECT_EQ(d->Int("/version"), 1);

  // The dataset object is validated as a dataset, its errors prefixed with "dataset.".
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c2", "stream": "orders", "dataset": {"name": "x"}})"),
              400, "ValidationError", "dataset.file_type: is required");
  // An existing dataset is named, not created again.
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c2", "stream": "orders",
                        "dataset": {"name": "fresh", "file_type": "jsonl"}})"),
              409, "Conflict", "dataset fresh exists already");
  // Nothing is created when the consumer is refused.
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c2", "stream": "missing",
                        "dataset": {"name": "other", "file_type": "jsonl"}})"),
              404, "NotFound", "stream missing");
  EXPECT_EQ(Call("GET", "/api/v1/datasets/other")->status, 404);
}

TEST_F(ControlApiTest, StreamViews) {
  CreateStream("orders", 2);
  CreateStream("clicks", 1);
  CreateDataset("d1");
  CreateDataset("d2");
  CreateDataset("unused");
  CreateConsumer("a", "orders", "d1");
  CreateConsumer("b", "orders", "d2");
  CreateConsumer("c", "orders", "d1");
  CreateConsumer("z", "clicks", "unused");

  auto list = Call("GET", "/api/v1/streams");
  ASSERT_EQ(list->status, 200) << list->body;
  ASSERT_EQ(list->Len("/streams"), 2u);
  EXPECT_EQ(list->Str("/streams/0/name"), "clicks");
  EXPECT_EQ(list->Str("/streams/1/name"), "orders");
  EXPECT_EQ(list->Str("/streams/1/status"), "ACTIVE");
  EXPECT_EQ(list->Str("/streams/1/mode"), "PROVISIONED");
  EXPECT_EQ(list->Int("/streams/1/shard_count"), 2);
  EXPECT_EQ(list->Int("/streams/1/retention_hours"), 24);
  EXPECT_TRUE(list->Has("/streams/1/created_at"));

  auto s = Call("GET", "/api/v1/streams/orders");
  ASSERT_EQ(s->status, 200) << s->body;
  ASSERT_EQ(s->Len("/shards"), 2u);
  EXPECT_EQ(s->Str("/shards/0/id"), "shardId-000000000000");
  EXPECT_TRUE(s->At("/shards/0/open").get_bool().value());
  EXPECT_EQ(s->Str("/shards/0/hash_range/start"), "0");
  EXPECT_EQ(s->Str("/shards/1/hash_range/end"), "340282366920938463463374607431768211455");
  ASSERT_EQ(s->Len("/consumers"), 3u);
  EXPECT_EQ(s->Str("/consumers/0"), "a");

  for (const char* target : {"/api/v1/streams/orders?request_type=get_datasets",
                             "/streams/orders?request_type=get_datasets"}) {
    auto ds = Call("GET", target);
    ASSERT_EQ(ds->status, 200) << target << ": " << ds->body;
    ASSERT_EQ(ds->Len("/datasets"), 2u) << target;
    EXPECT_EQ(ds->Str("/datasets/0/name"), "d1");
    EXPECT_EQ(ds->Str("/datasets/0/file_type"), "jsonl");
    EXPECT_EQ(ds->Str("/datasets/1/name"), "d2");
  }
  EXPECT_EQ(Call("GET", "/streams/clicks?request_type=get_datasets")->Len("/datasets"), 1u);
  ExpectError(*Call("GET", "/streams/nope?request_type=get_datasets"), 404, "NotFound",
              "stream nope");
  ExpectError(*Call("GET", "/api/v1/streams/nope"), 404, "NotFound", "stream nope");
  ExpectError(*Call("GET", "/api/v1/streams/orders?request_type=get_things"), 400,
              "ValidationError", "request_type");
  ExpectError(*Call("DELETE", "/api/v1/streams/orders"), 405, "MethodNotAllowed", "DELETE");
  EXPECT_EQ(Call("GET", "/streams")->Len("/streams"), 2u);
}

TEST_F(ControlApiTest, RoutingMethodsAndTransformations) {
  EXPECT_TRUE(api_->Handles(MakeRequest("GET", "/api/v1/datasets")));
  EXPECT_TRUE(api_->Handles(MakeRequest("GET", "/api/v1")));
  EXPECT_TRUE(api_->Handles(MakeRequest("GET", "/streams/x?request_type=get_datasets")));
  EXPECT_FALSE(api_->Handles(MakeRequest("POST", "/")));
  EXPECT_FALSE(api_->Handles(MakeRequest("GET", "/healthz")));
  EXPECT_FALSE(api_->Handles(MakeRequest("GET", "/api/v10/x")));

  ExpectError(*Call("DELETE", "/api/v1/datasets"), 405, "MethodNotAllowed", "GET, POST");
  ExpectError(*Call("POST", "/api/v1/datasets/x", "{}"), 405, "MethodNotAllowed", "PUT");
  // Transformations have their own tests (control_transformations_test.cc).
  EXPECT_EQ(Call("GET", "/api/v1/transformations")->status, 200);
  ExpectError(*Call("POST", "/api/v1/transformations/f", "{}"), 405, "MethodNotAllowed", "PUT");
  ExpectError(*Call("GET", "/api/v1/nothing"), 404, "NotFound", "no such endpoint");
  ExpectError(*Call("GET", "/api/v1/datasets/a/b"), 404, "NotFound", "no such endpoint");
  ExpectError(*Call("GET", "/datasets"), 404, "NotFound", "no such endpoint");
  EXPECT_EQ(Call("GET", "/api/v1/datasets/")->status, 200) << "a trailing slash is ignored";
}

TEST_F(ControlApiTest, AuthNeedsAnAdminKeySignedForMillrace) {
  auto add_key = [&](const std::string& id, const std::string& scope) {
    catalog::KeyRow k;
    k.access_key_id = id;
    k.secret = "secret-of-" + id;
    k.scope = scope;
    if (scope != "admin") k.streams = {"orders"};
    k.created_ms = clock_.NowMillis();
    ASSERT_TRUE(catalog_->CreateKey(k).ok());
  };
  add_key("MRADMIN", "admin");
  add_key("MRPRODUCER", "producer");
  ControlApi api(catalog_.get(), streams_.get(), delivery_.get(), keys_.get(), true);
  auto signed_request = [&](const std::string& id, const std::string& secret,
                            const std::string& service, http::Request r) {
    auth::Signer(auth::Credentials{id, secret, ""}, "us-east-1", service)
        .Sign(&r, clock_.NowMillis());
    return r;
  };

  ExpectError(*Send(api, MakeRequest("GET", "/api/v1/datasets")), 401, "MissingAuthenticationToken",
              "");
  auto ok = Send(api, signed_request("MRADMIN", "secret-of-MRADMIN", "millrace",
                                     MakeRequest("GET", "/api/v1/datasets")));
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto created = Send(api, signed_request("MRADMIN", "secret-of-MRADMIN", "millrace",
                                          MakeRequest("POST", "/api/v1/datasets",
                                                      R"({"name":"d","file_type":"jsonl"})")));
  EXPECT_EQ(created->status, 201) << created->body;
  ExpectError(*Send(api, signed_request("MRADMIN", "wrong", "millrace",
                                        MakeRequest("GET", "/api/v1/datasets"))),
              401, "InvalidSignature", "");
  ExpectError(*Send(api, signed_request("MRNOBODY", "x", "millrace",
                                        MakeRequest("GET", "/api/v1/datasets"))),
              401, "UnrecognizedClient", "");
  ExpectError(*Send(api, signed_request("MRADMIN", "secret-of-MRADMIN", "kinesis",
                                        MakeRequest("GET", "/api/v1/datasets"))),
              401, "InvalidSignature", "millrace");
  ExpectError(*Send(api, signed_request("MRPRODUCER", "secret-of-MRPRODUCER", "millrace",
                                        MakeRequest("GET", "/api/v1/datasets"))),
              403, "AccessDenied", "admin");
  // A jq expression's work has no bound: running one on the server needs millrace:TestFilter.
  ExpectError(*Send(api, signed_request("MRPRODUCER", "secret-of-MRPRODUCER", "millrace",
                                        MakeRequest("POST", "/api/v1/filters/test",
                                                    R"({"filter": ".", "records": []})"))),
              403, "AccessDenied", "millrace:TestFilter");
  auto filtered = Send(api, signed_request("MRADMIN", "secret-of-MRADMIN", "millrace",
                                           MakeRequest("POST", "/api/v1/filters/test",
                                                       R"({"filter": ".", "records": []})")));
  EXPECT_EQ(filtered->status, 200) << filtered->body;
  // Anyone signed may ask what it may do.
  auto perms = Send(api, signed_request("MRPRODUCER", "secret-of-MRPRODUCER", "millrace",
                                        MakeRequest("POST", "/api/v1/permissions",
                                                    R"({"checks": [{"action": "kinesis:PutRecord",
                                                        "resource": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"},
                                                       {"action": "millrace:CreateDataset", "resource": "*"}]})")));
  ASSERT_EQ(perms->status, 200) << perms->body;
  EXPECT_TRUE(BoolAt(*perms, "/checks/0/allowed")) << perms->body;
  EXPECT_FALSE(BoolAt(*perms, "/checks/1/allowed")) << perms->body;
  // The body is covered by the signature.
  http::Request tampered = signed_request(
      "MRADMIN", "secret-of-MRADMIN", "millrace",
      MakeRequest("POST", "/api/v1/datasets", R"({"name":"e","file_type":"jsonl"})"));
  tampered.body = R"({"name":"f","file_type":"jsonl"})";
  ExpectError(*Send(api, std::move(tampered)), 401, "InvalidSignature", "");
}

TEST_F(ControlApiTest, FilterTestRunsAConsumersFilterOnEachRecord) {
  // Regression: the records were decoded into one string, each appended to the last, so
  // every record but the first was judged as garbage.
  auto r = Call("POST", "/api/v1/filters/test",
                R"({"filter": ".n == 7", "records": [")" + Base64Encode(R"({"n": 1})") + R"(", ")" +
                    Base64Encode(R"({"n": 7})") + R"(", ")" + Base64Encode("not json") + R"("]})");
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(r->Len("/results"), 3u);
  EXPECT_FALSE(BoolAt(*r, "/results/0/keep"));
  EXPECT_TRUE(BoolAt(*r, "/results/1/keep"));
  EXPECT_FALSE(BoolAt(*r, "/results/2/keep"));
  EXPECT_TRUE(r->Has("/results/2/error")) << r->body;
  EXPECT_FALSE(r->Has("/results/1/error")) << r->body;
  ExpectError(*Call("POST", "/api/v1/filters/test", R"({"filter": ".n ==", "records": []})"), 400,
              "ValidationError", "filter: is not a valid jq expression");
  ExpectError(*Call("POST", "/api/v1/filters/test", R"({"filter": ".", "records": ["%%"]})"), 400,
              "ValidationError", "base64");
  ExpectError(*Call("GET", "/api/v1/filters/test"), 405, "MethodNotAllowed", "POST");
}

// Regression: any path under /transformations/ ending in "/test" went to the test queue, so
// an update or deletion of a transformation named "test" ran beside the serial worker.
TEST(ControlApiRouting, OnlyTestRunsGoToTheTestQueue) {
  EXPECT_TRUE(ControlApi::IsTestRun(MakeRequest("POST", "/api/v1/transformations/f/test")));
  EXPECT_TRUE(ControlApi::IsTestRun(MakeRequest("POST", "/api/v1/filters/test")));
  EXPECT_FALSE(ControlApi::IsTestRun(MakeRequest("PUT", "/api/v1/transformations/test")));
  EXPECT_FALSE(ControlApi::IsTestRun(MakeRequest("DELETE", "/api/v1/transformations/test")));
  EXPECT_FALSE(ControlApi::IsTestRun(MakeRequest("POST", "/api/v1/transformations/test")));
  EXPECT_FALSE(ControlApi::IsTestRun(MakeRequest("GET", "/api/v1/transformations/f/test")));
  EXPECT_FALSE(ControlApi::IsTestRun(MakeRequest("POST", "/api/v1/consumers/test")));
}

TEST_F(ControlApiTest, PermissionsWithoutAuthAllowEverything) {
  auto r = Call("POST", "/api/v1/permissions",
                R"({"checks": [{"action": "kinesis:CreateStream", "resource": "*"}]})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->Str("/account"), "000000000000");
  EXPECT_EQ(r->Str("/region"), "us-east-1");
  EXPECT_TRUE(BoolAt(*r, "/checks/0/allowed"));
  ExpectError(*Call("POST", "/api/v1/permissions", R"({"checks": [{"action": 1}]})"), 400,
              "ValidationError", "checks");
}

TEST_F(ControlApiTest, ConsumerPauseAndResume) {
  CreateStream("orders");
  CreateDataset("lake");
  CreateConsumer("c1", "orders", "lake");
  auto paused = Call("POST", "/api/v1/consumers/c1/pause");
  ASSERT_EQ(paused->status, 200) << paused->body;
  EXPECT_TRUE(BoolAt(*paused, "/paused"));
  EXPECT_EQ(paused->Str("/state"), "PAUSED");
  EXPECT_EQ(paused->Int("/version"), 2);
  EXPECT_EQ(Call("POST", "/api/v1/consumers/c1/pause")->Int("/version"), 2) << "no change";
  auto resumed = Call("POST", "/api/v1/consumers/c1/resume");
  ASSERT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_FALSE(resumed->Has("/paused"));
  EXPECT_NE(resumed->Str("/state"), "PAUSED");
  EXPECT_EQ(resumed->Int("/version"), 3);
  ExpectError(*Call("GET", "/api/v1/consumers/c1/pause"), 405, "MethodNotAllowed", "POST");
  ExpectError(*Call("POST", "/api/v1/consumers/nope/pause"), 404, "NotFound", "nope");
  ExpectError(*Call("PUT", "/api/v1/consumers/c1", R"({"paused": "yes"})"), 400, "ValidationError",
              "paused: must be a boolean");
  // Multi-record deaggregation: JSON, or DELIMITED with its delimiter.
  auto d = Call("PUT", "/api/v1/consumers/c1",
                R"({"deaggregation": "DELIMITED", "deaggregation_delimiter": "####"})");
  ASSERT_EQ(d->status, 200) << d->body;
  EXPECT_EQ(d->Str("/deaggregation_delimiter"), "####");
  ExpectError(*Call("PUT", "/api/v1/consumers/c1", R"({"deaggregation_delimiter": ""})"), 400,
              "ValidationError", "deaggregation_delimiter: is required");
  ExpectError(*Call("PUT", "/api/v1/consumers/c1", R"({"deaggregation": "XML"})"), 400,
              "ValidationError", "must be JSON or DELIMITED");
  auto j = Call("PUT", "/api/v1/consumers/c1",
                R"({"deaggregation": "JSON", "deaggregation_delimiter": ""})");
  ASSERT_EQ(j->status, 200) << j->body;
  EXPECT_FALSE(j->Has("/deaggregation_delimiter"));
}

TEST_F(ControlApiTest, HistoryKeepsAnHourOfStreamTrafficAndConsumerLag) {
  CreateStream("orders");
  CreateDataset("lake");
  CreateConsumer("c1", "orders", "lake");
  History history(streams_.get(), delivery_.get(), &clock_, /*sample=*/false);
  history.SampleStreams();  // primes the counters: no sample yet
  EXPECT_TRUE(history.Stream("orders").empty());
  // Three records of 100 bytes, as PutRecords counts them.
  ASSERT_EQ(streams_->List().size(), 1u);
  streams_->List()[0]->records_in += 3;
  streams_->List()[0]->bytes_in += 300;
  clock_.Advance(History::kStreamIntervalMs);
  history.SampleStreams();
  auto samples = history.Stream("orders");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].records_in, 3u);
  EXPECT_EQ(samples[0].bytes_in, 300u);
  EXPECT_EQ(samples[0].time_ms, clock_.NowMillis());
  // An hour and more later, the oldest samples are gone.
  for (int i = 0; i < 400; ++i) {
    clock_.Advance(History::kStreamIntervalMs);
    history.SampleStreams();
  }
  samples = history.Stream("orders");
  EXPECT_LE(samples.size(), 361u);
  EXPECT_EQ(samples.back().records_in, 0u);
  EXPECT_GE(samples.front().time_ms, clock_.NowMillis() - History::kKeepMs);
  history.SampleLag();
  ASSERT_EQ(history.Lag("c1").size(), 1u);
  EXPECT_TRUE(history.Lag("nope").empty());
  // Through the API (the API's own History samples on its thread: the shape, not values).
  auto m = Call("GET", "/api/v1/streams/orders?request_type=get_metrics");
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_EQ(m->Int("/interval_seconds"), 10);
  auto lag = Call("GET", "/api/v1/consumers/c1/lag");
  ASSERT_EQ(lag->status, 200) << lag->body;
  EXPECT_EQ(lag->Int("/interval_seconds"), 30);
  ExpectError(*Call("GET", "/api/v1/consumers/nope/lag"), 404, "NotFound", "nope");
  ExpectError(*Call("GET", "/api/v1/streams/nope?request_type=get_metrics"), 404, "NotFound",
              "nope");
}

TEST(ControlJson, MergePatch) {
  auto m = MergePatch(R"({"a":1,"t":{"type":"s3","b":"x","s":"k"},"c":"z"})",
                      R"({"a":2,"t":{"b":"y"},"c":null,"d":[1]})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, R"({"a":2,"t":{"type":"s3","b":"y","s":"k"},"d":[1]})");
  m = MergePatch(R"({"t":{"type":"s3","b":"x"}})", R"({"t":{"type":"local"}})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, R"({"t":{"type":"local"}})");
  EXPECT_EQ(MergePatch("{}", "[]").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(IsoTime(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace millrace::control
