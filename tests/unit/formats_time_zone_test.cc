// formats/time_zone: our TZif reader against glibc's localtime_r on the same files (an
// independent reader of the same database), over zones with every kind of rule, from 1901 to
// 2100 (past 2037 the footer's POSIX rule decides); POSIX rules on their own; names.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "formats/time_zone.h"

namespace millrace::formats {
namespace {

// glibc's offset at `t` in `zone` (TZ set for the call).
long GlibcOffset(const std::string& zone, int64_t t) {
  setenv("TZ", (":" + zone).c_str(), 1);
  tzset();
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  localtime_r(&tt, &tm);
  return tm.tm_gmtoff;
}

TEST(TimeZone, AgreesWithGlibcOnEveryKindOfZone) {
  const char* zones[] = {
      "Asia/Tokyo",           // no DST now (footer "JST-9")
      "Europe/Paris",         // DST by M.w.d rules, ending at 03:00
      "America/New_York",     // the US rules (changed in 2007)
      "Australia/Sydney",     // the southern hemisphere: DST spans the new year
      "Australia/Lord_Howe",  // a half-hour DST
      "Asia/Kolkata",         // +05:30
      "America/Sao_Paulo",    // DST abolished in 2019
      "Pacific/Apia",         // skipped 2011-12-30
      "America/St_Johns",     // -03:30 with DST
      "Africa/Casablanca",    // "<+01>-1": a quoted abbreviation, DST as transitions
      "Pacific/Chatham",      // +12:45 / +13:45
      "America/Godthab",      // a link to America/Nuuk
      "UTC",
  };
  std::mt19937_64 rng(42);
  // 1901-12-14 (the first 32-bit time) to 2100.
  std::uniform_int_distribution<int64_t> when(-2147483648LL, 4102444800LL);
  for (const char* name : zones) {
    auto zone = TimeZone::Load(name);
    ASSERT_TRUE(zone.ok()) << name << ": " << zone.status().ToString();
    int checked = 0;
    for (int i = 0; i < 4000; ++i) {
      const int64_t t = when(rng);
      ASSERT_EQ((*zone)->OffsetAt(t), GlibcOffset(name, t)) << name << " at " << t;
      ++checked;
    }
    // Around each DST change of 2024 and 2060 (table and footer): every 15 minutes.
    for (int64_t year_start : {1704067200LL, 2840140800LL})
      for (int64_t t = year_start; t < year_start + 366 * 86400; t += 900)
        ASSERT_EQ((*zone)->OffsetAt(t), GlibcOffset(name, t)) << name << " at " << t;
    EXPECT_EQ(checked, 4000);
  }
  unsetenv("TZ");
  tzset();
}

TEST(TimeZone, KnownOffsets) {
  auto tokyo = TimeZone::Load("Asia/Tokyo");
  ASSERT_TRUE(tokyo.ok());
  EXPECT_EQ((*tokyo)->OffsetAt(1711965600), 9 * 3600);  // 2024-04-01T10:00Z
  auto paris = TimeZone::Load("Europe/Paris");
  ASSERT_TRUE(paris.ok());
  EXPECT_EQ((*paris)->OffsetAt(1704067200), 3600);  // 2024-01-01: CET
  EXPECT_EQ((*paris)->OffsetAt(1719792000), 7200);  // 2024-07-01: CEST
  EXPECT_EQ((*paris)->OffsetAt(1711846799), 3600);  // 2024-03-31T00:59:59Z
  EXPECT_EQ((*paris)->OffsetAt(1711846800), 7200);  // 01:00Z: clocks go forward
  EXPECT_EQ((*paris)->OffsetAt(2540246400), 7200);  // 2050-07-01 (the footer's rule)
}

TEST(TimeZone, PosixRules) {
  TimeZone::Rule r;
  ASSERT_TRUE(TimeZone::ParseRule("EST5EDT,M3.2.0,M11.1.0", &r));
  EXPECT_EQ(r.std_offset, -5 * 3600);
  EXPECT_EQ(r.dst_offset, -4 * 3600);
  EXPECT_EQ(r.OffsetAt(1710053999), -5 * 3600);  // 2024-03-10T06:59:59Z
  EXPECT_EQ(r.OffsetAt(1710054000), -4 * 3600);  // 07:00Z = 02:00 EST
  ASSERT_TRUE(TimeZone::ParseRule("<+0330>-3:30", &r));
  EXPECT_FALSE(r.has_dst);
  EXPECT_EQ(r.std_offset, 3 * 3600 + 1800);
  ASSERT_TRUE(TimeZone::ParseRule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", &r));  // America/Nuuk
  EXPECT_EQ(r.dst_offset, -2 * 3600);
  ASSERT_TRUE(TimeZone::ParseRule("XXX3EDT4,J60/25,J300", &r));  // Julian days, 25:00
  EXPECT_EQ(r.dst_offset, -4 * 3600);
  for (const char* bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                          "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J300", "EST5EDT,M3.2.0", "EST5 EDT",
                          "<AB>5", "EST999"})
    EXPECT_FALSE(TimeZone::ParseRule(bad, &r)) << bad;
}

TEST(TimeZone, NamesThatCannotBeZonesAreRefusedBeforeAnyFileIsOpened) {
  for (const char* name :
       {"", "/etc/passwd", "Asia/../../etc/passwd", "Asia//Tokyo", "Asia/", "Etc/GMT+5", "a.b",
        "Europe/Paris\n", "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_FALSE(TimeZone::ValidName(name)) << name;
    auto z = TimeZone::Load(name);
    EXPECT_FALSE(z.ok()) << name;
  }
  auto missing = TimeZone::Load("Mars/Olympus");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("Mars/Olympus"), std::string::npos);
  // A folder of the database is not a zone.
  EXPECT_FALSE(TimeZone::Load("Europe").ok());
}

TEST(TimeZone, DamagedFilesAreRefused) {
  EXPECT_FALSE(TimeZone::Parse("x", "").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "TZif2").ok());
  std::string header("TZif2", 5);
  header.resize(44, '\0');
  header[20 + 19] = 1;  // typecnt 1, and nothing after
  EXPECT_FALSE(TimeZone::Parse("x", header).ok());
}

// A zone is read once and kept; a file changed in place (tzdata upgraded) is read again.
TEST(TimeZone, LoadedZonesAreKeptUntilTheirFileChanges) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("millrace-tz-" + std::to_string(getpid()));
  fs::create_directories(dir / "Test");
  const fs::path file = dir / "Test" / "Zone";
  fs::copy_file(std::string(TimeZone::kZoneDir) + "/Asia/Tokyo", file,
                fs::copy_options::overwrite_existing);
  auto first = TimeZone::Load("Test/Zone", dir.string());
  auto again = TimeZone::Load("Test/Zone", dir.string());
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->get(), again->get());  // the same object: not read and parsed again
  EXPECT_EQ((*again)->OffsetAt(1700000000), 9 * 3600);

  // Replaced by another zone's file (another size, a later modification time).
  fs::copy_file(std::string(TimeZone::kZoneDir) + "/America/New_York", file,
                fs::copy_options::overwrite_existing);
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  auto changed = TimeZone::Load("Test/Zone", dir.string());
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(first->get(), changed->get());
  EXPECT_EQ((*changed)->OffsetAt(1700000000), -5 * 3600);  // 2023-11-14: EST

  // Gone: refused, whatever was kept.
  fs::remove(file);
  EXPECT_FALSE(TimeZone::Load("Test/Zone", dir.string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace millrace::formats
