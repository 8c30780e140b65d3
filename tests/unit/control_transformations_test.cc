// Unit tests of /api/v1/transformations: ControlApi::Handle driven with http::Request values
// on a real (temporary) catalog and data directory, with a manual clock and a LogStore.
// Delivery is left out (null): consumers that name a transformation are written to the
// catalog directly where the test needs them (no stream or dataset needed).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "common/crypto.h"
#include "common/encoding.h"
#include "control/api.h"
#include "control/handlers.h"
#include "control_test_util.h"

namespace millrace::control {
namespace {

namespace fs = std::filesystem;

http::Request MakeRequest(std::string method, std::string target, std::string body = "") {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  r.body = std::move(body);
  r.headers.push_back({"Host", "127.0.0.1:4580"});
  return r;
}

struct ZipEntry {
  std::string name;
  std::string content;
  uint32_t mode = S_IFREG | 0644;
};

std::string MakeZip(const std::vector<ZipEntry>& entries) {
  char tmpl[] = "/tmp/millrace-zip-XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  close(fd);
  int err = 0;
  zip_t* za = zip_open(tmpl, ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(za, nullptr) << err;
  for (const auto& e : entries) {
    zip_source_t* src = zip_source_buffer(za, e.content.data(), e.content.size(), 0);
    zip_int64_t idx = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    EXPECT_GE(idx, 0) << e.name;
    EXPECT_EQ(zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(idx), 0,
                                               ZIP_OPSYS_UNIX, e.mode << 16),
              0);
  }
  EXPECT_EQ(zip_close(za), 0);
  std::ifstream in(tmpl, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove(tmpl);
  return ss.str();
}

std::string Code(const std::string& file_name, const std::string& content) {
  return R"({"file_name": ")" + file_name + R"(", "content_base64": ")" + Base64Encode(content) +
         R"("})";
}

std::string Body(const std::string& name, const std::string& handler, const std::string& code,
                 const std::string& runtime = "python3", const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "runtime": ")" + runtime + R"(", "handler": ")" + handler +
         R"(", "code": )" + code + extra + "}";
}

constexpr const char* kPy = "def handler(event, context):\n    return {'records': []}\n";

class TransformationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-tfapi-XXXXXX";
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
    keys_ = std::make_unique<iam::Directory>(catalog_.get(), &clock_, iam::DirectoryOptions{});
    logs_ = std::make_unique<transform::LogStore>(&clock_);
    api_ = std::make_unique<ControlApi>(catalog_.get(), streams_.get(), /*delivery=*/nullptr,
                                        keys_.get(), /*auth_enabled=*/false, logs_.get());
  }
  void TearDown() override {
    api_.reset();
    keys_.reset();
    streams_.reset();
    catalog_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Reply> Call(std::string method, std::string target, std::string body = "") {
    auto sink = std::make_shared<Capture>();
    auto answer = sink->promise.get_future();
    api_->Handle(MakeRequest(std::move(method), std::move(target), std::move(body)),
                 http::Responder(sink));
    http::Response r = answer.get();
    auto reply = std::make_unique<Reply>();
    reply->status = r.status;
    reply->body = std::move(r.body);
    EXPECT_EQ(reply->parser.parse(reply->body).get(reply->root), simdjson::SUCCESS)
        << "not JSON: " << reply->body;
    return reply;
  }
  void ExpectError(const Reply& r, int status, const std::string& code, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Str("/error/code"), code) << r.body;
    EXPECT_NE(r.Str("/error/message").find(text), std::string::npos) << r.body;
  }
  void CreatePy(const std::string& name) {
    auto r =
        Call("POST", "/api/v1/transformations", Body(name, "main.handler", Code("main.py", kPy)));
    ASSERT_EQ(r->status, 201) << r->body;
  }
  // A consumer document as delivery would store it once transformations are on.
  void PutConsumer(const std::string& name, const std::string& transformation) {
    catalog::DocRow row;
    row.name = name;
    row.spec = R"({"name": ")" + name +
               R"(", "stream": "s", "dataset": "d", "buffer_size_mib": 1, )"
               R"("buffer_interval_seconds": 60, "transformation": ")" +
               transformation + R"(", "starting_position": "TRIM_HORIZON"})";
    row.created_ms = row.updated_ms = clock_.NowMillis();
    ASSERT_TRUE(catalog_->CreateDoc(catalog::DocKind::kConsumer, row).ok());
  }
  std::string CodeDirOf(const std::string& name) { return dir_ + "/transformations/" + name; }

  std::string dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<streams::StreamManager> streams_;
  std::unique_ptr<iam::Directory> keys_;
  std::unique_ptr<transform::LogStore> logs_;
  std::unique_ptr<ControlApi> api_;
};

TEST_F(TransformationsTest, CreateWithAPyFileDescribeAndListNeverShowTheCode) {
  auto r = Call("POST", "/api/v1/transformations",
                Body("upper", "main.handler", Code("main.py", kPy), "python3",
                     R"(, "memory_size_mb": 256, "timeout_seconds": 5)"));
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(r->Str("/name"), "upper");
  EXPECT_EQ(r->Str("/runtime"), "python3");
  EXPECT_EQ(r->Str("/handler"), "main.handler");
  EXPECT_EQ(r->Int("/memory_size_mb"), 256);
  EXPECT_EQ(r->Int("/timeout_seconds"), 5);
  EXPECT_EQ(r->Int("/version"), 1);
  EXPECT_EQ(r->Str("/code/file_name"), "main.py");
  EXPECT_EQ(r->Str("/code/sha256"), crypto::Sha256Hex(kPy));
  EXPECT_EQ(r->Str("/code_dir"), CodeDirOf("upper") + "/1");
  EXPECT_EQ(r->Len("/consumers"), 0u);
  EXPECT_TRUE(fs::exists(CodeDirOf("upper") + "/1/main.py"));

  auto d = Call("GET", "/api/v1/transformations/upper");
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(d->body.find("content_base64"), std::string::npos) << d->body;
  EXPECT_EQ(d->body.find(Base64Encode(kPy)), std::string::npos);
  auto l = Call("GET", "/api/v1/transformations");
  ASSERT_EQ(l->Len("/transformations"), 1u);
  EXPECT_EQ(l->Str("/transformations/0/name"), "upper");
  EXPECT_EQ(l->body.find("content_base64"), std::string::npos);

  auto defaults =
      Call("POST", "/api/v1/transformations", Body("d", "main.handler", Code("main.py", kPy)));
  EXPECT_EQ(defaults->Int("/memory_size_mb"), 128);
  EXPECT_EQ(defaults->Int("/timeout_seconds"), 60);
  ExpectError(
      *Call("POST", "/api/v1/transformations", Body("d", "main.handler", Code("main.py", kPy))),
      409, "Conflict", "exists already");
}

// The code is loaded once at create and update (in a worker, as delivery would): a handler
// that is not in it, or a module that does not import, is refused naming both.
TEST_F(TransformationsTest, AHandlerThatCannotBeLoadedIsRefused) {
  ExpectError(
      *Call("POST", "/api/v1/transformations", Body("h", "main.nope", Code("main.py", kPy))), 400,
      "ValidationError",
      "handler: main.nope cannot be loaded from main.py: Runtime.HandlerNotFound: Handler "
      "'nope' missing on module 'main'");
  ExpectError(*Call("POST", "/api/v1/transformations",
                    Body("h", "main.handler", Code("main.py", "import no_such_module_xyz\n"))),
              400, "ValidationError", "No module named 'no_such_module_xyz'");
  ASSERT_EQ(Call("POST", "/api/v1/transformations", Body("h", "main.handler", Code("main.py", kPy)))
                ->status,
            201);
  ExpectError(*Call("PUT", "/api/v1/transformations/h", R"({"handler": "main.other"})"), 400,
              "ValidationError", "Handler 'other' missing on module 'main'");
}

// POST .../test runs the function on the records given and answers each one's result; an
// invocation that fails answers its error (with the stack trace) instead.
TEST_F(TransformationsTest, TestRunsTheFunctionOnTheRecordsGiven) {
  const std::string upper =
      "import base64\n"
      "def handler(event, context):\n"
      "    out = []\n"
      "    for r in event['records']:\n"
      "        d = base64.b64decode(r['data'])\n"
      "        if d == b'drop':\n"
      "            out.append({'recordId': r['recordId'], 'result': 'Dropped'})\n"
      "        else:\n"
      "            out.append({'recordId': r['recordId'], 'result': 'Ok',\n"
      "                        'data': base64.b64encode(d.upper()).decode(),\n"
      "                        'metadata': {'partitionKeys': {'k': "
      "r['kinesisRecordMetadata']['partitionKey']}}})\n"
      "    return {'records': out}\n";
  ASSERT_EQ(
      Call("POST", "/api/v1/transformations", Body("up", "main.handler", Code("main.py", upper)))
          ->status,
      201);
  auto r = Call("POST", "/api/v1/transformations/up/test",
                R"({"records": [{"data": ")" + Base64Encode("abc") +
                    R"(", "partition_key": "p1"}, {"data": ")" + Base64Encode("drop") + R"("}]})");
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(r->Len("/records"), 2u) << r->body;
  EXPECT_EQ(r->Str("/records/0/record_id"), "test-1");
  EXPECT_EQ(r->Str("/records/0/result"), "Ok");
  EXPECT_EQ(r->Str("/records/0/data"), Base64Encode("ABC"));
  EXPECT_EQ(r->Str("/records/0/metadata/partitionKeys/k"), "p1");
  EXPECT_EQ(r->Str("/records/1/result"), "Dropped");

  const std::string broken = "def handler(event, context):\n    return 1 / 0\n";
  ASSERT_EQ(
      Call("POST", "/api/v1/transformations", Body("bad", "main.handler", Code("main.py", broken)))
          ->status,
      201);
  auto e = Call("POST", "/api/v1/transformations/bad/test",
                R"({"records": [{"data": ")" + Base64Encode("x") + R"("}]})");
  ASSERT_EQ(e->status, 200) << e->body;
  EXPECT_EQ(e->Str("/error/code"), "Lambda.FunctionError") << e->body;
  EXPECT_NE(e->Str("/error/message").find("ZeroDivisionError"), std::string::npos) << e->body;
  EXPECT_GT(e->Len("/error/stack_trace"), 0u);

  ExpectError(*Call("POST", "/api/v1/transformations/nope/test", R"({"records": [{"data": ""}]})"),
              404, "NotFound", "nope");
  ExpectError(*Call("POST", "/api/v1/transformations/up/test", R"({"records": []})"), 400,
              "ValidationError", "at least one record");
  ExpectError(*Call("POST", "/api/v1/transformations/up/test", R"({"records": [{"data": "%"}]})"),
              400, "ValidationError", "records[0].data");
}

TEST_F(TransformationsTest, CreateWithZips) {
  std::string zip =
      MakeZip({{"app.py", kPy}, {"lib/util.py", "def fn(event, context):\n    return event\n"}});
  auto r = Call("POST", "/api/v1/transformations", Body("z", "app.handler", Code("code.zip", zip)));
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_TRUE(fs::exists(CodeDirOf("z") + "/1/lib/util.py"));
  // A module in a package: lib/util.py for lib.util.fn.
  EXPECT_EQ(
      Call("POST", "/api/v1/transformations", Body("pkg", "lib.util.fn", Code("code.zip", zip)))
          ->status,
      201);

  // exec: the handler is made executable even if the zip did not say so.
  std::string exe = MakeZip({{"bin/run", "#!/bin/sh\ncat\n"}});
  auto e =
      Call("POST", "/api/v1/transformations", Body("x", "bin/run", Code("x.zip", exe), "exec"));
  ASSERT_EQ(e->status, 201) << e->body;
  struct stat st;
  ASSERT_EQ(stat((CodeDirOf("x") + "/1/bin/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // executable by the server user only (private)
}

TEST_F(TransformationsTest, BadZipEntriesAreRefusedAndLeaveNothing) {
  ExpectError(*Call("POST", "/api/v1/transformations",
                    Body("t", "app.handler",
                         Code("c.zip", MakeZip({{"app.py", kPy}, {"../evil.py", "x"}})))),
              400, "ValidationError", "'..'");
  ExpectError(
      *Call("POST", "/api/v1/transformations",
            Body("t", "app.handler",
                 Code("c.zip", MakeZip({{"app.py", kPy}, {"ln", "/etc/passwd", S_IFLNK | 0777}})))),
      400, "ValidationError", "symbolic link");
  ExpectError(*Call("POST", "/api/v1/transformations",
                    Body("t", "app.handler", Code("c.zip", "not a zip"))),
              400, "ValidationError", "not a valid zip");
  EXPECT_FALSE(fs::exists(CodeDirOf("t") + "/1"));
  EXPECT_EQ(Call("GET", "/api/v1/transformations")->Len("/transformations"), 0u);
}

TEST_F(TransformationsTest, FieldsAreCheckedAndNamed) {
  auto post = [&](const std::string& body) {
    return Call("POST", "/api/v1/transformations", body);
  };
  ExpectError(*post(Body("t", "other.handler", Code("main.py", kPy))), 400, "ValidationError",
              "handler: the module file other.py");
  ExpectError(*post(Body("t", "handler", Code("main.py", kPy))), 400, "ValidationError",
              "handler: for python3 must be module.function");
  ExpectError(*post(Body("t", "bin/run", Code("c.zip", MakeZip({{"run", "x"}})), "exec")), 400,
              "ValidationError", "handler: the executable bin/run");
  ExpectError(*post(Body("t", "../run", Code("run", "x"), "exec")), 400, "ValidationError",
              "handler:");
  ExpectError(*post(Body("t", "main.handler", Code("main.py", kPy), "node")), 400,
              "ValidationError", "runtime: must be python3 or exec");
  ExpectError(*post(Body("t", "main.handler", Code("main.py", kPy), "python3",
                         R"(, "memory_size_mb": 64)")),
              400, "ValidationError", "memory_size_mb: must be between 128 and 10240");
  ExpectError(*post(Body("t", "main.handler", Code("main.py", kPy), "python3",
                         R"(, "timeout_seconds": 301)")),
              400, "ValidationError", "timeout_seconds: must be between 1 and 300");
  ExpectError(*post(R"({"name": "t", "runtime": "python3", "handler": "main.handler"})"), 400,
              "ValidationError", "code: is required");
  ExpectError(
      *post(Body("t", "main.handler", R"({"file_name": "main.py", "content_base64": "%%%"})")), 400,
      "ValidationError", "code.content_base64");
  ExpectError(*post(Body("bad/name", "main.handler", Code("main.py", kPy))), 400, "ValidationError",
              "name:");
  ExpectError(*post(Body("t", "main.handler", Code("main.py", kPy), "python3", R"(, "x": 1)")), 400,
              "ValidationError",
              "x: unknown field (the fields are name, runtime, handler, code, memory_size_mb, "
              "timeout_seconds, network)");
  ExpectError(*post(R"({"name": "t", "runtime": "python3", "handler": "main.handler",
                        "code": {"file_name": "main.py", "content_base64": "eA==", "zip": 1}})"),
              400, "ValidationError",
              "code.zip: unknown field (the fields are file_name, content_base64)");
  EXPECT_FALSE(fs::exists(CodeDirOf("t") + "/1"));
}

TEST_F(TransformationsTest, Limits) {
  for (size_t i = 0; i < kMaxTransformations; ++i) CreatePy("t" + std::to_string(i));
  ExpectError(*Call("POST", "/api/v1/transformations",
                    Body("one-more", "main.handler", Code("main.py", kPy))),
              400, "ValidationError", "at most 20 transformations");

  // A consumer naming a transformation: it must exist, and have fewer than 5 consumers.
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c", "stream": "s", "dataset": "d", "transformation": "nope"})"),
              404, "NotFound", "transformation nope does not exist");
  for (int i = 0; i < 5; ++i) PutConsumer("c" + std::to_string(i), "t0");
  ExpectError(*Call("POST", "/api/v1/consumers",
                    R"({"name": "c9", "stream": "s", "dataset": "d", "transformation": "t0"})"),
              400, "ValidationError", "at most 5 consumers per transformation");
  EXPECT_EQ(Call("GET", "/api/v1/transformations/t0")->Len("/consumers"), 5u);
}

TEST_F(TransformationsTest, DeleteIsRefusedWhileAConsumerUsesIt) {
  CreatePy("t");
  PutConsumer("c1", "t");
  ExpectError(*Call("DELETE", "/api/v1/transformations/t"), 409, "Conflict", "used by consumer c1");
  ASSERT_TRUE(catalog_->DeleteDoc(catalog::DocKind::kConsumer, "c1").ok());
  logs_->Add("t", transform::LogLine{});
  auto d = Call("DELETE", "/api/v1/transformations/t");
  EXPECT_EQ(d->status, 200) << d->body;
  EXPECT_FALSE(fs::exists(CodeDirOf("t")));
  EXPECT_TRUE(logs_->Read("t", 0, 10).empty());
  ExpectError(*Call("GET", "/api/v1/transformations/t"), 404, "NotFound", "does not exist");
  ExpectError(*Call("DELETE", "/api/v1/transformations/t"), 404, "NotFound", "does not exist");
}

TEST_F(TransformationsTest, UpdatesAreNewVersionsOfItAndOfItsConsumers) {
  CreatePy("t");
  PutConsumer("c1", "t");
  clock_.Advance(1000);
  const std::string v2 = "def handler(event, context):\n    return event\n";
  auto u = Call("PUT", "/api/v1/transformations/t", R"({"code": )" + Code("main.py", v2) + "}");
  ASSERT_EQ(u->status, 200) << u->body;
  EXPECT_EQ(u->Int("/version"), 2);
  EXPECT_EQ(u->Str("/code_dir"), CodeDirOf("t") + "/2");
  EXPECT_EQ(u->Str("/code/sha256"), crypto::Sha256Hex(v2));
  EXPECT_EQ(u->Str("/handler"), "main.handler") << "what the body leaves out stays";
  auto c1 = catalog_->GetDoc(catalog::DocKind::kConsumer, "c1");
  ASSERT_TRUE(c1.ok() && *c1);
  EXPECT_EQ((*c1)->version, 2) << "the consumer restarts with the new code";

  auto u3 = Call("PATCH", "/api/v1/transformations/t", R"({"timeout_seconds": 9})");
  ASSERT_EQ(u3->status, 200) << u3->body;
  EXPECT_EQ(u3->Int("/version"), 3);
  EXPECT_EQ(u3->Int("/timeout_seconds"), 9);
  EXPECT_EQ(u3->Str("/code_dir"), CodeDirOf("t") + "/2") << "no new code, same directory";

  // A bad update changes nothing.
  ExpectError(*Call("PUT", "/api/v1/transformations/t", R"({"handler": "gone.handler"})"), 400,
              "ValidationError", "handler:");
  ExpectError(*Call("PUT", "/api/v1/transformations/t", R"({"name": "other"})"), 400,
              "ValidationError", "name: cannot be changed");
  ExpectError(*Call("PUT", "/api/v1/transformations/t",
                    R"({"code": )" + Code("x.zip", MakeZip({{"../x", "y"}})) + "}"),
              400, "ValidationError", "'..'");
  EXPECT_FALSE(fs::exists(CodeDirOf("t") + "/4"));
  EXPECT_EQ(Call("GET", "/api/v1/transformations/t")->Int("/version"), 3);
  ExpectError(*Call("PUT", "/api/v1/transformations/nope", "{}"), 404, "NotFound", "nope");
}

TEST_F(TransformationsTest, LogsEndpointReturnsTheStoredLines) {
  CreatePy("t");
  transform::LogSink sink = logs_->SinkFor("t");
  transform::LogLine a;
  a.invocation_id = "inv-1";
  a.text = "first";
  sink(a);
  clock_.Advance(500);
  a.invocation_id = "inv-2";
  a.text = "second \"quoted\"";
  sink(a);

  auto r = Call("GET", "/api/v1/transformations/t/logs");
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(r->Len("/lines"), 2u);
  EXPECT_EQ(r->Str("/lines/0/text"), "first");
  EXPECT_EQ(r->Str("/lines/0/invocation_id"), "inv-1");
  EXPECT_EQ(r->Str("/lines/0/time"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(r->Int("/lines/1/time_ms"), 1'700'000'000'500);
  EXPECT_EQ(r->Str("/lines/1/text"), "second \"quoted\"");

  auto since = Call("GET", "/api/v1/transformations/t/logs?since=1700000000100");
  ASSERT_EQ(since->Len("/lines"), 1u);
  EXPECT_EQ(since->Str("/lines/0/invocation_id"), "inv-2");
  auto limited = Call("GET", "/api/v1/transformations/t/logs?limit=1");
  ASSERT_EQ(limited->Len("/lines"), 1u);
  EXPECT_EQ(limited->Str("/lines/0/text"), "second \"quoted\"") << "the newest";

  ExpectError(*Call("GET", "/api/v1/transformations/t/logs?limit=0"), 400, "ValidationError",
              "limit:");
  ExpectError(*Call("GET", "/api/v1/transformations/t/logs?since=x"), 400, "ValidationError",
              "since:");
  ExpectError(*Call("GET", "/api/v1/transformations/nope/logs"), 404, "NotFound", "nope");
  ExpectError(*Call("POST", "/api/v1/transformations/t/logs"), 405, "MethodNotAllowed", "GET");
  ExpectError(*Call("GET", "/api/v1/transformations/t/other"), 404, "NotFound", "no such endpoint");
}

}  // namespace
}  // namespace millrace::control
