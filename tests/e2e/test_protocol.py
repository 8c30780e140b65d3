"""The AWS JSON 1.1 wire protocol: status codes, content types, request ids, malformed bodies,
unknown actions, type errors, keep-alive."""

import http.client
import unittest

from harness import AMZ_JSON, KinesisTestCase, millrace_only, unique_name


class ProtocolTest(KinesisTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = unique_name("proto")
        cls.kinesis.create_stream(StreamName=cls.name, ShardCount=1)

    def setUp(self):
        self.wait_active(self.name)

    def test_success_headers(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamName": self.name})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type", "").split(";")[0].strip(), AMZ_JSON)
        self.assertTrue(r.headers.get("x-amzn-requestid"))
        self.assertEqual(r.json["StreamDescriptionSummary"]["StreamName"], self.name)
        self.assertEqual(int(r.headers["content-length"]), len(r.body))

    def test_empty_result_body(self):
        """Actions without output answer 200 with an empty JSON body (or none)."""
        r = self.raw.call("AddTagsToStream", {"StreamName": self.name, "Tags": {"x": "y"}})
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.body.strip(), (b"", b"{}"))

    def test_error_headers(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamName": "nope"})
        self.assertRawError(r, "ResourceNotFoundException")
        self.assertEqual(r.headers.get("content-type", "").split(";")[0].strip(), AMZ_JSON)
        self.assertTrue(r.headers.get("x-amzn-requestid"))

    def test_date_header(self):
        """AWS answers carry a Date header (HTTP/1.1 origin servers with a clock must send it)."""
        import email.utils
        import time
        for r in (self.raw.call("DescribeStreamSummary", {"StreamName": self.name}),
                  self.raw.call("DescribeStreamSummary", {"StreamName": "nope"})):
            self.assertIn("date", r.headers, r.headers)
            when = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
            self.assertLess(abs(when - time.time()), 120)

    def test_request_ids_differ(self):
        a = self.raw.call("DescribeStreamSummary", {"StreamName": self.name})
        b = self.raw.call("DescribeStreamSummary", {"StreamName": self.name})
        self.assertNotEqual(a.headers["x-amzn-requestid"], b.headers["x-amzn-requestid"])

    def test_malformed_json(self):
        for body in ('{"StreamName": ', "not json at all", '{"StreamName": "x",}', "[1, 2"):
            with self.subTest(body=body):
                r = self.raw.call("DescribeStreamSummary", body)
                self.assertRawError(r, "SerializationException")

    def test_empty_body(self):
        r = self.raw.call("DescribeStreamSummary", b"")
        self.assertRawError(r, "SerializationException")

    def test_unknown_action(self):
        r = self.raw.call("NoSuchAction", {})
        self.assertRawError(r, "UnknownOperationException")
        r = self.raw.request(b"{}", target="DynamoDB_20120810.ListTables")
        self.assertRawError(r, "UnknownOperationException")

    @millrace_only("kinesalite answers every action it lacks the same way")
    def test_every_action_of_the_model_is_known(self):
        # Each operation of the Kinesis model botocore carries is an action we answer (not
        # UnknownOperationException), and a name AWS never heard of gets its bare answer.
        import botocore.session
        model = botocore.session.get_session().get_service_model("kinesis")
        for op in model.operation_names:
            r = self.raw.call(op, {})
            self.assertNotEqual(r.error_type, "UnknownOperationException", op)
        r = self.raw.call("NoSuchAction", {})
        self.assertFalse(r.message)

    @millrace_only("kinesalite sends neither x-amz-id-2 nor CORS headers")
    def test_extended_request_id_and_cors(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamName": self.name}, headers={"Origin": "https://app.example"})
        self.assertRegex(r.headers.get("x-amz-id-2", ""), r"^[A-Za-z0-9+/=]{40,}$")
        self.assertEqual(r.headers.get("access-control-allow-origin"), "*")
        self.assertIn("x-amzn-RequestId", r.headers.get("access-control-expose-headers", ""))
        # The preflight a browser sends first: no credentials, answered 200.
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("OPTIONS", "/", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-target,x-amz-date"})
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Access-Control-Allow-Origin"), "*")
        self.assertEqual(resp.getheader("Access-Control-Allow-Headers"),
                         "authorization,content-type,x-amz-target,x-amz-date")
        self.assertIn("POST", resp.getheader("Access-Control-Allow-Methods"))
        # An echo is bounded to header-name characters.
        conn.request("OPTIONS", "/", headers={"Access-Control-Request-Headers": "x\u00ff<script>"})
        resp = conn.getresponse()
        resp.read()
        self.assertNotIn("script", resp.getheader("Access-Control-Allow-Headers"))
        conn.close()

    @millrace_only("kinesalite answers a GET its own way")
    def test_get_is_refused_as_aws_refuses_it(self):
        """Regression: a GET (or another method) got our own 404; AWS's Kinesis endpoint
        answers 403 AccessDeniedException in XML."""
        for method, path in (("GET", "/"), ("GET", "/anything"), ("DELETE", "/")):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            conn.request(method, path)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            self.assertEqual(resp.status, 403, (method, path, body))
            self.assertIn(b"<AccessDeniedException>", body)
            self.assertIn(b"Unable to determine service/operation name to be authorized", body)

    def test_missing_target(self):
        r = self.raw.request(b"{}", target=None)
        self.assertRawError(r, "UnknownOperationException")

    def test_wrong_member_types(self):
        cases = [
            ("DescribeStreamSummary", {"StreamName": 123}),
            ("CreateStream", {"StreamName": unique_name("t"), "ShardCount": "2"}),
            ("CreateStream", {"StreamName": unique_name("t"), "ShardCount": [1]}),
            ("ListStreams", {"Limit": True}),
            ("PutRecord", {"StreamName": self.name, "PartitionKey": "k", "Data": 5}),
            ("PutRecords", {"StreamName": self.name, "Records": {"Data": "AA==", "PartitionKey": "k"}}),
            ("AddTagsToStream", {"StreamName": self.name, "Tags": ["a"]}),
        ]
        for action, payload in cases:
            with self.subTest(action=action, payload=payload):
                self.assertRawError(self.raw.call(action, payload), "SerializationException")

    def test_unknown_members_ignored(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamName": self.name, "NoSuchMember": {"a": [1]}})
        self.assertEqual(r.status, 200, r)

    def test_null_members_are_absent(self):
        r = self.raw.call("ListStreams", {"Limit": None, "ExclusiveStartStreamName": None})
        self.assertEqual(r.status, 200, r)

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            for i in range(5):
                r = self.raw.call("DescribeStreamSummary", {"StreamName": self.name if i % 2 == 0 else "nope"},
                                  conn=conn)
                self.assertIn(r.status, (200, 400))
                self.assertNotEqual((r.headers.get("connection") or "").lower(), "close")
            r = self.raw.call("PutRecord", {"StreamName": self.name, "PartitionKey": "k", "Data": "AAAA"}, conn=conn)
            self.assertEqual(r.status, 200, r)
        finally:
            conn.close()

    def test_json_content_type_charset(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamName": self.name},
                          content_type=AMZ_JSON + "; charset=utf-8")
        self.assertEqual(r.status, 200)

    @millrace_only("/healthz is Millrace's")
    def test_healthz(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)

    def test_boto3_error_parsing(self):
        """boto3 maps the error to its modeled exception class."""
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException):
            self.kinesis.describe_stream_summary(StreamName="nope")
        with self.assertRaises(self.kinesis.exceptions.ResourceInUseException):
            self.kinesis.create_stream(StreamName=self.name, ShardCount=1)
        with self.assertRaises(self.kinesis.exceptions.InvalidArgumentException):
            self.kinesis.decrease_stream_retention_period(StreamName=self.name, RetentionPeriodHours=1)


class ValidationMessagesTest(KinesisTestCase):
    """ValidationException wording for missing and out-of-range members (checked with kinesalite).
    Requests that omit StreamName are not here: today StreamARN may stand in for it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kinesis.create_stream(StreamName="v", ShardCount=1)

    def test_messages(self):
        def null(member):
            return ("1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                    "Member must not be null" % member)
        cases = [
            ("CreateStream", {"ShardCount": 1}, null("streamName")),
            ("IncreaseStreamRetentionPeriod", {"StreamName": "v"}, null("retentionPeriodHours")),
            ("DecreaseStreamRetentionPeriod", {"StreamName": "v"}, null("retentionPeriodHours")),
            ("SplitShard", {"StreamName": "v", "ShardToSplit": "shardId-000000000000"}, null("newStartingHashKey")),
            ("SplitShard", {"StreamName": "v", "NewStartingHashKey": "5"}, null("shardToSplit")),
            ("MergeShards", {"StreamName": "v", "ShardToMerge": "shardId-000000000000"}, null("adjacentShardToMerge")),
            ("GetShardIterator", {"StreamName": "v", "ShardIteratorType": "LATEST"}, null("shardId")),
            ("GetShardIterator", {"StreamName": "v", "ShardId": "shardId-000000000000"}, null("shardIteratorType")),
            ("GetRecords", {}, null("shardIterator")),
            ("PutRecords", {"StreamName": "v"}, null("records")),
            ("AddTagsToStream", {"StreamName": "v"}, null("tags")),
            ("RemoveTagsFromStream", {"StreamName": "v"}, null("tagKeys")),
            ("GetRecords", {"ShardIterator": ""},
             "1 validation error detected: Value '' at 'shardIterator' failed to satisfy constraint: "
             "Member must have length greater than or equal to 1"),
            ("PutRecord", {"StreamName": "v", "Data": "AAAA", "PartitionKey": "k", "SequenceNumberForOrdering": "abc"},
             "1 validation error detected: Value 'abc' at 'sequenceNumberForOrdering' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})"),
            ("ListTagsForStream", {"StreamName": "v", "Limit": 0},
             "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
             "Member must have value greater than or equal to 1"),
            ("DescribeStream", {"StreamName": "v", "ExclusiveStartShardId": "bad id"},
             "1 validation error detected: Value 'bad id' at 'exclusiveStartShardId' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
            ("ListShards", {"StreamName": "v", "ExclusiveStartShardId": "x" * 129},
             "1 validation error detected: Value '%s' at 'exclusiveStartShardId' failed to satisfy constraint: "
             "Member must have length less than or equal to 128" % ("x" * 129)),
            ("DescribeStreamSummary", {"StreamName": "v" * 129},
             "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: "
             "Member must have length less than or equal to 128" % ("v" * 129)),
        ]
        for action, payload, message in cases:
            with self.subTest(action=action, payload=payload):
                self.assertRawError(self.raw.call(action, payload), "ValidationException", message)


if __name__ == "__main__":
    unittest.main()
