// Configuration precedence: flag > MILLRACE_* environment variable > TOML file > default.
#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace millrace::config {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("MILLRACE_LISTEN");
    unsetenv("MILLRACE_THROTTLING");
    unsetenv("MILLRACE_CONFIG");
    path_ = "/tmp/millrace-config-test-" + std::to_string(getpid()) + ".toml";
  }
  void TearDown() override {
    unsetenv("MILLRACE_LISTEN");
    unsetenv("MILLRACE_THROTTLING");
    std::remove(path_.c_str());
  }
  void WriteToml(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(ConfigTest, Defaults) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_EQ(c->listen, "127.0.0.1:4580");
  EXPECT_TRUE(c->throttling);
  EXPECT_TRUE(c->sync);
}

TEST_F(ConfigTest, FlagBeatsEnvironmentBeatsFile) {
  WriteToml("listen = \"127.0.0.1:1111\"\nthrottling = false\nsegment_mb = 7\n");
  setenv("MILLRACE_LISTEN", "127.0.0.1:2222", 1);
  auto c = Load({"--config", path_});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:2222");  // env over file
  EXPECT_FALSE(c->throttling);             // file over default
  EXPECT_EQ(c->segment_mb, 7);
  c = Load({"--config", path_, "--listen=127.0.0.1:3333"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "127.0.0.1:3333");  // flag over env
}

TEST_F(ConfigTest, ErrorsNameTheSetting) {
  auto c = Load({"--no-such-flag", "1"});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--no-such-flag"), std::string::npos);
  setenv("MILLRACE_THROTTLING", "maybe", 1);
  c = Load({});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("MILLRACE_THROTTLING"), std::string::npos);
  unsetenv("MILLRACE_THROTTLING");
  WriteToml("bogus = 1\n");
  c = Load({"--config", path_});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bogus"), std::string::npos);
  EXPECT_FALSE(Load({"--listen", "nohostport"}).ok());
  EXPECT_FALSE(Load({"--auth", "maybe"}).ok());
}

}  // namespace
}  // namespace millrace::config
