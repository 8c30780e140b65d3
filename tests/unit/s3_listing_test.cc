// Listing a local bucket in S3's order with prefix, delimiter, pages (s3/listing.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "s3/listing.h"

namespace millrace::s3 {
namespace {

class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-s3-list-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    // "a-c" sorts before "a/b" ('-' < '/'), which a plain directory walk would get wrong.
    for (const char* k : {"a/b", "a/c/d", "a-c", "b", "a/c/e", "z/y/x/w", "a.tmp", "q/.tmp-1"})
      Touch(k);
    std::filesystem::create_directories(root_ + "/empty/dir");
    std::filesystem::create_symlink("/etc/passwd", root_ + "/link");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Touch(const std::string& key) {
    std::filesystem::path p = root_ + "/" + key;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << key;
  }

  std::vector<std::string> Keys(const ListResult& r) {
    std::vector<std::string> out;
    for (const auto& o : r.objects) out.push_back(o.key);
    return out;
  }

  ListResult List(ListRequest req) {
    auto r = ListDirectory(root_, req);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : ListResult{};
  }

  std::string root_;
};

TEST_F(ListingTest, EveryObjectInKeyOrder) {
  ListResult r = List({});
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a-c", "a/b", "a/c/d", "a/c/e", "b", "z/y/x/w"}));
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.objects[0].size, 3u);
}

TEST_F(ListingTest, PrefixAndDelimiter) {
  ListRequest req;
  req.delimiter = "/";
  ListResult r = List(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a-c", "b"}));
  // An empty folder is no common prefix (S3 has no folders, only keys).
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a/", "z/"}));
  req.prefix = "a/";
  r = List(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a/b"}));
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a/c/"}));
  req.prefix = "a";
  r = List(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a-c"}));
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a/"}));
  ListRequest other;
  other.delimiter = "c";  // any delimiter, not only "/"
  r = List(other);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a/b", "b", "z/y/x/w"}));
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a-c", "a/c"}));
}

TEST_F(ListingTest, PagesResumeWhereTheyStopped) {
  std::vector<std::string> all;
  ListRequest req;
  req.max_keys = 2;
  for (int page = 0; page < 10; ++page) {
    ListResult r = List(req);
    for (const auto& k : Keys(r)) all.push_back(k);
    if (!r.truncated) break;
    req.after = r.last;
    req.after_is_prefix = r.last_is_prefix;
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a-c", "a/b", "a/c/d", "a/c/e", "b", "z/y/x/w"}));

  // With a delimiter, a page that ends on a common prefix resumes after all its keys.
  ListRequest d;
  d.delimiter = "/";
  d.max_keys = 2;
  ListResult first = List(d);
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"a-c"}));
  EXPECT_EQ(first.common_prefixes, (std::vector<std::string>{"a/"}));
  ASSERT_TRUE(first.truncated);
  d.after = first.last;
  d.after_is_prefix = first.last_is_prefix;
  ListResult second = List(d);
  EXPECT_EQ(Keys(second), (std::vector<std::string>{"b"}));
  EXPECT_EQ(second.common_prefixes, (std::vector<std::string>{"z/"}));
  EXPECT_FALSE(second.truncated);

  ListRequest after;
  after.after = "a/c/d";
  EXPECT_EQ(Keys(List(after)), (std::vector<std::string>{"a/c/e", "b", "z/y/x/w"}));
  ListRequest zero;
  zero.max_keys = 0;
  ListResult none = List(zero);
  EXPECT_TRUE(none.objects.empty());
}

TEST_F(ListingTest, AMissingFolderIsAnEmptyBucket) {
  auto r = ListDirectory(root_ + "/nothing-here", {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
}

}  // namespace
}  // namespace millrace::s3
