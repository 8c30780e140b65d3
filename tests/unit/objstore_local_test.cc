// The local ObjectStore on a real temporary directory: round trips, nested keys, key rules,
// List and Delete, atomic replacement under a concurrent reader, and a full disk (a 1 MiB
// tmpfs, when the test may mount one).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "objstore/object_store.h"

namespace millrace::objstore {
namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/millrace-objstore-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<ObjectStore> Open(const std::string& root) {
  Result<std::unique_ptr<ObjectStore>> store = NewLocalStore(root);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The object's bytes; "<none>" when there is no object; "<error ...>" on failure.
std::string Read(ObjectStore* store, const std::string& key) {
  Result<std::optional<std::string>> r = store->Get(key);
  if (!r.ok()) return "<error " + r.status().ToString() + ">";
  return r->has_value() ? **r : "<none>";
}

std::vector<std::string> Keys(ObjectStore* store, const std::string& prefix) {
  Result<std::vector<std::string>> r = store->List(prefix);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<std::string>{};
}

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s + std::string("\0\r\n", 3);
}

// Every file (not directory) under `root`, relative, sorted: what a reader could see.
std::vector<std::string> FilesUnder(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LocalStore, RoundTripsBinaryBytesUnderNestedKeys) {
  TempDir dir;
  auto store = Open(dir.path() + "/datasets/x");  // created, parents included
  ASSERT_NE(store, nullptr);
  const std::string data = AllBytes();
  ASSERT_TRUE(store->Put("top", data, "application/octet-stream").ok());
  ASSERT_TRUE(store->Put("2026/11/21/06/name-1.jsonl", "{\"a\":1}\n", "application/json").ok());
  ASSERT_TRUE(store->Put("empty", "", "").ok());

  Result<std::optional<std::string>> got = store->Get("top");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, data);
  got = store->Get("2026/11/21/06/name-1.jsonl");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "{\"a\":1}\n");
  got = store->Get("empty");
  ASSERT_TRUE(got.ok() && got->has_value());  // an empty object is an object
  EXPECT_EQ(**got, "");

  // The file is where the key says.
  std::ifstream in(dir.path() + "/datasets/x/2026/11/21/06/name-1.jsonl");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "{\"a\":1}");

  // No object: a missing key, a key under a file, a directory.
  for (const char* missing : {"nope", "top/below", "2026/11", "2026/11/21/06/other"}) {
    got = store->Get(missing);
    ASSERT_TRUE(got.ok()) << missing << ": " << got.status().ToString();
    EXPECT_FALSE(got->has_value()) << missing;
  }
  EXPECT_EQ(FilesUnder(dir.path() + "/datasets/x"),
            (std::vector<std::string>{"2026/11/21/06/name-1.jsonl", "empty", "top"}));
}

TEST(LocalStore, PutOfTheSameBytesAgainIsHarmless) {
  TempDir dir;
  auto store = Open(dir.path());
  ASSERT_TRUE(store->Put("a/b", "same", "").ok());
  ASSERT_TRUE(store->Put("a/b", "same", "").ok());
  EXPECT_EQ(Read(store.get(), "a/b"), "same");
  ASSERT_TRUE(store->Put("a/b", "different", "").ok());
  EXPECT_EQ(Read(store.get(), "a/b"), "different");
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{"a/b"});
}

// Issue #10: files are opened relative to the store's directory handle (RESOLVE_BENEATH),
// so a symbolic link inside the store cannot lead a key out of it.
TEST(LocalStore, LinksInsideTheStoreLeadNowhereOutsideIt) {
  TempDir dir, outside;
  { std::ofstream(outside.path() + "/secret") << "outside"; }
  const std::string root = dir.path() + "/store";
  auto store = Open(root);
  ASSERT_EQ(::symlink(outside.path().c_str(), (root + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink((outside.path() + "/secret").c_str(), (root + "/file").c_str()), 0);
  EXPECT_EQ(Read(store.get(), "escape/secret"), "<none>");
  EXPECT_EQ(Read(store.get(), "file"), "<none>");
  EXPECT_FALSE(store->Put("escape/new", "x", "").ok());
  EXPECT_FALSE(fs::exists(outside.path() + "/new"));
  // Ordinary keys still work beside the links.
  ASSERT_TRUE(store->Put("a/b", "fine", "").ok());
  EXPECT_EQ(Read(store.get(), "a/b"), "fine");
}

TEST(LocalStore, RejectsKeysThatAreNotRelativePaths) {
  TempDir dir;
  auto store = Open(dir.path() + "/root");
  const std::string bad[] = {"",
                             "/abs",
                             "a//b",
                             "a/",
                             "../x",
                             "a/../b",
                             "..",
                             "a/./b",
                             ".",
                             std::string("a\0b", 3),
                             "x.tmp-1",
                             "d.tmp-x/y",
                             std::string(1025, 'k')};
  for (const std::string& key : bad) {
    Status s = store->Put(key, "x", "");
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "'" << key << "': " << s.ToString();
    EXPECT_NE(s.message().find("local:"), std::string::npos) << s.message();
    EXPECT_EQ(store->Get(key).status().code(), Code::kInvalidArgument) << key;
    EXPECT_EQ(store->Delete(key).code(), Code::kInvalidArgument) << key;
  }
  for (const char* prefix : {"/a", "../", "a/../", "a//"})
    EXPECT_EQ(store->List(prefix).status().code(), Code::kInvalidArgument) << prefix;
  // Nothing was written anywhere, inside the root or beside it.
  EXPECT_TRUE(FilesUnder(dir.path()).empty());
  // Odd but valid: dots inside names, spaces, unicode, a key that is exactly 1024 bytes.
  for (const std::string& key :
       {std::string("a..b/.hidden/c."), std::string("with space/ü+日本"), std::string(1024, 'k')}) {
    Status s = store->Put(key, "ok", "");
    // 1024 bytes in one segment is longer than a file name may be (255): the file system
    // refuses it, as an IoError rather than a crash.
    if (key.size() == 1024) {
      EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
      continue;
    }
    EXPECT_TRUE(s.ok()) << key << ": " << s.ToString();
    EXPECT_EQ(Read(store.get(), key), "ok");
  }
}

TEST(LocalStore, ListsRecursivelySortedByPrefixWithoutTemporaries) {
  TempDir dir;
  auto store = Open(dir.path());
  const std::vector<std::string> keys = {"2026/11/21/06/b", "2026/11/21/06/a", "2026/11/21/07/c",
                                         "2026/12/01/00/d", "2027/x",          "top"};
  for (const std::string& k : keys) ASSERT_TRUE(store->Put(k, k, "").ok());
  // A temporary left by a crash, and a directory with nothing in it.
  std::ofstream(dir.path() + "/2026/11/21/06/e.tmp-0123456789abcdef") << "partial";
  fs::create_directories(dir.path() + "/2026/empty/dir");

  auto list = [&](const std::string& prefix) { return Keys(store.get(), prefix); };
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(list(""), sorted);
  EXPECT_EQ(list("2026/11/"),
            (std::vector<std::string>{"2026/11/21/06/a", "2026/11/21/06/b", "2026/11/21/07/c"}));
  EXPECT_EQ(list("2026/1"), (std::vector<std::string>{"2026/11/21/06/a", "2026/11/21/06/b",
                                                      "2026/11/21/07/c", "2026/12/01/00/d"}));
  EXPECT_EQ(list("2026/11/21/06/a"), std::vector<std::string>{"2026/11/21/06/a"});
  EXPECT_EQ(list("t"), std::vector<std::string>{"top"});
  EXPECT_TRUE(list("nope/").empty());
  EXPECT_TRUE(list("top/").empty());  // a file, not a directory
}

TEST(LocalStore, DeleteRemovesAndIsIdempotent) {
  TempDir dir;
  auto store = Open(dir.path());
  ASSERT_TRUE(store->Put("a/b/c", "x", "").ok());
  ASSERT_TRUE(store->Put("a/d", "y", "").ok());
  ASSERT_TRUE(store->Delete("a/b/c").ok());
  EXPECT_EQ(Read(store.get(), "a/b/c"), "<none>");
  EXPECT_EQ(Keys(store.get(), ""), std::vector<std::string>{"a/d"});
  EXPECT_TRUE(store->Delete("a/b/c").ok());              // gone already
  EXPECT_TRUE(store->Delete("never/was").ok());          // never there
  EXPECT_TRUE(store->Delete("a/d/under").ok());          // under a file
  EXPECT_EQ(store->Delete("a").code(), Code::kIoError);  // a directory is not an object
}

// A reader polling a key while it is replaced again and again sees the old object or the
// new one, whole, never a torn mix or a prefix; no temporary survives.
TEST(LocalStore, ReplacementIsAtomicForAConcurrentReader) {
  TempDir dir;
  auto store = Open(dir.path());
  const std::string a(256 << 10, 'a');
  const std::string b(512 << 10, 'b');
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      Result<std::optional<std::string>> got = store->Get("hot/key");
      if (!got.ok()) {
        ++bad;
        continue;
      }
      if (got->has_value() && **got != a && **got != b) ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(store->Put("hot/key", i % 2 ? b : a, "").ok());
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{"hot/key"});
}

// Several threads creating the same new directories at once all succeed.
TEST(LocalStore, ConcurrentPutsIntoNewDirectories) {
  TempDir dir;
  auto store = Open(dir.path());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string key = "d" + std::to_string(i) + "/e/f/t" + std::to_string(t);
        if (!store->Put(key, key, "").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Keys(store.get(), "").size(), 80u);
}

TEST(LocalStore, OpenFailsWhenTheRootIsAFile) {
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  Result<std::unique_ptr<ObjectStore>> store = NewLocalStore(dir.path() + "/file");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kIoError) << store.status().ToString();
  EXPECT_EQ(NewLocalStore("").status().code(), Code::kInvalidArgument);
  auto ok = Open(dir.path() + "/r/");
  EXPECT_EQ(ok->Describe(), "local:" + dir.path() + "/r");
}

// A 1 MiB tmpfs mounted on a temporary directory for the test's duration.
class TinyTmpfs {
 public:
  TinyTmpfs() {
    if (::geteuid() != 0) {
      why_not_ = "not running as root";
      return;
    }
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=1m") != 0) {
      why_not_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

TEST(LocalStore, FullDiskIsNoSpaceAndLeavesTheOldObjectAndNoTemporary) {
  TinyTmpfs disk;
  if (!disk.mounted()) GTEST_SKIP() << "no tmpfs for the full-disk case: " << disk.why_not();
  auto store = Open(disk.path() + "/root");
  ASSERT_TRUE(store->Put("a/keep", "old bytes", "").ok());
  const std::string big(2 << 20, 'z');

  Status s = store->Put("a/keep", big, "");  // replacing
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_NE(s.message().find("'a/keep'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("local:" + disk.path()), std::string::npos) << s.message();
  s = store->Put("b/new", big, "");  // creating
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();

  EXPECT_EQ(Read(store.get(), "a/keep"), "old bytes");
  EXPECT_EQ(Read(store.get(), "b/new"), "<none>");
  EXPECT_EQ(FilesUnder(disk.path() + "/root"), std::vector<std::string>{"a/keep"});
  // Space is back once the failed writes are gone: a small Put works.
  EXPECT_TRUE(store->Put("b/new", "small", "").ok());
}

// A file being written is never in the published tree (a folder synced meanwhile would
// pick it up): it is staged beside it, and a crash's leftovers are swept at start.
TEST(LocalStore, WritesAreStagedOutsideTheTreeAndSweptAtStart) {
  TempDir dir;
  const std::string root = dir.path() + "/datasets/d", staging = dir.path() + "/staging/d";
  auto r = NewLocalStore(root, staging);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto store = std::move(r).value();
  std::atomic<bool> stop{false};
  std::atomic<int> seen_partial{0};
  std::thread watcher([&] {  // what a folder sync would see while Puts run
    while (!stop) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(root, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->path().filename().string() != "k" && it->is_regular_file(ec)) ++seen_partial;
    }
  });
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Put("2026/12/05/k", big, "").ok());
  stop = true;
  watcher.join();
  EXPECT_EQ(seen_partial.load(), 0);
  EXPECT_EQ(FilesUnder(root), std::vector<std::string>{"2026/12/05/k"});
  EXPECT_TRUE(FilesUnder(staging).empty());
  // A crash mid-write leaves its file in staging only; the sweep removes it.
  std::ofstream(staging + "/0123456789abcdef.tmp") << "partial";
  ASSERT_TRUE(SweepStaging(dir.path() + "/staging").ok());
  EXPECT_TRUE(FilesUnder(dir.path() + "/staging").empty());
  EXPECT_TRUE(SweepStaging(dir.path() + "/nothing-here").ok());
  // The default staging directory is a sibling of the root, not inside it.
  auto plain = Open(dir.path() + "/plain");
  ASSERT_TRUE(plain->Put("a", "b", "").ok());
  EXPECT_TRUE(fs::is_directory(dir.path() + "/.staging/plain"));
  EXPECT_EQ(FilesUnder(dir.path() + "/plain"), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace millrace::objstore
