// formats/naming and formats/failed_record: Firehose-layout object keys for fixed times,
// deterministic UUIDs, and the shape of error-output lines.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cctype>
#include <cstdint>
#include <regex>
#include <set>

#include "common/encoding.h"
#include "formats/failed_record.h"
#include "formats/naming.h"

namespace millrace::formats {
namespace {

constexpr int64_t k20240401T10 = 1711965600000;  // 2024-04-01T10:00:00.000Z
const char kUuid[] = "24eea7dc-99c2-4dd5-ae46-e5eee8fd544a";

FileName Name(int64_t ms, std::string_view ext = ".jsonl.gz") {
  FileName n;
  n.consumer = "orders-to-lake";
  n.version = 3;
  n.arrival_ms = ms;
  n.uuid = kUuid;
  n.extension = ext;
  return n;
}

TEST(Naming, DataKeyForAFixedTime) {
  EXPECT_EQ(TimePrefix(k20240401T10), "2024/04/01/10/");
  EXPECT_EQ(ObjectFileName(Name(k20240401T10)),
            "orders-to-lake-3-2024-04-01-10-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a.jsonl.gz");
  EXPECT_EQ(DataObjectKey("", Name(k20240401T10)),
            "2024/04/01/10/"
            "orders-to-lake-3-2024-04-01-10-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a.jsonl.gz");
  EXPECT_EQ(DataObjectKey("lake/raw/", Name(k20240401T10, "")),
            "lake/raw/2024/04/01/10/"
            "orders-to-lake-3-2024-04-01-10-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a");
}

TEST(Naming, TimesInTheDatasetsTimeZone) {
  // Firehose's CustomTimeZone: the folders, the name's time and !{timestamp:} are local.
  auto tokyo = TimeZone::Load("Asia/Tokyo");
  ASSERT_TRUE(tokyo.ok()) << tokyo.status().ToString();
  FileName name = Name(k20240401T10);
  name.zone = tokyo->get();
  EXPECT_EQ(DataObjectKey("", name),
            "2024/04/01/19/"
            "orders-to-lake-3-2024-04-01-19-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a.jsonl.gz");
  EXPECT_EQ(CustomErrorKey("", ErrorOutputType::kProcessingFailed, name).substr(0, 32),
            "processing-failed/2024/04/01/19/");
  EXPECT_EQ(CustomObjectKey("d=!{timestamp:yyyy-MM-dd HH}/", name).substr(0, 16),
            "d=2024-04-01 19/");
  // Across midnight and a DST change.
  auto paris = TimeZone::Load("Europe/Paris");
  ASSERT_TRUE(paris.ok());
  FileName late = Name(1711845000000);  // 2024-03-31T00:30:00Z: 01:30 CET
  late.zone = paris->get();
  EXPECT_EQ(DataObjectKey("", late).substr(0, 14), "2024/03/31/01/");
  late.arrival_ms = 1711848600000;  // 01:30Z: 03:30 CEST (02:00 CET became 03:00 CEST)
  EXPECT_EQ(DataObjectKey("", late).substr(0, 14), "2024/03/31/03/");
  late.arrival_ms = 1711843200000 - 1;  // 2024-03-30T23:59:59.999Z: already the 31st in Paris
  EXPECT_EQ(DataObjectKey("", late).substr(0, 14), "2024/03/31/00/");
}

TEST(Naming, SecondsAreTruncatedAndFieldsPadded) {
  // 2024-02-29T23:59:59.999Z: a leap day, the last millisecond of the hour.
  FileName n = Name(1709251199000 + 999, "");
  EXPECT_EQ(DataObjectKey("", n),
            "2024/02/29/23/orders-to-lake-3-2024-02-29-23-59-59-" + std::string(kUuid));
  // The next millisecond is the next day, month and hour folder.
  EXPECT_EQ(TimePrefix(1709251200000), "2024/03/01/00/");
  EXPECT_EQ(TimePrefix(0), "1970/01/01/00/");
  EXPECT_EQ(TimePrefix(-1), "1969/12/31/23/");  // floor, not truncation
  EXPECT_EQ(TimePrefix(INT64_MAX), "9999/12/31/23/");
  EXPECT_EQ(TimePrefix(INT64_MIN), "0000/01/01/00/");
}

TEST(Naming, ErrorKeys) {
  EXPECT_EQ(ErrorObjectKey("", ErrorOutputType::kFormatConversionFailed, Name(k20240401T10)),
            "format-conversion-failed/2024/04/01/10/"
            "orders-to-lake-3-2024-04-01-10-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a.jsonl.gz");
  EXPECT_EQ(ErrorObjectKey("lake/", ErrorOutputType::kProcessingFailed, Name(k20240401T10, "")),
            "lake/processing-failed/2024/04/01/10/"
            "orders-to-lake-3-2024-04-01-10-00-00-24eea7dc-99c2-4dd5-ae46-e5eee8fd544a");
  EXPECT_STREQ(ErrorOutputTypeName(ErrorOutputType::kProcessingFailed), "processing-failed");
  EXPECT_STREQ(ErrorOutputTypeName(ErrorOutputType::kFormatConversionFailed),
               "format-conversion-failed");
}

TEST(DeterministicUuid, KnownValues) {
  // First 16 bytes of SHA-256(seed), version and variant bits set (checked with Python's
  // hashlib and uuid.UUID).
  EXPECT_EQ(DeterministicUuid(""), "e3b0c442-98fc-4c14-9afb-f4c8996fb924");
  EXPECT_EQ(DeterministicUuid("abc"), "ba7816bf-8f01-4fea-8141-40de5dae2223");
  EXPECT_EQ(DeterministicUuid("consumer-a/stream-1/shardId-000000000000/1-100"), kUuid);
}

TEST(DeterministicUuid, FormatAndDeterminism) {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string seed = "c/s/shardId-000000000001/" + std::to_string(i);
    std::string u = DeterministicUuid(seed);
    EXPECT_TRUE(std::regex_match(u, v4)) << u;
    EXPECT_EQ(DeterministicUuid(seed), u);
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

// ---- failed records ----

FailedRecord Sample() {
  FailedRecord r;
  r.attempts_made = 1;
  r.arrival_ms = k20240401T10;
  r.error_code = kErrorCodeParseError;
  r.error_message = "record is not a JSON value: \"quoted\"\n";
  r.attempt_ending_ms = k20240401T10 + 1500;
  r.raw_data = "{\"a\":1";
  r.sequence_number = "49590338271490256608559692538361571095921575989136588898";
  r.partition_key = "user-7";
  r.shard_id = "shardId-000000000002";
  return r;
}

TEST(FailedRecord, FormatConversionFailedLine) {
  EXPECT_EQ(FailedRecordLine(ErrorOutputType::kFormatConversionFailed, Sample()),
            R"({"attemptsMade":1,"arrivalTimestamp":1711965600000,)"
            R"("errorCode":"DataFormatConversion.ParseError",)"
            R"("errorMessage":"record is not a JSON value: \"quoted\"\n",)"
            R"("lastErrorCode":"DataFormatConversion.ParseError",)"
            R"("lastErrorMessage":"record is not a JSON value: \"quoted\"\n",)"
            R"("attemptEndingTimestamp":1711965601500,"rawData":"eyJhIjox",)"
            R"("sequenceNumber":"49590338271490256608559692538361571095921575989136588898",)"
            R"("partitionKey":"user-7","shardId":"shardId-000000000002"})"
            "\n");
}

TEST(FailedRecord, ProcessingFailedLine) {
  FailedRecord r = Sample();
  r.error_code = "Lambda.FunctionError";
  r.error_message = "boom";
  r.attempts_made = 4;
  r.lambda_arn = "enrich-orders";
  r.sequence_number = r.partition_key = r.shard_id = "";
  EXPECT_EQ(FailedRecordLine(ErrorOutputType::kProcessingFailed, r),
            R"({"attemptsMade":4,"arrivalTimestamp":1711965600000,)"
            R"("errorCode":"Lambda.FunctionError","errorMessage":"boom",)"
            R"("attemptEndingTimestamp":1711965601500,"rawData":"eyJhIjox",)"
            R"("lambdaArn":"enrich-orders"})"
            "\n");
}

TEST(FailedRecord, LinesAreValidJsonWhateverTheBytes) {
  FailedRecord r = Sample();
  std::string raw("\x00\xff\xfe binary \n", 12);
  r.raw_data = raw;
  r.error_message = "bad byte \xff here, good \xc3\xa9 there, truncated \xe2\x82";
  r.partition_key = "\xed\xa0\x80";  // an encoded surrogate: not UTF-8
  std::string lines;
  AppendFailedRecord(ErrorOutputType::kProcessingFailed, r, &lines);
  AppendFailedRecord(ErrorOutputType::kFormatConversionFailed, r, &lines);
  simdjson::dom::parser parser;
  size_t start = 0;
  int count = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = lines.substr(start, end - start);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    std::string_view data64, message;
    ASSERT_EQ(doc["rawData"].get(data64), simdjson::SUCCESS);
    std::string decoded;
    ASSERT_TRUE(Base64Decode(data64, &decoded));
    EXPECT_EQ(decoded, raw);
    const char* key = count == 0 ? "errorMessage" : "lastErrorMessage";
    ASSERT_EQ(doc[key].get(message), simdjson::SUCCESS);
    EXPECT_EQ(message,
              "bad byte \xef\xbf\xbd here, good \xc3\xa9 there, truncated "
              "\xef\xbf\xbd\xef\xbf\xbd");
    int64_t arrival = 0;
    ASSERT_EQ(doc["arrivalTimestamp"].get(arrival), simdjson::SUCCESS);
    EXPECT_EQ(arrival, k20240401T10);
    start = end + 1;
    ++count;
  }
  EXPECT_EQ(count, 2);
}

// Firehose's custom prefixes (formats/naming.h).
FileName Named(std::string_view uuid) {
  return FileName{"clicks", 3, k20240401T10 + 5 * 60000 + 7000, uuid, ".gz"};
}

TEST(CustomPrefix, WithoutExpressionsTheDefaultHourFolderFollows) {
  const std::string uuid = DeterministicUuid("a");
  EXPECT_EQ(CustomObjectKey("", Named(uuid)), DataObjectKey("", Named(uuid)));
  EXPECT_EQ(CustomObjectKey("raw/", Named(uuid)), DataObjectKey("raw/", Named(uuid)));
  EXPECT_EQ(CustomObjectKey("logs-", Named(uuid)),
            "logs-2024/04/01/10/clicks-3-2024-04-01-10-05-07-" + uuid + ".gz");
  EXPECT_EQ(CustomErrorKey("", ErrorOutputType::kProcessingFailed, Named(uuid)),
            ErrorObjectKey("", ErrorOutputType::kProcessingFailed, Named(uuid)));
  EXPECT_EQ(
      CustomErrorKey("err/", ErrorOutputType::kFormatConversionFailed, Named(uuid)),
      "err/format-conversion-failed/2024/04/01/10/clicks-3-2024-04-01-10-05-07-" + uuid + ".gz");
}

TEST(CustomPrefix, ExpressionsAreEvaluatedAtTheOldestArrival) {
  const std::string uuid = DeterministicUuid("b");
  const std::string file = "clicks-3-2024-04-01-10-05-07-" + uuid + ".gz";
  EXPECT_EQ(CustomObjectKey("events/dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/", Named(uuid)),
            "events/dt=2024-04-01/h=10/" + file);
  EXPECT_EQ(CustomObjectKey("!{timestamp:yy/M/d/H/m/s}/", Named(uuid)), "24/4/1/10/5/7/" + file);
  EXPECT_EQ(CustomObjectKey("!{timestamp:'year='yyyy'/'}", Named(uuid)), "year=2024/" + file);
  EXPECT_EQ(CustomErrorKey("e/!{firehose:error-output-type}/!{timestamp:yyyy}/",
                           ErrorOutputType::kProcessingFailed, Named(uuid)),
            "e/processing-failed/2024/" + file);
}

TEST(CustomPrefix, RandomStringIsElevenCharactersAndTheSameOnRedo) {
  const std::string a =
      CustomObjectKey("r/!{firehose:random-string}/", Named(DeterministicUuid("x")));
  const std::string again =
      CustomObjectKey("r/!{firehose:random-string}/", Named(DeterministicUuid("x")));
  const std::string other =
      CustomObjectKey("r/!{firehose:random-string}/", Named(DeterministicUuid("y")));
  EXPECT_EQ(a, again);
  EXPECT_NE(a.substr(0, 14), other.substr(0, 14));
  ASSERT_EQ(a[13], '/');
  for (char c : a.substr(2, 11)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << a;
}

TEST(CustomPrefix, PartitionKeysTakeThePartitionsValues) {
  const std::string uuid = DeterministicUuid("p");
  const std::string prefix =
      "c=!{partitionKeyFromQuery:customer}/y=!{timestamp:yyyy}/!{partitionKeyFromQuery:kind}/";
  PartitionValues v{{"customer", "42"}, {"kind", "order"}};
  EXPECT_EQ(CustomObjectKey(prefix, Named(uuid), &v),
            "c=42/y=2024/order/clicks-3-2024-04-01-10-05-07-" + uuid + ".gz");
  EXPECT_EQ(PartitionKeysOf(prefix), (std::vector<std::string>{"customer", "kind"}));
  // From the transformation's metadata: kept apart as "lambda:<key>".
  const std::string lambda = "t=!{partitionKeyFromLambda:tenant}/";
  EXPECT_TRUE(CheckCustomPrefix("p", lambda, false).ok());
  EXPECT_EQ(PartitionKeysOf(lambda), (std::vector<std::string>{"lambda:tenant"}));
  PartitionValues lv{{"lambda:tenant", "acme"}};
  EXPECT_EQ(CustomObjectKey(lambda, Named(uuid), &lv),
            "t=acme/clicks-3-2024-04-01-10-05-07-" + uuid + ".gz");
  EXPECT_TRUE(PartitionKeysOf("raw/").empty());
}

TEST(CustomPrefix, CheckRefusesWhatFirehoseRefusesAndWhatWouldLeaveTheFolder) {
  EXPECT_TRUE(CheckCustomPrefix("p", "", false).ok());
  EXPECT_TRUE(CheckCustomPrefix("p", "raw/", false).ok());
  EXPECT_TRUE(CheckCustomPrefix("p", "a/!{timestamp:yyyy}/!{firehose:random-string}", false).ok());
  EXPECT_TRUE(CheckCustomPrefix("e", "e/!{firehose:error-output-type}/", true).ok());
  for (std::string_view bad :
       {"!{timestamp:yyyy", "!{timestamp:}", "!{timestamp:QQ}", "!{timestamp:yyy}",
        "!{timestamp:MMM}", "!{timestamp:'open}", "!{unknown:x}", "!{partitionKeyFromLambda:}/",
        "!{partitionKeyFromQuery:}/", "!{firehose:error-output-type}/", "/abs/", "a//b/", "../up/",
        "a/../b/", "./x/", ".tmp-x/", "a\\b/", "tab\there/", "!{timestamp:yyyy}/../"}) {
    Status st = CheckCustomPrefix("Prefix", bad, false);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("Prefix"), std::string::npos) << st.message();
  }
  // Partition keys: in the key prefix, not in the error prefix.
  EXPECT_TRUE(CheckCustomPrefix("p", "c=!{partitionKeyFromQuery:customer}/", false).ok());
  EXPECT_FALSE(CheckCustomPrefix(
                   "e", "e/!{firehose:error-output-type}/!{partitionKeyFromQuery:customer}/", true)
                   .ok());
  // An error prefix with expressions must say which error.
  EXPECT_FALSE(CheckCustomPrefix("e", "e/!{timestamp:yyyy}/", true).ok());
  EXPECT_FALSE(CheckCustomPrefix("p", std::string(1025, 'a'), false).ok());
  std::string many;
  for (int i = 0; i < 51; ++i) many += "!{timestamp:yyyy}";
  EXPECT_FALSE(CheckCustomPrefix("p", many, false).ok());
}

}  // namespace
}  // namespace millrace::formats
