// transform/sandbox: a transformation is untrusted code. Each test is an escape attempt a
// function makes from inside a real worker; each must be denied. Needs root (the server's
// full sandbox: its own user and namespaces); skipped otherwise.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "common/encoding.h"
#include "transform/worker_pool.h"
#include "transform_test_util.h"

namespace millrace::transform {
namespace {

// A function that runs `probe` (Python source defining probe() -> str) on each record and
// returns what it said as the record's data.
FunctionSpec ProbeSpec(CodeDir& dir, const std::string& probe, int64_t timeout_ms = 20000) {
  dir.Write("p.py", probe +
                        "\nimport base64\n"
                        "def h(event, context):\n"
                        "    out = []\n"
                        "    for r in event['records']:\n"
                        "        said = probe(base64.b64decode(r['data']).decode())\n"
                        "        out.append({'recordId': r['recordId'], 'result': 'Ok',\n"
                        "                    'data': base64.b64encode(said.encode()).decode()})\n"
                        "    return {'records': out}\n");
  return PySpec(dir.path(), "p.h", timeout_ms);
}

// What the probe answered for `arg`, or the invocation's error.
std::string Probe(const FunctionSpec& spec, const std::string& arg) {
  WorkerPool pool(spec, 1, nullptr);
  InvokeResult r = pool.Invoke(Records({arg}), Ctx());
  if (!r.ok()) return "error: " + r.error->message;
  if (r.records.size() != 1) return "error: no record";
  return r.records[0].data;
}

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the full sandbox needs the server to run as root";
  }
};

// Regression: the child of clone(2) called glibc's setgroups, which signals every thread of
// the parent's (copied) thread list and waited forever for threads the child does not have.
// Workers started from several threads at once, while other threads run, must all start.
TEST_F(Sandbox, WorkersStartedFromManyThreadsAtOnceAllStart) {
  CodeDir dir;
  FunctionSpec spec = ProbeSpec(dir, "def probe(arg):\n    return 'up'\n");
  std::atomic<bool> busy{true};
  std::thread spinner([&] {  // a thread that is alive throughout, as the server's are
    while (busy) std::this_thread::yield();
  });
  auto all = std::async(std::launch::async, [&] {
    std::vector<std::thread> starters;
    std::atomic<int> ok{0};
    for (int t = 0; t < 6; ++t)
      starters.emplace_back([&] {
        for (int i = 0; i < 4; ++i) {
          WorkerPool pool(spec, 1, nullptr);
          if (pool.IdlePids().size() == 1) ++ok;
        }
      });
    for (auto& t : starters) t.join();
    return ok.load();
  });
  const bool done = all.wait_for(std::chrono::seconds(90)) == std::future_status::ready;
  busy = false;
  spinner.join();
  if (!done) {
    ADD_FAILURE() << "starting workers hung";
    std::_Exit(1);  // the hung threads cannot be joined
  }
  EXPECT_EQ(all.get(), 24);
}

TEST_F(Sandbox, RunsAsAnotherUserWithoutPrivileges) {
  CodeDir dir;
  std::string got = Probe(
      ProbeSpec(dir,
                "import os\n"
                "def probe(arg):\n"
                "    return '%d %d %s' % (os.getuid(), os.geteuid(),\n"
                "        open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])\n"),
      "");
  EXPECT_EQ(got.find("error"), std::string::npos) << got;
  EXPECT_NE(got.substr(0, 2), "0 ") << "the function runs as root: " << got;
  EXPECT_EQ(got.back(), '1') << "no_new_privs is not set: " << got;
}

TEST_F(Sandbox, CannotReadShadowOrTheServersFiles) {
  // A stand-in for the data directory: the server's, 0700, with a secret in it.
  CodeDir data;
  chmod(data.path().c_str(), 0700);
  data.Write("catalog.db", "secret-key-material");
  CodeDir dir;
  FunctionSpec spec = ProbeSpec(dir,
                                "def probe(path):\n"
                                "    try:\n"
                                "        return 'read ' + open(path).read()[:20]\n"
                                "    except Exception as e:\n"
                                "        return 'denied ' + type(e).__name__\n");
  EXPECT_EQ(Probe(spec, "/etc/shadow").rfind("denied", 0), 0u);
  EXPECT_EQ(Probe(spec, data.path() + "/catalog.db").rfind("denied", 0), 0u);
  // Its own code and temporary directory are its own.
  CodeDir dir2;
  std::string tmp = Probe(ProbeSpec(dir2,
                                    "import os, tempfile\n"
                                    "def probe(arg):\n"
                                    "    with tempfile.NamedTemporaryFile() as f:\n"
                                    "        f.write(b'x')\n"
                                    "    return 'ok ' + os.environ['TMPDIR']\n"),
                          "");
  EXPECT_EQ(tmp.rfind("ok /tmp/millrace-fn-", 0), 0u) << tmp;
}

TEST_F(Sandbox, GetsAnEmptyEnvironment) {
  setenv("MILLRACE_TEST_SERVER_SECRET", "do-not-leak", 1);
  CodeDir dir;
  std::string got = Probe(ProbeSpec(dir,
                                    "import os\n"
                                    "def probe(arg):\n"
                                    "    return ','.join(sorted(os.environ))\n"),
                          "");
  unsetenv("MILLRACE_TEST_SERVER_SECRET");
  EXPECT_EQ(got.find("MILLRACE_TEST_SERVER_SECRET"), std::string::npos) << got;
  for (std::string_view name : {"AWS_LAMBDA_FUNCTION_NAME", "HOME", "PATH", "TMPDIR"})
    EXPECT_NE(got.find(name), std::string::npos) << name << " missing from " << got;
}

// A listening socket on loopback, as the server's port is.
struct Listener {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  Listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 16);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

const char* kConnectProbe =
    "import socket\n"
    "def probe(port):\n"
    "    try:\n"
    "        socket.create_connection(('127.0.0.1', int(port)), timeout=2).close()\n"
    "        return 'connected'\n"
    "    except OSError as e:\n"
    "        return 'denied ' + type(e).__name__\n";

TEST_F(Sandbox, HasNoNetworkUnlessAskedFor) {
  Listener server;
  CodeDir dir;
  FunctionSpec spec = ProbeSpec(dir, kConnectProbe);
  EXPECT_EQ(Probe(spec, std::to_string(server.port)).rfind("denied", 0), 0u);
  spec.network = true;
  EXPECT_EQ(Probe(spec, std::to_string(server.port)), "connected");
}

TEST_F(Sandbox, CannotSignalTheServer) {
  CodeDir dir;
  std::string got = Probe(ProbeSpec(dir,
                                    "import os, signal\n"
                                    "def probe(pid):\n"
                                    "    try:\n"
                                    "        os.kill(int(pid), signal.SIGKILL)\n"
                                    "        return 'signalled'\n"
                                    "    except OSError as e:\n"
                                    "        return 'denied ' + type(e).__name__\n"),
                          std::to_string(getpid()));
  EXPECT_EQ(got.rfind("denied", 0), 0u) << got;  // and this test process is still alive
}

// Processes whose command line contains `marker`, over the whole machine.
int CountProcesses(const std::string& marker) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(marker) != std::string::npos) ++n;
  }
  closedir(d);
  return n;
}

TEST_F(Sandbox, ALingeringSetsidChildDiesWithTheWorker) {
  const std::string marker = "sleep 3141" + std::to_string(getpid() % 1000);
  {
    CodeDir dir;
    WorkerPool pool(ProbeSpec(dir,
                              "import subprocess\n"
                              "def probe(seconds):\n"
                              "    subprocess.Popen(['sleep', seconds], start_new_session=True)\n"
                              "    return 'started'\n"),
                    1, nullptr);
    InvokeResult r = pool.Invoke(Records({marker.substr(6)}), Ctx());
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(CountProcesses(marker), 1);
  }
  for (int i = 0; i < 100 && CountProcesses(marker) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(CountProcesses(marker), 0) << "the function's setsid child outlived its worker";
}

TEST_F(Sandbox, AForkBombIsBoundedAndStoppedWhole) {
  CodeDir dir;
  WorkerPool pool(ProbeSpec(dir,
                            "import os, time\n"
                            "def probe(arg):\n"
                            "    n = 0\n"
                            "    for _ in range(100000):\n"
                            "        try:\n"
                            "            if os.fork() == 0:\n"
                            "                time.sleep(3600)\n"
                            "                os._exit(0)\n"
                            "            n += 1\n"
                            "        except OSError:\n"
                            "            break\n"
                            "    time.sleep(3600)\n",
                            2000),
                  1, nullptr);
  InvokeResult r = pool.Invoke(Records({"go"}), Ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, ErrorKind::kTimeout);
  // The pool still works, and nothing of the bomb is left.
  CodeDir ok_dir;
  EXPECT_EQ(Probe(ProbeSpec(ok_dir, "def probe(arg):\n    return 'fine'\n"), ""), "fine");
}

TEST_F(Sandbox, WorkDirectoryIsRemovedWithTheWorker) {
  CodeDir dir;
  std::string work;
  {
    WorkerPool pool(ProbeSpec(dir, "import os\ndef probe(arg):\n    return os.getcwd()\n"), 1,
                    nullptr);
    InvokeResult r = pool.Invoke(Records({""}), Ctx());
    ASSERT_TRUE(r.ok()) << r.error->message;
    work = r.records[0].data;
  }
  ASSERT_EQ(work.rfind("/tmp/millrace-fn-", 0), 0u) << work;
  struct stat st;
  EXPECT_NE(stat(work.c_str(), &st), 0) << work << " is still there";
}

}  // namespace
}  // namespace millrace::transform
