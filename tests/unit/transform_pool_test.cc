// transform/worker_pool: real worker processes (python3 and exec) running the seed
// handlers and misbehaving functions: exceptions, hangs, memory, crashes, garbage.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "transform/errc.h"
#include "transform/worker_pool.h"
#include "transform_seed_handlers.h"
#include "transform_test_util.h"

namespace millrace::transform {
namespace {

struct Logs {
  std::mutex mu;
  std::vector<LogLine> lines;
  LogSink Sink() {
    return [this](const LogLine& l) {
      std::lock_guard<std::mutex> g(mu);
      lines.push_back(l);
    };
  }
  std::vector<LogLine> For(const std::string& id) {
    std::lock_guard<std::mutex> g(mu);
    std::vector<LogLine> out;
    for (auto& l : lines)
      if (l.invocation_id == id) out.push_back(l);
    return out;
  }
};

const std::vector<std::string> kCsv = {
    "AAPL,Apple Inc.,189.98,TECHNOLOGY", "JPM,JPMorgan Chase,196.62,FINANCIAL",
    "XOM,Exxon Mobil,104.11,ENERGY", "ACME,Acme Corp,1.00,AEROSPACE",
    "MSFT,Microsoft, 415.50 , TECHNOLOGY "};

TEST(TransformPool, SeedHandlersFilterBySector) {
  CodeDir dir;
  dir.Write("filter_technology.py", SeedHandler("filter_technology.py"));
  dir.Write("filter_financial.py", SeedHandler("filter_financial.py"));
  Logs logs;
  WorkerPool tech(PySpec(dir.path(), "filter_technology.lambda_handler"), 1, logs.Sink());
  WorkerPool fin(PySpec(dir.path(), "filter_financial.lambda_handler"), 1, logs.Sink());
  auto in = Records(kCsv);

  InvokeResult t = tech.Invoke(in, Ctx("tech-1"));
  ASSERT_TRUE(t.ok()) << t.error->message;
  ASSERT_EQ(t.records.size(), 5u);
  EXPECT_EQ(t.records[0].result, RecordResult::kOk);
  EXPECT_EQ(t.records[0].data, kCsv[0]);  // bytes from b64encode came back as their text
  EXPECT_EQ(t.records[1].result, RecordResult::kDropped);
  EXPECT_EQ(t.records[2].result, RecordResult::kDropped);
  EXPECT_EQ(t.records[3].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(t.records[4].result, RecordResult::kOk);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(t.records[i].record_id, in[i].record_id);

  InvokeResult f = fin.Invoke(in, Ctx("fin-1"));
  ASSERT_TRUE(f.ok()) << f.error->message;
  EXPECT_EQ(f.records[0].result, RecordResult::kDropped);
  EXPECT_EQ(f.records[1].result, RecordResult::kOk);
  EXPECT_EQ(f.records[1].data, kCsv[1]);
  EXPECT_EQ(f.records[2].result, RecordResult::kDropped);
  EXPECT_EQ(f.records[3].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(f.records[4].result, RecordResult::kDropped);

  // What the handler printed, tagged with its invocation.
  auto printed = logs.For("tech-1");
  ASSERT_EQ(printed.size(), 3u);
  EXPECT_TRUE(printed[0].text.starts_with("input size: "));
  EXPECT_EQ(printed[1].text, "Processed 5 records.");
  EXPECT_EQ(printed[1].request_id, t.request_id);
  EXPECT_EQ(printed[1].worker_pid, t.worker_pid);
  EXPECT_EQ(logs.For("fin-1").size(), 3u);
}

TEST(TransformPool, WorkersAreReusedAndStartedAhead) {
  CodeDir dir;
  dir.Write("m.py",
            "import os\n"
            "def h(event, context):\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "             'data': r['data']} for r in event['records']]}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h"), 2, nullptr);
  EXPECT_EQ(pool.IdlePids().size(), 2u);
  std::set<pid_t> pids;
  for (int i = 0; i < 6; ++i) {
    InvokeResult r = pool.Invoke(Records({"x"}), Ctx());
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(r.records[0].data, "x");
    pids.insert(r.worker_pid);
  }
  EXPECT_EQ(pids.size(), 1u);  // sequential calls: the same worker, every time
}

TEST(TransformPool, ContextLooksLikeLambdas) {
  CodeDir dir;
  dir.Write("m.py",
            "import base64, json\n"
            "def h(event, context):\n"
            "    c = {k: getattr(context, k) for k in ['function_name', 'function_version',\n"
            "         'memory_limit_in_mb', 'aws_request_id', 'invoked_function_arn',\n"
            "         'log_group_name', 'log_stream_name']}\n"
            "    c['remaining'] = context.get_remaining_time_in_millis()\n"
            "    c['invocationId'] = event['invocationId']\n"
            "    c['region'] = event['region']\n"
            "    c['meta'] = event['records'][0]['kinesisRecordMetadata']\n"
            "    d = base64.b64encode(json.dumps(c).encode()).decode()\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': d}\n"
            "                        for r in event['records']]}\n");
  FunctionSpec spec = PySpec(dir.path(), "m.h", 30000, 256);
  spec.name = "ctx-fn";
  WorkerPool pool(spec, 1, nullptr);
  InvokeResult r = pool.Invoke(Records({"x"}), Ctx("inv-9"));
  ASSERT_TRUE(r.ok()) << r.error->message;
  const std::string& d = r.records[0].data;
  EXPECT_NE(d.find("\"function_name\": \"ctx-fn\""), std::string::npos) << d;
  EXPECT_NE(d.find("\"memory_limit_in_mb\": 256"), std::string::npos) << d;
  EXPECT_NE(d.find("\"aws_request_id\": \"" + r.request_id + "\""), std::string::npos) << d;
  EXPECT_NE(d.find("\"invocationId\": \"inv-9\""), std::string::npos) << d;
  EXPECT_NE(d.find("function:ctx-fn"), std::string::npos) << d;
  EXPECT_NE(d.find("\"shardId\": \"shardId-000000000000\""), std::string::npos) << d;
  auto at = d.find("\"remaining\": ");
  ASSERT_NE(at, std::string::npos);
  int remaining = std::stoi(d.substr(at + 13));
  EXPECT_GT(remaining, 25000);
  EXPECT_LE(remaining, 30000);
}

TEST(TransformPool, ExecRuntimeShellAndPython) {
  CodeDir dir;
  // Marks every record Dropped, using only sed: one JSON event per line in, one result out.
  dir.Write("drop.sh",
            "#!/bin/sh\n"
            "while IFS= read -r line; do\n"
            "  echo \"got an event\" >&2\n"
            "  ids=$(printf '%s' \"$line\" | grep -o '\"recordId\":\"[^\"]*\"' | "
            "sed 's/.*:\"\\(.*\\)\"/\\1/')\n"
            "  out=''\n"
            "  for id in $ids; do out=\"$out${out:+,}{\\\"recordId\\\":\\\"$id\\\","
            "\\\"result\\\":\\\"Dropped\\\"}\"; done\n"
            "  echo \"{\\\"records\\\":[$out]}\"\n"
            "done\n",
            true);
  dir.Write("upper.py",
            "#!/usr/bin/env python3\n"
            "import base64, json, sys\n"
            "for line in sys.stdin:\n"
            "    ev = json.loads(line)\n"
            "    print(json.dumps({'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "        'data': base64.b64encode(base64.b64decode(r['data']).upper()).decode()}\n"
            "        for r in ev['records']]}))\n",
            true);
  Logs logs;
  FunctionSpec sh;
  sh.name = "drop";
  sh.runtime = Runtime::kExec;
  sh.handler = "drop.sh";
  sh.code_dir = dir.path();
  WorkerPool shp(sh, 1, logs.Sink());
  InvokeResult a = shp.Invoke(Records({"a", "b"}), Ctx("sh-1"));
  ASSERT_TRUE(a.ok()) << a.error->message;
  EXPECT_EQ(a.records[1].result, RecordResult::kDropped);
  ASSERT_EQ(logs.For("sh-1").size(), 1u);
  EXPECT_EQ(logs.For("sh-1")[0].text, "got an event");
  InvokeResult a2 = shp.Invoke(Records({"c"}), Ctx("sh-2"));
  ASSERT_TRUE(a2.ok()) << a2.error->message;
  EXPECT_EQ(a2.worker_pid, a.worker_pid);

  FunctionSpec py = sh;
  py.handler = "upper.py";
  WorkerPool pyp(py, 1, nullptr);
  InvokeResult b = pyp.Invoke(Records({"abc", "xyz"}), Ctx());
  ASSERT_TRUE(b.ok()) << b.error->message;
  EXPECT_EQ(b.records[0].data, "ABC");
  EXPECT_EQ(b.records[1].data, "XYZ");
}

TEST(TransformPool, ExceptionIsFunctionErrorAndWorkerStays) {
  CodeDir dir;
  dir.Write("m.py",
            "def h(event, context):\n"
            "    print('about to fail')\n"
            "    raise ValueError('bad sector')\n");
  Logs logs;
  WorkerPool pool(PySpec(dir.path(), "m.h"), 1, logs.Sink());
  InvokeResult r = pool.Invoke(Records({"a"}), Ctx("e-1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, errc::kFunctionError);
  EXPECT_EQ(r.error->kind, ErrorKind::kFunctionError);
  EXPECT_EQ(r.error->message, "ValueError: bad sector");
  // What it printed, then the error with its traceback, as Lambda logs it.
  auto lines = logs.For("e-1");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0].error);
  EXPECT_TRUE(lines[1].error);
  EXPECT_EQ(
      lines[1].text.rfind("[ERROR] ValueError: bad sector\nTraceback (most recent call last):", 0),
      0u)
      << lines[1].text;
  EXPECT_NE(lines[1].text.find("raise ValueError('bad sector')"), std::string::npos);
  InvokeResult again = pool.Invoke(Records({"a"}), Ctx());
  EXPECT_EQ(again.worker_pid, r.worker_pid);
}

// Regression (issue #11): `ps` showed the bootstrap's source on the worker's command line.
TEST(TransformPool, TheCommandLineHoldsNoSource) {
  CodeDir dir;
  dir.Write("m.py", "def h(event, context):\n    return {'records': []}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h"), 1, nullptr);
  auto pids = pool.IdlePids();
  ASSERT_EQ(pids.size(), 1u);
  std::ifstream f("/proc/" + std::to_string(pids[0]) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(cmd.find("bootstrap.py"), std::string::npos) << cmd;
  EXPECT_EQ(cmd.find("import "), std::string::npos) << cmd;
  EXPECT_EQ(cmd.find('\n'), std::string::npos) << cmd;
}

TEST(TransformPool, ImportErrorAndBadHandler) {
  CodeDir dir;
  dir.Write("broken.py", "import nonexistent_module_xyz\n");
  WorkerPool pool(PySpec(dir.path(), "broken.h"), 1, nullptr);
  InvokeResult r = pool.Invoke(Records({"a"}), Ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, errc::kFunctionError);
  EXPECT_NE(r.error->message.find("Runtime.ImportModuleError"), std::string::npos);
  WorkerPool none(PySpec(dir.path(), "nomodule"), 1, nullptr);
  EXPECT_FALSE(none.Invoke(Records({"a"}), Ctx()).ok());
}

TEST(TransformPool, HangTimesOutAndPoolRecovers) {
  CodeDir dir;
  dir.Write("m.py",
            "import time\n"
            "def h(event, context):\n"
            "    if event['records'][0]['data'] == 'aGFuZw==':\n"  // "hang"
            "        time.sleep(3600)\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "             'data': r['data']} for r in event['records']]}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h", 1000), 1, nullptr);
  ASSERT_TRUE(pool.Invoke(Records({"warm"}), Ctx()).ok());  // import done: time the hang only
  auto t0 = std::chrono::steady_clock::now();
  InvokeResult r = pool.Invoke(Records({"hang"}), Ctx());
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, ErrorKind::kTimeout);
  EXPECT_EQ(r.error->code, errc::kFunctionError);
  EXPECT_EQ(r.error->message, "Task timed out after 1.00 seconds");
  EXPECT_GE(took, std::chrono::milliseconds(1000));
  // Generous: the bound catches a timeout that never fires (the function sleeps an hour),
  // not scheduling delays on a loaded 2-core machine.
  EXPECT_LT(took, std::chrono::milliseconds(15000));
  InvokeResult next = pool.Invoke(Records({"ok"}), Ctx());
  ASSERT_TRUE(next.ok()) << next.error->message;
  EXPECT_NE(next.worker_pid, r.worker_pid);
  EXPECT_NE(kill(r.worker_pid, 0), 0);  // the hung worker is gone
}

TEST(TransformPool, ExecThatNeverReadsStillTimesOut) {
  CodeDir dir;
  dir.Write("sleep.sh", "#!/bin/sh\nexec sleep 3600\n", true);
  FunctionSpec s;
  s.name = "sleepy";
  s.runtime = Runtime::kExec;
  s.handler = "sleep.sh";
  s.code_dir = dir.path();
  s.timeout_ms = 500;
  WorkerPool pool(s, 1, nullptr);
  std::string big(4 << 20, 'x');  // far more than a socket buffer: the write must not block
  auto t0 = std::chrono::steady_clock::now();
  InvokeResult r = pool.Invoke(Records({big}), Ctx());
  EXPECT_EQ(r.error->kind, ErrorKind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(15000));
}

TEST(TransformPool, MemoryPastTheLimitIsAnErrorAndPoolRecovers) {
  CodeDir dir;
  dir.Write("m.py",
            "def h(event, context):\n"
            "    if event['records'][0]['data'] == 'Ymln':\n"  // "big"
            "        hog = bytearray(1024 * 1024 * 1024)\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "             'data': r['data']} for r in event['records']]}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h", 10000, 128), 1, nullptr);
  InvokeResult r = pool.Invoke(Records({"big"}), Ctx());
  ASSERT_FALSE(r.ok());
  // (Once, under a loaded ctest run, this came back kCrash; the message says why.)
  EXPECT_EQ(r.error->kind, ErrorKind::kOutOfMemory) << r.error->message;
  EXPECT_EQ(r.error->code, errc::kFunctionError);
  InvokeResult next = pool.Invoke(Records({"small"}), Ctx());
  ASSERT_TRUE(next.ok()) << next.error->message;
  EXPECT_NE(next.worker_pid, r.worker_pid);
}

// Regression: a worker that answers and exits at once (as the python bootstrap does after
// reporting a MemoryError, exit status 75) had its answer read together with the end of its
// output, and was reported as a crash instead of by its answer.
TEST(TransformPool, AnAnswerFollowedAtOnceByExitIsTheAnswer) {
  CodeDir dir;
  dir.Write(
      "once.sh",
      "#!/bin/sh\n"
      "read -r line\n"
      "id=$(echo \"$line\" | sed 's/.*\"recordId\":\"\\([^\"]*\\)\".*/\\1/')\n"
      "echo \"{\\\"records\\\":[{\\\"recordId\\\":\\\"$id\\\",\\\"result\\\":\\\"Dropped\\\"}]}\"\n"
      "exit 75\n",
      true);
  FunctionSpec s;
  s.name = "once";
  s.runtime = Runtime::kExec;
  s.handler = "once.sh";
  s.code_dir = dir.path();
  for (int i = 0; i < 5; ++i) {
    WorkerPool pool(s, 1, nullptr);
    InvokeResult r = pool.Invoke(Records({"x"}), Ctx());
    ASSERT_TRUE(r.ok()) << i << ": " << r.error->message;
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].result, RecordResult::kDropped);
  }
}

TEST(TransformPool, CrashesAreErrorsAndPoolRecovers) {
  CodeDir dir;
  dir.Write("m.py",
            "import ctypes, os\n"
            "def h(event, context):\n"
            "    d = event['records'][0]['data']\n"
            "    if d == 'ZXhpdA==':\n"  // "exit"
            "        os._exit(3)\n"
            "    if d == 'c2Vndg==':\n"  // "segv"
            "        ctypes.string_at(0)\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "             'data': r['data']} for r in event['records']]}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h"), 1, nullptr);
  InvokeResult exited = pool.Invoke(Records({"exit"}), Ctx());
  ASSERT_FALSE(exited.ok());
  EXPECT_EQ(exited.error->kind, ErrorKind::kCrash);
  EXPECT_NE(exited.error->message.find("exit status 3"), std::string::npos)
      << exited.error->message;
  ASSERT_TRUE(pool.Invoke(Records({"ok"}), Ctx()).ok());
  InvokeResult segv = pool.Invoke(Records({"segv"}), Ctx());
  ASSERT_FALSE(segv.ok());
  EXPECT_EQ(segv.error->kind, ErrorKind::kCrash);
  EXPECT_NE(segv.error->message.find("Segmentation"), std::string::npos) << segv.error->message;
  ASSERT_TRUE(pool.Invoke(Records({"ok"}), Ctx()).ok());
}

TEST(TransformPool, GarbageAndBadIdsFromRealWorkers) {
  CodeDir dir;
  dir.Write("m.py",
            "def h(event, context):\n"
            "    recs = event['records']\n"
            "    mode = recs[0]['data']\n"
            "    out = [{'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']}\n"
            "           for r in recs]\n"
            "    if mode == 'ZHJvcA==':\n"  // "drop": forget the last id
            "        out.pop()\n"
            "    if mode == 'ZHVw':\n"  // "dup"
            "        out.append(dict(out[0]))\n"
            "    if mode == 'Ym9n':\n"  // "bog": not a result
            "        return 'certainly not records'\n"
            "    if mode == 'c2V0':\n"  // "set": not serializable
            "        return {'records': {1, 2}}\n"
            "    return {'records': out}\n");
  WorkerPool pool(PySpec(dir.path(), "m.h"), 1, nullptr);
  EXPECT_EQ(pool.Invoke(Records({"drop", "b"}), Ctx()).error->code, errc::kMissingRecordId);
  EXPECT_EQ(pool.Invoke(Records({"dup", "b"}), Ctx()).error->code, errc::kDuplicatedRecordId);
  EXPECT_EQ(pool.Invoke(Records({"bog", "b"}), Ctx()).error->code, errc::kJsonProcessing);
  InvokeResult set = pool.Invoke(Records({"set"}), Ctx());
  EXPECT_EQ(set.error->code, errc::kFunctionError);
  EXPECT_NE(set.error->message.find("Runtime.MarshalError"), std::string::npos);

  // An exec function that prints non-JSON.
  dir.Write("noise.sh", "#!/bin/sh\nwhile read -r l; do echo 'hello, not json'; done\n", true);
  FunctionSpec s;
  s.name = "noise";
  s.runtime = Runtime::kExec;
  s.handler = "noise.sh";
  s.code_dir = dir.path();
  WorkerPool noise(s, 1, nullptr);
  InvokeResult g = noise.Invoke(Records({"a"}), Ctx());
  EXPECT_EQ(g.error->code, errc::kJsonProcessing);
  EXPECT_EQ(g.error->kind, ErrorKind::kBadResponse);
}

TEST(TransformPool, MissingExecutableFailsToSpawn) {
  FunctionSpec s;
  s.name = "ghost";
  s.runtime = Runtime::kExec;
  s.handler = "does-not-exist";
  s.code_dir = "/tmp";
  WorkerPool pool(s, 1, nullptr);
  InvokeResult r = pool.Invoke(Records({"a"}), Ctx());
  EXPECT_EQ(r.error->kind, ErrorKind::kSpawnFailed);
}

TEST(TransformPool, ConcurrentInvocationsUseSeparateWorkers) {
  CodeDir dir;
  dir.Write("m.py",
            "import time\n"
            "def h(event, context):\n"
            "    time.sleep(0.3)\n"
            "    print('slept')\n"
            "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
            "             'data': r['data']} for r in event['records']]}\n");
  Logs logs;
  WorkerPool pool(PySpec(dir.path(), "m.h"), 2, logs.Sink());
  ASSERT_TRUE(pool.Invoke(Records({"w"}), Ctx()).ok());  // both imports done by now, roughly
  InvokeResult a, b;
  std::thread ta([&] { a = pool.Invoke(Records({"a"}), Ctx("A")); });
  std::thread tb([&] { b = pool.Invoke(Records({"b"}), Ctx("B")); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.worker_pid, b.worker_pid);
  EXPECT_EQ(logs.For("A").size(), 1u);
  EXPECT_EQ(logs.For("B").size(), 1u);
}

}  // namespace
}  // namespace millrace::transform
