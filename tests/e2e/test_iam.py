"""Accounts, users, roles, policies and STS (issue #14), with the clients customers use:
boto3 (its AssumeRole credential provider from a profile with role_arn, external_id and
source_profile), the AWS CLI (`aws s3 sync` with that profile), rclone with temporary
credentials, and hand-signed requests for what no client sends (`..` in a key).

Two customers, acme and globex, each get their files two ways (`millrace share --keys` and
`--role`); every attempt by one to reach the other's data is refused."""
import configparser
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import MillraceServer, botocore_has, millrace_only
from test_s3_writes import RawS3

QUICK = os.environ.get("MILLRACE_E2E_QUICK") == "1"
# AWS_ENDPOINT_URL and endpoint_url in profiles came in botocore 1.31.
BOTOCORE = tuple(int(x) for x in botocore.__version__.split(".")[:2])
HAS_ENDPOINT_CONFIG = BOTOCORE >= (1, 31)

FILES = {
    "acme/2026/12/01/a.json": b'{"customer":"acme","n":1}\n',
    "acme/2026/12/02/b.json": b'{"customer":"acme","n":2}\n',
    "globex/2026/12/01/c.json": b'{"customer":"globex","n":3}\n',
    "globex/secret.json": b'{"customer":"globex","secret":true}\n',
}


def s3_client(server, creds, token=None, v4=False):
    return boto3.client("s3", aws_access_key_id=creds[0], aws_secret_access_key=creds[1],
                        aws_session_token=token, endpoint_url=server.endpoint,
                        region_name="us-east-1",
                        config=Config(retries={"max_attempts": 0},
                                      signature_version="s3v4" if v4 else None,
                                      s3={"addressing_style": "path"}))


def code_of(fn):
    """The error code fn raises, or "OK"."""
    try:
        fn()
        return "OK"
    except ClientError as e:
        return e.response["Error"]["Code"]


@millrace_only("identities and policies")
class IamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.admin_s3 = s3_client(cls.server, cls.server.credentials())
        cls.admin_s3.create_bucket(Bucket="exports")
        cls.admin_s3.create_bucket(Bucket="internal")
        cls.admin_s3.put_object(Bucket="internal", Key="payroll.csv", Body=b"secret")
        for key, body in FILES.items():
            cls.admin_s3.put_object(Bucket="exports", Key=key, Body=body)
        cls.shared = {}
        for customer, account in (("acme", "111111111111"), ("globex", "222222222222")):
            cls.shared[customer, "keys"] = cls.share("--bucket", "exports", "--prefix", customer,
                                                     "--customer", customer, "--keys")
            cls.shared[customer, "role"] = cls.share(
                "--bucket", "exports", "--prefix", customer, "--customer", customer + "-role",
                "--role", "--customer-account", account)
        time.sleep(1.1)  # the server notices the catalog's changes within a second

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    @classmethod
    def share(cls, *args):
        p = subprocess.run([cls.server.binary, "share", "--data-dir", cls.server.data_dir] +
                           list(args), capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def keys_of(self, customer):
        s = self.shared[customer, "keys"]
        return s["AccessKeyId"], s["SecretAccessKey"]

    def assume(self, customer, external_id=None, source=None, **kw):
        s = self.shared[customer, "role"]
        src = source or self.shared[customer, "role"]
        sts = boto3.client("sts", aws_access_key_id=src["SourceAccessKeyId"],
                           aws_secret_access_key=src["SourceSecretAccessKey"],
                           endpoint_url=self.server.endpoint, region_name="us-east-1",
                           config=Config(retries={"max_attempts": 0}))
        args = {"RoleArn": s["RoleArn"], "RoleSessionName": customer + "-session"}
        if external_id is not False:
            args["ExternalId"] = external_id or s["ExternalId"]
        args.update(kw)
        return sts.assume_role(**args)

    # ---- the keys way ----------------------------------------------------------------
    def test_keys_read_their_own_files(self):
        for customer in ("acme", "globex"):
            s3 = s3_client(self.server, self.keys_of(customer))
            listed = [o["Key"] for o in
                      s3.list_objects_v2(Bucket="exports", Prefix=customer + "/")["Contents"]]
            self.assertEqual(listed, sorted(k for k in FILES if k.startswith(customer + "/")))
            for key in listed:
                self.assertEqual(s3.get_object(Bucket="exports", Key=key)["Body"].read(),
                                 FILES[key])
            # ListBuckets shows the one bucket they may list.
            self.assertEqual([b["Name"] for b in s3.list_buckets()["Buckets"]], ["exports"])

    def test_cross_customer_attempts_are_refused(self):
        acme = s3_client(self.server, self.keys_of("acme"))
        attempts = {
            "other prefix": lambda: acme.get_object(Bucket="exports", Key="globex/secret.json"),
            "other prefix head": lambda: acme.head_object(Bucket="exports",
                                                          Key="globex/secret.json"),
            "list other prefix": lambda: acme.list_objects_v2(Bucket="exports",
                                                              Prefix="globex/"),
            "list whole bucket": lambda: acme.list_objects_v2(Bucket="exports"),
            "list sibling prefix": lambda: acme.list_objects_v2(Bucket="exports",
                                                                Prefix="acme-evil/"),
            "other bucket": lambda: acme.get_object(Bucket="internal", Key="payroll.csv"),
            "list other bucket": lambda: acme.list_objects_v2(Bucket="internal"),
            "missing bucket": lambda: acme.list_objects_v2(Bucket="nope", Prefix="acme/"),
            "write own prefix": lambda: acme.put_object(Bucket="exports", Key="acme/x",
                                                        Body=b"x"),
            "delete own file": lambda: acme.delete_object(Bucket="exports",
                                                          Key="acme/2026/12/01/a.json"),
            "bucket policy": lambda: acme.get_bucket_policy(Bucket="exports"),
            "create bucket": lambda: acme.create_bucket(Bucket="acme-own"),
        }
        for what, attempt in attempts.items():
            with self.subTest(what):
                # A HEAD answer has no body: botocore reports its status.
                self.assertEqual(code_of(attempt), "403" if "head" in what else "AccessDenied")
        # Kinesis, IAM and the control API are closed to a share key.
        kinesis = self.server.client("kinesis", credentials=self.keys_of("acme"))
        self.assertEqual(code_of(lambda: kinesis.list_streams()), "AccessDeniedException")
        iam = self.server.client("iam", credentials=self.keys_of("acme"))
        self.assertEqual(code_of(lambda: iam.list_users()), "AccessDenied")
        self.assertEqual(code_of(lambda: iam.create_access_key(UserName="share-globex")),
                         "AccessDenied")

    def test_dot_segments_and_encoded_keys_do_not_leave_the_prefix(self):
        raw = RawS3(self.server, self.keys_of("acme"))
        for canonical, wire in (
                ("/exports/acme/../globex/secret.json", "/exports/acme/../globex/secret.json"),
                ("/exports/acme/../globex/secret.json",
                 "/exports/acme/%2E%2E/globex/secret.json"),
                ("/exports/acme/./../globex/secret.json",
                 "/exports/acme/%2e/%2e%2e/globex/secret.json"),
                ("/exports/acme//../globex/secret.json", "/exports/acme//../globex/secret.json"),
                ("/exports/acme%2F..%2Fglobex%2Fsecret.json",
                 "/exports/acme%2F..%2Fglobex%2Fsecret.json")):
            with self.subTest(wire):
                h, *_ = raw.request("GET", canonical)
                status, _, body = raw.send("GET", wire, h, b"")
                self.assertIn(status, (403, 404), body)
                self.assertNotIn(b"globex", body.replace(b"globex/secret.json", b""))
                self.assertNotIn(b"secret\":true", body)

    def test_presigned_urls_carry_their_signers_rights_only(self):
        acme = s3_client(self.server, self.keys_of("acme"), v4=True)
        globex = s3_client(self.server, self.keys_of("globex"), v4=True)
        # acme presigning globex's file: refused when used.
        url = acme.generate_presigned_url("get_object", Params={"Bucket": "exports",
                                                                "Key": "globex/secret.json"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=10)
        self.assertEqual(e.exception.code, 403)
        # globex's own presigned URL works, and cannot be pointed at another key.
        url = globex.generate_presigned_url("get_object", Params={"Bucket": "exports",
                                                                  "Key": "globex/secret.json"})
        self.assertEqual(urllib.request.urlopen(url, timeout=10).read(),
                         FILES["globex/secret.json"])
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url.replace("globex/secret.json", "acme/2026/12/01/a.json"),
                                   timeout=10)
        self.assertEqual(e.exception.code, 403)
        # boto3's default S3 presigning is Signature Version 2: refused with AWS's words.
        url = s3_client(self.server, self.keys_of("globex")).generate_presigned_url(
            "get_object", Params={"Bucket": "exports", "Key": "globex/secret.json"})
        if "AWSAccessKeyId=" in url:
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url, timeout=10)
            self.assertEqual(e.exception.code, 400)
            self.assertIn(b"Please use AWS4-HMAC-SHA256", e.exception.read())

    # ---- the role way ----------------------------------------------------------------
    def test_assume_role_with_external_id(self):
        out = self.assume("acme")
        c = out["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::000000000000:assumed-role/share-acme-role/acme-session")
        s3 = s3_client(self.server, (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="exports",
                                                       Prefix="acme/")["Contents"]]
        self.assertEqual(len(listed), 2)
        self.assertEqual(s3.get_object(Bucket="exports", Key=listed[0])["Body"].read(),
                         FILES[listed[0]])
        for what, attempt in {
                "other prefix": lambda: s3.get_object(Bucket="exports", Key="globex/secret.json"),
                "list other prefix": lambda: s3.list_objects_v2(Bucket="exports",
                                                                Prefix="globex/"),
                "other bucket": lambda: s3.get_object(Bucket="internal", Key="payroll.csv"),
                "write": lambda: s3.put_object(Bucket="exports", Key="acme/x", Body=b"x")}.items():
            with self.subTest(what):
                self.assertEqual(code_of(attempt), "AccessDenied")
        sts = boto3.client("sts", aws_access_key_id=c["AccessKeyId"],
                           aws_secret_access_key=c["SecretAccessKey"],
                           aws_session_token=c["SessionToken"],
                           endpoint_url=self.server.endpoint, region_name="us-east-1")
        self.assertEqual(sts.get_caller_identity()["Arn"], out["AssumedRoleUser"]["Arn"])
        # A presigned URL made with the session carries its token in the query.
        presigner = s3_client(self.server, (c["AccessKeyId"], c["SecretAccessKey"]),
                              c["SessionToken"], v4=True)
        url = presigner.generate_presigned_url("get_object", Params={"Bucket": "exports",
                                                                     "Key": listed[0]})
        self.assertIn("X-Amz-Security-Token=", url)
        self.assertEqual(urllib.request.urlopen(url, timeout=10).read(), FILES[listed[0]])
        url = presigner.generate_presigned_url("get_object", Params={
            "Bucket": "exports", "Key": "globex/secret.json"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=10)
        self.assertEqual(e.exception.code, 403)

    def test_assume_role_refusals(self):
        role_arn = self.shared["acme", "role"]["RoleArn"]
        expected = ("User: arn:aws:iam::111111111111:user/acme-role is not authorized to "
                    "perform: sts:AssumeRole on resource: " + role_arn)
        for what, attempt in {
                "wrong ExternalId": lambda: self.assume("acme", external_id="guessed-wrong"),
                "no ExternalId": lambda: self.assume("acme", external_id=False),
                "other customer's ExternalId": lambda: self.assume(
                    "acme", external_id=self.shared["globex", "role"]["ExternalId"])}.items():
            with self.subTest(what):
                with self.assertRaises(ClientError) as e:
                    attempt()
                self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")
                self.assertEqual(e.exception.response["Error"]["Message"], expected)
                self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        # globex's identity, with acme's ExternalId: its account is not trusted.
        with self.assertRaises(ClientError) as e:
            self.assume("acme", source=self.shared["globex", "role"])
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")
        # A role that does not exist answers the same as one that refuses.
        with self.assertRaises(ClientError) as e:
            self.assume("acme", RoleArn="arn:aws:iam::000000000000:role/share-nobody")
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")
        # Longer than the role's MaxSessionDuration (3600 by default).
        self.assertEqual(code_of(lambda: self.assume("acme", DurationSeconds=7200)),
                         "ValidationError")

    def test_session_tokens_are_bound_to_their_keys(self):
        a = self.assume("acme")["Credentials"]
        g = self.assume("globex")["Credentials"]
        for what, (key, secret, token), code in (
                ("globex's token with acme's key", (a["AccessKeyId"], a["SecretAccessKey"],
                                                   g["SessionToken"]), "InvalidToken"),
                ("no token", (a["AccessKeyId"], a["SecretAccessKey"], None), "InvalidToken"),
                ("forged token", (a["AccessKeyId"], a["SecretAccessKey"],
                                  a["SessionToken"][:-8] + "AAAAAAAA"), "InvalidToken"),
                ("long-term key with a token", self.keys_of("acme") + (a["SessionToken"],),
                 "InvalidToken")):
            with self.subTest(what):
                s3 = s3_client(self.server, (key, secret), token)
                self.assertEqual(code_of(lambda: s3.get_object(
                    Bucket="exports", Key="acme/2026/12/01/a.json")), code)
        kinesis = boto3.client("kinesis", aws_access_key_id=a["AccessKeyId"],
                               aws_secret_access_key=a["SecretAccessKey"],
                               aws_session_token=g["SessionToken"],
                               endpoint_url=self.server.endpoint, region_name="us-east-1",
                               config=Config(retries={"max_attempts": 0}))
        self.assertEqual(code_of(lambda: kinesis.list_streams()), "UnrecognizedClientException")

    def aws_files(self, tmp, customer):
        """~/.aws/config and credentials as docs/sharing.md shows them."""
        s = self.shared[customer, "role"]
        config, creds = os.path.join(tmp, "config"), os.path.join(tmp, "credentials")
        with open(creds, "w") as f:
            f.write("[%s-source]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (customer, s["SourceAccessKeyId"], s["SourceSecretAccessKey"]))
        with open(config, "w") as f:
            f.write("[profile %s]\nrole_arn = %s\nexternal_id = %s\nsource_profile = %s-source\n"
                    "region = us-east-1\n" % (customer, s["RoleArn"], s["ExternalId"], customer))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=creds,
                   AWS_ENDPOINT_URL=self.server.endpoint)
        return env

    @unittest.skipUnless(HAS_ENDPOINT_CONFIG, "AWS_ENDPOINT_URL needs botocore >= 1.31")
    def test_boto3_profile_with_role_and_external_id(self):
        tmp = tempfile.mkdtemp()
        try:
            env = self.aws_files(tmp, "acme")
            script = ("import boto3\n"
                      "s = boto3.Session(profile_name='acme')\n"
                      "print(s.client('sts').get_caller_identity()['Arn'])\n"
                      "s3 = s.client('s3')\n"
                      "for o in s3.list_objects_v2(Bucket='exports', Prefix='acme/')['Contents']:\n"
                      "    print(o['Key'])\n"
                      "try:\n"
                      "    s3.get_object(Bucket='exports', Key='globex/secret.json')\n"
                      "    print('LEAK')\n"
                      "except s3.exceptions.ClientError as e:\n"
                      "    print(e.response['Error']['Code'])\n")
            p = subprocess.run(["python3", "-c", script], env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.split()
            self.assertTrue(lines[0].startswith(
                "arn:aws:sts::000000000000:assumed-role/share-acme-role/"), lines)
            self.assertEqual(lines[1:3], sorted(k for k in FILES if k.startswith("acme/")))
            self.assertEqual(lines[3], "AccessDenied")
        finally:
            shutil.rmtree(tmp)

    @unittest.skipUnless(HAS_ENDPOINT_CONFIG and shutil.which("aws"),
                         "the AWS CLI with AWS_ENDPOINT_URL")
    def test_aws_cli_sync_with_the_role_profile(self):
        tmp = tempfile.mkdtemp()
        try:
            env = self.aws_files(tmp, "acme")
            dest = os.path.join(tmp, "acme")
            p = subprocess.run(["aws", "s3", "sync", "s3://exports/acme/", dest,
                                "--profile", "acme"], env=env, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = {}
            for d, _, files in os.walk(dest):
                for f in files:
                    with open(os.path.join(d, f), "rb") as fh:
                        got["acme/" + os.path.relpath(os.path.join(d, f), dest)] = fh.read()
            self.assertEqual(got, {k: v for k, v in FILES.items() if k.startswith("acme/")})
            p = subprocess.run(["aws", "s3", "sync", "s3://exports/globex/",
                                os.path.join(tmp, "g"), "--profile", "acme"], env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("AccessDenied", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "g", "secret.json")))
        finally:
            shutil.rmtree(tmp)

    @unittest.skipUnless(shutil.which("rclone"), "rclone (Debian's)")
    def test_rclone_with_temporary_credentials(self):
        c = self.assume("globex")["Credentials"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(RCLONE_CONFIG_M_TYPE="s3", RCLONE_CONFIG_M_PROVIDER="Other",
                   RCLONE_CONFIG_M_ACCESS_KEY_ID=c["AccessKeyId"],
                   RCLONE_CONFIG_M_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                   RCLONE_CONFIG_M_SESSION_TOKEN=c["SessionToken"],
                   RCLONE_CONFIG_M_ENDPOINT=self.server.endpoint,
                   RCLONE_CONFIG_M_REGION="us-east-1", RCLONE_CONFIG="/dev/null")
        tmp = tempfile.mkdtemp()
        try:
            p = subprocess.run(["rclone", "copy", "m:exports/globex", tmp], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(tmp, "secret.json"), "rb") as f:
                self.assertEqual(f.read(), FILES["globex/secret.json"])
            p = subprocess.run(["rclone", "lsf", "m:exports/acme"], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(p.stdout, "")
        finally:
            shutil.rmtree(tmp)

    def test_revoked_share_stops_working(self):
        extra = self.share("--bucket", "exports", "--prefix", "acme", "--customer", "temp",
                           "--keys")
        s3 = s3_client(self.server, (extra["AccessKeyId"], extra["SecretAccessKey"]))
        deadline = time.time() + 3
        while code_of(lambda: s3.list_objects_v2(Bucket="exports", Prefix="acme/")) != "OK":
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        p = subprocess.run([self.server.binary, "share", "revoke", "--data-dir",
                            self.server.data_dir, "--customer", "temp"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        deadline = time.time() + 3
        while code_of(lambda: s3.list_objects_v2(Bucket="exports", Prefix="acme/")) == "OK":
            self.assertLess(time.time(), deadline, "a revoked key still works")
            time.sleep(0.1)
        self.assertEqual(code_of(lambda: s3.list_objects_v2(Bucket="exports", Prefix="acme/")),
                         "InvalidAccessKeyId")


@millrace_only("IAM's API")
class IamApiTest(unittest.TestCase):
    """The operator manages identities with boto3's IAM client, unchanged."""

    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.iam = cls.server.client("iam")
        cls.kinesis = cls.server.client("kinesis")
        for name in ("orders", "payroll"):
            cls.kinesis.create_stream(StreamName=name, ShardCount=1)
            cls.kinesis.get_waiter("stream_exists").wait(StreamName=name,
                                                         WaiterConfig={"Delay": 0.2})

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def wait_allowed(self, fn):
        deadline = time.time() + 3
        while True:
            code = code_of(fn)
            if code == "OK" or time.time() > deadline:
                return code
            time.sleep(0.1)

    def test_users_keys_and_inline_policies(self):
        iam = self.iam
        user = iam.create_user(UserName="writer")["User"]
        self.assertEqual(user["Arn"], "arn:aws:iam::000000000000:user/writer")
        self.assertTrue(user["UserId"].startswith("AIDA"))
        self.assertEqual(code_of(lambda: iam.create_user(UserName="writer")),
                         "EntityAlreadyExists")
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:Describe*"],
             "Resource": "arn:aws:kinesis:*:*:stream/*"},
            {"Effect": "Deny", "Action": "kinesis:*",
             "Resource": "arn:aws:kinesis:*:*:stream/payroll"}]}
        iam.put_user_policy(UserName="writer", PolicyName="write", PolicyDocument=json.dumps(doc))
        self.assertEqual(iam.get_user_policy(UserName="writer", PolicyName="write")[
            "PolicyDocument"], doc)
        self.assertEqual(iam.list_user_policies(UserName="writer")["PolicyNames"], ["write"])
        key = iam.create_access_key(UserName="writer")["AccessKey"]
        creds = (key["AccessKeyId"], key["SecretAccessKey"])
        writer = self.server.client("kinesis", credentials=creds)
        put = lambda stream: writer.put_record(StreamName=stream, Data=b"x", PartitionKey="k")
        self.assertEqual(self.wait_allowed(lambda: put("orders")), "OK")
        # The explicit deny wins over the wildcard allow.
        self.assertEqual(code_of(lambda: put("payroll")), "AccessDeniedException")
        self.assertEqual(code_of(lambda: writer.get_shard_iterator(
            StreamName="orders", ShardId="shardId-000000000000", ShardIteratorType="LATEST")),
            "AccessDeniedException")
        self.assertEqual(code_of(lambda: writer.delete_stream(StreamName="orders")),
                         "AccessDeniedException")
        sts = self.server.client("sts", credentials=creds)
        self.assertEqual(sts.get_caller_identity()["Arn"], user["Arn"])
        # Up to two keys; a user with keys or policies is not deleted.
        iam.create_access_key(UserName="writer")
        self.assertEqual(code_of(lambda: iam.create_access_key(UserName="writer")),
                         "LimitExceeded")
        self.assertEqual(code_of(lambda: iam.delete_user(UserName="writer")), "DeleteConflict")
        for k in iam.list_access_keys(UserName="writer")["AccessKeyMetadata"]:
            iam.delete_access_key(UserName="writer", AccessKeyId=k["AccessKeyId"])
        iam.delete_user_policy(UserName="writer", PolicyName="write")
        iam.delete_user(UserName="writer")
        self.assertEqual(code_of(lambda: iam.get_user(UserName="writer")), "NoSuchEntity")
        deadline = time.time() + 3
        while code_of(lambda: put("orders")) == "OK":
            self.assertLess(time.time(), deadline, "a deleted user's key still works")
            time.sleep(0.1)

    def test_concurrent_changes_to_one_user_are_all_kept(self):
        # Two workers serve IAM; each change reads the user's document and writes it back.
        import concurrent.futures
        self.iam.create_user(UserName="busy")
        doc = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kinesis:ListShards", "Resource": "*"}]})

        def put(i):
            client = self.server.client("iam")
            client.put_user_policy(UserName="busy", PolicyName="p%02d" % i, PolicyDocument=doc)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(24)))
        self.assertEqual(sorted(self.iam.list_user_policies(UserName="busy")["PolicyNames"]),
                         ["p%02d" % i for i in range(24)])
        for i in range(24):
            self.iam.delete_user_policy(UserName="busy", PolicyName="p%02d" % i)
        self.iam.delete_user(UserName="busy")

    def test_malformed_policies_are_refused(self):
        self.iam.create_user(UserName="m")
        for doc, message in (
                ("{", "This policy contains invalid Json"),
                (json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}),
                 "Policy statement must contain resources."),
                (json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*",
                                            "Action": "s3:*", "Resource": "*"}]}),
                 "Policy document should not specify a principal.")):
            with self.subTest(message):
                with self.assertRaises(ClientError) as e:
                    self.iam.put_user_policy(UserName="m", PolicyName="p", PolicyDocument=doc)
                self.assertEqual(e.exception.response["Error"]["Code"], "MalformedPolicyDocument")
                self.assertEqual(e.exception.response["Error"]["Message"], message)
        self.iam.delete_user(UserName="m")

    def test_managed_policies_and_roles(self):
        iam = self.iam
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kinesis:ListShards", "kinesis:DescribeStreamSummary"],
             "Resource": "*"}]}
        policy = iam.create_policy(PolicyName="readers", PolicyDocument=json.dumps(doc))["Policy"]
        self.assertEqual(policy["Arn"], "arn:aws:iam::000000000000:policy/readers")
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
             "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust),
                               MaxSessionDuration=7200)["Role"]
        self.assertEqual(iam.get_role(RoleName="reader")["Role"]["AssumeRolePolicyDocument"],
                         trust)
        iam.attach_role_policy(RoleName="reader", PolicyArn=policy["Arn"])
        self.assertEqual([p["PolicyArn"] for p in iam.list_attached_role_policies(
            RoleName="reader")["AttachedPolicies"]], [policy["Arn"]])
        self.assertEqual(iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"], 1)
        self.assertEqual(iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")[
            "PolicyVersion"]["Document"], doc)
        self.assertEqual(code_of(lambda: iam.delete_policy(PolicyArn=policy["Arn"])),
                         "DeleteConflict")
        self.assertEqual(code_of(lambda: iam.delete_role(RoleName="reader")), "DeleteConflict")
        self.assertIn("reader", [r["RoleName"] for r in iam.list_roles()["Roles"]])

        def kinesis_as(c):
            return boto3.client("kinesis", aws_access_key_id=c["AccessKeyId"],
                                aws_secret_access_key=c["SecretAccessKey"],
                                aws_session_token=c["SessionToken"],
                                endpoint_url=self.server.endpoint, region_name="us-east-1",
                                config=Config(retries={"max_attempts": 0}))
        # The admin (this account's) assumes it; the session has the role's rights only.
        sts = self.server.client("sts")
        full = kinesis_as(sts.assume_role(RoleArn=role["Arn"], RoleSessionName="r1",
                                          DurationSeconds=7200)["Credentials"])
        time.sleep(0.1)
        self.assertEqual(code_of(lambda: full.list_shards(StreamName="orders")), "OK")
        self.assertEqual(code_of(lambda: full.describe_stream_summary(StreamName="orders")), "OK")
        self.assertEqual(code_of(lambda: full.put_record(StreamName="orders", Data=b"x",
                                                         PartitionKey="k")),
                         "AccessDeniedException")
        # A session policy narrows it: what both allow, nothing more.
        narrow_out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="n1", Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kinesis:ListShards", "kinesis:PutRecord"],
                 "Resource": "*"}]}))
        self.assertIn("PackedPolicySize", narrow_out)
        narrow = kinesis_as(narrow_out["Credentials"])
        self.assertEqual(code_of(lambda: narrow.list_shards(StreamName="orders")), "OK")
        self.assertEqual(code_of(lambda: narrow.describe_stream_summary(StreamName="orders")),
                         "AccessDeniedException")
        self.assertEqual(code_of(lambda: narrow.put_record(StreamName="orders", Data=b"x",
                                                           PartitionKey="k")),
                         "AccessDeniedException")
        # Role chaining (a session assuming a role) is limited to an hour, as in AWS.
        iam.put_role_policy(RoleName="reader", PolicyName="chain", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}))
        chained_creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="c0")["Credentials"]
        chained = boto3.client("sts", aws_access_key_id=chained_creds["AccessKeyId"],
                               aws_secret_access_key=chained_creds["SecretAccessKey"],
                               aws_session_token=chained_creds["SessionToken"],
                               endpoint_url=self.server.endpoint, region_name="us-east-1",
                               config=Config(retries={"max_attempts": 0}))
        time.sleep(0.1)
        self.assertEqual(code_of(lambda: chained.assume_role(
            RoleArn=role["Arn"], RoleSessionName="c1", DurationSeconds=7200)), "ValidationError")
        self.assertEqual(code_of(lambda: chained.assume_role(
            RoleArn=role["Arn"], RoleSessionName="c1", DurationSeconds=3600)), "OK")
        iam.update_assume_role_policy(RoleName="reader", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                 "Action": "sts:AssumeRole"}]}))
        deadline = time.time() + 3
        while code_of(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="x1")) == "OK":
            self.assertLess(time.time(), deadline, "the old trust policy still applies")
            time.sleep(0.1)
        iam.delete_role_policy(RoleName="reader", PolicyName="chain")
        iam.detach_role_policy(RoleName="reader", PolicyArn=policy["Arn"])
        iam.delete_policy(PolicyArn=policy["Arn"])
        iam.delete_role(RoleName="reader")
        self.assertEqual(code_of(lambda: iam.get_role(RoleName="reader")), "NoSuchEntity")

    @unittest.skipUnless(botocore_has("PutResourcePolicy"),
                         "this botocore predates Kinesis resource policies")
    def test_stream_resource_policy(self):
        arn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
        # A user of this account without policies of its own.
        self.iam.create_user(UserName="auditor")
        key = self.iam.create_access_key(UserName="auditor")["AccessKey"]
        auditor = self.server.client("kinesis",
                                     credentials=(key["AccessKeyId"], key["SecretAccessKey"]))
        # A user of another account (made by `millrace share --role`).
        share = subprocess.run(
            [self.server.binary, "share", "--data-dir", self.server.data_dir, "--bucket",
             "nobucket", "--customer", "partner", "--role", "--customer-account",
             "333333333333"], capture_output=True, text=True, timeout=30)
        self.assertEqual(share.returncode, 0, share.stderr)
        partner = json.loads(share.stdout)
        outsider = self.server.client("kinesis", credentials=(partner["SourceAccessKeyId"],
                                                              partner["SourceSecretAccessKey"]))
        time.sleep(1.1)
        put = lambda c: c.put_record(StreamName="orders", Data=b"x", PartitionKey="k")
        self.assertEqual(code_of(lambda: put(auditor)), "AccessDeniedException")
        self.kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::000000000000:user/auditor",
                                                          partner["SourceUserArn"]]},
                 "Action": "kinesis:PutRecord", "Resource": arn}]}))
        self.assertIn("kinesis:PutRecord",
                      self.kinesis.get_resource_policy(ResourceARN=arn)["Policy"])
        # In the stream's account, the stream's policy naming the user is enough...
        self.assertEqual(code_of(lambda: put(auditor)), "OK")
        self.assertEqual(code_of(lambda: auditor.put_record(StreamName="payroll", Data=b"x",
                                                            PartitionKey="k")),
                         "AccessDeniedException")
        # ...across accounts both sides must allow, and the partner's own policy does not.
        self.assertEqual(code_of(lambda: put(outsider)), "AccessDeniedException")
        self.assertEqual(code_of(lambda: self.kinesis.put_resource_policy(
            ResourceARN=arn, Policy='{"Statement":[{"Effect":"Allow","Action":"kinesis:*"}]}')),
            "InvalidArgumentException")
        self.kinesis.delete_resource_policy(ResourceARN=arn)
        self.assertEqual(code_of(lambda: put(auditor)), "AccessDeniedException")
        self.assertEqual(code_of(lambda: self.kinesis.delete_resource_policy(ResourceARN=arn)),
                         "ResourceNotFoundException")

    def test_bucket_policy_round_trip(self):
        s3 = self.server.client("s3")
        s3.create_bucket(Bucket="shared")
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
             "Resource": "arn:aws:s3:::shared/*"}]}
        s3.put_bucket_policy(Bucket="shared", Policy=json.dumps(doc))
        self.assertEqual(json.loads(s3.get_bucket_policy(Bucket="shared")["Policy"]), doc)
        s3.put_object(Bucket="shared", Key="k", Body=b"v")
        # The deny applies to the admin too (an explicit deny wins).
        deadline = time.time() + 3
        while code_of(lambda: s3.delete_object(Bucket="shared", Key="k")) != "AccessDenied":
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        self.assertEqual(code_of(lambda: s3.put_bucket_policy(Bucket="shared", Policy="nope")),
                         "MalformedPolicy")
        s3.delete_bucket_policy(Bucket="shared")
        self.assertEqual(code_of(lambda: s3.get_bucket_policy(Bucket="shared")),
                         "NoSuchBucketPolicy")

    def test_unsigned_query_requests_are_refused_before_their_body_is_read(self):
        import http.client
        for body in (b"Action=NoSuchThing&Version=2011-06-15", b"Action=AssumeRole&" + b"x" * 5000):
            c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            c.request("POST", "/", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            text = r.read()
            c.close()
            self.assertEqual(r.status, 403, text)
            self.assertIn(b"<Code>MissingAuthenticationToken</Code>", text)

    def test_get_session_token(self):
        sts = self.server.client("sts")
        c = sts.get_session_token(DurationSeconds=900)["Credentials"]
        temp = boto3.client("kinesis", aws_access_key_id=c["AccessKeyId"],
                            aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"],
                            endpoint_url=self.server.endpoint, region_name="us-east-1")
        self.assertIn("orders", temp.list_streams()["StreamNames"])
        temp_sts = boto3.client("sts", aws_access_key_id=c["AccessKeyId"],
                                aws_secret_access_key=c["SecretAccessKey"],
                                aws_session_token=c["SessionToken"],
                                endpoint_url=self.server.endpoint, region_name="us-east-1",
                                config=Config(retries={"max_attempts": 0}))
        self.assertEqual(code_of(lambda: temp_sts.get_session_token()), "AccessDenied")


if __name__ == "__main__":
    unittest.main()
