"""The AWS CLI against the server: `aws --endpoint-url URL kinesis ...` with the server's
credentials file (AWS_SHARED_CREDENTIALS_FILE) and region (AWS_DEFAULT_REGION)."""

import base64
import os
import shutil
import tempfile
import unittest

from harness import (ACCOUNT_ID, KinesisTestCase, aws_cli, aws_cli_is_v2, shard_id, stream_arn,
                     unique_name)


def blob_args(data_text):
    """--data as raw text. AWS CLI v2 needs --cli-binary-format raw-in-base64-out for that; v1
    (which has no such option) always takes blob arguments as raw text."""
    if aws_cli_is_v2():
        return ["--data", data_text, "--cli-binary-format", "raw-in-base64-out"]
    return ["--data", data_text]


@unittest.skipUnless(shutil.which("aws"), "the AWS CLI is not installed")
class CliTest(KinesisTestCase):

    def cli(self, *args, **kw):
        return aws_cli(self.server, *args, **kw)

    def test_stream_round_trip(self):
        name = unique_name("cli")
        self.assertIsNone(self.cli("create-stream", "--stream-name", name, "--shard-count", "2"))
        self.wait_active(name)
        s = self.cli("describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
        self.assertEqual(s["StreamName"], name)
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        self.assertEqual(s["OpenShardCount"], 2)
        self.assertEqual(s["StreamARN"], stream_arn(name, region=self.server.region))

        put = self.cli("put-record", "--stream-name", name, "--partition-key", "cli-key",
                       *blob_args("hello from the AWS CLI"))
        self.assertIn(put["ShardId"], (shard_id(0), shard_id(1)))
        self.assertRegex(put["SequenceNumber"], r"^\d{56}$")

        # Binary data from a file, sent as is (fileb://).
        tmp = tempfile.mkdtemp(prefix="cli-")
        try:
            binary = bytes(range(256))
            path = os.path.join(tmp, "blob.bin")
            with open(path, "wb") as f:
                f.write(binary)
            put2 = self.cli("put-record", "--stream-name", name, "--partition-key", "cli-key",
                            "--data", "fileb://" + path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(put2["ShardId"], put["ShardId"])
        self.assertGreater(int(put2["SequenceNumber"]), int(put["SequenceNumber"]))

        it = self.cli("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
                      "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        recs = self.cli("get-records", "--shard-iterator", it)
        self.assertEqual(len(recs["Records"]), 2)
        self.assertEqual(base64.b64decode(recs["Records"][0]["Data"]), b"hello from the AWS CLI")
        self.assertEqual(base64.b64decode(recs["Records"][1]["Data"]), binary)
        self.assertEqual([r["SequenceNumber"] for r in recs["Records"]],
                         [put["SequenceNumber"], put2["SequenceNumber"]])
        self.assertEqual(recs["Records"][0]["PartitionKey"], "cli-key")
        self.assertIn("NextShardIterator", recs)
        self.assertEqual(recs["MillisBehindLatest"], 0)

        it = self.cli("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
                      "--shard-iterator-type", "AFTER_SEQUENCE_NUMBER",
                      "--starting-sequence-number", put["SequenceNumber"])["ShardIterator"]
        recs = self.cli("get-records", "--shard-iterator", it, "--limit", "5")
        self.assertEqual([base64.b64decode(r["Data"]) for r in recs["Records"]], [binary])

        names = self.cli("list-streams")["StreamNames"]
        self.assertIn(name, names)

        self.assertIsNone(self.cli("delete-stream", "--stream-name", name))
        self.wait_gone(name)

    def test_error_exit_status_and_message(self):
        code, out, err = self.cli("describe-stream-summary", "--stream-name", "no-such-cli-stream", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("ResourceNotFoundException", err)
        self.assertIn("Stream no-such-cli-stream under account %s not found." % ACCOUNT_ID, err)

    def test_put_records_from_cli(self):
        name = self.create_stream(shards=1)
        if aws_cli_is_v2():
            entries = ["Data=%s,PartitionKey=k%d" % (base64.b64encode(b"e%d" % i).decode(), i) for i in range(3)]
        else:
            entries = ["Data=e%d,PartitionKey=k%d" % (i, i) for i in range(3)]
        r = self.cli("put-records", "--stream-name", name, "--records", *entries)
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual(len(r["Records"]), 3)
        recs, _ = self.read_shard(name, shard_id(0))
        self.assertEqual([x["Data"] for x in recs], [b"e0", b"e1", b"e2"])


if __name__ == "__main__":
    unittest.main()
