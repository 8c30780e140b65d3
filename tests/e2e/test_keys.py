"""Access keys made with `millrace keys create|list|revoke` while the server runs: scopes
(admin, producer, consumer), per-stream grants, revocation."""

import time
import unittest

from botocore.exceptions import ClientError

from harness import KinesisTestCase, millrace_only, shard_id, unique_name

PICKUP_S = 5.0  # the contract says ~1 s; allow some slack on a busy machine


@millrace_only("access keys are Millrace's")
class KeysTest(KinesisTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = unique_name("keys-a")
        cls.b = unique_name("keys-b")
        for n in (cls.a, cls.b):
            cls.kinesis.create_stream(StreamName=n, ShardCount=1)

    def setUp(self):
        for n in (self.a, self.b):
            self.wait_active(n)

    def client_for(self, key):
        """A client for a new key, once the server knows it (it picks key changes up within ~1 s)."""
        c = self.server.client(credentials=(key["AccessKeyId"], key["SecretAccessKey"]))
        deadline = time.monotonic() + PICKUP_S
        while True:
            try:
                c.describe_stream_summary(StreamName=self.a)
                return c
            except ClientError as e:
                code = e.response["Error"]["Code"]
                if code == "AccessDeniedException":
                    return c  # known key, just not allowed to describe
                if code != "UnrecognizedClientException" or time.monotonic() > deadline:
                    raise

    def test_create_output(self):
        k = self.server.create_key("producer", [self.a])
        self.assertEqual(set(k), {"AccessKeyId", "SecretAccessKey", "Scope", "Streams"})
        self.assertEqual(k["Scope"], "producer")
        self.assertEqual(k["Streams"], [self.a])
        self.assertRegex(k["AccessKeyId"], r"^[A-Z0-9]{16,128}$")
        self.assertGreaterEqual(len(k["SecretAccessKey"]), 20)

    def test_admin_key(self):
        k = self.server.create_key("admin")
        c = self.client_for(k)
        name = unique_name("by-admin")
        c.create_stream(StreamName=name, ShardCount=1)
        self.wait_active(name)
        c.put_record(StreamName=name, Data=b"x", PartitionKey="k")
        c.add_tags_to_stream(StreamName=name, Tags={"a": "b"})
        c.delete_stream(StreamName=name)

    def test_producer_key(self):
        k = self.server.create_key("producer", [self.a])
        c = self.client_for(k)
        r = c.put_record(StreamName=self.a, Data=b"from-producer", PartitionKey="k")
        self.assertEqual(r["ShardId"], shard_id(0))
        r = c.put_records(StreamName=self.a, Records=[{"Data": b"p%d" % i, "PartitionKey": "k"} for i in range(3)])
        self.assertEqual(r["FailedRecordCount"], 0)
        # What a producer library asks before it writes (the KPL lists shards).
        c.describe_stream(StreamName=self.a)
        self.assertEqual(c.describe_stream_summary(StreamName=self.a)["StreamDescriptionSummary"]["OpenShardCount"], 1)
        self.assertEqual(len(c.list_shards(StreamName=self.a)["Shards"]), 1)
        denied = [
            lambda: c.describe_stream_summary(StreamName=self.b),
            lambda: c.list_shards(StreamName=self.b),
            lambda: c.put_record(StreamName=self.b, Data=b"x", PartitionKey="k"),
            lambda: c.put_records(StreamName=self.b, Records=[{"Data": b"x", "PartitionKey": "k"}]),
            lambda: c.get_shard_iterator(StreamName=self.a, ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON"),
            lambda: c.create_stream(StreamName=unique_name("nope"), ShardCount=1),
            lambda: c.delete_stream(StreamName=self.a),
            lambda: c.increase_stream_retention_period(StreamName=self.a, RetentionPeriodHours=48),
            lambda: c.add_tags_to_stream(StreamName=self.a, Tags={"x": "y"}),
        ]
        for i, call in enumerate(denied):
            with self.subTest(call=i):
                with self.assertAwsError("AccessDeniedException"):
                    call()
        # The admin sees what the producer wrote.
        recs, _ = self.read_shard(self.a, shard_id(0))
        self.assertIn(b"from-producer", [x["Data"] for x in recs])
        self.assertEqual(self.summary(self.a)["RetentionPeriodHours"], 24)

    def test_consumer_key(self):
        self.kinesis.put_record(StreamName=self.a, Data=b"for-consumer", PartitionKey="k")
        self.kinesis.put_record(StreamName=self.b, Data=b"secret", PartitionKey="k")
        k = self.server.create_key("consumer", [self.a])
        c = self.client_for(k)
        c.describe_stream(StreamName=self.a)
        c.describe_stream_summary(StreamName=self.a)
        self.assertEqual(len(c.list_shards(StreamName=self.a)["Shards"]), 1)
        recs, _ = self.read_shard(self.a, shard_id(0), client=c)
        self.assertIn(b"for-consumer", [x["Data"] for x in recs])
        denied = [
            lambda: c.put_record(StreamName=self.a, Data=b"x", PartitionKey="k"),
            lambda: c.put_records(StreamName=self.a, Records=[{"Data": b"x", "PartitionKey": "k"}]),
            lambda: c.describe_stream_summary(StreamName=self.b),
            lambda: c.get_shard_iterator(StreamName=self.b, ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON"),
            lambda: c.delete_stream(StreamName=self.a),
            lambda: c.create_stream(StreamName=unique_name("nope"), ShardCount=1),
        ]
        for i, call in enumerate(denied):
            with self.subTest(call=i):
                with self.assertAwsError("AccessDeniedException"):
                    call()
        # An iterator for stream B obtained by the admin does not let the consumer read B.
        it_b = self.iterator(self.b, shard_id(0))
        with self.assertAwsError("AccessDeniedException"):
            c.get_records(ShardIterator=it_b)

    def test_producer_for_several_streams(self):
        k = self.server.create_key("producer", [self.a, self.b])
        c = self.client_for(k)
        for n in (self.a, self.b):
            c.put_record(StreamName=n, Data=b"both", PartitionKey="k")

    def test_list_shows_no_secrets(self):
        k1 = self.server.create_key("producer", [self.a])
        k2 = self.server.create_key("consumer", [self.b])
        keys, text = self.server.list_keys()
        ids = [x.get("AccessKeyId") for x in keys]
        self.assertIn(k1["AccessKeyId"], ids)
        self.assertIn(k2["AccessKeyId"], ids)
        root_key, root_secret = self.server.credentials()
        self.assertIn(root_key, ids)
        for secret in (k1["SecretAccessKey"], k2["SecretAccessKey"], root_secret):
            self.assertNotIn(secret, text)
        by_id = {x.get("AccessKeyId"): x for x in keys}
        self.assertEqual(by_id[k1["AccessKeyId"]].get("Scope"), "producer")
        self.assertEqual(by_id[k2["AccessKeyId"]].get("Scope"), "consumer")
        for x in keys:
            self.assertNotIn("SecretAccessKey", x)

    def test_revoke(self):
        k = self.server.create_key("admin")
        c = self.client_for(k)
        c.list_streams()
        self.server.revoke_key(k["AccessKeyId"])
        deadline = time.monotonic() + PICKUP_S
        while True:
            try:
                c.list_streams()
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "UnrecognizedClientException")
                break
            self.assertLess(time.monotonic(), deadline, "revoked key still accepted after %.0f s" % PICKUP_S)
            time.sleep(0.1)
        # `keys list` drops it or marks it revoked.
        listed = [x for x in self.server.list_keys()[0] if x.get("AccessKeyId") == k["AccessKeyId"]]
        self.assertTrue(not listed or listed[0].get("RevokedAt"), listed)
        # The root key still works.
        self.kinesis.list_streams()

    def test_revoke_unknown_key_fails(self):
        p = self.server.keys("revoke", "AKIANOSUCHKEY0000000", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_invalid_scope_fails(self):
        p = self.server.keys("create", "--scope", "superuser", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_keys_survive_restart(self):
        k = self.server.create_key("producer", [self.a])
        self.client_for(k)
        self.server.restart()
        c = self.server.client(credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        c.put_record(StreamName=self.a, Data=b"after-restart", PartitionKey="k")
        with self.assertAwsError("AccessDeniedException"):
            c.put_record(StreamName=self.b, Data=b"x", PartitionKey="k")


if __name__ == "__main__":
    unittest.main()
