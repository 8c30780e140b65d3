"""The S3 API (first part of issue #13): local datasets are buckets that boto3 and the AWS
CLI read, unchanged but for the endpoint URL (docs/s3-api.md)."""
import hashlib
import json
import os
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from botocore.config import Config
from botocore.exceptions import ClientError

from harness import MillraceServer, millrace_only
from test_consumers import Api, dataset_files, wait_for


@millrace_only("the S3 API over datasets")
class S3ReadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.api = Api(cls.server)
        kinesis = cls.server.client()
        kinesis.create_stream(StreamName="orders", ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName="orders", WaiterConfig={"Delay": 0.2})
        for name in ("orders-lake", "PROD_ACME_Shipment"):
            st, doc = cls.api.call("POST", "/api/v1/consumers", {
                "name": "to-" + name, "stream": "orders", "buffer_interval_seconds": 1,
                "dataset": {"name": name, "file_type": "jsonl"}})
            assert st == 201, doc
        for batch in range(3):
            kinesis.put_records(StreamName="orders", Records=[
                {"Data": json.dumps({"n": batch * 100 + i}).encode(), "PartitionKey": str(i)}
                for i in range(100)])
        root = os.path.join(cls.server.data_dir, "datasets", "orders-lake")
        wait_for(lambda: sum(len(open(os.path.join(root, f), "rb").read().splitlines())
                             for f in dataset_files(cls.server, "orders-lake")) >= 300, 30,
                 "delivery")
        wait_for(lambda: len(dataset_files(cls.server, "PROD_ACME_Shipment")) > 0, 30, "delivery")
        cls.root = root
        cls.files = dataset_files(cls.server, "orders-lake")
        cls.s3 = cls.server.session().client(
            "s3", endpoint_url=cls.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def bytes_of(self, key):
        with open(os.path.join(self.root, key), "rb") as f:
            return f.read()

    def error(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response

    def test_datasets_are_buckets(self):
        st, doc = self.api.call("GET", "/api/v1/datasets/orders-lake")
        self.assertEqual((doc["bucket"], doc["prefix"]), ("orders-lake", ""))
        st, odd = self.api.call("GET", "/api/v1/datasets/PROD_ACME_Shipment")
        self.assertRegex(odd["bucket"], r"^prod-acme-shipment-[0-9a-f]{8}$")
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertEqual(sorted(names), sorted(["orders-lake", odd["bucket"]]))
        self.s3.head_bucket(Bucket="orders-lake")
        self.assertEqual(self.error(self.s3.head_bucket, Bucket="nope")["Error"]["Code"], "404")
        self.assertIn(self.s3.get_bucket_location(Bucket="orders-lake")["LocationConstraint"],
                      (None, ""))
        # The describe answer sent back as it is changes nothing; another bucket is refused.
        st, again = self.api.call("PUT", "/api/v1/datasets/orders-lake", doc)
        self.assertEqual(st, 200, again)
        st, bad = self.api.call("PUT", "/api/v1/datasets/orders-lake", {"bucket": "other"})
        self.assertEqual(st, 400, bad)
        self.assertIn("bucket", bad["error"]["message"])

    def test_list_objects_v2_prefix_delimiter_and_pages(self):
        got = self.s3.list_objects_v2(Bucket="orders-lake")
        self.assertEqual([o["Key"] for o in got["Contents"]], self.files)
        self.assertEqual(got["KeyCount"], len(self.files))
        for o in got["Contents"]:
            self.assertEqual(o["ETag"], '"%s"' % hashlib.md5(self.bytes_of(o["Key"])).hexdigest())
            self.assertEqual(o["Size"], len(self.bytes_of(o["Key"])))
        year = self.files[0].split("/")[0] + "/"
        top = self.s3.list_objects_v2(Bucket="orders-lake", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], [year])
        self.assertNotIn("Contents", top)
        hour = self.files[0].rsplit("/", 1)[0] + "/"
        deep = self.s3.list_objects_v2(Bucket="orders-lake", Prefix=hour, Delimiter="/")
        self.assertEqual([o["Key"] for o in deep["Contents"]],
                         [f for f in self.files if f.startswith(hour)])
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket="orders-lake", PaginationConfig={"PageSize": 1})
        self.assertEqual([o["Key"] for p in pages for o in p.get("Contents", [])], self.files)
        after = self.s3.list_objects_v2(Bucket="orders-lake", StartAfter=self.files[0])
        self.assertEqual([o["Key"] for o in after.get("Contents", [])], self.files[1:])
        none = self.s3.list_objects_v2(Bucket="orders-lake", Prefix="nothing/")
        self.assertEqual(none["KeyCount"], 0)
        v1 = self.s3.get_paginator("list_objects").paginate(
            Bucket="orders-lake", PaginationConfig={"PageSize": 1})
        self.assertEqual([o["Key"] for p in v1 for o in p.get("Contents", [])], self.files)
        versions = self.s3.get_paginator("list_object_versions").paginate(
            Bucket="orders-lake", PaginationConfig={"PageSize": 1})
        seen = [v for p in versions for v in p.get("Versions", [])]
        self.assertEqual([v["Key"] for v in seen], self.files)
        self.assertEqual({(v["VersionId"], v["IsLatest"]) for v in seen}, {("null", True)})
        resp = self.error(self.s3.list_objects_v2, Bucket="orders-lake", ContinuationToken="bad!")
        self.assertEqual(resp["Error"]["Code"], "InvalidArgument")
        self.assertEqual(self.error(self.s3.list_objects_v2, Bucket="nope")["Error"]["Code"],
                         "NoSuchBucket")
        # A long name is echoed abbreviated, not whole.
        resp = self.error(self.s3.list_objects_v2, Bucket="b" * 255)  # botocore allows up to 255
        self.assertEqual(resp["Error"]["Code"], "NoSuchBucket")
        self.assertLess(len(resp["Error"].get("BucketName", "")), 100)

    def test_get_and_head_object_with_ranges_and_conditions(self):
        key = self.files[0]
        data = self.bytes_of(key)
        obj = self.s3.get_object(Bucket="orders-lake", Key=key)
        self.assertEqual(obj["Body"].read(), data)
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        self.assertEqual(obj["ETag"], etag)
        head = self.s3.head_object(Bucket="orders-lake", Key=key)
        self.assertEqual((head["ContentLength"], head["ETag"]), (len(data), etag))
        part = self.s3.get_object(Bucket="orders-lake", Key=key, Range="bytes=2-11")
        self.assertEqual(part["Body"].read(), data[2:12])
        self.assertEqual(part["ContentRange"], "bytes 2-11/%d" % len(data))
        tail = self.s3.get_object(Bucket="orders-lake", Key=key, Range="bytes=-5")
        self.assertEqual(tail["Body"].read(), data[-5:])
        resp = self.error(self.s3.get_object, Bucket="orders-lake", Key=key,
                          Range="bytes=%d-" % len(data))
        self.assertEqual(resp["Error"]["Code"], "InvalidRange")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 416)
        resp = self.error(self.s3.get_object, Bucket="orders-lake", Key=key, IfMatch='"0000"')
        self.assertEqual(resp["Error"]["Code"], "PreconditionFailed")
        resp = self.error(self.s3.get_object, Bucket="orders-lake", Key=key, IfNoneMatch=etag)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 304)
        self.s3.get_object(Bucket="orders-lake", Key=key, IfMatch=etag)
        # A file the local store did not write (no MD5 attribute): its MD5 is computed.
        plain = os.path.join(self.root, "zz-added-by-hand")
        with open(plain, "wb") as f:
            f.write(b"hello" * 100000)
        try:
            got = self.s3.get_object(Bucket="orders-lake", Key="zz-added-by-hand")
            self.assertEqual(got["ETag"], '"%s"' % hashlib.md5(b"hello" * 100000).hexdigest())
            self.assertEqual(got["Body"].read(), b"hello" * 100000)
        finally:
            os.unlink(plain)
        resp = self.error(self.s3.get_object, Bucket="orders-lake", Key="no/such/key")
        self.assertEqual(resp["Error"]["Code"], "NoSuchKey")
        for bad in ("../orders-lake/" + key, "a/../../catalog.db", "/etc/passwd"):
            resp = self.error(self.s3.get_object, Bucket="orders-lake", Key=bad)
            self.assertEqual(resp["Error"]["Code"], "NoSuchKey", bad)
        resp = self.error(self.s3.get_object, Bucket="orders-lake", Key="k" * 1025)
        self.assertEqual(resp["Error"]["Code"], "KeyTooLongError")

    def test_presigned_urls_and_refusals(self):
        key = self.files[0]
        # SigV4 presigned (boto3 presigns S3 with the legacy SigV2 unless told; SigV2 is not
        # served).
        v4 = self.server.session().client(
            "s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        url = v4.generate_presigned_url("get_object", Params={"Bucket": "orders-lake",
                                                              "Key": key}, ExpiresIn=60)
        with urllib.request.urlopen(url) as r:
            self.assertEqual(r.read(), self.bytes_of(key))
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(tampered)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn(b"SignatureDoesNotMatch", cm.exception.read())
        producer = self.server.create_key("producer", ["orders"])
        other = self.server.session((producer["AccessKeyId"], producer["SecretAccessKey"])) \
            .client("s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
                    config=Config(s3={"addressing_style": "path"}))
        # The server sees a key made by another process within a second or so.
        codes = []
        wait_for(lambda: codes.append(self.error(other.list_objects_v2, Bucket="orders-lake")
                                      ["Error"]["Code"]) or codes[-1] != "InvalidAccessKeyId",
                 10, "the new key to be known")
        self.assertEqual(codes[-1], "AccessDenied")
        wrong = self.server.session(("AKIAWRONGWRONGWRONG0", "x" * 40)).client(
            "s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}))
        self.assertEqual(self.error(wrong.list_buckets)["Error"]["Code"], "InvalidAccessKeyId")
        resp = self.error(self.s3.put_object_tagging, Bucket="orders-lake", Key=key,
                          Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        self.assertEqual(resp["Error"]["Code"], "NotImplemented")

    def test_a_bucket_read_key_reads_its_buckets_and_nothing_else(self):
        k = self.server.create_key("bucket-read", buckets=["orders-lake"])
        self.assertEqual(set(k), {"AccessKeyId", "SecretAccessKey", "Scope", "Buckets"})
        creds = (k["AccessKeyId"], k["SecretAccessKey"])
        reader = self.server.session(creds).client(
            "s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))
        wait_for(lambda: self._known(reader), 10, "the new key to be known")
        self.assertEqual([b["Name"] for b in reader.list_buckets()["Buckets"]], ["orders-lake"])
        key = self.files[0]
        self.assertEqual(reader.get_object(Bucket="orders-lake", Key=key)["Body"].read(),
                         self.bytes_of(key))
        st, odd = self.api.call("GET", "/api/v1/datasets/PROD_ACME_Shipment")
        for call, kw in ((reader.list_objects_v2, {"Bucket": odd["bucket"]}),
                         (reader.head_bucket, {"Bucket": odd["bucket"]}),
                         (reader.put_object, {"Bucket": "orders-lake", "Key": "x", "Body": b"y"})):
            resp = self.error(call, **kw)
            self.assertIn(resp["Error"]["Code"], ("AccessDenied", "403"), call)
        # Its names are buckets: a stream of the same name stays out of its reach.
        kinesis = self.server.client()
        kinesis.create_stream(StreamName="orders-lake", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="orders-lake",
                                                 WaiterConfig={"Delay": 0.2})
        as_reader = self.server.client(credentials=creds)
        with self.assertRaises(ClientError) as cm:
            as_reader.describe_stream_summary(StreamName="orders-lake")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")

    def _known(self, client):
        try:
            client.list_buckets()
            return True
        except ClientError as e:
            return e.response["Error"]["Code"] != "InvalidAccessKeyId"

    def test_aws_cli_ls_cp_and_sync(self):
        env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=self.server.credentials_file,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null")

        def aws(*args):
            out = subprocess.run(["aws", "--endpoint-url", self.server.endpoint, "s3"] +
                                 list(args), capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout
        listed = aws("ls", "s3://orders-lake", "--recursive")
        self.assertEqual(sorted(line.split()[-1] for line in listed.splitlines()), self.files)
        self.assertIn("orders-lake", aws("ls"))
        with tempfile.TemporaryDirectory() as d:
            aws("sync", "s3://orders-lake", d)
            for f in self.files:
                with open(os.path.join(d, f), "rb") as got:
                    self.assertEqual(got.read(), self.bytes_of(f))
            aws("cp", "s3://orders-lake/" + self.files[-1], os.path.join(d, "one"))
            with open(os.path.join(d, "one"), "rb") as got:
                self.assertEqual(got.read(), self.bytes_of(self.files[-1]))


if __name__ == "__main__":
    unittest.main()
