"""Durability: an acknowledged record survives kill -9 at any moment, in order, with its
sequence number; everything survives a clean restart. Millrace-only; the kill loop is slow."""

import random
import sys
import threading
import time
import unittest

from botocore.exceptions import BotoCoreError, ClientError

from harness import KinesisTestCase, POW128, millrace_only, shard_id, slow, unique_name


class Producer(threading.Thread):
    """Writes in a loop until stopped (or the server dies), remembering every acknowledged
    record as (shard, sequence number, data) and every record it ever sent."""

    def __init__(self, client, stream, idx, rounds_tag):
        super().__init__(daemon=True)
        self.client = client
        self.stream = stream
        self.idx = idx
        self.tag = rounds_tag
        self.acked = []        # (shard, seq, data)
        self.attempted = set()  # data
        self.stop = threading.Event()
        self.errors = []
        self.n = 0

    def next_data(self):
        self.n += 1
        return ("%s/p%d/%06d/" % (self.tag, self.idx, self.n)).encode() + bytes([self.n % 256]) * (self.n % 200)

    def run(self):
        rnd = random.Random(self.idx)
        while not self.stop.is_set():
            try:
                if rnd.random() < 0.5:
                    data = self.next_data()
                    pk = "pk-%d-%d" % (self.idx, self.n % 7)
                    self.attempted.add(data)
                    r = self.client.put_record(StreamName=self.stream, Data=data, PartitionKey=pk)
                    self.acked.append((r["ShardId"], r["SequenceNumber"], data))
                else:
                    batch = []
                    for _ in range(rnd.randint(1, 20)):
                        data = self.next_data()
                        self.attempted.add(data)
                        batch.append({"Data": data, "PartitionKey": "pk-%d-%d" % (self.idx, self.n % 7)})
                    r = self.client.put_records(StreamName=self.stream, Records=batch)
                    for entry, res in zip(batch, r["Records"]):
                        if "SequenceNumber" in res:
                            self.acked.append((res["ShardId"], res["SequenceNumber"], entry["Data"]))
            except (BotoCoreError, ClientError, OSError) as e:
                # The server was killed under us: nothing more is acknowledged.
                self.errors.append(repr(e))
                return


@millrace_only("kill -9 and restart of the Millrace process")
class DurabilityTest(KinesisTestCase):

    def check_everything_there(self, stream, acked, attempted):
        """Every acknowledged record is there with its sequence number, per shard in sequence
        order; nothing that was never sent is there."""
        got = self.read_all(stream)
        by_seq = {}
        for sid, recs in got.items():
            seqs = [int(r["SequenceNumber"]) for r in recs]
            self.assertEqual(seqs, sorted(seqs), "records of %s out of order" % sid)
            self.assertEqual(len(seqs), len(set(seqs)), "duplicate sequence numbers in %s" % sid)
            for r in recs:
                by_seq[(sid, r["SequenceNumber"])] = r["Data"]
                self.assertIn(r["Data"], attempted, "a record nobody sent is in %s" % sid)
        missing = [(sid, seq) for sid, seq, data in acked if by_seq.get((sid, seq)) != data]
        self.assertEqual(missing[:10], [], "%d acknowledged records missing or changed (of %d)"
                         % (len(missing), len(acked)))
        return got

    @slow
    def test_kill9_during_writes(self):
        stream = unique_name("durable")
        self.kinesis.create_stream(StreamName=stream, ShardCount=3)
        self.wait_active(stream)
        acked, attempted = [], set()
        rnd = random.Random()
        rounds = 5
        for rnd_i in range(rounds):
            producers = [Producer(self.server.client(), stream, i, "r%d" % rnd_i) for i in range(3)]
            for p in producers:
                p.start()
            time.sleep(rnd.uniform(0.3, 1.5))
            self.server.kill9()
            for p in producers:
                p.stop.set()
                p.join(timeout=30)
                self.assertFalse(p.is_alive())
                acked += p.acked
                attempted |= p.attempted
                # One producer's calls are sequential: in each shard its acknowledged sequence
                # numbers increase.
                per_shard = {}
                for sid, seq, _ in p.acked:
                    per_shard.setdefault(sid, []).append(int(seq))
                for sid, seqs in per_shard.items():
                    self.assertEqual(seqs, sorted(seqs), "acks out of order in %s" % sid)
            self.server.start()
            self.wait_active(stream)
            self.assertGreater(len(acked), 0)
            sys.stderr.write("\n  round %d: %d acknowledged, %d sent so far" % (rnd_i, len(acked), len(attempted)))
            got = self.check_everything_there(stream, acked, attempted)
            # Sequence numbers go on increasing after the restart.
            for sid, recs in got.items():
                if recs:
                    r = self.kinesis.put_records(StreamName=stream, Records=[
                        {"Data": b"probe-%d" % rnd_i, "PartitionKey": "x",
                         "ExplicitHashKey": self.hash_key_in(stream, sid)}])
                    self.assertEqual(r["Records"][0]["ShardId"], sid)
                    self.assertGreater(int(r["Records"][0]["SequenceNumber"]), int(recs[-1]["SequenceNumber"]))
                    attempted.add(b"probe-%d" % rnd_i)
                    acked.append((sid, r["Records"][0]["SequenceNumber"], b"probe-%d" % rnd_i))

    def hash_key_in(self, stream, sid):
        s = next(x for x in self.shards(stream) if x["ShardId"] == sid)
        return s["HashKeyRange"]["StartingHashKey"]

    def test_clean_restart_keeps_everything(self):
        a = unique_name("keep-a")
        b = unique_name("keep-b")
        self.kinesis.create_stream(StreamName=a, ShardCount=2)
        self.wait_active(a)
        self.kinesis.create_stream(StreamName=b, ShardCount=1)
        self.wait_active(b)
        self.kinesis.add_tags_to_stream(StreamName=a, Tags={"keep": "me"})
        self.kinesis.increase_stream_retention_period(StreamName=a, RetentionPeriodHours=72)
        puts = [self.kinesis.put_record(StreamName=a, Data=b"a%d" % i, PartitionKey="k%d" % i) for i in range(50)]
        self.kinesis.split_shard(StreamName=a, ShardToSplit=shard_id(0), NewStartingHashKey=str(POW128 // 4))
        self.wait_active(a)
        puts += [self.kinesis.put_record(StreamName=a, Data=b"b%d" % i, PartitionKey="k%d" % i) for i in range(50)]
        self.kinesis.put_records(StreamName=b, Records=[{"Data": bytes([i]) * 10, "PartitionKey": "x"} for i in range(256)])
        shards_before = self.shards(a)
        summary_before = self.summary(a)
        data_before = self.read_all(a)
        b_before = self.read_all(b)

        rc = self.server.stop()
        self.assertEqual(rc, 0, "millrace should exit 0 on SIGTERM\n" + self.server.log_tail(30))
        self.server.start()

        names = self.kinesis.list_streams(Limit=1000)["StreamNames"]
        self.assertIn(a, names)
        self.assertIn(b, names)
        self.assertEqual(self.shards(a), shards_before)
        after = self.summary(a)
        for k in ("StreamARN", "RetentionPeriodHours", "OpenShardCount", "StreamCreationTimestamp", "StreamStatus"):
            self.assertEqual(after[k], summary_before[k], k)
        self.assertEqual(self.kinesis.list_tags_for_stream(StreamName=a)["Tags"], [{"Key": "keep", "Value": "me"}])
        self.assertEqual(self.read_all(a), data_before)
        self.assertEqual(self.read_all(b), b_before)
        by_seq = {(x["SequenceNumber"]) for recs in data_before.values() for x in recs}
        for p in puts:
            self.assertIn(p["SequenceNumber"], by_seq)
        # Writing continues with higher sequence numbers; a pre-restart iterator position works.
        last = data_before[shard_id(0)][-1]["SequenceNumber"]
        recs, end = self.read_shard(a, shard_id(0), "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=last)
        self.assertEqual(recs, [])
        self.assertIsNone(end.get("NextShardIterator"))
        r = self.kinesis.put_record(StreamName=b, Data=b"after", PartitionKey="x")
        self.assertGreater(int(r["SequenceNumber"]), int(b_before[shard_id(0)][-1]["SequenceNumber"]))

    def test_restart_during_stream_transition(self):
        """A stream created just before a kill -9 ends up ACTIVE (or absent) after restart,
        never stuck in CREATING."""
        name = unique_name("transit")
        self.kinesis.create_stream(StreamName=name, ShardCount=2)
        self.server.kill9()
        self.server.start()
        try:
            self.wait_active(name)
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
            return
        self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")


if __name__ == "__main__":
    unittest.main()
