"""Resharding: SplitShard, MergeShards, UpdateShardCount, lineage, ChildShards at the end of a
closed shard, ListShards ShardFilter."""

import unittest

from harness import (ACCOUNT_ID, POW128, TARGET, KinesisTestCase, even_ranges, md5_hash_key,
                     not_on_kinesalite, shard_for_hash, shard_id)


def rng(shard):
    r = shard["HashKeyRange"]
    return int(r["StartingHashKey"]), int(r["EndingHashKey"])


def is_open(shard):
    return "EndingSequenceNumber" not in shard["SequenceNumberRange"]


class ReshardTestBase(KinesisTestCase):
    server_options = {"transition_ms": 300}

    def assertCoversHashSpace(self, shards):
        """The open shards tile [0, 2^128-1] without gap or overlap."""
        ranges = sorted(rng(s) for s in shards if is_open(s))
        self.assertEqual(ranges[0][0], 0)
        self.assertEqual(ranges[-1][1], POW128 - 1)
        for (a0, a1), (b0, b1) in zip(ranges, ranges[1:]):
            self.assertEqual(a1 + 1, b0, "gap or overlap between open shards")

    def put_keys(self, name, keys, tag):
        return {k: self.kinesis.put_record(StreamName=name, Data=("%s:%s" % (tag, k)).encode(),
                                           PartitionKey=k) for k in keys}

    def status_after_update(self, name):
        status = self.summary(name)["StreamStatus"]
        if TARGET == "millrace":
            self.assertEqual(status, "UPDATING")
        else:
            self.assertIn(status, ("UPDATING", "ACTIVE"))


class SplitShardTest(ReshardTestBase):

    def test_split(self):
        name = self.create_stream(shards=1)
        keys = ["key-%d" % i for i in range(20)]
        before = self.put_keys(name, keys, "before")
        mid = POW128 // 2
        self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(mid))
        self.status_after_update(name)
        if TARGET == "millrace":
            with self.assertAwsError("ResourceInUseException",
                                     "Stream %s under account %s not ACTIVE, instead in state UPDATING"
                                     % (name, ACCOUNT_ID)):
                self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0),
                                         NewStartingHashKey=str(mid // 2))
        self.wait_active(name)

        shards = self.shards(name)
        self.assertEqual([s["ShardId"] for s in shards], [shard_id(0), shard_id(1), shard_id(2)])
        parent, left, right = shards
        self.assertFalse(is_open(parent))
        self.assertRegex(parent["SequenceNumberRange"]["EndingSequenceNumber"], r"^\d+$")
        self.assertEqual(rng(parent), (0, POW128 - 1))
        self.assertEqual(left["ParentShardId"], shard_id(0))
        self.assertEqual(right["ParentShardId"], shard_id(0))
        self.assertNotIn("AdjacentParentShardId", left)
        self.assertEqual(rng(left), (0, mid - 1))
        self.assertEqual(rng(right), (mid, POW128 - 1))
        self.assertTrue(is_open(left) and is_open(right))
        self.assertCoversHashSpace(shards)
        self.assertEqual(self.summary(name)["OpenShardCount"], 2)

        # New records go to the children, by hash key.
        after = self.put_keys(name, keys, "after")
        for k in keys:
            self.assertEqual(before[k]["ShardId"], shard_id(0))
            self.assertEqual(after[k]["ShardId"], shard_for_hash(shards, md5_hash_key(k)))
            self.assertGreater(int(after[k]["SequenceNumber"]), int(before[k]["SequenceNumber"]))

        # The parent reads to its end: its records, then no NextShardIterator.
        recs, last = self.read_shard(name, shard_id(0))
        self.assertEqual([r["Data"] for r in recs], [("before:%s" % k).encode() for k in keys])
        self.assertIsNone(last.get("NextShardIterator"))
        if TARGET != "kinesalite":
            children = sorted(last["ChildShards"], key=lambda c: c["ShardId"])
            self.assertEqual([c["ShardId"] for c in children], [shard_id(1), shard_id(2)])
            for c, s in zip(children, (left, right)):
                self.assertEqual(c["ParentShards"], [shard_id(0)])
                self.assertEqual(rng(c), rng(s))
        got = self.read_all(name)
        self.assertEqual(sorted(r["Data"] for sid in (shard_id(1), shard_id(2)) for r in got[sid]),
                         sorted(("after:%s" % k).encode() for k in keys))

    def test_split_errors(self):
        name = self.create_stream(shards=1)
        with self.assertAwsError(
                "InvalidArgumentException",
                "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream %s under "
                "account %s is not both greater than one plus the shard's StartingHashKey 0 and less than the "
                "shard's EndingHashKey %d." % (name, ACCOUNT_ID, POW128 - 1)):
            self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey="1")
        with self.assertAwsError(
                "ResourceNotFoundException",
                "Could not find shard shardId-000000000007 in stream %s under account %s." % (name, ACCOUNT_ID)):
            self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(7), NewStartingHashKey="1000")
        r = self.raw.call("SplitShard", {"StreamName": name, "ShardToSplit": shard_id(0),
                                         "NewStartingHashKey": "-5x"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '-5x' at 'newStartingHashKey' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")
        self.assertEqual(self.summary(name)["StreamStatus"], "ACTIVE")

    @not_on_kinesalite("a check for splitting a closed shard")
    def test_split_closed_shard(self):
        name = self.create_stream(shards=1)
        self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(POW128 // 2))
        self.wait_active(name)
        # The wording moto and other emulators give; kinesalite does not check this.
        with self.assertAwsError("InvalidArgumentException",
                                 "Shard shardId-000000000000 in stream %s under account %s has already been "
                                 "merged or split, and thus is not eligible for merging or splitting."
                                 % (name, ACCOUNT_ID)):
            self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0),
                                     NewStartingHashKey=str(POW128 // 4))


class MergeShardsTest(ReshardTestBase):

    def test_merge(self):
        name = self.create_stream(shards=3)
        keys = ["m-%d" % i for i in range(30)]
        before = self.put_keys(name, keys, "before")
        self.kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1))
        self.status_after_update(name)
        self.wait_active(name)
        shards = self.shards(name)
        self.assertEqual([s["ShardId"] for s in shards], [shard_id(i) for i in range(4)])
        s0, s1, s2, merged = shards
        self.assertFalse(is_open(s0))
        self.assertFalse(is_open(s1))
        self.assertTrue(is_open(s2))
        self.assertEqual(merged["ParentShardId"], shard_id(0))
        self.assertEqual(merged["AdjacentParentShardId"], shard_id(1))
        self.assertEqual(rng(merged), (rng(s0)[0], rng(s1)[1]))
        self.assertCoversHashSpace(shards)
        self.assertEqual(self.summary(name)["OpenShardCount"], 2)

        after = self.put_keys(name, keys, "after")
        for k in keys:
            expected = shard_for_hash(shards, md5_hash_key(k))
            self.assertIn(expected, (shard_id(2), shard_id(3)))
            self.assertEqual(after[k]["ShardId"], expected)

        for parent in (0, 1):
            recs, last = self.read_shard(name, shard_id(parent))
            self.assertEqual([r["Data"] for r in recs],
                             [("before:%s" % k).encode() for k in keys if before[k]["ShardId"] == shard_id(parent)])
            self.assertIsNone(last.get("NextShardIterator"))
            if TARGET != "kinesalite":
                self.assertEqual(len(last["ChildShards"]), 1)
                child = last["ChildShards"][0]
                self.assertEqual(child["ShardId"], shard_id(3))
                self.assertEqual(sorted(child["ParentShards"]), [shard_id(0), shard_id(1)])
                self.assertEqual(rng(child), rng(merged))

    def test_merge_errors(self):
        name = self.create_stream(shards=3)
        with self.assertAwsError(
                "InvalidArgumentException",
                "Shards shardId-000000000000 and shardId-000000000002 in stream %s under account %s are not an "
                "adjacent pair of shards eligible for merging" % (name, ACCOUNT_ID)):
            self.kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2))
        with self.assertAwsError(
                "ResourceNotFoundException",
                "Could not find shard shardId-000000000005 in stream %s under account %s." % (name, ACCOUNT_ID)):
            self.kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(5))
        with self.assertAwsError("ResourceNotFoundException",
                                 "Stream no-such under account %s not found." % ACCOUNT_ID):
            self.kinesis.merge_shards(StreamName="no-such", ShardToMerge=shard_id(0),
                                      AdjacentShardToMerge=shard_id(1))
        self.assertEqual(self.summary(name)["OpenShardCount"], 3)


@not_on_kinesalite("UpdateShardCount")
class UpdateShardCountTest(ReshardTestBase):

    def test_scale_up_then_down(self):
        name = self.create_stream(shards=2)
        keys = ["u-%d" % i for i in range(40)]
        self.put_keys(name, keys, "two")
        r = self.kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        self.assertEqual(r["StreamName"], name)
        self.assertEqual(r["CurrentShardCount"], 2)
        self.assertEqual(r["TargetShardCount"], 4)
        self.status_after_update(name)
        self.wait_active(name)
        shards = self.shards(name)
        self.assertEqual(self.summary(name)["OpenShardCount"], 4)
        self.assertEqual(len([s for s in shards if is_open(s)]), 4)
        self.assertCoversHashSpace(shards)
        # Uniform: the open shards are the even split of the hash space.
        self.assertEqual(sorted(rng(s) for s in shards if is_open(s)), even_ranges(4))
        self.put_keys(name, keys, "four")

        r = self.kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertEqual(r["CurrentShardCount"], 4)
        self.assertEqual(r["TargetShardCount"], 2)
        self.wait_active(name)
        shards = self.shards(name)
        self.assertEqual(self.summary(name)["OpenShardCount"], 2)
        self.assertCoversHashSpace(shards)
        self.put_keys(name, keys, "back")

        # Nothing lost: every record is in exactly one shard.
        got = self.read_all(name)
        data = sorted(r["Data"] for recs in got.values() for r in recs)
        self.assertEqual(data, sorted(("%s:%s" % (t, k)).encode() for t in ("two", "four", "back") for k in keys))
        # Every closed shard has its children listed at its end.
        for s in shards:
            if not is_open(s):
                _, last = self.read_shard(name, s["ShardId"])
                self.assertIsNone(last.get("NextShardIterator"))
                self.assertTrue(last.get("ChildShards"), s["ShardId"])


@not_on_kinesalite("ListShards ShardFilter")
class ShardFilterTest(ReshardTestBase):

    def test_filters_after_split(self):
        name = self.create_stream(shards=2)
        self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(POW128 // 4))
        self.wait_active(name)

        def ids(**f):
            return [s["ShardId"] for s in self.kinesis.list_shards(StreamName=name, ShardFilter=f)["Shards"]]

        all_ids = [shard_id(i) for i in range(4)]
        self.assertEqual(ids(Type="FROM_TRIM_HORIZON"), all_ids)
        self.assertEqual(ids(Type="AT_LATEST"), [shard_id(1), shard_id(2), shard_id(3)])
        self.assertEqual(ids(Type="AFTER_SHARD_ID", ShardId=shard_id(1)), [shard_id(2), shard_id(3)])
        at_trim = ids(Type="AT_TRIM_HORIZON")
        self.assertIn(shard_id(0), at_trim)
        self.assertIn(shard_id(1), at_trim)
        self.assertTrue(set(at_trim) <= set(all_ids))


if __name__ == "__main__":
    unittest.main()
