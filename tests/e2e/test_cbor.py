"""Kinesis in CBOR (application/x-amz-cbor-1.1), as the Java SDK, the KPL and the KCL send
it by default: requests built and answers read by an independent codec (Debian's
python3-cbor2), signed with botocore's SigV4; blobs as byte strings, timestamps as tag 1
over epoch milliseconds."""

import datetime
import io
import json
import sys
import unittest

try:
    import cbor2  # noqa: F401
except ImportError:  # the image's Python: Debian's package is for the same 3.11
    sys.path.append("/usr/lib/python3/dist-packages")
import cbor2
import cbor2.decoder as cbor_decoder
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import http.client

from harness import MillraceServer, kinesis_model, millrace_only, unique_name

# Tag 1 as it comes: AWS's CBOR timestamps are epoch milliseconds, which cbor2 would read as
# seconds (a year past 9999). Its pure-Python decoder keeps the tag for us to check.
cbor_decoder.semantic_decoders[1] = lambda self: cbor2.CBORTag(1, self._decode())

CBOR = "application/x-amz-cbor-1.1"


def loads(data):
    return cbor_decoder.CBORDecoder(io.BytesIO(data)).decode()


@millrace_only("CBOR is checked against the real binary")
class CborTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.creds = Credentials(*cls.server.credentials())

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def call(self, action, payload, raw_body=None, sign=True):
        body = raw_body if raw_body is not None else cbor2.dumps(payload)
        url = "http://127.0.0.1:%d/" % self.server.port
        headers = {"Content-Type": CBOR, "X-Amz-Target": "Kinesis_20131202." + action}
        req = AWSRequest(method="POST", url=url, data=body, headers=headers)
        if sign:
            SigV4Auth(self.creds, "kinesis", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(resp.getheader("Content-Type"), CBOR, data)
        self.assertTrue(resp.getheader("x-amzn-RequestId"))
        self.assertTrue(resp.getheader("x-amz-id-2"))
        return resp.status, (loads(data) if data else None)

    def wait_active(self, stream):
        for _ in range(200):
            status, out = self.call("DescribeStreamSummary", {"StreamName": stream})
            if out["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return out
            import time
            time.sleep(0.05)
        self.fail("not ACTIVE")

    def test_a_java_style_client_round_trip(self):
        stream = unique_name("cbor")
        status, out = self.call("CreateStream", {"StreamName": stream, "ShardCount": 1})
        self.assertEqual((status, out), (200, None))
        summary = self.wait_active(stream)["StreamDescriptionSummary"]
        created = summary["StreamCreationTimestamp"]
        self.assertIsInstance(created, cbor2.CBORTag)
        self.assertEqual(created.tag, 1)
        self.assertIsInstance(created.value, int)  # epoch milliseconds
        now_ms = datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000
        self.assertLess(abs(created.value - now_ms), 60000)

        payload = bytes(range(256)) * 4  # every byte value, as a byte string both ways
        status, put = self.call("PutRecord", {"StreamName": stream, "Data": payload, "PartitionKey": "k"})
        self.assertEqual(status, 200, put)
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        status, batch = self.call("PutRecords", {"StreamName": stream, "Records": [
            {"Data": b"\x00second", "PartitionKey": "a"}, {"Data": b"", "PartitionKey": "b"}]})
        self.assertEqual((status, batch["FailedRecordCount"]), (200, 0), batch)

        # A timestamp in a request: tag 1 over epoch milliseconds, as the Java SDK writes it.
        status, it = self.call("GetShardIterator", {
            "StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
            "Timestamp": cbor2.CBORTag(1, int(now_ms) - 60000)})
        self.assertEqual(status, 200, it)
        status, got = self.call("GetRecords", {"ShardIterator": it["ShardIterator"]})
        self.assertEqual(status, 200, got)
        records = got["Records"]
        self.assertEqual([r["Data"] for r in records], [payload, b"\x00second", b""])
        self.assertEqual(records[0]["SequenceNumber"], put["SequenceNumber"])
        arrival = records[0]["ApproximateArrivalTimestamp"]
        self.assertEqual(arrival.tag, 1)
        self.assertLess(abs(arrival.value - now_ms), 60000)
        self.assertIsInstance(got["MillisBehindLatest"], int)

        # The same records in JSON: one logic, two encodings.
        kinesis = self.server.client()
        js = kinesis.get_records(ShardIterator=kinesis.get_shard_iterator(
            StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        self.assertEqual([r["Data"] for r in js["Records"]], [payload, b"\x00second", b""])
        self.assertEqual(int(js["Records"][0]["ApproximateArrivalTimestamp"].timestamp() * 1000), arrival.value)

    def test_errors_come_back_in_cbor(self):
        status, out = self.call("DescribeStreamSummary", {"StreamName": "no-such-stream-cbor"})
        self.assertEqual(status, 400)
        self.assertEqual(out["__type"], "ResourceNotFoundException")
        self.assertIn("no-such-stream-cbor", out["message"])
        status, out = self.call("PutRecord", {"StreamName": "x", "Data": b"x" * (10 * 1024 * 1024 + 1),
                                              "PartitionKey": "k"})
        self.assertEqual((status, out["__type"]), (400, "ValidationException"))
        # Data as a text string rather than bytes is read as base64, as over JSON; one shaped
        # like the server's reference to a byte string kept aside is no blob either.
        status, out = self.call("PutRecord", {"StreamName": "x", "Data": "\x01abcdef0123456789:0",
                                              "PartitionKey": "k"})
        self.assertEqual((status, out["__type"]), (400, "SerializationException"))
        self.assertIn("can not be converted to a Blob", out["message"])
        # Malformed CBOR: said so, after the signature was checked.
        status, out = self.call("ListStreams", None, raw_body=b"\xbf\x61")
        self.assertEqual((status, out["__type"], out["message"]), (400, "SerializationException", "truncated CBOR"))
        status, out = self.call("ListStreams", None, raw_body=b"\xa1\x01\x02")
        self.assertEqual(out["message"], "a CBOR map key that is not text")
        status, out = self.call("ListStreams", {}, sign=False)
        self.assertEqual((status, out["__type"]), (400, "MissingAuthenticationTokenException"))

    def test_the_member_rule_matches_the_kinesis_model(self):
        """The server tells blobs and timestamps in its answers by member name
        (kinesis/service.cc KinesisCborMember): every blob member of the model is Data, every
        timestamp member ends in Timestamp or is one of the account settings' three."""
        model = kinesis_model()
        blobs, stamps = set(), set()

        def walk(shape, name, seen):
            if shape is None or shape.name in seen:
                return
            if shape.type_name == "structure":
                for n, s in shape.members.items():
                    walk(s, n, seen | {shape.name})
            elif shape.type_name == "list":
                walk(shape.member, name, seen)
            elif shape.type_name == "map":
                walk(shape.value, name, seen)
            elif shape.type_name == "blob":
                blobs.add(name)
            elif shape.type_name == "timestamp":
                stamps.add(name)
        for op in model.operation_names:
            o = model.operation_model(op)
            walk(o.output_shape, None, frozenset())
            walk(o.input_shape, None, frozenset())
        self.assertEqual(blobs, {"Data"})
        self.assertTrue(all(n.endswith("Timestamp") or n in ("EarliestAllowedEndAt", "EndedAt", "StartedAt")
                            for n in stamps), stamps)


if __name__ == "__main__":
    unittest.main()
