"""The Firehose API (boto3's and the AWS CLI's `firehose` clients, unchanged but for the
endpoint): DirectPut and KinesisStreamAsSource delivery streams delivering into a bucket of
the server's S3 API, read back through S3; a delivery stream is a consumer, seen through
the control API too; AWS's errors for bad input; tags; UpdateDestination's versions."""
import base64
import datetime
import json
import os
import re
import tempfile
import time
import unittest

from botocore.config import Config
from botocore.exceptions import ClientError

from harness import MillraceServer, RawClient, aws_cli, aws_cli_is_v2, unique_name

OBJECT_RE = r"^%s\d{4}/\d{2}/\d{2}/\d{2}/%s-%d-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}%s$"


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class FirehoseTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        # Without client-side validation: Debian's botocore (1.29) still holds AWS's old
        # minimum IntervalInSeconds of 60; today's AWS (and Millrace) takes 0-900.
        cls.firehose = cls.server.client("firehose", validate=False)
        cls.kinesis = cls.server.client()
        cls.s3 = cls.server.session().client(
            "s3", endpoint_url=cls.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assertFirehoseError(self, code, fn, *args, message=None, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if message:
            self.assertIn(message, err.get("Message", ""))
        return err

    def bucket(self):
        name = unique_name("landing").lower().replace("_", "-")
        self.s3.create_bucket(Bucket=name)
        return name

    def objects(self, bucket, prefix=""):
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        return out

    def wait_active(self, name):
        return wait_for(lambda: self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE", 10, name + " ACTIVE")

    def destination(self, bucket, **kw):
        d = {"RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::" + bucket,
             "Prefix": "raw/", "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}
        d.update(kw)
        return d

    def test_direct_put_delivers_every_record_once_into_the_bucket(self):
        bucket = self.bucket()
        name = unique_name("clicks")
        arn = self.firehose.create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=self.destination(bucket),
            Tags=[{"Key": "team", "Value": "web"}])["DeliveryStreamARN"]
        self.assertEqual(arn, "arn:aws:firehose:us-east-1:000000000000:deliverystream/" + name)
        self.wait_active(name)

        sent = [b'{"n": %d}\n' % i for i in range(20)]
        out = self.firehose.put_record_batch(
            DeliveryStreamName=name, Records=[{"Data": d} for d in sent[:19]])
        self.assertEqual(out["FailedPutCount"], 0)
        self.assertEqual(len(out["RequestResponses"]), 19)
        self.assertEqual(len({r["RecordId"] for r in out["RequestResponses"]}), 19)
        one = self.firehose.put_record(DeliveryStreamName=name, Record={"Data": sent[19]})
        self.assertTrue(one["RecordId"])
        self.assertFalse(one["Encrypted"])

        def delivered():
            objs = self.objects(bucket, "raw/")
            data = b"".join(objs[k] for k in sorted(objs))
            return objs if data.count(b"\n") >= 20 else None
        objs = wait_for(delivered, 30, "delivery into s3://%s/raw/" % bucket)
        for key in objs:
            self.assertRegex(key, OBJECT_RE % ("raw/", re.escape(name), 1, ""))
        got = sorted(l for body in objs.values() for l in body.splitlines(keepends=True))
        self.assertEqual(got, sorted(sent))

        desc = self.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        self.assertEqual(desc["DeliveryStreamType"], "DirectPut")
        self.assertEqual(desc["DeliveryStreamARN"], arn)
        self.assertEqual(desc["VersionId"], "1")
        dest = desc["Destinations"][0]
        self.assertEqual(dest["DestinationId"], "destinationId-000000000001")
        ext = dest["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["BucketARN"], "arn:aws:s3:::" + bucket)
        self.assertEqual(ext["Prefix"], "raw/")
        self.assertEqual(ext["BufferingHints"], {"SizeInMBs": 1, "IntervalInSeconds": 0})
        self.assertEqual(ext["CompressionFormat"], "UNCOMPRESSED")
        self.assertIn(name, self.firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"])
        self.assertEqual(self.firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"],
                         [{"Key": "team", "Value": "web"}])

        # The delivery stream is a consumer: the control API sees it.
        api = RawClient(self.server, service="millrace")
        r = api.request(b"", method="GET", path="/api/v1/consumers/" + name,
                        content_type="application/json")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["stream"], "firehose-" + name)

        self.firehose.delete_delivery_stream(DeliveryStreamName=name)
        self.assertFirehoseError("ResourceNotFoundException", self.firehose.describe_delivery_stream,
                                 DeliveryStreamName=name)
        self.assertFirehoseError("ResourceNotFoundException", self.firehose.put_record,
                                 DeliveryStreamName=name, Record={"Data": b"x"})
        wait_for(lambda: "firehose-" + name not in self.kinesis.list_streams()["StreamNames"], 10,
                 "the stream behind the delivery stream to go")
        self.assertEqual(set(self.objects(bucket, "raw/")), set(objs))  # the objects stay
        # The name is free again.
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_kinesis_stream_as_source_reads_from_latest(self):
        bucket = self.bucket()
        stream = unique_name("src")
        self.kinesis.create_stream(StreamName=stream, ShardCount=1)
        self.kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
        self.kinesis.put_record(StreamName=stream, PartitionKey="k", Data=b"before\n")
        stream_arn = self.kinesis.describe_stream_summary(StreamName=stream)[
            "StreamDescriptionSummary"]["StreamARN"]
        name = unique_name("fromkinesis")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn,
                                              "RoleARN": "arn:aws:iam::000000000000:role/r"},
            ExtendedS3DestinationConfiguration=self.destination(bucket, Prefix="k/",
                                                                CompressionFormat="GZIP"))
        self.wait_active(name)
        desc = self.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        self.assertEqual(desc["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"], stream_arn)
        self.assertEqual(desc["Destinations"][0]["ExtendedS3DestinationDescription"]["CompressionFormat"],
                         "GZIP")
        err = self.assertFirehoseError("InvalidArgumentException", self.firehose.put_record,
                                       DeliveryStreamName=name, Record={"Data": b"x"})
        self.assertIn("KinesisStreamAsSource", err["Message"])
        time.sleep(0.5)  # the consumer has started at LATEST
        self.kinesis.put_record(StreamName=stream, PartitionKey="k", Data=b"after\n")
        import gzip
        objs = wait_for(lambda: self.objects(bucket, "k/"), 30, "delivery")
        for key in objs:
            self.assertRegex(key, OBJECT_RE % ("k/", re.escape(name), 1, r"\.gz"))
        data = b"".join(gzip.decompress(v) for v in objs.values())
        self.assertEqual(data, b"after\n")
        self.assertIn(name, self.firehose.list_delivery_streams(
            DeliveryStreamType="KinesisStreamAsSource", Limit=100)["DeliveryStreamNames"])
        self.assertNotIn(name, self.firehose.list_delivery_streams(
            DeliveryStreamType="DirectPut", Limit=100)["DeliveryStreamNames"])
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)
        # The source stream is the user's: it stays.
        self.assertIn(stream, self.kinesis.list_streams()["StreamNames"])

    def test_update_destination_moves_the_version(self):
        bucket = self.bucket()
        name = unique_name("upd")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.wait_active(name)
        self.assertFirehoseError(
            "ConcurrentModificationException", self.firehose.update_destination,
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="7",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 60}})
        self.firehose.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 60},
                                         "CompressionFormat": "GZIP"})
        desc = self.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        self.assertEqual(desc["VersionId"], "2")
        ext = desc["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["BufferingHints"], {"SizeInMBs": 2, "IntervalInSeconds": 60})
        self.assertEqual(ext["CompressionFormat"], "GZIP")
        self.assertEqual(ext["Prefix"], "raw/")
        # Expressions in Prefix need an ErrorOutputPrefix (Firehose's rule); nothing changes.
        self.assertFirehoseError(
            "InvalidArgumentException", self.firehose.update_destination,
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="2",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "v2/!{timestamp:yyyy}/"}, message="error_prefix")
        # A new BucketARN is refused by name (the dataset's files stay where they are).
        self.assertFirehoseError(
            "InvalidArgumentException", self.firehose.update_destination,
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="2",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"BucketARN": "arn:aws:s3:::" + self.bucket()},
            message="BucketARN")
        self.assertEqual(self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["VersionId"], "2")
        # A new Prefix: the files from then on go there.
        self.firehose.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="2",
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={
                "Prefix": "v3/y=!{timestamp:yyyy}/",
                "ErrorOutputPrefix": "err/!{firehose:error-output-type}/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "CompressionFormat": "UNCOMPRESSED"})
        ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["Prefix"], "v3/y=!{timestamp:yyyy}/")
        self.assertEqual(ext["ErrorOutputPrefix"], "err/!{firehose:error-output-type}/")
        self.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"v3\n"})
        objs = wait_for(lambda: self.objects(bucket, "v3/"), 30, "delivery under v3/")
        year = time.strftime("%Y", time.gmtime())
        for key in objs:
            self.assertRegex(key, r"^v3/y=%s/%s-3-" % (year, re.escape(name)))
        self.assertEqual(b"".join(objs.values()), b"v3\n")
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_custom_prefixes_with_expressions(self):
        bucket = self.bucket()
        name = unique_name("hive")
        self.assertFirehoseError(
            "InvalidArgumentException", self.firehose.create_delivery_stream,
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=self.destination(
                bucket, Prefix="events/!{firehose:error-output-type}/",
                ErrorOutputPrefix="e/!{firehose:error-output-type}/"),
            message="error-output-type")
        self.assertFirehoseError(
            "InvalidArgumentException", self.firehose.create_delivery_stream,
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=self.destination(
                bucket, Prefix="events/!{timestamp:yyyy}/../../", ErrorOutputPrefix="e/!{firehose:error-output-type}/"))
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=self.destination(
                bucket, Prefix="events/dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/!{firehose:random-string}/",
                ErrorOutputPrefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"))
        self.wait_active(name)
        before = time.gmtime()
        self.firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a\n"}, {"Data": b"b\n"}])
        objs = wait_for(lambda: self.objects(bucket, "events/"), 30, "delivery under events/")
        after = time.gmtime()
        stamps = {time.strftime("dt=%Y-%m-%d/h=%H/", t) for t in (before, after)}
        for key in objs:
            m = re.match(r"^events/(dt=\d{4}-\d{2}-\d{2}/h=\d{2}/)([A-Za-z0-9]{11})/%s-1-" % re.escape(name), key)
            self.assertIsNotNone(m, key)
            self.assertIn(m.group(1), stamps)
        self.assertEqual(sorted(b"".join(objs.values()).splitlines()), [b"a", b"b"])
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_custom_time_zone_names_folders_and_files_in_local_time(self):
        if "CustomTimeZone" not in self.firehose.meta.service_model.shape_for(
                "ExtendedS3DestinationConfiguration").members:
            self.skipTest("this botocore cannot send CustomTimeZone (Debian's 1.29)")
        from zoneinfo import ZoneInfo
        bucket = self.bucket()
        name = unique_name("tz")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=self.destination(
                bucket, Prefix="tokyo/!{timestamp:yyyy-MM-dd-HH}/",
                ErrorOutputPrefix="errors/!{firehose:error-output-type}/", CustomTimeZone="Asia/Tokyo"))
        self.wait_active(name)
        ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(ext.get("CustomTimeZone"), "Asia/Tokyo")
        before = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
        self.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x\n"})
        objs = wait_for(lambda: self.objects(bucket, "tokyo/"), 30, "delivery under tokyo/")
        after = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
        hours = {t.strftime("%Y-%m-%d-%H") for t in (before, after)}
        for key in objs:
            m = re.match(r"^tokyo/(\d{4}-\d{2}-\d{2}-\d{2})/%s-1-(\d{4}-\d{2}-\d{2}-\d{2})-" % re.escape(name), key)
            self.assertIsNotNone(m, key)
            self.assertIn(m.group(1), hours)  # the folder and the name's time: Tokyo's
            self.assertEqual(m.group(1), m.group(2), key)
        # Back to UTC by UpdateDestination.
        d = self.firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        self.firehose.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
            DestinationId=d["Destinations"][0]["DestinationId"],
            ExtendedS3DestinationUpdate={"CustomTimeZone": "UTC"})
        ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertNotIn("CustomTimeZone", ext)
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_dynamic_partitioning_with_a_jq_query(self):
        bucket = self.bucket()
        name = unique_name("dyn")
        dest = self.destination(
            bucket, Prefix="by/customer=!{partitionKeyFromQuery:customer}/y=!{timestamp:yyyy}/",
            ErrorOutputPrefix="failed/!{firehose:error-output-type}/",
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer: .customer_id}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": [
                    {"ParameterName": "Delimiter", "ParameterValue": "\\n"}]}]})
        # Firehose's rules: dynamic partitioning needs keys in the prefix, and keys need it.
        bad = dict(dest, Prefix="flat/")
        self.assertFirehoseError("InvalidArgumentException", self.firehose.create_delivery_stream,
                                 DeliveryStreamName=name, ExtendedS3DestinationConfiguration=bad)
        bad = dict(dest, DynamicPartitioningConfiguration={"Enabled": False})
        self.assertFirehoseError("InvalidArgumentException", self.firehose.create_delivery_stream,
                                 DeliveryStreamName=name, ExtendedS3DestinationConfiguration=bad)
        self.firehose.create_delivery_stream(DeliveryStreamName=name,
                                             ExtendedS3DestinationConfiguration=dest)
        self.wait_active(name)
        ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertTrue(ext["DynamicPartitioningConfiguration"]["Enabled"])
        self.assertEqual([p["Type"] for p in ext["ProcessingConfiguration"]["Processors"]],
                         ["MetadataExtraction", "AppendDelimiterToRecord"])
        records = [{"customer_id": c, "n": i} for i, c in enumerate(["acme", "globex", "acme", 7, "acme"])]
        out = self.firehose.put_record_batch(
            DeliveryStreamName=name,
            Records=[{"Data": json.dumps(r).encode()} for r in records] +
                    [{"Data": b'{"customer_id": "../up"}'}, {"Data": b"not json"}])
        self.assertEqual(out["FailedPutCount"], 0)
        year = time.strftime("%Y", time.gmtime())

        def settled():
            objs = self.objects(bucket)
            lines = sum(v.count(b"\n") for v in objs.values())
            return objs if lines >= 7 else None
        objs = wait_for(settled, 30, "every record delivered or failed")
        by_customer = {}
        failed = []
        for key, body in objs.items():
            m = re.match(r"^by/customer=([^/]+)/y=%s/%s-1-" % (year, re.escape(name)), key)
            if m:
                by_customer.setdefault(m.group(1), []).extend(
                    json.loads(l)["n"] for l in body.splitlines())
            else:
                self.assertTrue(key.startswith("failed/processing-failed/"), key)
                failed += [json.loads(l) for l in body.splitlines()]
        self.assertEqual({k: sorted(v) for k, v in by_customer.items()},
                         {"acme": [0, 2, 4], "globex": [1], "7": [3]})
        self.assertEqual(len(failed), 2)
        self.assertEqual({f["errorCode"] for f in failed}, {"DynamicPartitioning.MetadataExtractionFailed"})
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_record_deaggregation_and_file_extension(self):
        # Debian's botocore (1.29) predates FileExtension: it cannot send it.
        has_ext = "FileExtension" in self.firehose.meta.service_model.shape_for(
            "ExtendedS3DestinationConfiguration").members
        ext_member = {"FileExtension": ".json"} if has_ext else {}
        for sub, delimiter, joiner in (("JSON", None, "\n"), ("DELIMITED", "####", "####")):
            bucket = self.bucket()
            name = unique_name("deagg")
            params = [{"ParameterName": "SubRecordType", "ParameterValue": sub}]
            if delimiter:
                params.append({"ParameterName": "Delimiter",
                               "ParameterValue": base64.b64encode(delimiter.encode()).decode()})
            self.firehose.create_delivery_stream(
                DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(
                    bucket, Prefix="c=!{partitionKeyFromQuery:c}/", **ext_member,
                    ErrorOutputPrefix="failed/!{firehose:error-output-type}/",
                    DynamicPartitioningConfiguration={"Enabled": True},
                    ProcessingConfiguration={"Enabled": True, "Processors": [
                        {"Type": "RecordDeAggregation", "Parameters": params},
                        {"Type": "MetadataExtraction", "Parameters": [
                            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{c: .c}"},
                            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                        {"Type": "AppendDelimiterToRecord", "Parameters": []}]}))
            self.wait_active(name)
            procs = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
                "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"][
                "ProcessingConfiguration"]["Processors"]
            self.assertEqual(procs[0], {"Type": "RecordDeAggregation", "Parameters": params})
            ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
                "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
            self.assertEqual(ext.get("FileExtension"), ".json" if has_ext else None)
            # One record carrying three (two customers), one carrying one.
            three = joiner.join(json.dumps({"c": c, "n": i}) for i, c in enumerate(["a", "b", "a"]))
            self.firehose.put_record_batch(DeliveryStreamName=name, Records=[
                {"Data": three.encode()}, {"Data": json.dumps({"c": "b", "n": 3}).encode()}])

            def settled():
                objs = self.objects(bucket)
                return objs if sum(v.count(b"\n") for v in objs.values()) >= 4 else None
            objs = wait_for(settled, 30, "the four records delivered")
            got = {}
            for key, body in objs.items():
                c = re.match(r"^c=([ab])/", key).group(1)
                self.assertTrue(key.endswith(".json") or not has_ext, key)  # FileExtension
                got.setdefault(c, []).extend(json.loads(l)["n"] for l in body.splitlines())
            self.assertEqual({k: sorted(v) for k, v in got.items()}, {"a": [0, 2], "b": [1, 3]}, sub)
            self.firehose.delete_delivery_stream(DeliveryStreamName=name)
        # A FileExtension without its period, a Delimiter that is not base64, or DELIMITED
        # without one, is refused.
        if has_ext:
            self.assertFirehoseError(
                "InvalidArgumentException", self.firehose.create_delivery_stream,
                DeliveryStreamName=unique_name("ext"), ExtendedS3DestinationConfiguration=self.destination(
                    self.bucket(), FileExtension="json"))
        for params in ([{"ParameterName": "SubRecordType", "ParameterValue": "DELIMITED"}],
                       [{"ParameterName": "SubRecordType", "ParameterValue": "DELIMITED"},
                        {"ParameterName": "Delimiter", "ParameterValue": "#"}],
                       [{"ParameterName": "SubRecordType", "ParameterValue": "XML"}]):
            self.assertFirehoseError(
                "InvalidArgumentException", self.firehose.create_delivery_stream,
                DeliveryStreamName=unique_name("deagg"),
                ExtendedS3DestinationConfiguration=self.destination(
                    self.bucket(), ProcessingConfiguration={"Enabled": True, "Processors": [
                        {"Type": "RecordDeAggregation", "Parameters": params}]}))

    def test_dynamic_partitioning_with_keys_from_a_transformation(self):
        from test_transformations import create_function
        from test_consumers import Api
        source = (
            "import base64, json\n"
            "def handler(event, context):\n"
            "    out = []\n"
            "    for r in event['records']:\n"
            "        doc = json.loads(base64.b64decode(r['data']))\n"
            "        out.append({'recordId': r['recordId'], 'result': 'Ok', 'data': r['data'],\n"
            "                    'metadata': {'partitionKeys': {'tenant': doc['tenant']}}})\n"
            "    return {'records': out}\n")
        fn = unique_name("tenantkeys")
        st, body = create_function(Api(self.server), fn, "keys.py", source, "keys.handler")
        self.assertEqual(st, 201, body)
        bucket = self.bucket()
        name = unique_name("lambdakeys")
        dest = self.destination(
            bucket, Prefix="t=!{partitionKeyFromLambda:tenant}/",
            ErrorOutputPrefix="failed/!{firehose:error-output-type}/",
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn",
                     "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:" + fn}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
        self.firehose.create_delivery_stream(DeliveryStreamName=name,
                                             ExtendedS3DestinationConfiguration=dest)
        self.wait_active(name)
        self.firehose.put_record_batch(DeliveryStreamName=name, Records=[
            {"Data": json.dumps({"tenant": t, "n": i}).encode()}
            for i, t in enumerate(["acme", "globex", "acme"])])

        def settled():
            objs = self.objects(bucket, "t=")
            return objs if sum(v.count(b"\n") for v in objs.values()) >= 3 else None
        objs = wait_for(settled, 60, "delivery by tenant")
        got = {}
        for key, data in objs.items():
            tenant = key.split("/")[0][2:]
            got.setdefault(tenant, []).extend(json.loads(l)["n"] for l in data.splitlines())
        self.assertEqual({k: sorted(v) for k, v in got.items()}, {"acme": [0, 2], "globex": [1]})
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_server_side_encryption_seals_the_records_at_rest(self):
        import glob
        bucket = self.bucket()
        name = unique_name("sse")
        self.assertFirehoseError(
            "InvalidKMSResourceException", self.firehose.create_delivery_stream,
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket),
            DeliveryStreamEncryptionConfigurationInput={
                "KeyType": "CUSTOMER_MANAGED_CMK",
                "KeyARN": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000"})
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket),
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
        self.wait_active(name)
        enc = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"]
        self.assertEqual(enc, {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"})
        marker = b"sealed-marker-" + name.encode()
        self.firehose.put_record(DeliveryStreamName=name, Record={"Data": marker + b"\n"})
        objs = wait_for(lambda: self.objects(bucket, "raw/"), 30, "delivery")
        self.assertEqual(b"".join(objs.values()), marker + b"\n")  # readable where delivered
        log = b""
        for path in glob.glob(os.path.join(self.server.data_dir, "log", "*.seg")):
            with open(path, "rb") as f:
                log += f.read()
        self.assertNotIn(marker, log)  # and sealed in the stream's log

        self.firehose.stop_delivery_stream_encryption(DeliveryStreamName=name)
        enc = wait_for(lambda: self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"], 10, "describe")
        self.assertEqual(enc["Status"], "DISABLED")
        key = self.server.client("kms").create_key()["KeyMetadata"]
        self.firehose.start_delivery_stream_encryption(
            DeliveryStreamName=name,
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK",
                                                        "KeyARN": key["Arn"]})
        enc = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"]
        self.assertEqual(enc, {"KeyARN": key["Arn"], "KeyType": "CUSTOMER_MANAGED_CMK", "Status": "ENABLED"})
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_terraform_shaped_configuration(self):
        """The members the AWS provider for Terraform sends for an extended_s3 destination."""
        bucket = self.bucket()
        name = unique_name("tf")
        dest = {"BucketARN": "arn:aws:s3:::" + bucket, "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 64},
                "CompressionFormat": "GZIP", "CustomTimeZone": "UTC", "FileExtension": "",
                "Prefix": "data/customer=!{partitionKeyFromQuery:customer}/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
                "CloudWatchLoggingOptions": {"Enabled": False, "LogGroupName": "", "LogStreamName": ""},
                "S3BackupMode": "Disabled",
                "DataFormatConversionConfiguration": {"Enabled": False},
                "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [
                    {"Type": "MetadataExtraction", "Parameters": [
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer:.customer_id}"}]},
                    {"Type": "AppendDelimiterToRecord", "Parameters": []}]}}
        # An older botocore (Debian's 1.29) cannot send the members its model lacks.
        known = self.firehose.meta.service_model.shape_for("ExtendedS3DestinationConfiguration").members
        dest = {k: v for k, v in dest.items() if k in known}
        # (FileExtension is taken: test_record_deaggregation_and_file_extension.)
        for member, value, needle in (("CustomTimeZone", "Mars/Olympus", "Mars/Olympus"),
                                      ("CustomTimeZone", "../../etc/passwd", "CustomTimeZone"),
                                      ("S3BackupConfiguration", {"BucketARN": "arn:aws:s3:::x"},
                                       "S3BackupConfiguration")):
            if member not in known:
                continue
            self.assertFirehoseError("InvalidArgumentException", self.firehose.create_delivery_stream,
                                     DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                     ExtendedS3DestinationConfiguration=dict(dest, **{member: value}),
                                     message=needle)
        self.firehose.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                             ExtendedS3DestinationConfiguration=dest,
                                             Tags=[{"Key": "ManagedBy", "Value": "terraform"}])
        self.wait_active(name)
        ext = self.firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["Prefix"], dest["Prefix"])
        self.assertEqual(ext["BufferingHints"], dest["BufferingHints"])
        self.assertEqual(ext["CompressionFormat"], "GZIP")
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_a_delivery_stream_deleted_as_a_consumer_takes_no_more_records(self):
        bucket = self.bucket()
        name = unique_name("gone")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.wait_active(name)
        self.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"kept\n"})
        api = RawClient(self.server, service="millrace")
        r = api.request(b"", method="DELETE", path="/api/v1/consumers/" + name,
                        content_type="application/json")
        self.assertEqual(r.status, 200, r.body)
        # Within a second (the service's cache), puts are refused, not taken and lost.
        def refused():
            try:
                self.firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
                return False
            except ClientError as e:
                return e.response["Error"]["Code"] == "ResourceNotFoundException"
        wait_for(refused, 5, "ResourceNotFoundException")
        self.assertFirehoseError("ResourceNotFoundException", self.firehose.describe_delivery_stream,
                                 DeliveryStreamName=name)

    def test_tags(self):
        bucket = self.bucket()
        name = unique_name("tags")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[
            {"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}])
        self.assertEqual(self.firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"],
                         [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["a"])
        got = self.firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)
        self.assertEqual(got["Tags"], [{"Key": "b", "Value": "2"}])
        self.assertFalse(got["HasMoreTags"])
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_bad_input_gets_aws_errors(self):
        bucket = self.bucket()
        name = unique_name("bad")
        fh = self.server.client("firehose", validate=False)
        self.assertFirehoseError("InvalidArgumentException", fh.create_delivery_stream,
                                 DeliveryStreamName=name,
                                 ExtendedS3DestinationConfiguration=self.destination("no-such-bucket"),
                                 message="does not exist")
        self.assertFirehoseError("InvalidArgumentException", fh.create_delivery_stream,
                                 DeliveryStreamName=name,
                                 ExtendedS3DestinationConfiguration=self.destination(
                                     bucket, Prefix="!{unknown:thing}/"))
        self.assertFirehoseError("InvalidArgumentException", fh.create_delivery_stream,
                                 DeliveryStreamName=name,
                                 SplunkDestinationConfiguration={"HECEndpoint": "https://x", "HECEndpointType": "Raw",
                                                                 "HECToken": "t", "S3Configuration": {
                                                                     "RoleARN": "r", "BucketARN": "arn:aws:s3:::b"}},
                                 message="SplunkDestinationConfiguration")
        self.assertFirehoseError("ValidationException", fh.create_delivery_stream,
                                 DeliveryStreamName="bad name!",
                                 ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.assertFirehoseError("ValidationException", fh.create_delivery_stream,
                                 DeliveryStreamName=name,
                                 ExtendedS3DestinationConfiguration=self.destination(
                                     bucket, BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))
        self.assertFirehoseError("ResourceNotFoundException", fh.describe_delivery_stream,
                                 DeliveryStreamName="nobody-" + name)
        wrong = self.server.client("firehose", credentials=(self.server.credentials()[0], "x" * 40))
        err = self.assertFirehoseError("InvalidSignatureException", wrong.list_delivery_streams)
        k = self.server.create_key("producer", ["some-stream"])
        producer = self.server.client("firehose", credentials=(k["AccessKeyId"], k["SecretAccessKey"]),
                                      validate=False)
        err = self.assertFirehoseError("AccessDeniedException", producer.create_delivery_stream,
                                       DeliveryStreamName=name,
                                       ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.assertIn("firehose:CreateDeliveryStream", err["Message"])
        # Nothing was left behind by the refusals.
        self.assertNotIn("firehose-" + name, self.kinesis.list_streams()["StreamNames"])

        fh.create_delivery_stream(DeliveryStreamName=name,
                                  ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.assertFirehoseError("ResourceInUseException", fh.create_delivery_stream,
                                 DeliveryStreamName=name,
                                 ExtendedS3DestinationConfiguration=self.destination(bucket))
        self.wait_active(name)
        err = self.assertFirehoseError("ValidationException", fh.put_record_batch,
                                       DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
        self.assertIn("500", err["Message"])
        self.assertFirehoseError("ValidationException", fh.put_record,
                                 DeliveryStreamName=name, Record={"Data": b"x" * (1024000 + 1)},
                                 message="1024000")
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1024000})
        self.firehose.delete_delivery_stream(DeliveryStreamName=name)

    def test_aws_cli_from_a_json_file(self):
        bucket = self.bucket()
        name = unique_name("cli")
        # The shape of AWS's documentation example (create-delivery-stream --cli-input-json).
        spec = {"DeliveryStreamName": name, "DeliveryStreamType": "DirectPut",
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose_delivery_role",
                    "BucketARN": "arn:aws:s3:::" + bucket, "Prefix": "cli/",
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                    "CompressionFormat": "UNCOMPRESSED",
                    "CloudWatchLoggingOptions": {"Enabled": False}}}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        try:
            out = aws_cli(self.server, "create-delivery-stream", "--cli-input-json",
                          "file://" + f.name, service="firehose")
        finally:
            os.unlink(f.name)
        self.assertTrue(out["DeliveryStreamARN"].endswith("/" + name))
        self.wait_active(name)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            if aws_cli_is_v2():  # v2 takes blobs as base64; v1 as the bytes themselves
                json.dump([{"Data": "aGVsbG8K"}, {"Data": "d29ybGQK"}], f)
            else:
                json.dump([{"Data": "hello\n"}, {"Data": "world\n"}], f)
        try:
            out = aws_cli(self.server, "put-record-batch", "--delivery-stream-name", name,
                          "--records", "file://" + f.name, service="firehose")
        finally:
            os.unlink(f.name)
        self.assertEqual(out["FailedPutCount"], 0)
        desc = aws_cli(self.server, "describe-delivery-stream", "--delivery-stream-name", name,
                       service="firehose")
        self.assertEqual(desc["DeliveryStreamDescription"]["DeliveryStreamStatus"], "ACTIVE")
        objs = wait_for(lambda: self.objects(bucket, "cli/"), 30, "delivery")
        self.assertEqual(sorted(b"".join(objs.values()).splitlines()), [b"hello", b"world"])
        aws_cli(self.server, "delete-delivery-stream", "--delivery-stream-name", name,
                service="firehose")


if __name__ == "__main__":
    unittest.main()
