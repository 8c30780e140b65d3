"""Stream control plane: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams,
ListShards, retention, DescribeLimits, UpdateStreamMode, StreamARN in place of StreamName."""

import datetime
import unittest

from botocore.exceptions import ClientError

from harness import (ACCOUNT_ID, DEFAULT_REGION, POW128, STREAM_NAME_PATTERN, TARGET,
                     KinesisTestCase, botocore_has, even_ranges, millrace_only,
                     not_on_kinesalite, shard_id, stream_arn)


def not_found(name):
    return "Stream %s under account %s not found." % (name, ACCOUNT_ID)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class CreateDescribeDeleteTest(KinesisTestCase):
    # Long enough to see CREATING / DELETING right after the call, short enough to be fast.
    server_options = {"transition_ms": 400}

    def test_create_provisioned_then_describe(self):
        before = utcnow()
        name = self.stream_name()
        resp = self.kinesis.create_stream(StreamName=name, ShardCount=3)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        status = self.summary(name)["StreamStatus"]
        if TARGET == "millrace":
            self.assertEqual(status, "CREATING")
        else:
            self.assertIn(status, ("CREATING", "ACTIVE"))
        self.wait_active(name)

        d = self.kinesis.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual(d["StreamName"], name)
        self.assertEqual(d["StreamARN"], stream_arn(name))
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertIs(d["HasMoreShards"], False)
        self.assertEqual(d.get("EncryptionType", "NONE"), "NONE")
        self.assertEqual(d["EnhancedMonitoring"], [{"ShardLevelMetrics": []}])
        created = d["StreamCreationTimestamp"]
        self.assertIsInstance(created, datetime.datetime)
        self.assertLess(abs((created - before).total_seconds()), 60)
        if TARGET != "kinesalite":
            self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        self.assertEqual([s["ShardId"] for s in d["Shards"]],
                         ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        for s in d["Shards"]:
            self.assertNotIn("ParentShardId", s)
            self.assertNotIn("AdjacentParentShardId", s)
            seq = s["SequenceNumberRange"]
            self.assertRegex(seq["StartingSequenceNumber"], r"^\d+$")
            self.assertNotIn("EndingSequenceNumber", seq)

    def test_hash_key_ranges_divide_2_pow_128_evenly(self):
        for n in (1, 2, 3, 5, 7):
            with self.subTest(shards=n):
                name = self.create_stream(shards=n)
                shards = self.shards(name)
                self.assertEqual([s["ShardId"] for s in shards], [shard_id(i) for i in range(n)])
                got = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                       for s in shards]
                self.assertEqual(got, even_ranges(n))
                self.assertEqual(got[-1][1], POW128 - 1)
                # Decimal strings, no leading zeros, no exponent.
                for s in shards:
                    for k in ("StartingHashKey", "EndingHashKey"):
                        self.assertRegex(s["HashKeyRange"][k], r"^(0|[1-9]\d*)$")

    def test_describe_stream_summary(self):
        name = self.create_stream(shards=2)
        s = self.summary(name)
        self.assertEqual(s["StreamName"], name)
        self.assertEqual(s["StreamARN"], stream_arn(name))
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        self.assertEqual(s["RetentionPeriodHours"], 24)
        self.assertEqual(s["OpenShardCount"], 2)
        self.assertEqual(s["ConsumerCount"], 0)
        self.assertEqual(s.get("EncryptionType", "NONE"), "NONE")
        self.assertEqual(s["EnhancedMonitoring"], [{"ShardLevelMetrics": []}])
        self.assertIsInstance(s["StreamCreationTimestamp"], datetime.datetime)
        self.assertNotIn("Shards", s)
        if TARGET != "kinesalite":
            self.assertEqual(s["StreamModeDetails"], {"StreamMode": "PROVISIONED"})

    @not_on_kinesalite("ON_DEMAND streams")
    def test_create_on_demand_has_4_shards(self):
        name = self.stream_name()
        self.kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.wait_active(name)
        s = self.summary(name)
        self.assertEqual(s["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertEqual(s["OpenShardCount"], 4)
        got = [(int(x["HashKeyRange"]["StartingHashKey"]), int(x["HashKeyRange"]["EndingHashKey"]))
               for x in self.shards(name)]
        self.assertEqual(got, even_ranges(4))

    @not_on_kinesalite("CreateStream without ShardCount")
    def test_create_without_shard_count_is_on_demand(self):
        name = self.stream_name()
        self.kinesis.create_stream(StreamName=name)
        self.wait_active(name)
        s = self.summary(name)
        self.assertEqual(s["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertEqual(s["OpenShardCount"], 4)

    @millrace_only("kinesalite's CREATING is too short to catch")
    def test_stream_not_usable_while_creating(self):
        name = self.stream_name()
        self.kinesis.create_stream(StreamName=name, ShardCount=2)
        with self.assertAwsError("ResourceNotFoundException", not_found(name)):
            self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
        with self.assertAwsError("ResourceInUseException",
                                 "Stream %s under account %s not ACTIVE, instead in state CREATING"
                                 % (name, ACCOUNT_ID)):
            self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey="12345")
        self.wait_active(name)
        self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")

    def test_create_existing_stream(self):
        name = self.create_stream()
        with self.assertAwsError("ResourceInUseException",
                                 "Stream %s under account %s already exists." % (name, ACCOUNT_ID)):
            self.kinesis.create_stream(StreamName=name, ShardCount=1)

    def test_create_validation_messages(self):
        cases = [
            ({"StreamName": "bad name!", "ShardCount": 1},
             "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy "
             "constraint: Member must satisfy regular expression pattern: " + STREAM_NAME_PATTERN),
            ({"StreamName": "a" * 129, "ShardCount": 1},
             "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: "
             "Member must have length less than or equal to 128" % ("a" * 129)),
            ({"StreamName": "ok-name", "ShardCount": 0},
             "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
             "Member must have value greater than or equal to 1"),
            ({"StreamName": "bad/name", "ShardCount": 0},
             "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: "
             "Member must have value greater than or equal to 1; Value 'bad/name' at 'streamName' "
             "failed to satisfy constraint: Member must satisfy regular expression pattern: "
             + STREAM_NAME_PATTERN),
            ({"StreamName": "", "ShardCount": 1},
             "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: " + STREAM_NAME_PATTERN + "; Value '' at "
             "'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ]
        for payload, message in cases:
            with self.subTest(payload=payload):
                self.assertRawError(self.raw.call("CreateStream", payload), "ValidationException", message)
        # A 128-character name is fine.
        self.create_stream(name="b" * 128, wait=False)

    def test_delete_stream(self):
        name = self.create_stream(shards=2)
        self.kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="k")
        resp = self.kinesis.delete_stream(StreamName=name)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        try:
            status = self.summary(name)["StreamStatus"]
            self.assertEqual(status, "DELETING")
        except ClientError as e:
            if TARGET == "millrace":
                raise
            self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        self.wait_gone(name)
        self.assertNotIn(name, self.kinesis.list_streams(Limit=10000)["StreamNames"])
        for call in (lambda: self.kinesis.describe_stream(StreamName=name),
                     lambda: self.kinesis.describe_stream_summary(StreamName=name),
                     lambda: self.kinesis.delete_stream(StreamName=name)):
            with self.assertAwsError("ResourceNotFoundException", not_found(name)):
                call()
        # The name can be used again, and the new stream starts empty.
        self.create_stream(name=name, shards=1)
        records, _ = self.read_shard(name, shard_id(0))
        self.assertEqual(records, [])

    def test_boto3_waiters(self):
        name = self.stream_name()
        self.kinesis.create_stream(StreamName=name, ShardCount=1)
        fast = {"Delay": 0.2, "MaxAttempts": 100}
        self.kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig=fast)
        self.assertEqual(self.summary(name)["StreamStatus"], "ACTIVE")
        self.kinesis.delete_stream(StreamName=name)
        self.kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=fast)

    def test_delete_enforce_consumer_deletion_accepted(self):
        name = self.create_stream()
        self.kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        self.wait_gone(name)

    def test_not_found_messages(self):
        name = "no-such-stream"
        calls = {
            "DescribeStream": {"StreamName": name},
            "DescribeStreamSummary": {"StreamName": name},
            "DeleteStream": {"StreamName": name},
            "ListShards": {"StreamName": name},
            "PutRecord": {"StreamName": name, "Data": "AAAA", "PartitionKey": "a"},
            "PutRecords": {"StreamName": name, "Records": [{"Data": "AAAA", "PartitionKey": "a"}]},
            "IncreaseStreamRetentionPeriod": {"StreamName": name, "RetentionPeriodHours": 48},
            "DecreaseStreamRetentionPeriod": {"StreamName": name, "RetentionPeriodHours": 24},
            "AddTagsToStream": {"StreamName": name, "Tags": {"a": "b"}},
            "ListTagsForStream": {"StreamName": name},
            "RemoveTagsFromStream": {"StreamName": name, "TagKeys": ["a"]},
        }
        for action, payload in calls.items():
            with self.subTest(action=action):
                self.assertRawError(self.raw.call(action, payload), "ResourceNotFoundException",
                                    not_found(name))

    @not_on_kinesalite("DescribeStream paging (Limit)")
    def test_describe_stream_paging(self):
        name = self.create_stream(shards=5)
        d = self.kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in d["Shards"]], [shard_id(0), shard_id(1)])
        self.assertIs(d["HasMoreShards"], True)
        d = self.kinesis.describe_stream(StreamName=name, Limit=2,
                                         ExclusiveStartShardId=shard_id(1))["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in d["Shards"]], [shard_id(2), shard_id(3)])
        self.assertIs(d["HasMoreShards"], True)
        d = self.kinesis.describe_stream(StreamName=name, Limit=2,
                                         ExclusiveStartShardId=shard_id(3))["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in d["Shards"]], [shard_id(4)])
        self.assertIs(d["HasMoreShards"], False)
        self.assertEqual(len(self.shards(name)), 5)

    def test_describe_stream_limit_validation(self):
        self.assertRawError(
            self.raw.call("DescribeStream", {"StreamName": "x", "Limit": 10001}), "ValidationException",
            "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000")


class ListStreamsTest(KinesisTestCase):
    """Own server, so the listing holds exactly the streams made here."""

    NAMES = ["ls-%s" % c for c in "aceghkm"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for n in cls.NAMES:
            cls.kinesis.create_stream(StreamName=n, ShardCount=1)

    def setUp(self):
        for n in self.NAMES:
            self.wait_active(n)

    def test_list_all(self):
        r = self.kinesis.list_streams()
        self.assertEqual(r["StreamNames"], self.NAMES)
        self.assertIs(r["HasMoreStreams"], False)

    def test_limit_and_exclusive_start(self):
        r = self.kinesis.list_streams(Limit=3)
        self.assertEqual(r["StreamNames"], self.NAMES[:3])
        self.assertIs(r["HasMoreStreams"], True)
        r = self.kinesis.list_streams(Limit=3, ExclusiveStartStreamName=self.NAMES[2])
        self.assertEqual(r["StreamNames"], self.NAMES[3:6])
        self.assertIs(r["HasMoreStreams"], True)
        r = self.kinesis.list_streams(Limit=3, ExclusiveStartStreamName=self.NAMES[5])
        self.assertEqual(r["StreamNames"], self.NAMES[6:])
        self.assertIs(r["HasMoreStreams"], False)
        # A start name that is not a stream: the names after it.
        r = self.kinesis.list_streams(ExclusiveStartStreamName="ls-f")
        self.assertEqual(r["StreamNames"], ["ls-g", "ls-h", "ls-k", "ls-m"])

    def test_paginator(self):
        import botocore.session
        cfg = botocore.session.get_session().get_paginator_model("kinesis").get_paginator("ListStreams")
        if TARGET == "kinesalite" and cfg["input_token"] == "NextToken":
            self.skipTest("this botocore pages ListStreams by NextToken, which kinesalite lacks")
        names = []
        for page in self.kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}):
            names += page["StreamNames"]
        self.assertEqual(names, self.NAMES)

    @not_on_kinesalite("ListStreams StreamSummaries / NextToken")
    def test_stream_summaries_and_next_token(self):
        raw = not botocore_has("ListStreams", "NextToken")  # old botocore drops the new members
        r = self.call("ListStreams", _raw=raw, Limit=3)
        self.assertEqual(r["StreamNames"], self.NAMES[:3])
        self.assertTrue(r.get("NextToken"))
        summaries = r["StreamSummaries"]
        self.assertEqual([s["StreamName"] for s in summaries], self.NAMES[:3])
        for s in summaries:
            self.assertEqual(s["StreamARN"], stream_arn(s["StreamName"]))
            self.assertEqual(s["StreamStatus"], "ACTIVE")
            self.assertEqual(s["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
            self.assertIn("StreamCreationTimestamp", s)
        names = list(r["StreamNames"])
        token = r["NextToken"]
        for _ in range(10):
            r = self.call("ListStreams", _raw=raw, NextToken=token, Limit=3)
            names += r["StreamNames"]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(names, self.NAMES)
        self.assertIs(r["HasMoreStreams"], False)

    def test_limit_validation(self):
        self.assertRawError(
            self.raw.call("ListStreams", {"Limit": 0}), "ValidationException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1")
        self.assertRawError(
            self.raw.call("ListStreams", {"Limit": 10001}), "ValidationException",
            "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000")
        self.assertRawError(
            self.raw.call("ListStreams", {"ExclusiveStartStreamName": "no way"}), "ValidationException",
            "1 validation error detected: Value 'no way' at 'exclusiveStartStreamName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: " + STREAM_NAME_PATTERN)


class ListShardsTest(KinesisTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = "shards-5"
        cls.kinesis.create_stream(StreamName=cls.name, ShardCount=5)

    def setUp(self):
        self.wait_active(self.name)

    def test_list_shards_matches_describe(self):
        shards = self.kinesis.list_shards(StreamName=self.name)["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], [shard_id(i) for i in range(5)])
        self.assertEqual(shards, self.shards(self.name))

    def test_exclusive_start_shard_id(self):
        shards = self.kinesis.list_shards(StreamName=self.name, ExclusiveStartShardId=shard_id(2))["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], [shard_id(3), shard_id(4)])

    @not_on_kinesalite("ListShards paging")
    def test_max_results_and_next_token(self):
        r = self.kinesis.list_shards(StreamName=self.name, MaxResults=2)
        ids = [s["ShardId"] for s in r["Shards"]]
        self.assertEqual(ids, [shard_id(0), shard_id(1)])
        self.assertTrue(r.get("NextToken"))
        r = self.kinesis.list_shards(NextToken=r["NextToken"], MaxResults=2)
        ids += [s["ShardId"] for s in r["Shards"]]
        self.assertTrue(r.get("NextToken"))
        r = self.kinesis.list_shards(NextToken=r["NextToken"], MaxResults=2)
        ids += [s["ShardId"] for s in r["Shards"]]
        self.assertNotIn("NextToken", r)
        self.assertEqual(ids, [shard_id(i) for i in range(5)])
        # (boto3's list_shards paginator resends StreamName with NextToken, which AWS rejects:
        # boto/botocore#2009; so it is not used here.)

    @not_on_kinesalite("ListShards paging")
    def test_next_token_with_exclusive_start(self):
        token = self.kinesis.list_shards(StreamName=self.name, MaxResults=1)["NextToken"]
        self.assertRawError(self.raw.call("ListShards", {"NextToken": token, "ExclusiveStartShardId": shard_id(1)}),
                            "InvalidArgumentException",
                            "NextToken and ExclusiveStartShardId cannot be provided together.")

    def test_next_token_with_stream_name(self):
        token = "AAAAAAAAAAGK9EEG3Dd9eZmcuCrbYY0/ptWJfp9U/xXLCEAXaEGOf/eeL5Kx9xsAO6S1bT6K3vEL"
        if TARGET != "kinesalite":
            token = self.kinesis.list_shards(StreamName=self.name, MaxResults=1)["NextToken"]
        self.assertRawError(self.raw.call("ListShards", {"StreamName": self.name, "NextToken": token}),
                            "InvalidArgumentException",
                            "NextToken and StreamName cannot be provided together.")

    def test_neither_stream_nor_token(self):
        self.assertRawError(self.raw.call("ListShards", {}), "InvalidArgumentException",
                            "Either NextToken or StreamName should be provided.")

    @not_on_kinesalite("ListShards NextToken")
    def test_invalid_next_token(self):
        r = self.raw.call("ListShards", {"NextToken": "bm90LWEtdG9rZW4="})
        self.assertRawError(r, "InvalidArgumentException")

    def test_max_results_validation(self):
        self.assertRawError(
            self.raw.call("ListShards", {"StreamName": self.name, "MaxResults": 10001}),
            "ValidationException",
            "1 validation error detected: Value '10001' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000")


class RetentionTest(KinesisTestCase):

    def test_increase_and_decrease(self):
        name = self.create_stream()
        self.kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        self.assertEqual(self.summary(name)["RetentionPeriodHours"], 48)
        self.assertEqual(self.kinesis.describe_stream(StreamName=name)["StreamDescription"]
                         ["RetentionPeriodHours"], 48)
        with self.assertAwsError(
                "InvalidArgumentException",
                "Requested retention period (30 hours) for stream %s can not be shorter than existing "
                "retention period (48 hours). Use DecreaseRetentionPeriod API." % name):
            self.kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=30)
        with self.assertAwsError(
                "InvalidArgumentException",
                "Requested retention period (72 hours) for stream %s can not be longer than existing "
                "retention period (48 hours). Use IncreaseRetentionPeriod API." % name):
            self.kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
        self.kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
        self.assertEqual(self.summary(name)["RetentionPeriodHours"], 24)

    def test_below_minimum(self):
        name = self.create_stream()
        msg = ("Minimum allowed retention period is 24 hours. Requested retention period (23 hours) "
               "is too short.")
        with self.assertAwsError("InvalidArgumentException", msg):
            self.kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=23)
        with self.assertAwsError("InvalidArgumentException", msg):
            self.kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=23)
        self.assertEqual(self.summary(name)["RetentionPeriodHours"], 24)

    @not_on_kinesalite("retention up to 8760 hours (it stops at 168)")
    def test_maximum_8760(self):
        name = self.create_stream()
        with self.assertAwsError(
                "InvalidArgumentException",
                "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) "
                "is too long."):
            self.kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8761)
        self.kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
        self.assertEqual(self.summary(name)["RetentionPeriodHours"], 8760)


@millrace_only("--shard-limit is Millrace's (kinesalite's is fixed at 10000 here)")
class ShardLimitTest(KinesisTestCase):
    server_options = {"extra_args": ["--shard-limit", "10"]}

    @staticmethod
    def limit_message(current, additional):
        return ("This request would exceed the shard limit for the account %s in %s. Current shard count for "
                "the account: %d. Limit: 10. Number of additional shards that would have resulted from this "
                "request: %d. Refer to the AWS Service Limits page "
                "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and "
                "how to request higher limits." % (ACCOUNT_ID, DEFAULT_REGION, current, additional))

    def test_shard_limit(self):
        with self.assertAwsError("LimitExceededException", self.limit_message(0, 11)):
            self.kinesis.create_stream(StreamName=self.stream_name(), ShardCount=11)
        name = self.create_stream(shards=10)
        with self.assertAwsError("LimitExceededException", self.limit_message(10, 1)):
            self.kinesis.create_stream(StreamName=self.stream_name(), ShardCount=1)
        with self.assertAwsError("LimitExceededException", self.limit_message(10, 1)):
            self.kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey="12345")
        self.assertEqual(self.kinesis.describe_limits()["ShardLimit"], 10)
        # Deleting frees the shards.
        self.kinesis.delete_stream(StreamName=name)
        self.wait_gone(name)
        self.create_stream(shards=10)


@not_on_kinesalite("DescribeLimits")
class DescribeLimitsTest(KinesisTestCase):

    def test_describe_limits_counts(self):
        before = self.kinesis.describe_limits()
        for k in ("ShardLimit", "OpenShardCount", "OnDemandStreamCount", "OnDemandStreamCountLimit"):
            self.assertIsInstance(before[k], int, k)
        self.assertGreater(before["ShardLimit"], 0)
        self.assertGreater(before["OnDemandStreamCountLimit"], 0)
        self.create_stream(shards=3)
        after = self.kinesis.describe_limits()
        self.assertEqual(after["OpenShardCount"], before["OpenShardCount"] + 3)
        self.assertEqual(after["OnDemandStreamCount"], before["OnDemandStreamCount"])
        self.create_stream(shards=None, mode="ON_DEMAND")
        after2 = self.kinesis.describe_limits()
        self.assertEqual(after2["OnDemandStreamCount"], before["OnDemandStreamCount"] + 1)


@not_on_kinesalite("UpdateStreamMode")
class UpdateStreamModeTest(KinesisTestCase):

    def test_switch_modes(self):
        name = self.create_stream(shards=2)
        arn = stream_arn(name)
        self.kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.wait_active(name)
        self.assertEqual(self.summary(name)["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
        self.wait_active(name)
        self.assertEqual(self.summary(name)["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        # Records still flow.
        self.kinesis.put_record(StreamName=name, Data=b"after", PartitionKey="k")

    def test_unknown_stream(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.kinesis.update_stream_mode(StreamARN=stream_arn("nope"),
                                            StreamModeDetails={"StreamMode": "ON_DEMAND"})


@not_on_kinesalite("StreamARN parameters")
class StreamArnTest(KinesisTestCase):
    """Every action that takes StreamName also takes StreamARN instead."""

    def test_actions_accept_stream_arn(self):
        name = self.create_stream(shards=2)
        arn = stream_arn(name)
        self.assertEqual(self.call("DescribeStreamSummary", StreamARN=arn)
                         ["StreamDescriptionSummary"]["StreamName"], name)
        self.assertEqual(self.call("DescribeStream", StreamARN=arn)["StreamDescription"]["StreamName"], name)
        self.assertEqual(len(self.call("ListShards", StreamARN=arn)["Shards"]), 2)
        put = self.call("PutRecord", StreamARN=arn, Data=b"via-arn", PartitionKey="p")
        self.assertIn(put["ShardId"], (shard_id(0), shard_id(1)))
        puts = self.call("PutRecords", StreamARN=arn,
                         Records=[{"Data": b"r%d" % i, "PartitionKey": "p"} for i in range(3)])
        self.assertEqual(puts["FailedRecordCount"], 0)
        it = self.call("GetShardIterator", StreamARN=arn, ShardId=put["ShardId"],
                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        got = self.call("GetRecords", ShardIterator=it, StreamARN=arn)
        data = [r["Data"] for r in got["Records"]]
        self.assertEqual(len(data), 4)
        self.call("AddTagsToStream", StreamARN=arn, Tags={"team": "data"})
        self.assertEqual(self.call("ListTagsForStream", StreamARN=arn)["Tags"], [{"Key": "team", "Value": "data"}])
        self.call("RemoveTagsFromStream", StreamARN=arn, TagKeys=["team"])
        self.assertEqual(self.call("ListTagsForStream", StreamARN=arn)["Tags"], [])
        self.call("IncreaseStreamRetentionPeriod", StreamARN=arn, RetentionPeriodHours=36)
        self.call("DecreaseStreamRetentionPeriod", StreamARN=arn, RetentionPeriodHours=30)
        self.assertEqual(self.summary(name)["RetentionPeriodHours"], 30)
        self.call("SplitShard", StreamARN=arn, ShardToSplit=shard_id(0),
                  NewStartingHashKey=str(POW128 // 4))
        self.wait_active(name)
        self.call("MergeShards", StreamARN=arn, ShardToMerge=shard_id(2), AdjacentShardToMerge=shard_id(3))
        self.wait_active(name)
        r = self.call("UpdateShardCount", StreamARN=arn, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        self.assertEqual(r["TargetShardCount"], 4)
        self.wait_active(name)
        self.assertEqual(self.summary(name)["OpenShardCount"], 4)
        self.call("DeleteStream", StreamARN=arn)
        self.wait_gone(name)

    def test_unknown_arn(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.call("DescribeStreamSummary", StreamARN=stream_arn("no-such"))

    def test_invalid_arn(self):
        r = self.raw.call("DescribeStreamSummary", {"StreamARN": "not-an-arn"})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value 'not-an-arn' at 'streamARN' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+")


@millrace_only("kinesalite lists a CREATING stream's shards")
class CreatingStreamTest(KinesisTestCase):
    server_options = {"transition_ms": 3000}

    def test_a_creating_stream_shows_no_shards(self):
        """Regression: DescribeStream listed the shards of a stream still CREATING; AWS lists
        none until it is ACTIVE."""
        name = self.create_stream(shards=2, wait=False)
        d = self.kinesis.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual((d["StreamStatus"], d["Shards"], d["HasMoreShards"]), ("CREATING", [], False))
        self.wait_active(name)
        self.assertEqual(len(self.kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]), 2)


@millrace_only("kinesalite has no enhanced monitoring")
class EnhancedMonitoringTest(KinesisTestCase):
    def metrics(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
        conn.close()
        return body

    def test_shard_level_metrics_as_enabled(self):
        name = self.create_stream(shards=1)
        r = self.kinesis.enable_enhanced_monitoring(
            StreamName=name, ShardLevelMetrics=["IncomingBytes", "IteratorAgeMilliseconds"])
        self.assertEqual((r["StreamName"], r["CurrentShardLevelMetrics"], r["DesiredShardLevelMetrics"]),
                         (name, [], ["IncomingBytes", "IteratorAgeMilliseconds"]))
        self.kinesis.put_record(StreamName=name, Data=b"12345", PartitionKey="k")
        summary = self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual(summary["EnhancedMonitoring"],
                         [{"ShardLevelMetrics": ["IncomingBytes", "IteratorAgeMilliseconds"]}])
        m = self.metrics()
        self.assertIn('millrace_shard_incoming_bytes_total{stream="%s",shard="shardId-000000000000"} 5' % name, m)
        self.assertIn('millrace_shard_iterator_age_milliseconds{stream="%s",shard="shardId-000000000000"}' % name, m)
        self.assertNotIn('millrace_shard_incoming_records_total{stream="%s"' % name, m)
        # Kept across a restart.
        self.server.restart()
        d = self.kinesis.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual(d["EnhancedMonitoring"][0]["ShardLevelMetrics"],
                         ["IncomingBytes", "IteratorAgeMilliseconds"])
        r = self.kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
        self.assertEqual(len(r["DesiredShardLevelMetrics"]), 7)
        r = self.kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
        self.assertEqual((len(r["CurrentShardLevelMetrics"]), r["DesiredShardLevelMetrics"]), (7, []))
        self.assertNotIn('stream="%s",shard=' % name, self.metrics())
        with self.assertAwsError("ValidationException"):
            self.kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["Bogus"])


if __name__ == "__main__":
    unittest.main()
