// transform/codec: the event a function receives and the validation of what it returns,
// without processes (docs/transform-protocol.md).
#include <gtest/gtest.h>
#include <simdjson.h>

#include "common/encoding.h"
#include "transform/codec.h"
#include "transform/errc.h"
#include "transform_test_util.h"

namespace millrace::transform {
namespace {

InvokeResult Parse(Runtime rt, const std::string& line, const std::vector<InputRecord>& in) {
  InvokeResult r;
  ParseResponse(rt, line, in, &r);
  return r;
}

std::string Rec(const std::string& id, const std::string& result, const std::string& data) {
  return "{\"recordId\":\"" + id + "\",\"result\":\"" + result + "\",\"data\":\"" +
         Base64Encode(data) + "\"}";
}

TEST(TransformCodec, EventHasFirehoseShape) {
  auto in = Records({"hello"});
  std::string ev;
  AppendEvent(Ctx(), in, &ev);
  simdjson::dom::parser p;
  simdjson::dom::element doc = p.parse(ev);
  EXPECT_EQ(std::string_view(doc["invocationId"]), "00540a87-5050-496a-84e4-e7d92bbaf5e2");
  EXPECT_EQ(std::string_view(doc["region"]), "us-east-1");
  EXPECT_EQ(std::string_view(doc["sourceKinesisStreamArn"]),
            "arn:aws:kinesis:us-east-1:000000000000:stream/s");
  auto rec = doc["records"].at(0);
  EXPECT_EQ(std::string_view(rec["recordId"]), in[0].record_id);
  EXPECT_EQ(std::string_view(rec["data"]), "aGVsbG8=");
  EXPECT_EQ(int64_t(rec["approximateArrivalTimestamp"]), 1711965600000);
  auto md = rec["kinesisRecordMetadata"];
  EXPECT_EQ(std::string_view(md["shardId"]), "shardId-000000000000");
  EXPECT_EQ(std::string_view(md["partitionKey"]), "pk0");
  EXPECT_EQ(std::string_view(md["sequenceNumber"]), in[0].sequence_number);
  EXPECT_EQ(int64_t(md["subsequenceNumber"]), 0);
  EXPECT_EQ(int64_t(md["approximateArrivalTimestamp"]), 1711965600000);
}

TEST(TransformCodec, PythonEnvelopeCarriesContext) {
  FunctionSpec spec = PySpec("/x", "m.f");
  std::string req = BuildRequest(spec, Ctx(), RequestContext{"rid", 5000}, Records({"a"}));
  ASSERT_EQ(req.back(), '\n');
  simdjson::dom::parser p;
  simdjson::dom::element doc = p.parse(req.substr(0, req.size() - 1));
  EXPECT_EQ(std::string_view(doc["context"]["aws_request_id"]), "rid");
  EXPECT_EQ(int64_t(doc["context"]["memory_limit_in_mb"]), 128);
  EXPECT_EQ(int64_t(doc["context"]["remaining_ms"]), 5000);
  EXPECT_EQ(std::string_view(doc["event"]["records"].at(0)["data"]), "YQ==");
}

TEST(TransformCodec, ResultsComeBackInInputOrder) {
  auto in = Records({"a", "b", "c"});
  std::string line = "{\"ok\":{\"records\":[" + Rec(in[2].record_id, "ProcessingFailed", "C") +
                     "," + Rec(in[0].record_id, "Ok", "A") + "," +
                     Rec(in[1].record_id, "Dropped", "B") + "]}}";
  auto r = Parse(Runtime::kPython3, line, in);
  ASSERT_TRUE(r.ok()) << r.error->message;
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].result, RecordResult::kOk);
  EXPECT_EQ(r.records[0].data, "A");
  EXPECT_EQ(r.records[1].result, RecordResult::kDropped);
  EXPECT_EQ(r.records[2].result, RecordResult::kProcessingFailed);
  EXPECT_EQ(r.records[2].record_id, in[2].record_id);
}

TEST(TransformCodec, MetadataIsKept) {
  auto in = Records({"a"});
  std::string line = "{\"records\":[{\"recordId\":\"" + in[0].record_id +
                     "\",\"result\":\"Ok\",\"data\":\"YQ==\",\"metadata\":{\"partitionKeys\":"
                     "{\"k\": \"v\"}}}]}";
  auto r = Parse(Runtime::kExec, line, in);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.records[0].metadata.value(), "{\"partitionKeys\":{\"k\":\"v\"}}");
}

TEST(TransformCodec, MissingRecordId) {
  auto in = Records({"a", "b"});
  auto r = Parse(Runtime::kExec, "{\"records\":[" + Rec(in[0].record_id, "Ok", "A") + "]}", in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, errc::kMissingRecordId);
  EXPECT_EQ(r.error->kind, ErrorKind::kRecordIds);
}

TEST(TransformCodec, DuplicatedRecordId) {
  auto in = Records({"a", "b"});
  auto r = Parse(Runtime::kExec,
                 "{\"records\":[" + Rec(in[0].record_id, "Ok", "A") + "," +
                     Rec(in[0].record_id, "Ok", "A") + "," + Rec(in[1].record_id, "Ok", "B") + "]}",
                 in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, errc::kDuplicatedRecordId);
}

TEST(TransformCodec, ReplacedOrExtraRecordIdIsMissingRecordId) {
  auto in = Records({"a", "b"});
  auto replaced = Parse(
      Runtime::kExec,
      "{\"records\":[" + Rec(in[0].record_id, "Ok", "A") + "," + Rec("made-up", "Ok", "B") + "]}",
      in);
  EXPECT_EQ(replaced.error->code, errc::kMissingRecordId);
  auto extra = Parse(Runtime::kExec,
                     "{\"records\":[" + Rec(in[0].record_id, "Ok", "A") + "," +
                         Rec(in[1].record_id, "Ok", "B") + "," + Rec("made-up", "Ok", "C") + "]}",
                     in);
  EXPECT_EQ(extra.error->code, errc::kMissingRecordId);
}

TEST(TransformCodec, GarbageAndWrongShapesAreJsonProcessingException) {
  auto in = Records({"a"});
  for (const std::string& bad : std::vector<std::string>{
           "not json at all", "[1,2]", "{\"records\":5}", "{\"nothing\":1}",
           "{\"records\":[{\"recordId\":\"x\"}]}",
           "{\"records\":[{\"recordId\":\"" + in[0].record_id + "\",\"result\":\"Maybe\"}]}",
           "{\"records\":[{\"recordId\":\"" + in[0].record_id + "\",\"result\":\"Ok\"}]}",
           "{\"records\":[{\"recordId\":\"" + in[0].record_id +
               "\",\"result\":\"Ok\",\"data\":7}]}"}) {
    auto r = Parse(Runtime::kExec, bad, in);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error->code, errc::kJsonProcessing) << bad;
  }
  auto py = Parse(Runtime::kPython3, "{\"ok\":null}", in);
  EXPECT_EQ(py.error->code, errc::kJsonProcessing);
}

TEST(TransformCodec, DroppedNeedsNoData) {
  auto in = Records({"a"});
  auto r = Parse(
      Runtime::kExec,
      "{\"records\":[{\"recordId\":\"" + in[0].record_id + "\",\"result\":\"Dropped\"}]}", in);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.records[0].result, RecordResult::kDropped);
}

TEST(TransformCodec, InvalidBase64IsFunctionError) {
  auto in = Records({"a"});
  auto r = Parse(Runtime::kExec,
                 "{\"records\":[{\"recordId\":\"" + in[0].record_id +
                     "\",\"result\":\"Ok\",\"data\":\"!!!\"}]}",
                 in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, errc::kFunctionError);
}

TEST(TransformCodec, ErrorPayloads) {
  auto in = Records({"a"});
  auto py = Parse(Runtime::kPython3,
                  "{\"error\":{\"errorType\":\"ValueError\",\"errorMessage\":\"boom\"}}", in);
  EXPECT_EQ(py.error->code, errc::kFunctionError);
  EXPECT_EQ(py.error->message, "ValueError: boom");
  auto oom =
      Parse(Runtime::kPython3,
            "{\"error\":{\"errorType\":\"Runtime.OutOfMemory\",\"errorMessage\":\"x\"}}", in);
  EXPECT_EQ(oom.error->kind, ErrorKind::kOutOfMemory);
  auto ex = Parse(Runtime::kExec, "{\"errorMessage\":\"bad\",\"errorType\":\"E\"}", in);
  EXPECT_EQ(ex.error->code, errc::kFunctionError);
  EXPECT_EQ(ex.error->message, "E: bad");
}

}  // namespace
}  // namespace millrace::transform
