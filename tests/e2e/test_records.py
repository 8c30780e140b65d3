"""Data plane: PutRecord, PutRecords, GetShardIterator (all five types), GetRecords."""

import base64
import datetime
import os
import random
import time
import unittest

from harness import (ACCOUNT_ID, MIB, POW128, TARGET, KinesisTestCase, even_ranges, md5_hash_key,
                     millrace_only, not_on_kinesalite, shard_for_hash, shard_id, slow, unique_name)

SEQ_RE = r"^[1-9]\d{55}$"  # AWS sequence numbers: 56-digit decimals
ITER_TYPES = "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
MUST_EITHER = ("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
               "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
               "Request specified %s and %s StartingSequenceNumber.")


def b64(data):
    return base64.b64encode(data).decode("ascii")


def blob_value(n):
    return "java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]" % (n, n)


class PutRecordTest(KinesisTestCase):

    def test_shard_by_md5_and_increasing_sequence_numbers(self):
        name = self.create_stream(shards=4)
        shards = self.shards(name)
        sent = {}
        last = {}
        for i in range(40):
            pk = "partition-%d" % i
            data = ("record %d" % i).encode()
            r = self.kinesis.put_record(StreamName=name, Data=data, PartitionKey=pk)
            expected = shard_for_hash(shards, md5_hash_key(pk))
            self.assertEqual(r["ShardId"], expected, pk)
            self.assertRegex(r["SequenceNumber"], SEQ_RE)
            seq = int(r["SequenceNumber"])
            if expected in last:
                self.assertGreater(seq, last[expected], "sequence numbers must increase within a shard")
            last[expected] = seq
            start = next(s for s in shards if s["ShardId"] == expected)["SequenceNumberRange"]["StartingSequenceNumber"]
            self.assertGreaterEqual(seq, int(start))
            sent.setdefault(expected, []).append((r["SequenceNumber"], pk, data))
        self.assertGreater(len(sent), 1)
        got = self.read_all(name)
        for sid in got:
            self.assertEqual([(x["SequenceNumber"], x["PartitionKey"], x["Data"]) for x in got[sid]],
                             sent.get(sid, []), sid)

    def test_explicit_hash_key(self):
        name = self.create_stream(shards=4)
        ranges = even_ranges(4)
        cases = [(0, 0), (ranges[1][0], 1), (ranges[1][0] - 1, 0), (ranges[2][1], 2),
                 (ranges[3][0], 3), (POW128 - 1, 3)]
        for ehk, idx in cases:
            with self.subTest(ehk=ehk):
                r = self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="same-key",
                                            ExplicitHashKey=str(ehk))
                self.assertEqual(r["ShardId"], shard_id(idx))

    def test_explicit_hash_key_errors(self):
        name = self.create_stream(shards=1)
        with self.assertAwsError(
                "InvalidArgumentException",
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                "Specified value was %d" % POW128):
            self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(POW128))
        r = self.raw.call("PutRecord", {"StreamName": name, "Data": "eA==", "PartitionKey": "k",
                                        "ExplicitHashKey": "12abc"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '12abc' at 'explicitHashKey' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")

    def test_sequence_number_for_ordering(self):
        name = self.create_stream(shards=1)
        first = self.kinesis.put_record(StreamName=name, Data=b"1", PartitionKey="k")["SequenceNumber"]
        second = self.kinesis.put_record(StreamName=name, Data=b"2", PartitionKey="k",
                                         SequenceNumberForOrdering=first)["SequenceNumber"]
        self.assertGreater(int(second), int(first))

    @millrace_only("kinesalite checks only a sequence number's form")
    def test_sequence_number_for_ordering_of_another_stream_or_shard(self):
        """Regression: a SequenceNumberForOrdering of another stream or another shard was
        accepted; it must name a written record of the shard the record goes to (or of that
        shard's parents, after a reshard)."""
        name = self.create_stream(shards=2)
        other = self.create_stream(shards=1)
        foreign = self.kinesis.put_record(StreamName=other, Data=b"x", PartitionKey="k")["SequenceNumber"]
        low = self.kinesis.put_record(StreamName=name, Data=b"a", PartitionKey="k",
                                      ExplicitHashKey="1")["SequenceNumber"]
        high = self.kinesis.put_record(StreamName=name, Data=b"b", PartitionKey="k",
                                       ExplicitHashKey=str(POW128 - 1))["SequenceNumber"]
        for seq in (foreign, high):
            with self.assertAwsError("InvalidArgumentException",
                                     "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s "
                                     "under account %s is invalid." % (seq, name, ACCOUNT_ID)):
                self.kinesis.put_record(StreamName=name, Data=b"c", PartitionKey="k",
                                        ExplicitHashKey="2", SequenceNumberForOrdering=seq)
        self.kinesis.put_record(StreamName=name, Data=b"c", PartitionKey="k", ExplicitHashKey="2",
                                SequenceNumberForOrdering=low)
        # After a split, the parent's sequence numbers order records of its children.
        self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey="1000")
        self.wait_active(name)
        r = self.kinesis.put_record(StreamName=name, Data=b"d", PartitionKey="k", ExplicitHashKey="2",
                                    SequenceNumberForOrdering=low)
        self.assertEqual(r["ShardId"], shard_id(2))

    def test_binary_data_round_trips(self):
        name = self.create_stream(shards=1)
        rnd = random.Random(7)
        payloads = [bytes(range(256)) * 4, b"\x00", b"\xff\xfe\x00\r\n\t\"\\", b"{\"json\": true}",
                    "ünïcødé ✓ 🚀".encode("utf-8"), bytes(rnd.getrandbits(8) for _ in range(5000)), b""]
        for p in payloads:
            self.kinesis.put_record(StreamName=name, Data=p, PartitionKey="bin")
        records, _ = self.read_shard(name, shard_id(0))
        self.assertEqual([r["Data"] for r in records], payloads)

    def test_unicode_partition_key(self):
        name = self.create_stream(shards=3)
        pk = "clé-ünïcødé-✓"
        r = self.kinesis.put_record(StreamName=name, Data=b"u", PartitionKey=pk)
        self.assertEqual(r["ShardId"], shard_for_hash(self.shards(name), md5_hash_key(pk)))
        records, _ = self.read_shard(name, r["ShardId"])
        self.assertEqual(records[-1]["PartitionKey"], pk)

    def test_one_mib_record_round_trips(self):
        name = self.create_stream(shards=1)
        pk = "big"
        data = os.urandom(MIB - len(pk))  # data + partition key = exactly 1 MiB
        r = self.kinesis.put_record(StreamName=name, Data=data, PartitionKey=pk)
        it = self.iterator(name, shard_id(0), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=r["SequenceNumber"])
        got = self.kinesis.get_records(ShardIterator=it, Limit=1)["Records"]
        self.assertEqual(len(got), 1)
        self.assertEqual(len(got[0]["Data"]), len(data))
        self.assertTrue(got[0]["Data"] == data, "1 MiB record came back different")

    @not_on_kinesalite("today's AWS answer: the stream's maximum record size, unquoted")
    def test_oversized_record(self):
        name = self.create_stream(shards=1)
        n = MIB + 1
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "k", "Data": b64(b"\x01" * n)})
        # Today's AWS (records up to 10 MiB where the stream allows them) answers a record over
        # the stream's maximum without quoting it (the model's own check, past 10 MiB, does).
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value at 'data' failed to satisfy constraint: "
            "Member must have length less than or equal to 1048576")
        n = 10 * MIB + 1
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "k", "Data": b64(b"\x01" * n)})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '%s' at 'data' failed to satisfy constraint: "
            "Member must have length less than or equal to 10485760" % blob_value(n))

    def test_partition_key_length(self):
        name = self.create_stream(shards=1)
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "", "Data": "AAAA"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '' at 'partitionKey' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1")
        long_key = "k" * 257
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": long_key, "Data": "AAAA"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '%s' at 'partitionKey' failed to satisfy constraint: "
            "Member must have length less than or equal to 256" % long_key)
        ok = self.kinesis.put_record(StreamName=name, PartitionKey="k" * 256, Data=b"x")
        self.assertEqual(ok["ShardId"], shard_id(0))

    def test_missing_required_members(self):
        name = self.create_stream(shards=1)
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "k"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value null at 'data' failed to satisfy constraint: "
            "Member must not be null")
        r = self.raw.call("PutRecord", {"StreamName": name, "Data": "AAAA"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: "
            "Member must not be null")

    def test_data_must_be_base64(self):
        name = self.create_stream(shards=1)
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "k", "Data": "not base64!"})
        self.assertRawError(r, "SerializationException")


class PutRecordsTest(KinesisTestCase):

    def test_500_records(self):
        name = self.create_stream(shards=3)
        shards = self.shards(name)
        entries = [{"Data": ("rec-%03d" % i).encode(), "PartitionKey": "pk-%d" % i} for i in range(500)]
        r = self.kinesis.put_records(StreamName=name, Records=entries)
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual(len(r["Records"]), 500)
        expect = {}
        last = {}
        for e, res in zip(entries, r["Records"]):
            self.assertNotIn("ErrorCode", res)
            self.assertEqual(res["ShardId"], shard_for_hash(shards, md5_hash_key(e["PartitionKey"])))
            self.assertRegex(res["SequenceNumber"], SEQ_RE)
            seq = int(res["SequenceNumber"])
            # Records of one request that land in one shard keep the request's order.
            if res["ShardId"] in last:
                self.assertGreater(seq, last[res["ShardId"]])
            last[res["ShardId"]] = seq
            expect.setdefault(res["ShardId"], []).append((res["SequenceNumber"], e["PartitionKey"], e["Data"]))
        got = self.read_all(name)
        self.assertEqual(set(got), {s["ShardId"] for s in shards})
        for sid, recs in got.items():
            self.assertEqual([(x["SequenceNumber"], x["PartitionKey"], x["Data"]) for x in recs],
                             expect.get(sid, []), sid)

    def test_explicit_hash_keys_per_record(self):
        name = self.create_stream(shards=2)
        r = self.kinesis.put_records(StreamName=name, Records=[
            {"Data": b"a", "PartitionKey": "x", "ExplicitHashKey": "0"},
            {"Data": b"b", "PartitionKey": "x", "ExplicitHashKey": str(POW128 - 1)},
            {"Data": b"c", "PartitionKey": "x", "ExplicitHashKey": str(POW128 // 2)},
            {"Data": b"d", "PartitionKey": "x", "ExplicitHashKey": str(POW128 // 2 - 1)},
        ])
        self.assertEqual([x["ShardId"] for x in r["Records"]],
                         [shard_id(0), shard_id(1), shard_id(1), shard_id(0)])

    def test_record_count_limits(self):
        name = self.create_stream(shards=1)
        too_many = [{"Data": "AA==", "PartitionKey": "k"} for _ in range(501)]
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": too_many})
        self.assertRawError(
            r, "ValidationException",
            message_regex=r"^1 validation error detected: Value '\[.*\]' at 'records' failed to satisfy "
                          r"constraint: Member must have length less than or equal to 500$")
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": []})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1")

    def test_member_validation(self):
        name = self.create_stream(shards=1)
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": [
            {"Data": "AA==", "PartitionKey": "k"}, {"Data": "AA==", "PartitionKey": ""}]})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '' at 'records.2.member.partitionKey' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1")
        # Nothing of a rejected request was written.
        records, _ = self.read_shard(name, shard_id(0))
        self.assertEqual(records, [])

    @not_on_kinesalite("today's AWS answer: the stream's maximum record size, unquoted")
    def test_member_data_too_long(self):
        name = self.create_stream(shards=1)
        n = MIB + 1
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": [
            {"Data": "AA==", "PartitionKey": "k"}, {"Data": b64(b"\x02" * n), "PartitionKey": "k"},
            {"Data": b64(b"\x03" * n), "PartitionKey": "k"}]})
        self.assertRawError(
            r, "ValidationException",
            "2 validation errors detected: Value at 'records.2.member.data' failed to satisfy "
            "constraint: Member must have length less than or equal to 1048576; Value at "
            "'records.3.member.data' failed to satisfy constraint: Member must have length less "
            "than or equal to 1048576")
        # Nothing of a rejected request was written.
        records, _ = self.read_shard(name, shard_id(0))
        self.assertEqual(records, [])


class ShardIteratorTest(KinesisTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = unique_name("iter")
        cls.kinesis.create_stream(StreamName=cls.name, ShardCount=2)

    def setUp(self):
        self.wait_active(self.name)

    def put_batch(self, n, prefix, shard=0):
        """n records into one shard (by explicit hash key); returns the PutRecord answers."""
        ehk = "0" if shard == 0 else str(POW128 - 1)
        return [self.kinesis.put_record(StreamName=self.name, Data=("%s-%d" % (prefix, i)).encode(),
                                        PartitionKey="p", ExplicitHashKey=ehk) for i in range(n)]

    def data(self, records):
        return [r["Data"].decode() for r in records]

    def test_all_iterator_types(self):
        tag = unique_name("t")
        puts = self.put_batch(5, tag)
        seqs = [p["SequenceNumber"] for p in puts]
        sid = puts[0]["ShardId"]
        self.assertEqual(sid, shard_id(0))

        recs, _ = self.read_shard(self.name, sid, "TRIM_HORIZON")
        self.assertEqual(self.data(recs)[-5:], ["%s-%d" % (tag, i) for i in range(5)])

        recs, _ = self.read_shard(self.name, sid, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual(self.data(recs), ["%s-%d" % (tag, i) for i in (2, 3, 4)])
        self.assertEqual(recs[0]["SequenceNumber"], seqs[2])

        recs, _ = self.read_shard(self.name, sid, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual(self.data(recs), ["%s-%d" % (tag, i) for i in (3, 4)])

        recs, _ = self.read_shard(self.name, sid, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[4])
        self.assertEqual(recs, [])

        latest = self.iterator(self.name, sid, "LATEST")
        r = self.kinesis.get_records(ShardIterator=latest)
        self.assertEqual(r["Records"], [])
        self.put_batch(2, tag + "-late")
        r = self.kinesis.get_records(ShardIterator=latest)
        self.assertEqual(self.data(r["Records"]), [tag + "-late-0", tag + "-late-1"])

    def test_at_timestamp(self):
        tag = unique_name("ts")
        self.put_batch(3, tag + "-a", shard=1)
        # Older botocore sends whole seconds only: let the batches fall in different seconds
        # and use the whole second between them.
        now = time.time()
        boundary = int(now) + 1
        time.sleep(boundary - now + 0.05)
        t = datetime.datetime.fromtimestamp(boundary, datetime.timezone.utc)
        self.put_batch(3, tag + "-b", shard=1)
        sid = shard_id(1)
        recs, _ = self.read_shard(self.name, sid, "AT_TIMESTAMP", Timestamp=t)
        self.assertEqual(self.data(recs), ["%s-b-%d" % (tag, i) for i in range(3)])
        # A timestamp well before the stream: everything from the start.
        old = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
        recs, _ = self.read_shard(self.name, sid, "AT_TIMESTAMP", Timestamp=old)
        self.assertEqual(self.data(recs)[-6:], ["%s-a-%d" % (tag, i) for i in range(3)] +
                         ["%s-b-%d" % (tag, i) for i in range(3)])
        # The arrival time of a record finds that record.
        full, _ = self.read_shard(self.name, sid, "TRIM_HORIZON")
        b0 = next(r for r in full if r["Data"] == ("%s-b-0" % tag).encode())
        recs, _ = self.read_shard(self.name, sid, "AT_TIMESTAMP", Timestamp=b0["ApproximateArrivalTimestamp"])
        self.assertEqual(self.data(recs)[0], "%s-b-0" % tag)

    def test_iterator_errors(self):
        n = self.name
        with self.assertAwsError("ResourceNotFoundException",
                                 "Shard shardId-000000000009 in stream %s under account %s does not exist"
                                 % (n, ACCOUNT_ID)):
            self.iterator(n, shard_id(9))
        seq = self.put_batch(1, "e")[0]["SequenceNumber"]
        for kind in ("TRIM_HORIZON", "LATEST"):
            with self.assertAwsError("InvalidArgumentException", MUST_EITHER % (kind, "also a")):
                self.iterator(n, shard_id(0), kind, StartingSequenceNumber=seq)
        for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            with self.assertAwsError("InvalidArgumentException", MUST_EITHER % (kind, "no")):
                self.iterator(n, shard_id(0), kind)
        with self.assertAwsError("InvalidArgumentException",
                                 "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                                 "Current request has no timestamp parameter."):
            self.iterator(n, shard_id(0), "AT_TIMESTAMP")
        with self.assertAwsError("InvalidArgumentException",
                                 "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it "
                                 "was used in a call to a shard with shardId-000000000001"):
            self.iterator(n, shard_id(1), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)

    def test_iterator_for_missing_stream(self):
        # GetShardIterator words a missing stream as a missing shard.
        with self.assertAwsError("ResourceNotFoundException",
                                 "Shard shardId-000000000000 in stream no-such-stream under account %s "
                                 "does not exist" % ACCOUNT_ID):
            self.iterator("no-such-stream", shard_id(0))

    def test_sequence_number_of_another_stream(self):
        other = self.create_stream(shards=1)
        time_gap = [self.kinesis.put_record(StreamName=other, Data=b"o", PartitionKey="k") for _ in range(3)]
        seq = time_gap[-1]["SequenceNumber"]
        with self.assertAwsError("InvalidArgumentException",
                                 "StartingSequenceNumber %s used in GetShardIterator on shard shardId-000000000000 "
                                 "in stream %s under account %s is invalid because it did not come from this stream."
                                 % (seq, self.name, ACCOUNT_ID)):
            self.iterator(self.name, shard_id(0), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)

    def test_iterator_validation(self):
        r = self.raw.call("GetShardIterator", {"StreamName": self.name, "ShardId": shard_id(0),
                                               "ShardIteratorType": "FROM_START"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value 'FROM_START' at 'shardIteratorType' failed to satisfy "
            "constraint: Member must satisfy enum value set: " + ITER_TYPES)
        r = self.raw.call("GetShardIterator", {"StreamName": self.name, "ShardId": shard_id(0),
                                               "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                                               "StartingSequenceNumber": "12x"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '12x' at 'startingSequenceNumber' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})")


class GetRecordsTest(KinesisTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = unique_name("get")
        cls.kinesis.create_stream(StreamName=cls.name, ShardCount=1)

    def setUp(self):
        self.wait_active(self.name)

    def test_limit_next_iterator_and_fields(self):
        name = self.create_stream(shards=1)
        before = datetime.datetime.now(datetime.timezone.utc)
        puts = [self.kinesis.put_record(StreamName=name, Data=b"r%d" % i, PartitionKey="pk%d" % i)
                for i in range(10)]
        after = datetime.datetime.now(datetime.timezone.utc)
        it = self.iterator(name, shard_id(0))
        got = []
        pages = 0
        while True:
            r = self.kinesis.get_records(ShardIterator=it, Limit=3)
            pages += 1
            self.assertLessEqual(len(r["Records"]), 3)
            self.assertIn("MillisBehindLatest", r)
            self.assertIsInstance(r["MillisBehindLatest"], int)
            self.assertGreaterEqual(r["MillisBehindLatest"], 0)
            got += r["Records"]
            it = r["NextShardIterator"]
            if not r["Records"]:
                break
            self.assertLess(pages, 20)
        self.assertEqual(r["MillisBehindLatest"], 0)
        self.assertTrue(r["NextShardIterator"], "an open shard always gives a NextShardIterator")
        self.assertEqual([x["Data"] for x in got], [b"r%d" % i for i in range(10)])
        self.assertEqual([x["SequenceNumber"] for x in got], [p["SequenceNumber"] for p in puts])
        self.assertEqual([x["PartitionKey"] for x in got], ["pk%d" % i for i in range(10)])
        for x in got:
            ts = x["ApproximateArrivalTimestamp"]
            self.assertIsInstance(ts, datetime.datetime)
            self.assertGreaterEqual(ts, before - datetime.timedelta(seconds=2))
            self.assertLessEqual(ts, after + datetime.timedelta(seconds=2))
        # Arrival timestamps do not go backwards within a shard.
        stamps = [x["ApproximateArrivalTimestamp"] for x in got]
        self.assertEqual(stamps, sorted(stamps))

    @slow
    @not_on_kinesalite("the 10 MiB cap of one GetRecords answer")
    def test_get_records_returns_at_most_10_mib(self):
        name = self.create_stream(shards=1)
        blobs = [bytes([i]) * (MIB - 8) for i in range(12)]
        for b in blobs:
            self.kinesis.put_record(StreamName=name, Data=b, PartitionKey="big-%02d" % 0)
        it = self.iterator(name, shard_id(0))
        got = []
        calls = 0
        while len(got) < len(blobs) and calls < 20:
            r = self.kinesis.get_records(ShardIterator=it)
            calls += 1
            self.assertLessEqual(sum(len(x["Data"]) for x in r["Records"]), 10 * MIB)
            got += r["Records"]
            it = r["NextShardIterator"]
        self.assertGreater(calls, 1, "12 MiB came back in one GetRecords call")
        self.assertEqual(len(got), len(blobs))
        self.assertTrue(all(x["Data"] == b for x, b in zip(got, blobs)))

    def test_empty_shard(self):
        name = self.create_stream(shards=1)
        r = self.kinesis.get_records(ShardIterator=self.iterator(name, shard_id(0)))
        self.assertEqual(r["Records"], [])
        self.assertEqual(r["MillisBehindLatest"], 0)
        self.assertTrue(r["NextShardIterator"])

    def test_iterator_can_be_reused(self):
        self.kinesis.put_record(StreamName=self.name, Data=b"again", PartitionKey="k")
        it = self.iterator(self.name, shard_id(0))
        a = self.kinesis.get_records(ShardIterator=it)["Records"]
        b = self.kinesis.get_records(ShardIterator=it)["Records"]
        self.assertTrue(a)
        self.assertEqual([x["SequenceNumber"] for x in a], [x["SequenceNumber"] for x in b])

    def test_next_iterator_sees_later_records(self):
        name = self.create_stream(shards=1)
        r = self.kinesis.get_records(ShardIterator=self.iterator(name, shard_id(0)))
        it = r["NextShardIterator"]
        self.kinesis.put_record(StreamName=name, Data=b"later", PartitionKey="k")
        r = self.kinesis.get_records(ShardIterator=it)
        self.assertEqual([x["Data"] for x in r["Records"]], [b"later"])

    def test_invalid_iterator(self):
        with self.assertAwsError("InvalidArgumentException", "Invalid ShardIterator."):
            self.kinesis.get_records(ShardIterator="AAAAAAAAAAE" + "x" * 200)
        with self.assertAwsError("InvalidArgumentException", "Invalid ShardIterator."):
            self.kinesis.get_records(ShardIterator="garbage")

    def test_limit_validation(self):
        it = self.iterator(self.name, shard_id(0))
        r = self.raw.call("GetRecords", {"ShardIterator": it, "Limit": 10001})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000")
        r = self.raw.call("GetRecords", {"ShardIterator": it, "Limit": 0})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1")

    def test_iterator_of_deleted_stream(self):
        name = self.create_stream(shards=1)
        it = self.iterator(name, shard_id(0))
        self.kinesis.delete_stream(StreamName=name)
        self.wait_gone(name)
        with self.assertAwsError("ResourceNotFoundException"):
            self.kinesis.get_records(ShardIterator=it)

    def test_millis_behind_latest_when_behind(self):
        name = self.create_stream(shards=1)
        self.kinesis.put_records(StreamName=name, Records=[{"Data": b"m%d" % i, "PartitionKey": "k"}
                                                           for i in range(5)])
        time.sleep(0.3)
        self.kinesis.put_record(StreamName=name, Data=b"newest", PartitionKey="k")
        r = self.kinesis.get_records(ShardIterator=self.iterator(name, shard_id(0)), Limit=1)
        self.assertEqual(len(r["Records"]), 1)
        if TARGET == "millrace":
            self.assertGreater(r["MillisBehindLatest"], 0)
        self.assertGreaterEqual(r["MillisBehindLatest"], 0)


@millrace_only("kinesalite does not throttle")
class ThrottlingTest(KinesisTestCase):
    server_options = {"throttling": True}

    def test_shard_write_limit(self):
        """1000 records/s per shard: 3000 records in one go into one shard cannot all pass, and
        the failed ones say so the way AWS does. (A record is counted once: a throttled one does
        not use the shard's capacity.)"""
        name = self.create_stream(shards=1)
        failed = []
        ok = 0
        for _ in range(6):
            r = self.kinesis.put_records(StreamName=name, Records=[
                {"Data": b"t", "PartitionKey": "k"} for _ in range(500)])
            f = [x for x in r["Records"] if "ErrorCode" in x]
            self.assertEqual(r["FailedRecordCount"], len(f))
            failed += f
            ok += 500 - len(f)
        self.assertTrue(failed, "no record was throttled")
        self.assertGreater(ok, 0)
        for x in failed[:5]:
            self.assertEqual(x["ErrorCode"], "ProvisionedThroughputExceededException")
            self.assertEqual(x["ErrorMessage"], "Rate exceeded for shard %s in stream %s under account %s."
                             % (shard_id(0), name, ACCOUNT_ID))
            self.assertNotIn("SequenceNumber", x)
        # 1 MiB/s per shard: a 200 KiB PutRecord right after a batch of 1.2 MiB is over the
        # limit, and fails whole.
        big = b"x" * (120 * 1024)
        with self.assertAwsError("ProvisionedThroughputExceededException",
                                 "Rate exceeded for shard %s in stream %s under account %s."
                                 % (shard_id(0), name, ACCOUNT_ID)):
            for _ in range(10):
                self.kinesis.put_records(StreamName=name, Records=[
                    {"Data": big, "PartitionKey": "k"} for _ in range(10)])
                self.kinesis.put_record(StreamName=name, Data=big + big, PartitionKey="k")

    def test_documented_maximum_record_passes_an_idle_shard(self):
        """Regression: a 1,048,576-byte record (AWS's documented maximum) was always refused
        with ProvisionedThroughputExceededException on an idle PROVISIONED shard, its
        partition key taking it past the 1 MiB/s bucket. A full bucket takes it (burst); the
        next one waits for the bucket to refill."""
        name = self.create_stream(shards=1)
        r = self.kinesis.put_record(StreamName=name, Data=b"m" * MIB, PartitionKey="k")
        self.assertEqual(r["ShardId"], shard_id(0))
        with self.assertAwsError("ProvisionedThroughputExceededException"):
            self.kinesis.put_record(StreamName=name, Data=b"m" * MIB, PartitionKey="k")


if __name__ == "__main__":
    unittest.main()
