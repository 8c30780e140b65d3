// formats/writer: the jsonl and other writers through the writer.h contract: line handling,
// rejection of records that are not JSON, compression at Finish, determinism, extensions and
// content types.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "formats/writer.h"

namespace millrace::formats {
namespace {

std::unique_ptr<FileWriter> Make(const std::string& type, const std::string& compression = "") {
  Result<std::unique_ptr<FileWriter>> w = NewWriter({type, compression});
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(w).value() : nullptr;
}

InputRecord Rec(std::string_view data) {
  InputRecord r;
  r.data = data;
  r.partition_key = "pk";
  r.arrival_ms = 1711965600000;
  r.sequence_number = "49590338271490256608559692538361571095921575989136588898";
  r.shard_id = "shardId-000000000000";
  return r;
}

std::string FinishOk(FileWriter& w) {
  Result<std::string> out = w.Finish();
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : "";
}

std::string Gunzip(const std::string& in) {
  std::string out(1 << 20, '\0');
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// ---- jsonl ----

TEST(JsonlWriter, OneLinePerRecordAsSent) {
  auto w = Make("jsonl");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->Add(Rec(R"({"a": 1, "b": [true, null]})")).ok());
  EXPECT_TRUE(w->Add(Rec("42")).ok());
  EXPECT_TRUE(w->Add(Rec(R"("just a string")")).ok());
  EXPECT_TRUE(w->Add(Rec(R"({"text":"caf\u00e9 caf)"
                         "\xc3\xa9"
                         R"("})"))
                  .ok());
  EXPECT_EQ(w->RecordCount(), 4u);
  std::string want = R"({"a": 1, "b": [true, null]})"
                     "\n42\n"
                     R"("just a string")"
                     "\n"
                     R"({"text":"caf\u00e9 caf)"
                     "\xc3\xa9"
                     R"("})"
                     "\n";
  EXPECT_EQ(w->BufferedBytes(), want.size());
  EXPECT_EQ(FinishOk(*w), want);
}

TEST(JsonlWriter, TrailingLineBreaksAreNotDoubled) {
  auto w = Make("jsonl");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->Add(Rec("{\"n\":1}\n")).ok());
  EXPECT_TRUE(w->Add(Rec("{\"n\":2}\r\n")).ok());
  EXPECT_TRUE(w->Add(Rec("  {\"n\":3}  \t\n\n")).ok());
  EXPECT_TRUE(w->Add(Rec("\n{\"n\":4}")).ok());
  EXPECT_EQ(FinishOk(*w), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
}

TEST(JsonlWriter, MultiLineValuesAreMinified) {
  auto w = Make("jsonl");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->Add(Rec("{\n  \"a\": \"x y\\n\\\"z\\\" \",\r\n  \"b\": [ 1, 2 ]\n}\n")).ok());
  // A value on one line keeps its inner spaces.
  EXPECT_TRUE(w->Add(Rec("{ \"c\" : 3 }")).ok());
  EXPECT_EQ(FinishOk(*w), "{\"a\":\"x y\\n\\\"z\\\" \",\"b\":[1,2]}\n{ \"c\" : 3 }\n");
}

TEST(JsonlWriter, RefusesWhatIsNotOneJsonValue) {
  auto w = Make("jsonl");
  ASSERT_TRUE(w);
  const std::vector<std::string> bad = {
      "",
      " \r\n ",
      "{\"a\":1",                                       // truncated
      "{'a':1}",                                        // not JSON quotes
      "{\"a\":1} {\"b\":2}",                            // two values
      "{\"a\":1}\n{\"b\":2}",                           // two lines
      "hello",                                          // bare word
      "{\"a\":\"\xff\xfe\"}",                           // invalid UTF-8
      "{\"a\":\"line\nbreak\"}",                        // raw control character inside a string
      std::string(2000, '[') + std::string(2000, ']'),  // deeper than 1024
  };
  for (const std::string& b : bad) {
    Status st = w->Add(Rec(b));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << "accepted: " << b.substr(0, 40);
    EXPECT_EQ(st.message().rfind("record is not a JSON value: ", 0), 0u) << st.message();
  }
  // Refusals leave the writer usable and add nothing.
  EXPECT_EQ(w->RecordCount(), 0u);
  EXPECT_EQ(w->BufferedBytes(), 0u);
  EXPECT_TRUE(w->Add(Rec("{}")).ok());
  EXPECT_EQ(FinishOk(*w), "{}\n");
}

TEST(JsonlWriter, SpentAfterFinish) {
  auto w = Make("jsonl");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->Add(Rec("1")).ok());
  EXPECT_EQ(FinishOk(*w), "1\n");
  EXPECT_EQ(w->Add(Rec("2")).code(), Code::kFailedPrecondition);
  EXPECT_EQ(w->Finish().status().code(), Code::kFailedPrecondition);
}

// ---- other ----

TEST(RawWriter, ConcatenatesBytesExactly) {
  auto w = Make("other");
  ASSERT_TRUE(w);
  std::string binary("\x00\x01\xff\n\r", 5);
  EXPECT_TRUE(w->Add(Rec("abc")).ok());
  EXPECT_TRUE(w->Add(Rec(binary)).ok());
  EXPECT_TRUE(w->Add(Rec("")).ok());
  EXPECT_TRUE(w->Add(Rec("not json {")).ok());
  EXPECT_EQ(w->RecordCount(), 4u);
  EXPECT_EQ(w->BufferedBytes(), 3u + 5u + 10u);
  EXPECT_EQ(FinishOk(*w), "abc" + binary + "not json {");
  EXPECT_EQ(w->Add(Rec("x")).code(), Code::kFailedPrecondition);
}

// ---- compression through the writers ----

TEST(Writers, CompressAtFinishAndAreDeterministic) {
  std::vector<std::string> records;
  for (int i = 0; i < 2000; ++i)
    records.push_back("{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 50, 'x') +
                      "\"}");
  std::string want_jsonl, want_other;
  for (const std::string& r : records) {
    want_jsonl += r + "\n";
    want_other += r;
  }

  for (const char* type : {"jsonl", "other"}) {
    for (const char* compression : {"", "gzip", "zstd", "snappy"}) {
      SCOPED_TRACE(std::string(type) + "/" + compression);
      std::string files[2];
      for (std::string& file : files) {
        auto w = Make(type, compression);
        ASSERT_TRUE(w);
        for (const std::string& r : records) ASSERT_TRUE(w->Add(Rec(r)).ok());
        EXPECT_EQ(w->RecordCount(), records.size());
        file = FinishOk(*w);
      }
      EXPECT_EQ(files[0], files[1]) << "the same records must give the same bytes";
      std::string plain = files[0];
      if (std::string(compression) == "gzip") plain = Gunzip(files[0]);
      if (std::string(compression) == "zstd") {
        plain.assign(ZSTD_getFrameContentSize(files[0].data(), files[0].size()), '\0');
        size_t n = ZSTD_decompress(plain.data(), plain.size(), files[0].data(), files[0].size());
        ASSERT_FALSE(ZSTD_isError(n));
      }
      if (std::string(compression) == "snappy") {
        EXPECT_EQ(files[0].substr(0, 10), std::string("\xff\x06\x00\x00sNaPpY", 10));
        continue;  // decoded in formats_compression_test
      }
      EXPECT_EQ(plain, std::string(type) == "jsonl" ? want_jsonl : want_other);
    }
  }
}

TEST(Writers, BufferedBytesIsUncompressed) {
  auto w = Make("jsonl", "gzip");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Add(Rec("{\"k\":\"" + std::string(1000, 'v') + "\"}")).ok());
  EXPECT_EQ(w->BufferedBytes(), 1009u);
  std::string gz = FinishOk(*w);
  EXPECT_LT(gz.size(), 100u);
  EXPECT_EQ(Gunzip(gz).size(), 1009u);
}

TEST(Writers, RefusalPassesThroughCompression) {
  auto w = Make("jsonl", "zstd");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->Add(Rec("nope")).code(), Code::kInvalidArgument);
  EXPECT_TRUE(w->Add(Rec("[]")).ok());
  EXPECT_EQ(w->RecordCount(), 1u);
}

// ---- specs ----

TEST(Spec, ValidatesTypeAndCompression) {
  EXPECT_TRUE(ValidateSpec({"jsonl", ""}).ok());
  EXPECT_TRUE(ValidateSpec({"other", "snappy"}).ok());
  // csv and parquet need a schema with columns.
  Status csv = ValidateSpec({"csv", ""});
  EXPECT_EQ(csv.code(), Code::kInvalidArgument);
  EXPECT_NE(csv.message().find("csv files need a schema"), std::string::npos);
  FormatSpec typed{"parquet", "zstd"};
  typed.schema = std::make_shared<const TableSchema>();
  EXPECT_EQ(ValidateSpec(typed).code(), Code::kInvalidArgument);  // no columns
  TableSchema one;
  one.columns.push_back({parquet::ParquetColumn{"a", parquet::ColumnType::kInt64}, ""});
  typed.schema = std::make_shared<const TableSchema>(one);
  EXPECT_TRUE(ValidateSpec(typed).ok());
  typed.compression = "lz4";
  EXPECT_NE(ValidateSpec(typed).message().find("'lz4'"), std::string::npos);
  Status xml = ValidateSpec({"xml", ""});
  EXPECT_NE(xml.message().find("'xml'"), std::string::npos);
  Status lz = ValidateSpec({"jsonl", "lz4"});
  EXPECT_EQ(lz.code(), Code::kInvalidArgument);
  EXPECT_NE(lz.message().find("'lz4'"), std::string::npos);
  EXPECT_EQ(NewWriter({"parquet", ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewWriter({"jsonl", "zip"}).status().code(), Code::kInvalidArgument);
}

TEST(Spec, ExtensionsAndContentTypes) {
  struct Case {
    const char *type, *compression, *ext, *content_type;
  } cases[] = {
      {"jsonl", "", ".jsonl", "application/x-ndjson"},
      {"jsonl", "gzip", ".jsonl.gz", "application/gzip"},
      {"jsonl", "zstd", ".jsonl.zst", "application/zstd"},
      {"jsonl", "snappy", ".jsonl.snappy", "application/x-snappy-framed"},
      {"other", "", "", "application/octet-stream"},
      {"other", "gzip", ".gz", "application/gzip"},
      {"other", "zstd", ".zst", "application/zstd"},
      {"other", "snappy", ".snappy", "application/x-snappy-framed"},
      {"csv", "", ".csv", "text/csv"},
      {"csv", "gzip", ".csv.gz", "application/gzip"},
      {"parquet", "", ".parquet", "application/vnd.apache.parquet"},
      {"parquet", "zstd", ".parquet", "application/vnd.apache.parquet"},  // pages compressed
  };
  for (const Case& c : cases) {
    FormatSpec spec{c.type, c.compression};
    EXPECT_EQ(FileExtension(spec), c.ext) << c.type << "/" << c.compression;
    EXPECT_EQ(ContentType(spec), c.content_type) << c.type << "/" << c.compression;
  }
}

}  // namespace
}  // namespace millrace::formats
