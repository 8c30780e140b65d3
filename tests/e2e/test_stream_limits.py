"""Large records (UpdateMaxRecordSize, CreateStream's MaxRecordSizeInKiB), the account's
MinimumThroughputBillingCommitment (Describe/UpdateAccountSettings) and warm throughput
(UpdateStreamWarmThroughput). boto3 calls them where the installed botocore knows them,
the raw client otherwise (Debian's older boto3)."""

import base64
import datetime
import os
import time
import unittest

from harness import MIB, KinesisTestCase, millrace_only, shard_id

DAY = datetime.timedelta(hours=24)


def as_datetime(v):
    """A timestamp as boto3 parses it, or as the raw JSON has it (epoch seconds)."""
    if isinstance(v, datetime.datetime):
        return v
    return datetime.datetime.fromtimestamp(v, datetime.timezone.utc)


@millrace_only("kinesalite has neither large records nor account settings")
class LargeRecordsTest(KinesisTestCase):
    server_options = {"throttling": True}  # provisioned shards' write limits, as AWS's

    def arn(self, name):
        return self.summary(name)["StreamARN"]

    def max_kib(self, name):
        return self.call("DescribeStreamSummary", _raw=True, StreamName=name)[
            "StreamDescriptionSummary"]["MaxRecordSizeInKiB"]

    def test_a_ten_mib_record_after_update_max_record_size(self):
        name = self.create_stream(shards=1)
        self.assertEqual(self.max_kib(name), 1024)  # every stream starts at 1 MiB
        big = os.urandom(10 * MIB)
        r = self.raw.call("PutRecord", {"StreamName": name, "PartitionKey": "k",
                                        "Data": base64.b64encode(big).decode()})
        self.assertRawError(r, "ValidationException",
                            "1 validation error detected: Value at 'data' failed to satisfy "
                            "constraint: Member must have length less than or equal to 1048576")

        self.call("UpdateMaxRecordSize", StreamARN=self.arn(name), MaxRecordSizeInKiB=10240)
        self.assertEqual(self.max_kib(name), 10240)
        put = self.kinesis.put_record(StreamName=name, Data=big, PartitionKey="k")
        # The shard's 1 MiB/s took the 10 MiB record as a burst, and refuses until it refills.
        with self.assertAwsError("ProvisionedThroughputExceededException"):
            self.kinesis.put_record(StreamName=name, Data=b"small", PartitionKey="k")
        it = self.iterator(name, shard_id(0), "AT_SEQUENCE_NUMBER",
                           StartingSequenceNumber=put["SequenceNumber"])
        got = self.kinesis.get_records(ShardIterator=it, Limit=1)["Records"]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0]["Data"] == big, "the 10 MiB record came back different")

        # Kept across a restart.
        self.server.restart()
        self.kinesis = self.server.client()
        self.raw = self.server.raw()
        self.assertEqual(self.max_kib(name), 10240)

    def test_create_stream_with_a_maximum_and_its_bounds(self):
        name = self.stream_name()
        self.call("CreateStream", _raw=True, StreamName=name, ShardCount=1, MaxRecordSizeInKiB=2048)
        self.wait_active(name)
        self.assertEqual(self.max_kib(name), 2048)
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": [
            {"PartitionKey": "k", "Data": base64.b64encode(b"x" * (2 * MIB)).decode()},
            {"PartitionKey": "k", "Data": base64.b64encode(b"x" * (2 * MIB + 1)).decode()}]})
        self.assertRawError(r, "ValidationException",
                            "1 validation error detected: Value at 'records.2.member.data' failed "
                            "to satisfy constraint: Member must have length less than or equal to "
                            "2097152")
        for kib, word in ((1023, "greater than or equal to 1024"), (10241, "less than or equal to 10240")):
            r = self.raw.call("UpdateMaxRecordSize", {"StreamARN": self.arn(name), "MaxRecordSizeInKiB": kib})
            self.assertRawError(r, "ValidationException",
                                "1 validation error detected: Value '%d' at 'maxRecordSizeInKiB' "
                                "failed to satisfy constraint: Member must have value %s" % (kib, word))
        r = self.raw.call("UpdateMaxRecordSize", {"MaxRecordSizeInKiB": 2048, "StreamARN":
                                                  self.arn(name).replace(name, "no-such-stream")})
        self.assertRawError(r, "ResourceNotFoundException")

    def test_put_records_takes_ten_mib_and_no_more(self):
        name = self.create_stream(shards=1)
        self.call("UpdateMaxRecordSize", StreamARN=self.arn(name), MaxRecordSizeInKiB=10240)
        b64 = base64.b64encode
        records = [{"PartitionKey": "k", "Data": b64(b"x" * (5 * MIB)).decode()},
                   {"PartitionKey": "k", "Data": b64(b"x" * (5 * MIB)).decode()}]
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": records})
        self.assertRawError(r, "InvalidArgumentException", "Records size exceeds 10 MB limit")
        # Over the old 5 MiB, within today's 10 MiB: accepted (the second record throttled,
        # as the first took the shard's burst).
        records[1]["Data"] = b64(b"x" * (5 * MIB - 16)).decode()
        r = self.raw.call("PutRecords", {"StreamName": name, "Records": records})
        self.assertEqual(r.status, 200, r)
        self.assertIn("SequenceNumber", r.json["Records"][0])


@millrace_only("kinesalite has no account settings")
class AccountSettingsTest(KinesisTestCase):

    def commitment(self, op="DescribeAccountSettings", **kw):
        return self.call(op, **kw)["MinimumThroughputBillingCommitment"]

    def test_commitment_lifecycle(self):
        # Never enabled.
        self.assertEqual(self.commitment(), {"Status": "DISABLED"})
        on_demand = self.create_stream(shards=None, mode="ON_DEMAND")
        provisioned = self.create_stream(shards=1)
        r = self.raw.call("UpdateStreamWarmThroughput", {"StreamName": on_demand, "WarmThroughputMiBps": 100})
        self.assertRawError(r, "InvalidArgumentException", message_regex="MinimumThroughputBillingCommitment")

        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        c = self.commitment("UpdateAccountSettings",
                            MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        self.assertEqual(c["Status"], "ENABLED")
        started = as_datetime(c["StartedAt"])
        self.assertGreaterEqual(started, before)
        self.assertEqual(as_datetime(c["EarliestAllowedEndAt"]) - started, DAY)
        self.assertNotIn("EndedAt", c)

        # Warm throughput now: on-demand streams only, asynchronous (UPDATING, then ACTIVE).
        r = self.raw.call("UpdateStreamWarmThroughput", {"StreamName": provisioned, "WarmThroughputMiBps": 100})
        self.assertRawError(r, "InvalidArgumentException", message_regex="ON_DEMAND")
        out = self.call("UpdateStreamWarmThroughput", StreamName=on_demand, WarmThroughputMiBps=100)
        self.assertEqual(out["StreamName"], on_demand)
        self.assertTrue(out["StreamARN"].endswith(":stream/" + on_demand), out)
        self.assertEqual(out["WarmThroughput"], {"TargetMiBps": 100, "CurrentMiBps": 0})
        summary = self.call("DescribeStreamSummary", _raw=True, StreamName=on_demand)["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "UPDATING")
        self.assertEqual(summary["WarmThroughput"], {"TargetMiBps": 100})  # not current yet
        self.kinesis.put_record(StreamName=on_demand, Data=b"during", PartitionKey="k")  # writes go on
        self.wait_active(on_demand)
        summary = self.call("DescribeStreamSummary", _raw=True, StreamName=on_demand)["StreamDescriptionSummary"]
        self.assertEqual(summary["WarmThroughput"], {"TargetMiBps": 100, "CurrentMiBps": 100})
        r = self.raw.call("UpdateStreamWarmThroughput", {"StreamName": on_demand, "WarmThroughputMiBps": 10241})
        self.assertRawError(r, "ValidationException")
        # CreateStream's WarmThroughputMiBps: the same rules, one place.
        r = self.raw.call("CreateStream", {"StreamName": self.stream_name(), "ShardCount": 1,
                                           "WarmThroughputMiBps": 50})
        self.assertRawError(r, "InvalidArgumentException", message_regex="ON_DEMAND")
        warm = self.stream_name()
        self.call("CreateStream", _raw=True, StreamName=warm, WarmThroughputMiBps=50,
                  StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.wait_active(warm)
        summary = self.call("DescribeStreamSummary", _raw=True, StreamName=warm)["StreamDescriptionSummary"]
        self.assertEqual(summary["WarmThroughput"], {"TargetMiBps": 50, "CurrentMiBps": 50})

        # Disabled before 24 hours: scheduled for their end, and cancelled by enabling again.
        c = self.commitment("UpdateAccountSettings",
                            MinimumThroughputBillingCommitment={"Status": "DISABLED"})
        self.assertEqual(c["Status"], "ENABLED_UNTIL_EARLIEST_ALLOWED_END")
        self.assertEqual(as_datetime(c["EndedAt"]), as_datetime(c["EarliestAllowedEndAt"]))
        self.server.restart()  # kept in the catalog
        self.kinesis = self.server.client()
        self.raw = self.server.raw()
        self.assertEqual(self.commitment()["Status"], "ENABLED_UNTIL_EARLIEST_ALLOWED_END")
        self.assertEqual(as_datetime(self.commitment()["StartedAt"]), started)
        c = self.commitment("UpdateAccountSettings",
                            MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        self.assertEqual(c["Status"], "ENABLED")
        self.assertEqual(as_datetime(c["StartedAt"]), started)
        self.assertNotIn("EndedAt", c)

        r = self.raw.call("UpdateAccountSettings", {"MinimumThroughputBillingCommitment": {"Status": "PAUSED"}})
        self.assertRawError(r, "ValidationException", message_regex="Member must satisfy enum value set")


if __name__ == "__main__":
    unittest.main()
