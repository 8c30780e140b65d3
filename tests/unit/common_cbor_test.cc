// The CBOR codec (common/cbor.h): RFC 8949 appendix A's examples, AWS's published Kinesis
// examples encoded by an independent library (python3-cbor2: the hex below), the errors,
// and the Kinesis member rule checked against botocore's model in tests/e2e/test_cbor.py.
#include <gtest/gtest.h>

#include <string>

#include "common/cbor.h"
#include "common/encoding.h"

namespace millrace {
namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string ToJson(std::string_view hex) {
  std::string out;
  auto err = CborToJson(Unhex(hex), &out);
  return err ? "error: " + *err : out;
}

CborMember Kinesis(std::string_view key) {
  if (key == "Data") return CborMember::kBlob;
  if (key.ends_with("Timestamp")) return CborMember::kTimestamp;
  return CborMember::kPlain;
}

std::string ToCborHex(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  std::string out;
  EXPECT_TRUE(JsonToCbor(doc, Kinesis, &out));
  return HexEncode(out);
}

TEST(CborToJson, Rfc8949AppendixA) {
  EXPECT_EQ(ToJson("00"), "0");
  EXPECT_EQ(ToJson("1903e8"), "1000");
  EXPECT_EQ(ToJson("1bffffffffffffffff"), "18446744073709551615");
  EXPECT_EQ(ToJson("3903e7"), "-1000");
  EXPECT_EQ(ToJson("3bffffffffffffffff"), "-18446744073709551616");
  EXPECT_EQ(ToJson("f93c00"), "1");
  EXPECT_EQ(ToJson("f97bff"), "65504");
  EXPECT_EQ(ToJson("f90001"), "5.9604644775390625e-08");
  EXPECT_EQ(ToJson("fa47c35000"), "100000");
  EXPECT_EQ(ToJson("fb3ff199999999999a"), "1.1000000000000001");
  EXPECT_EQ(ToJson("f4"), "false");
  EXPECT_EQ(ToJson("f6"), "null");
  EXPECT_EQ(ToJson("f7"), "null");
  EXPECT_EQ(ToJson("4401020304"), "\"AQIDBA==\"");
  EXPECT_EQ(ToJson("5f42010243030405ff"), "\"AQIDBAU=\"");
  EXPECT_EQ(ToJson("6449455446"), "\"IETF\"");
  EXPECT_EQ(ToJson("62225c"), "\"\\\"\\\\\"");
  EXPECT_EQ(ToJson("7f657374726561646d696e67ff"), "\"streaming\"");
  EXPECT_EQ(ToJson("83010203"), "[1,2,3]");
  EXPECT_EQ(ToJson("9f018202039f0405ffff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(ToJson("a201020304"), "error: a CBOR map key that is not text");
  EXPECT_EQ(ToJson("a26161016162820203"), "{\"a\":1,\"b\":[2,3]}");
  EXPECT_EQ(ToJson("bf6346756ef563416d7421ff"), "{\"Fun\":true,\"Amt\":-2}");
  // Tag 1: RFC 8949's epoch seconds as a float; the Java SDK's integer milliseconds.
  EXPECT_EQ(ToJson("c1fb41d452d9ec200000"), "1363896240.5");
  EXPECT_EQ(ToJson("c11b0000014f8f21f2b3"), "1441215410.867");
  EXPECT_EQ(ToJson("c13901f3"), "-0.500");
  // Other tags: their content (tag 32, a URI).
  EXPECT_EQ(ToJson("d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
            "\"http://www.example.com\"");
}

TEST(CborToJson, MalformedInputSaysWhy) {
  EXPECT_EQ(ToJson(""), "error: truncated CBOR");
  EXPECT_EQ(ToJson("1903"), "error: truncated CBOR");
  EXPECT_EQ(ToJson("6449455"), "error: truncated CBOR");
  EXPECT_EQ(ToJson("830102"), "error: truncated CBOR");
  EXPECT_EQ(ToJson("9f01"), "error: truncated CBOR");
  EXPECT_EQ(ToJson("ff"), "error: a CBOR break outside an indefinite-length item");
  EXPECT_EQ(ToJson("0000"), "error: bytes after the end of the CBOR item");
  EXPECT_EQ(ToJson("f97e00"), "error: a CBOR number that is NaN or infinite");
  EXPECT_EQ(ToJson("1c"), "error: reserved CBOR additional information");
  EXPECT_EQ(ToJson("5f6161ff"), "error: a malformed chunk in an indefinite-length CBOR string");
  EXPECT_EQ(ToJson("c16161"), "error: a CBOR timestamp (tag 1) that is not a number");
  EXPECT_EQ(ToJson("1f"), "error: indefinite length on a CBOR integer or tag");
  std::string deep(200, '\x81');
  deep.push_back('\x00');
  std::string out;
  EXPECT_EQ(CborToJson(deep, &out).value_or(""), "CBOR nested too deeply");
  // A huge announced length is refused as truncated, never allocated.
  EXPECT_EQ(ToJson("5bffffffffffffffff"), "error: truncated CBOR");
}

// AWS's published examples (the Kinesis API reference), as python3-cbor2 encodes them.
TEST(JsonToCbor, AwsExamplesByteForByte) {
  EXPECT_EQ(ToCborHex(R"({"SequenceNumber":"21269319989653637946712965403778482177",)"
                      R"("ShardId":"shardId-000000000001"})"),
            "a26e53657175656e63654e756d62657278263231323639333139393839363533363337393436373132"
            "393635343033373738343832313737675368617264496474736861726449642d3030303030303030303030"
            "31");
  EXPECT_EQ(
      ToCborHex(
          R"({"MillisBehindLatest":2100,"NextShardIterator":"AAAAAAAAAAHsW8zCWf9164uy8Epue6WS3w6wmj4a4USt+CNvMd6uXQ+HL5vAJMznqqC0DLKsIjuoiTi1BpT6nW0LN2M2D56zM5H8anHm30Gbri9ua+qaGgj+3XTyvbhpERfrezgLHbPB/rIcVpykJbaSj5tmcXYRmFnqZBEyHwtZYFmh6hvWVFkIwLuMZLMrpWhG5r5hzkE=",)"
          R"("Records":[{"Data":"XzxkYXRhPl8w","PartitionKey":"partitionKey",)"
          R"("ApproximateArrivalTimestamp":1.441215410867E9,)"
          R"("SequenceNumber":"21269319989652663814458848515492872193"}]})"),
      "a3724d696c6c6973426568696e644c6174657374190834714e65787453686172644974657261746f7278cc41"
      "414141414141414141487357387a4357663931363475793845707565365753337736776d6a3461345553742b"
      "434e764d64367558512b484c3576414a4d7a6e71714330444c4b73496a756f69546931427054366e57304c4e"
      "324d324435367a4d354838616e486d3330476272693975612b716147676a2b33585479766268704552667265"
      "7a674c486250422f7249635670796b4a6261536a35746d635859526d466e715a4245794877745a59466d6836"
      "68765756466b49774c754d5a4c4d7270576847357235687a6b453d675265636f72647381a4644461746149"
      "5f3c646174613e5f306c506172746974696f6e4b65796c706172746974696f6e4b6579781b417070726f78"
      "696d6174654172726976616c54696d657374616d70c11b0000014f8f21f2b36e53657175656e63654e756d"
      "62657278263231323639333139393839363532363633383134343538383438353135343932383732313933");
}

TEST(CborToJson, AwsPutRecordRequestExample) {
  EXPECT_EQ(
      ToJson("a36a53747265616d4e616d65716578616d706c6553747265616d4e616d6564446174614"
             "95f3c646174613e5f316c506172746974696f6e4b65796c706172746974696f6e4b6579"),
      R"({"StreamName":"exampleStreamName","Data":"XzxkYXRhPl8x","PartitionKey":"partitionKey"})");
}

TEST(CborToJson, ByteStringsKeptAsideAreReferencedAndResolveOnlyInTheirTable) {
  // The AWS PutRecord example again, its Data kept aside: no base64 in the JSON.
  const std::string cbor = Unhex(
      "a36a53747265616d4e616d65716578616d706c6553747265616d4e616d6564446174614"
      "95f3c646174613e5f316c506172746974696f6e4b65796c706172746974696f6e4b6579");
  CborBlobs blobs;
  std::string json;
  ASSERT_FALSE(CborToJson(cbor, &json, &blobs));
  ASSERT_EQ(blobs.bytes.size(), 1u);
  EXPECT_EQ(blobs.bytes[0], "_<data>_1");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  std::string_view data = doc["Data"].get_string().value();
  EXPECT_EQ(data.find("XzxkYXRhPl8x"), std::string_view::npos);
  const std::string* resolved = blobs.Resolve(data);
  ASSERT_NE(resolved, nullptr);
  EXPECT_EQ(*resolved, "_<data>_1");
  // Another table (another request) resolves nothing of it; nor does text that is no
  // reference, or an index past the end.
  CborBlobs other;
  other.bytes.push_back("x");
  EXPECT_EQ(other.Resolve(data), nullptr);
  EXPECT_NE(blobs.tag, other.tag);
  EXPECT_EQ(blobs.Resolve("XzxkYXRhPl8x"), nullptr);
  EXPECT_EQ(blobs.Resolve(std::string("\x01") + blobs.tag + "1"), nullptr);
  EXPECT_EQ(blobs.Resolve(std::string("\x01") + blobs.tag + "0x"), nullptr);
  EXPECT_EQ(blobs.Resolve(std::string("\x01") + blobs.tag), nullptr);
  // Text strings stay text (only byte strings are kept aside).
  EXPECT_EQ(std::string(doc["StreamName"].get_string().value()), "exampleStreamName");
}

TEST(JsonToCbor, RoundTripsThroughTheDecoder) {
  const std::string json =
      R"({"a":[1,-2,3.5,true,false,null],"Data":"AAEC","b":{"c":"d"},"E":18446744073709551615})";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  std::string cbor;
  ASSERT_TRUE(JsonToCbor(doc, Kinesis, &cbor));
  std::string back;
  ASSERT_FALSE(CborToJson(cbor, &back));
  EXPECT_EQ(
      back,
      R"({"a":[1,-2,3.5,true,false,null],"Data":"AAEC","b":{"c":"d"},"E":18446744073709551615})");
  // A blob member that is not base64 cannot be encoded (our own answer would be wrong).
  ASSERT_EQ(parser.parse(std::string(R"({"Data":"not base64!"})")).get(doc), simdjson::SUCCESS);
  EXPECT_FALSE(JsonToCbor(doc, Kinesis, &cbor));
}

}  // namespace
}  // namespace millrace
