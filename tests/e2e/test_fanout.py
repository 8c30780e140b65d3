"""Enhanced fan-out: stream consumers and SubscribeToShard, from boto3 (HTTP/1.1) and the AWS
SDK for JavaScript v3 (HTTP/2), against the real binary."""

import json
import os
import subprocess
import threading
import time
import unittest

from harness import REPO, MillraceServer, millrace_only, unique_name

NODE_SCRIPT = os.path.join(REPO, "tests", "e2e", "kinesis_efo_sdk_v3.mjs")
SHARD0 = "shardId-000000000000"


class Reader(threading.Thread):
    """Iterates a subscription's events, noting when each record arrived."""

    def __init__(self, response):
        super().__init__(daemon=True)
        self.stream = response["EventStream"]
        self.events = []
        self.arrived = {}  # data -> time.monotonic()
        self.error = None
        self.ended = threading.Event()
        self.start()

    def run(self):
        try:
            for ev in self.stream:
                e = ev["SubscribeToShardEvent"]
                now = time.monotonic()
                self.events.append(e)
                for r in e["Records"]:
                    self.arrived[r["Data"]] = now
        except Exception as e:  # noqa: BLE001: kept for the test to see
            self.error = e
        self.ended.set()

    def wait_for(self, data, timeout=10):
        deadline = time.monotonic() + timeout
        while data not in self.arrived and time.monotonic() < deadline and not self.ended.is_set():
            time.sleep(0.002)
        return self.arrived.get(data)

    def records(self):
        return [r for e in self.events for r in e["Records"]]


@millrace_only("enhanced fan-out is tested against the real binary")
class FanOutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.kinesis = cls.server.client(read_timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def stream(self, shards=1):
        name = unique_name("efo")
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        while self.summary(name)["StreamStatus"] != "ACTIVE":
            time.sleep(0.05)
        return name, self.summary(name)["StreamARN"]

    def summary(self, name):
        return self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]

    def consumer(self, stream_arn, name="c"):
        c = self.kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"]
        while self.kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])[
                "ConsumerDescription"]["ConsumerStatus"] != "ACTIVE":
            time.sleep(0.05)
        return c["ConsumerARN"]

    def subscribe(self, consumer_arn, shard=SHARD0, **position):
        position.setdefault("Type", "LATEST")
        return Reader(self.kinesis.subscribe_to_shard(ConsumerARN=consumer_arn, ShardId=shard,
                                                      StartingPosition=position))

    def assertCode(self, code, fn, **kw):
        with self.assertRaises(self.kinesis.exceptions.ClientError) as cm:
            fn(**kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def test_consumer_lifecycle(self):
        name, arn = self.stream()
        c = self.kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")["Consumer"]
        self.assertEqual(c["ConsumerStatus"], "CREATING")
        self.assertRegex(c["ConsumerARN"], r"^%s/consumer/reader:\d+$" % arn)
        consumer_arn = self.consumer(arn, "other")  # waits for ACTIVE
        by_arn = self.kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        by_name = self.kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="reader")["ConsumerDescription"]
        self.assertEqual(by_arn, by_name)
        self.assertEqual((by_arn["ConsumerStatus"], by_arn["StreamARN"]), ("ACTIVE", arn))
        listed = self.kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
        self.assertEqual(sorted(x["ConsumerName"] for x in listed), ["other", "reader"])
        page = self.kinesis.list_stream_consumers(StreamARN=arn, MaxResults=1)
        self.assertEqual(len(page["Consumers"]), 1)
        rest = self.kinesis.list_stream_consumers(StreamARN=arn, NextToken=page["NextToken"])
        self.assertEqual(len(rest["Consumers"]), 1)
        self.assertNotIn("NextToken", rest)
        self.assertEqual(self.summary(name)["ConsumerCount"], 2)
        self.assertCode("ResourceInUseException", self.kinesis.register_stream_consumer,
                        StreamARN=arn, ConsumerName="reader")
        self.kinesis.deregister_stream_consumer(ConsumerARN=consumer_arn)
        self.kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="reader")
        self.assertCode("ResourceNotFoundException", self.kinesis.describe_stream_consumer,
                        ConsumerARN=consumer_arn)
        self.assertEqual(self.kinesis.list_stream_consumers(StreamARN=arn)["Consumers"], [])
        # A stream made again under the same name has none of the old one's consumers.
        self.consumer(arn, "kept")
        self.kinesis.delete_stream(StreamName=name)
        while name in self.kinesis.list_streams()["StreamNames"]:
            time.sleep(0.05)
        self.kinesis.create_stream(StreamName=name, ShardCount=1)
        while self.summary(name)["StreamStatus"] != "ACTIVE":
            time.sleep(0.05)
        self.assertEqual(self.kinesis.list_stream_consumers(StreamARN=arn)["Consumers"], [])

    def test_at_most_twenty_consumers_per_stream(self):
        _, arn = self.stream()
        for i in range(20):
            self.kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c%d" % i)
        self.assertCode("LimitExceededException", self.kinesis.register_stream_consumer,
                        StreamARN=arn, ConsumerName="one-too-many")

    def test_records_are_pushed_as_they_become_durable(self):
        name, arn = self.stream()
        consumer = self.consumer(arn)
        self.kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"old")
        reader = self.subscribe(consumer)
        time.sleep(0.3)
        latencies = []
        for i in range(10):
            data = b"new-%d" % i
            t0 = time.monotonic()
            put = self.kinesis.put_record(StreamName=name, PartitionKey="p", Data=data)
            arrived = reader.wait_for(data)
            self.assertIsNotNone(arrived, "record %r not pushed: %r" % (data, reader.error))
            latencies.append((arrived - t0) * 1000)
        self.assertNotIn(b"old", reader.arrived)  # LATEST: only what came after
        # Within 100 ms of the PutRecord call (typically a few ms on loopback); no polling.
        self.assertLess(sorted(latencies)[len(latencies) // 2], 100, latencies)
        self.assertLess(max(latencies), 1000, latencies)
        last = reader.events[-1]
        self.assertEqual(last["ContinuationSequenceNumber"], put["SequenceNumber"])
        self.assertEqual(last["MillisBehindLatest"], 0)
        # One subscription per consumer and shard.
        msg = self.assertCode("ResourceInUseException", self.kinesis.subscribe_to_shard,
                              ConsumerARN=consumer, ShardId=SHARD0, StartingPosition={"Type": "LATEST"})
        self.assertIn("Another active subscription exists for this consumer", msg)
        # Resuming after the continuation misses nothing and repeats nothing.
        reader.stream.close()
        self.kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"while-away")
        deadline = time.monotonic() + 5
        while True:  # the server notices the closed subscription within a tick
            try:
                again = self.subscribe(consumer, Type="AFTER_SEQUENCE_NUMBER",
                                       SequenceNumber=last["ContinuationSequenceNumber"])
                break
            except self.kinesis.exceptions.ResourceInUseException:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        self.assertIsNotNone(again.wait_for(b"while-away"))
        self.assertEqual([r["Data"] for r in again.records()], [b"while-away"])
        again.stream.close()

    def test_trim_horizon_and_timestamps(self):
        name, arn = self.stream()
        consumer = self.consumer(arn)
        for i in range(3):
            self.kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"r%d" % i)
        reader = self.subscribe(consumer, Type="TRIM_HORIZON")
        self.assertIsNotNone(reader.wait_for(b"r2"))
        records = reader.records()
        self.assertEqual([r["Data"] for r in records], [b"r0", b"r1", b"r2"])
        self.assertLess(abs(records[0]["ApproximateArrivalTimestamp"].timestamp() - time.time()), 60)
        reader.stream.close()

    def test_a_closed_shard_ends_with_its_children(self):
        name, arn = self.stream()
        consumer = self.consumer(arn)
        reader = self.subscribe(consumer)
        time.sleep(0.2)
        self.kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"last")
        self.kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0,
                                 NewStartingHashKey=str(2 ** 127))
        self.assertTrue(reader.ended.wait(15), "the subscription did not end")
        self.assertIsNone(reader.error)
        self.assertEqual([r["Data"] for r in reader.records()], [b"last"])
        children = reader.events[-1]["ChildShards"]
        self.assertEqual(sorted(c["ShardId"] for c in children),
                         ["shardId-000000000001", "shardId-000000000002"])
        self.assertEqual(children[0]["ParentShards"], [SHARD0])

    def test_deregistering_ends_its_subscriptions(self):
        _, arn = self.stream()
        consumer = self.consumer(arn)
        reader = self.subscribe(consumer)
        time.sleep(0.2)
        self.kinesis.deregister_stream_consumer(ConsumerARN=consumer)
        self.assertTrue(reader.ended.wait(10))
        self.assertCode("ResourceNotFoundException", self.kinesis.subscribe_to_shard,
                        ConsumerARN=consumer, ShardId=SHARD0, StartingPosition={"Type": "LATEST"})

    def test_subscription_errors(self):
        _, arn = self.stream()
        consumer = self.consumer(arn)
        self.assertCode("ResourceNotFoundException", self.kinesis.subscribe_to_shard,
                        ConsumerARN=consumer, ShardId="shardId-000000000009",
                        StartingPosition={"Type": "LATEST"})
        self.assertCode("ResourceNotFoundException", self.kinesis.subscribe_to_shard,
                        ConsumerARN=arn + "/consumer/nobody:1", ShardId=SHARD0,
                        StartingPosition={"Type": "LATEST"})
        self.assertCode("InvalidArgumentException", self.kinesis.subscribe_to_shard,
                        ConsumerARN=consumer, ShardId=SHARD0,
                        StartingPosition={"Type": "AT_SEQUENCE_NUMBER"})

    def test_javascript_sdk_v3_over_http2(self):
        name, arn = self.stream()
        consumer = self.consumer(arn)
        key, secret = self.server.credentials()
        p = subprocess.run(["node", NODE_SCRIPT, self.server.endpoint, key, secret, name, consumer, "5"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.server.log_tail(20))
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(out["received"], ["efo-%d" % i for i in range(5)])
        self.assertLess(sorted(out["latency_ms"])[2], 100, out["latency_ms"])


if __name__ == "__main__":
    unittest.main()
