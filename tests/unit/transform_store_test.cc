// Unit tests of transform::CodeStore (unpacking uploaded code) and transform::LogStore (the
// in-memory rings of printed lines). Zips are made here with libzip.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "transform/code_store.h"
#include "transform/log_store.h"

namespace millrace::transform {
namespace {

namespace fs = std::filesystem;

struct ZipEntry {
  std::string name;
  std::string content;
  uint32_t mode = S_IFREG | 0644;  // S_IFLNK for a symlink (content: its target)
};

// A zip of `entries`, stored with Unix attributes.
std::string MakeZip(const std::vector<ZipEntry>& entries) {
  char tmpl[] = "/tmp/millrace-zip-XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  close(fd);
  int err = 0;
  zip_t* za = zip_open(tmpl, ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(za, nullptr) << err;
  for (const auto& e : entries) {
    zip_int64_t idx;
    if (!e.name.empty() && e.name.back() == '/') {
      idx = zip_dir_add(za, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* src = zip_source_buffer(za, e.content.data(), e.content.size(), 0);
      idx = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    }
    EXPECT_GE(idx, 0) << e.name << ": " << zip_strerror(za);
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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-codestore-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The entries under transformations/<name>, names only.
  std::vector<std::string> Listing(const std::string& name) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(CodeStore::Dir(dir_, name), ec))
      out.push_back(e.path().filename().string());
    return out;
  }
  void ExpectRefused(const std::vector<ZipEntry>& entries, const std::string& text) {
    auto r = CodeStore::Install(dir_, "f", 1, "code.zip", MakeZip(entries));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().ToString();
    EXPECT_FALSE(fs::exists(CodeStore::Dir(dir_, "f"))) << "nothing is left behind";
  }
  std::string dir_;
};

TEST_F(CodeStoreTest, PyFileIsWrittenAsIs) {
  auto r = CodeStore::Install(dir_, "f", 1, "main.py", "def handler(e, c):\n  return e\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, dir_ + "/transformations/f/1");
  EXPECT_EQ(ReadFile(*r + "/main.py"), "def handler(e, c):\n  return e\n");
  EXPECT_EQ(Listing("f"), std::vector<std::string>{"1"}) << "no temporary directory left";
}

TEST_F(CodeStoreTest, ZipIsExtractedWithDirectoriesAndExecutableBits) {
  std::string zip = MakeZip({{"app.py", "import lib.util\n"},
                             {"lib/", "", S_IFDIR | 0755},
                             {"lib/util.py", "X = 1\n"},
                             {"bin/run", "#!/bin/sh\ncat\n", S_IFREG | 0755}});
  auto r = CodeStore::Install(dir_, "f", 3, "code.zip", zip);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(*r + "/app.py"), "import lib.util\n");
  EXPECT_EQ(ReadFile(*r + "/lib/util.py"), "X = 1\n");
  struct stat st;
  ASSERT_EQ(stat((*r + "/bin/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((*r + "/app.py").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CodeStoreTest, UnsafeEntriesAreRefused) {
  ExpectRefused({{"ok.py", "1"}, {"../evil.py", "x"}}, "'..'");
  ExpectRefused({{"a/../../evil.py", "x"}}, "'..'");
  ExpectRefused({{"/etc/evil.py", "x"}}, "absolute");
  ExpectRefused({{"link", "/etc/passwd", S_IFLNK | 0777}}, "symbolic link");
  ExpectRefused({{"dup.py", "a"}, {"./dup.py", "b"}}, "duplicate");
}

TEST_F(CodeStoreTest, SizeAndCountCaps) {
  std::vector<ZipEntry> many;
  for (size_t i = 0; i <= CodeStore::kMaxFiles; ++i) many.push_back({"f" + std::to_string(i), ""});
  ExpectRefused(many, "entries");
  // Compresses to almost nothing; the cap counts what is unpacked.
  ExpectRefused({{"big.bin", std::string(CodeStore::kMaxUnpackedBytes + 1, 'a')}}, "MiB");
}

TEST_F(CodeStoreTest, GarbageAndBadNamesAreRefused) {
  auto r = CodeStore::Install(dir_, "f", 1, "code.zip", "this is not a zip");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a valid zip"), std::string::npos);
  EXPECT_FALSE(CodeStore::Install(dir_, "f", 1, "../main.py", "x").ok());
  EXPECT_FALSE(CodeStore::Install(dir_, "f", 1, "a/main.py", "x").ok());
  EXPECT_TRUE(Listing("f").empty());
}

TEST_F(CodeStoreTest, CheckRunsBeforeTheRenameAndAFailureLeavesNothing) {
  std::string seen;
  auto r = CodeStore::Install(dir_, "f", 1, "main.py", "x", [&](const std::string& d) {
    seen = d;
    EXPECT_TRUE(fs::exists(d + "/main.py"));
    return Status::InvalidArgument("handler: no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "handler: no");
  EXPECT_NE(seen.find("/.tmp-1-"), std::string::npos) << seen;
  EXPECT_TRUE(Listing("f").empty());
}

TEST_F(CodeStoreTest, ReinstallReplacesAVersionAndRemoveDropsAll) {
  ASSERT_TRUE(CodeStore::Install(dir_, "f", 1, "main.py", "old").ok());
  ASSERT_TRUE(CodeStore::Install(dir_, "f", 1, "other.py", "new").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/transformations/f/1/main.py"));
  EXPECT_EQ(ReadFile(dir_ + "/transformations/f/1/other.py"), "new");
  ASSERT_TRUE(CodeStore::Install(dir_, "f", 2, "main.py", "v2").ok());
  ASSERT_TRUE(CodeStore::RemoveVersion(dir_, "f", 1).ok());
  EXPECT_EQ(Listing("f"), std::vector<std::string>{"2"});
  ASSERT_TRUE(CodeStore::Remove(dir_, "f").ok());
  EXPECT_FALSE(fs::exists(CodeStore::Dir(dir_, "f")));
  EXPECT_TRUE(CodeStore::Remove(dir_, "f").ok()) << "removing nothing is fine";
}

LogLine Line(std::string text, std::string invocation = "inv-1") {
  LogLine l;
  l.function_name = "f";
  l.invocation_id = std::move(invocation);
  l.text = std::move(text);
  return l;
}

TEST(LogStoreTest, ReadsBySinceAndLimitNewestLast) {
  ManualClock clock(1000);
  LogStore store(&clock);
  LogSink sink = store.SinkFor("f");
  sink(Line("a"));
  clock.Advance(10);
  sink(Line("b", "inv-2"));
  clock.Advance(10);
  sink(Line("c", "inv-2"));
  store.Add("g", Line("other"));

  auto all = store.Read("f", 0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].line.text, "a");
  EXPECT_EQ(all[0].time_ms, 1000);
  EXPECT_EQ(all[2].line.invocation_id, "inv-2");
  auto since = store.Read("f", 1010, 100);
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0].line.text, "b");
  auto last = store.Read("f", 0, 1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].line.text, "c");
  EXPECT_TRUE(store.Read("nope", 0, 10).empty());
  store.Drop("f");
  EXPECT_TRUE(store.Read("f", 0, 10).empty());
  EXPECT_EQ(store.Read("g", 0, 10).size(), 1u);
}

TEST(LogStoreTest, RingKeepsTheNewestLinesAndBytes) {
  ManualClock clock(1);
  LogStore store(&clock);
  for (size_t i = 0; i < LogStore::kMaxLines + 5; ++i) store.Add("f", Line(std::to_string(i)));
  auto lines = store.Read("f", 0, LogStore::kMaxLines * 2);
  ASSERT_EQ(lines.size(), LogStore::kMaxLines);
  EXPECT_EQ(lines.front().line.text, "5");

  const std::string big(kMaxLogLineBytes, 'x');
  for (int i = 0; i < 20; ++i) store.Add("h", Line(big));
  EXPECT_EQ(store.Read("h", 0, 100).size(), LogStore::kMaxBytes / big.size());
  store.Add("h", Line(std::string(kMaxLogLineBytes + 10, 'y')));
  EXPECT_EQ(store.Read("h", 0, 1)[0].line.text.size(), kMaxLogLineBytes) << "cut to the cap";
}

}  // namespace
}  // namespace millrace::transform
