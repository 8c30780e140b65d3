"""A full disk: writes fail with a clear, retryable error (503 ServiceUnavailable), nothing
acknowledged is lost, and writes succeed again once space returns.

The data directory sits on a small tmpfs mounted for the test (needs root; skipped
otherwise). A filler file takes part of the space so the test can give it back."""
import os
import subprocess
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

import harness
from harness import MillraceServer, millrace_only


def mount_tmpfs(size_mb):
    if os.geteuid() != 0:
        return None
    d = tempfile.mkdtemp(prefix="millrace-fulldisk-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", d],
                       capture_output=True)
    if r.returncode != 0:
        os.rmdir(d)
        return None
    return d


@millrace_only("fsync and disk-full behaviour")
class FullDiskTest(unittest.TestCase):
    def setUp(self):
        self.mnt = mount_tmpfs(24)
        if not self.mnt:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.server = MillraceServer(data_dir=os.path.join(self.mnt, "data"),
                                     extra_args=["--segment-mb", "2"])
        self.server.start()

    def tearDown(self):
        if getattr(self, "server", None):
            self.server.close()
        if self.mnt:
            subprocess.run(["umount", "-l", self.mnt])
            os.rmdir(self.mnt)

    def read_all(self, client, stream):
        shards = client.list_shards(StreamName=stream)["Shards"]
        got = []
        for sh in shards:
            it = client.get_shard_iterator(StreamName=stream, ShardId=sh["ShardId"],
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                r = client.get_records(ShardIterator=it, Limit=10000)
                got += [(sh["ShardId"], x["SequenceNumber"], x["Data"]) for x in r["Records"]]
                if not r["Records"]:
                    break
                it = r.get("NextShardIterator")
        return got

    def test_writes_fail_cleanly_when_full_and_resume_when_space_returns(self):
        k = self.server.client()
        k.create_stream(StreamName="full", ShardCount=1)
        for _ in range(200):
            if k.describe_stream_summary(StreamName="full")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                break
            time.sleep(0.05)
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (4 << 20))
        acked = []
        errors = []
        n = 0
        for _ in range(400):  # 400 x 64 KiB = 25 MiB > the 24 MiB disk
            data = ("%08d" % n).encode() + os.urandom(64 * 1024 - 8)
            n += 1
            try:
                r = k.put_record(StreamName="full", Data=data, PartitionKey="p")
                acked.append((r["ShardId"], r["SequenceNumber"], data))
            except ClientError as e:
                errors.append(e)
                if len(errors) >= 3:
                    break
        self.assertTrue(errors, "the disk never filled up")
        err = errors[0].response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(err["Error"]["Code"], "ServiceUnavailable")
        self.assertIn("No space left on device", err["Error"]["Message"])

        # Everything acknowledged is readable, in order, with its sequence number.
        self.assertEqual(self.read_all(k, "full"), acked)

        # Space returns: writes succeed again.
        os.unlink(filler)
        data = b"after" + os.urandom(100)
        r = k.put_record(StreamName="full", Data=data, PartitionKey="p")
        acked.append((r["ShardId"], r["SequenceNumber"], data))
        self.assertEqual(self.read_all(k, "full"), acked)

        # And all of it survives a restart.
        self.server.restart()
        self.assertEqual(self.read_all(self.server.client(), "full"), acked)

    def test_control_api_answers_503_on_a_full_disk(self):
        """Regression (issue #10): the catalog's SQLITE_FULL was a 500 InternalError."""
        from harness import RawClient
        import json
        api = RawClient(self.server, service="millrace")
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        statuses = []
        for i in range(20):  # until the catalog's WAL needs a page it cannot have
            # ~4 KB of schema per dataset (unknown fields are refused, so no padding field).
            body = json.dumps({"name": "d%d" % i, "file_type": "parquet", "schema": {"columns": [
                {"name": "c%d_%s" % (j, "x" * 90), "type": "string"} for j in range(40)]}}).encode()
            r = api.request(body, method="POST", path="/api/v1/datasets",
                            content_type="application/json")
            statuses.append(r.status)
            if r.status != 201:
                break
        self.assertNotIn(500, statuses, statuses)
        self.assertEqual(statuses[-1], 503, statuses)
        self.assertEqual(r.headers.get("retry-after"), "1")
        os.unlink(filler)
        body = json.dumps({"name": "after", "file_type": "jsonl"}).encode()
        r = api.request(body, method="POST", path="/api/v1/datasets", content_type="application/json")
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    unittest.main()
