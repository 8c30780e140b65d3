"""The S3 API with the clients users have (issue #13): the AWS CLI (`aws s3`, `aws s3api`),
rclone, s3cmd, the AWS SDK for JavaScript v3 with its default settings (checksums and
aws-chunked bodies), and Millrace's own S3 client (a dataset whose target is this server).
A consumer delivers into a bucket; each client downloads exactly what was delivered, and
uploads what the next one reads back."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from botocore.config import Config

from harness import REPO, MillraceServer, millrace_only
from test_consumers import Api, dataset_files, wait_for

NODE_SCRIPT = os.path.join(REPO, "tests", "e2e", "s3_sdk_v3.mjs")


def tree(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


@millrace_only("the S3 API with real clients")
class S3ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.api = Api(cls.server)
        kinesis = cls.server.client()
        kinesis.create_stream(StreamName="events", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="events", WaiterConfig={"Delay": 0.2})
        st, doc = cls.api.call("POST", "/api/v1/consumers", {
            "name": "to-lake", "stream": "events", "buffer_interval_seconds": 1,
            "dataset": {"name": "lake", "file_type": "jsonl"}})
        assert st == 201, doc
        for batch in range(4):
            kinesis.put_records(StreamName="events", Records=[
                {"Data": json.dumps({"n": batch * 50 + i}).encode(), "PartitionKey": str(i)}
                for i in range(50)])
        cls.root = os.path.join(cls.server.data_dir, "datasets", "lake")
        wait_for(lambda: sum(len(tree(cls.root)[f].splitlines())
                             for f in dataset_files(cls.server, "lake")) >= 200, 30, "delivery")
        cls.delivered = tree(cls.root)
        cls.key_id, cls.secret = cls.server.credentials()
        cls.s3 = cls.server.session().client(
            "s3", endpoint_url=cls.server.endpoint, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def tmp(self):
        d = tempfile.mkdtemp(prefix="millrace-s3c-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def aws(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_SHARED_CREDENTIALS_FILE": self.server.credentials_file,
                    "AWS_CONFIG_FILE": os.devnull, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        p = subprocess.run(["aws", "--endpoint-url", self.server.endpoint] + list(args),
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, "aws %s\n%s\n%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def test_aws_cli(self):
        listing = self.aws("s3", "ls", "s3://lake/", "--recursive")
        self.assertEqual(sorted(l.split()[-1] for l in listing.splitlines()), sorted(self.delivered))
        down = self.tmp()
        self.aws("s3", "sync", "s3://lake", down)
        self.assertEqual(tree(down), self.delivered)
        # Up again into a bucket of its own (multipart above 8 MiB), and back.
        self.aws("s3", "mb", "s3://cli-bucket")
        with open(os.path.join(down, "big.bin"), "wb") as f:
            f.write(os.urandom(9 << 20))
        self.aws("s3", "sync", down, "s3://cli-bucket/copy")
        again = self.tmp()
        self.aws("s3", "cp", "s3://cli-bucket/copy", again, "--recursive")
        self.assertEqual(tree(again), tree(down))
        head = json.loads(self.aws("s3api", "head-object", "--bucket", "cli-bucket",
                                   "--key", "copy/big.bin"))
        self.assertTrue(head["ETag"].strip('"').endswith("-2"), head)
        self.aws("s3", "rm", "s3://cli-bucket", "--recursive")
        self.aws("s3", "rb", "s3://cli-bucket")

    def test_rclone(self):
        conf = os.path.join(self.tmp(), "rclone.conf")
        with open(conf, "w") as f:
            f.write("[m]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                    "secret_access_key = %s\nendpoint = %s\nregion = us-east-1\n"
                    "force_path_style = true\n" % (self.key_id, self.secret, self.server.endpoint))

        def rclone(*args):
            # Without the caller's AWS_* settings (a CA bundle, a profile): only the config.
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            p = subprocess.run(["rclone", "--config", conf, "--retries", "1"] + list(args),
                               capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(p.returncode, 0, "rclone %s\n%s\n%s" % (args, p.stdout, p.stderr))
            return p.stdout
        down = self.tmp()
        rclone("copy", "m:lake", down)
        self.assertEqual(tree(down), self.delivered)
        rclone("mkdir", "m:rclone-bucket")
        with open(os.path.join(down, "big.bin"), "wb") as f:
            f.write(os.urandom(12 << 20))  # above rclone's 5 MiB chunk: multipart
        rclone("copy", down, "m:rclone-bucket/up")
        rclone("check", down, "m:rclone-bucket/up")  # sizes and MD5s
        again = self.tmp()
        rclone("copy", "m:rclone-bucket/up", again)
        self.assertEqual(tree(again), tree(down))
        rclone("purge", "m:rclone-bucket")
        self.assertNotIn("rclone-bucket", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_s3cmd(self):
        host = "127.0.0.1:%d" % self.server.port
        conf = os.path.join(self.tmp(), "s3cfg")
        with open(conf, "w") as f:
            f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\n"
                    "host_bucket = %s\nuse_https = False\nsignature_v2 = False\n"
                    "bucket_location = us-east-1\n" % (self.key_id, self.secret, host, host))

        def s3cmd(*args):
            p = subprocess.run(["s3cmd", "-c", conf] + list(args), capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, "s3cmd %s\n%s\n%s" % (args, p.stdout, p.stderr))
            return p.stdout
        down = self.tmp()
        s3cmd("sync", "s3://lake/", down + "/")
        self.assertEqual(tree(down), self.delivered)
        s3cmd("mb", "s3://s3cmd-bucket")
        with open(os.path.join(down, "big.bin"), "wb") as f:
            f.write(os.urandom(20 << 20))  # above s3cmd's 15 MiB chunk: multipart
        s3cmd("put", "--recursive", down + "/", "s3://s3cmd-bucket/up/")
        again = self.tmp()
        s3cmd("get", "--recursive", "s3://s3cmd-bucket/up/", again + "/")
        self.assertEqual(tree(again), tree(down))
        s3cmd("del", "--recursive", "--force", "s3://s3cmd-bucket/")
        s3cmd("rb", "s3://s3cmd-bucket")

    def test_javascript_sdk_v3_with_its_defaults(self):
        key = sorted(self.delivered)[0]
        p = subprocess.run(["node", NODE_SCRIPT, self.server.endpoint, self.key_id, self.secret,
                            "lake", key], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(bytes.fromhex(out["downloaded"]), self.delivered[key])
        self.assertEqual(sorted(out["listed"]), sorted(self.delivered))
        # What the SDK uploaded (with its default CRC32 in an aws-chunked trailer) is intact.
        for name, digest in out["uploaded"].items():
            body = self.s3.get_object(Bucket="sdk-bucket", Key=name)["Body"].read()
            self.assertEqual(hashlib.sha256(body).hexdigest(), digest, name)

    def test_millraces_own_s3_client_delivers_into_this_server(self):
        self.s3.create_bucket(Bucket="loopback")
        st, doc = self.api.call("POST", "/api/v1/consumers", {
            "name": "to-self", "stream": "events", "buffer_interval_seconds": 1,
            "starting_position": "TRIM_HORIZON",
            "dataset": {"name": "via-s3", "file_type": "jsonl", "target": {
                "type": "s3", "endpoint_url": self.server.endpoint, "region": "us-east-1",
                "bucket": "loopback", "prefix": "raw/", "access_key_id": self.key_id,
                "secret_access_key": self.secret}}})
        self.assertEqual(st, 201, doc)

        def lines():
            keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="loopback").get("Contents", [])]
            got = []
            for k in keys:
                got += self.s3.get_object(Bucket="loopback", Key=k)["Body"].read().splitlines()
            return got
        wait_for(lambda: len(lines()) >= 200, 60, "delivery through the S3 API")
        want = sorted(l for data in self.delivered.values() for l in data.splitlines())
        self.assertEqual(sorted(lines()), want)


if __name__ == "__main__":
    unittest.main()
