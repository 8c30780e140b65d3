"""Server-side encryption: StartStreamEncryption / StopStreamEncryption with keys made
through the server's KMS API (boto3's `kms` client), records sealed at rest (checked in the
log's files), readable only while their key is enabled, and across a restart."""

import glob
import os
import unittest

from harness import KinesisTestCase, millrace_only, shard_id


def log_bytes(server):
    out = b""
    for path in sorted(glob.glob(os.path.join(server.data_dir, "log", "*.seg"))):
        with open(path, "rb") as f:
            out += f.read()
    return out


@millrace_only("kinesalite has no server-side encryption and no KMS")
class EncryptionTest(KinesisTestCase):

    def setUp(self):
        self.kms = self.server.client("kms")

    def records(self, name, **kw):
        it = self.iterator(name, shard_id(0), **kw)
        return self.kinesis.get_records(ShardIterator=it, Limit=100)["Records"]

    def test_records_are_sealed_with_a_customer_key_and_need_it_enabled(self):
        key = self.kms.create_key(Description="orders at rest")["KeyMetadata"]
        self.assertEqual(key["KeyState"], "Enabled")
        self.assertEqual(key["KeyManager"], "CUSTOMER")
        self.assertTrue(key["Arn"].endswith(":key/" + key["KeyId"]))
        self.kms.create_alias(AliasName="alias/orders", TargetKeyId=key["KeyId"])
        aliases = self.kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], ["alias/orders"])
        self.assertIn(key["KeyId"], [k["KeyId"] for k in self.kms.list_keys()["Keys"]])

        name = self.create_stream(shards=1)
        self.kinesis.put_record(StreamName=name, Data=b"PLAIN-BEFORE-%s" % name.encode(),
                                PartitionKey="k")
        self.kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                             KeyId="alias/orders")
        self.assertEqual(self.summary(name)["StreamStatus"], "UPDATING")
        self.wait_active(name)
        d = self.summary(name)
        self.assertEqual(d["EncryptionType"], "KMS")
        self.assertEqual(d["KeyId"], "alias/orders")

        marker = b"SEALED-%s" % name.encode()
        put = self.kinesis.put_record(StreamName=name, Data=marker + b"-1", PartitionKey="pk-secret")
        self.assertEqual(put["EncryptionType"], "KMS")
        batch = self.kinesis.put_records(StreamName=name, Records=[
            {"Data": marker + b"-2", "PartitionKey": "pk-secret"}])
        self.assertEqual(batch["EncryptionType"], "KMS")
        self.assertEqual(batch["FailedRecordCount"], 0)

        # At rest: the plain record is in the log as written, the sealed ones are not.
        disk = log_bytes(self.server)
        self.assertIn(b"PLAIN-BEFORE-%s" % name.encode(), disk)
        self.assertNotIn(marker, disk)

        got = self.records(name)
        self.assertEqual([r["Data"] for r in got],
                         [b"PLAIN-BEFORE-%s" % name.encode(), marker + b"-1", marker + b"-2"])
        self.assertNotIn("EncryptionType", got[0])  # written before encryption started
        self.assertEqual([r.get("EncryptionType") for r in got[1:]], ["KMS", "KMS"])
        self.assertEqual(got[1]["PartitionKey"], "pk-secret")

        # Disabled: neither written nor read, with Kinesis's KMS exceptions.
        self.kms.disable_key(KeyId=key["KeyId"])
        with self.assertAwsError("KMSDisabledException"):
            self.kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
        with self.assertAwsError("KMSDisabledException"):
            self.records(name, kind="AT_SEQUENCE_NUMBER",
                         StartingSequenceNumber=got[1]["SequenceNumber"])
        # The plain record before the sealed ones is still answered on its own.
        self.assertEqual([r["Data"] for r in self.records(name)], [got[0]["Data"]])

        self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(len(self.records(name)), 3)

        # Scheduled for deletion: KMSInvalidStateException until cancelled (then Disabled).
        sched = self.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        self.assertEqual(sched["KeyState"], "PendingDeletion")
        self.assertEqual(sched["PendingWindowInDays"], 7)
        with self.assertAwsError("KMSInvalidStateException"):
            self.records(name, kind="AT_SEQUENCE_NUMBER",
                         StartingSequenceNumber=got[1]["SequenceNumber"])
        desc = self.kms.describe_key(KeyId="alias/orders")["KeyMetadata"]
        self.assertEqual(desc["KeyState"], "PendingDeletion")
        self.assertIn("DeletionDate", desc)
        self.kms.cancel_key_deletion(KeyId=key["KeyId"])
        self.assertEqual(self.kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"],
                         "Disabled")
        self.kms.enable_key(KeyId=key["KeyId"])

        # Stopped: new records are plain again, the sealed ones stay readable with the key.
        self.kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS",
                                            KeyId="alias/orders")
        self.wait_active(name)
        self.assertEqual(self.summary(name)["EncryptionType"], "NONE")
        self.assertNotIn("KeyId", self.summary(name))
        after = self.kinesis.put_record(StreamName=name, Data=b"plain-after", PartitionKey="k")
        self.assertNotIn("EncryptionType", after)

        # Kept across a restart: the key (sealed under secret.key) and the sealed records.
        self.server.restart()
        type(self).kinesis = self.server.client()
        self.kms = self.server.client("kms")
        self.assertEqual([r["Data"] for r in self.records(name)][1:],
                         [marker + b"-1", marker + b"-2", b"plain-after"])
        self.assertEqual(self.kms.describe_key(KeyId="alias/orders")["KeyMetadata"]["KeyId"],
                         key["KeyId"])

    def test_the_aws_managed_key_and_encryption_kept_across_a_restart(self):
        name = self.create_stream(shards=1)
        self.kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                             KeyId="alias/aws/kinesis")
        self.wait_active(name)
        managed = self.kms.describe_key(KeyId="alias/aws/kinesis")["KeyMetadata"]
        self.assertEqual(managed["KeyManager"], "AWS")
        with self.assertAwsError("AccessDeniedException"):  # an AWS managed key stays enabled
            self.kms.disable_key(KeyId=managed["KeyId"])
        self.server.restart()
        type(self).kinesis = self.server.client()
        put = self.kinesis.put_record(StreamName=name, Data=b"after restart", PartitionKey="k")
        self.assertEqual(put["EncryptionType"], "KMS")  # still encrypted after the restart
        self.assertNotIn(b"after restart", log_bytes(self.server))
        self.assertEqual([r["Data"] for r in self.records(name)], [b"after restart"])

    def test_bad_keys_and_arguments(self):
        name = self.create_stream(shards=1)
        with self.assertAwsError("KMSNotFoundException"):
            self.kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                                 KeyId="alias/no-such-key")
        with self.assertAwsError("KMSNotFoundException"):
            self.kinesis.start_stream_encryption(
                StreamName=name, EncryptionType="KMS",
                KeyId="arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        disabled = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.disable_key(KeyId=disabled)
        with self.assertAwsError("KMSDisabledException"):
            self.kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                                 KeyId=disabled)
        with self.assertAwsError("InvalidArgumentException"):
            self.kinesis.start_stream_encryption(StreamName=name, EncryptionType="NONE",
                                                 KeyId=disabled)
        r = self.raw.call("StartStreamEncryption", {"StreamName": name, "EncryptionType": "KMS"})
        self.assertRawError(r, "ValidationException")
        with self.assertAwsError("ResourceNotFoundException"):
            self.kinesis.start_stream_encryption(StreamName=name + "-missing",
                                                 EncryptionType="KMS", KeyId="alias/aws/kinesis")
        self.assertEqual(self.summary(name)["EncryptionType"], "NONE")
        with self.assertAwsError("InvalidAliasNameException"):
            self.kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=disabled)
        with self.assertAwsError("ValidationException"):
            self.kms.schedule_key_deletion(KeyId=disabled, PendingWindowInDays=3)
        with self.assertAwsError("NotFoundException"):
            self.kms.describe_key(KeyId="alias/none-here")
        with self.assertAwsError("UnsupportedOperationException"):
            self.kms.encrypt(KeyId=disabled, Plaintext=b"x")

    def test_a_producer_key_may_not_manage_keys(self):
        name = self.create_stream(shards=1)
        k = self.server.create_key("producer", [name])
        kms = self.server.client("kms", credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        with self.assertAwsError("AccessDeniedException"):
            kms.create_key()
        producer = self.server.client(credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        with self.assertAwsError("AccessDeniedException"):
            producer.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                             KeyId="alias/aws/kinesis")


if __name__ == "__main__":
    unittest.main()
