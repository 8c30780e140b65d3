"""SigV4 authentication: the generated root credentials, wrong secret, unknown key, clock skew,
tampered bodies, missing signatures, --auth none, MILLRACE_ROOT_* keys."""

import datetime
import os
import re
import stat
import unittest

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from harness import KinesisTestCase, millrace_only, skewed_clock, unique_name

AMZ_DATE = "%Y%m%dT%H%M%SZ"
SIG_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                "for details.")


def parse_amz(s):
    return datetime.datetime.strptime(s, AMZ_DATE).replace(tzinfo=datetime.timezone.utc)


class MissingSignatureTest(KinesisTestCase):
    """Also runs against kinesalite, which checks that a signature is there."""

    def test_no_authorization(self):
        r = self.raw.call("ListStreams", {}, sign=False)
        self.assertRawError(r, "MissingAuthenticationTokenException", "Missing Authentication Token")

    def test_incomplete_authorization_header(self):
        r = self.raw.call("ListStreams", {}, sign=False,
                          headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request",
                                   "X-Amz-Date": "20150830T123600Z"})
        self.assertRawError(r, "IncompleteSignatureException")


@millrace_only("kinesalite checks no signature")
class SignatureTest(KinesisTestCase):

    def test_generated_credentials_file(self):
        path = self.server.credentials_file
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "credentials file mode is %o" % mode)
        key, secret = self.server.credentials()
        self.assertTrue(key and secret)
        # botocore finds them through AWS_SHARED_CREDENTIALS_FILE's setting, profile default.
        s = botocore.session.Session()
        s.set_config_variable("credentials_file", path)
        s.set_config_variable("config_file", os.devnull)
        creds = s.get_credentials()
        self.assertEqual((creds.access_key, creds.secret_key), (key, secret))
        client = boto3.session.Session(botocore_session=s).client(
            "kinesis", endpoint_url=self.server.endpoint, region_name="us-east-1")
        self.assertIn("StreamNames", client.list_streams())

    def test_wrong_secret(self):
        key, secret = self.server.credentials()
        bad = self.server.client(credentials=(key, secret[:-1] + ("A" if secret[-1] != "A" else "B")))
        with self.assertAwsError("InvalidSignatureException", SIG_MISMATCH):
            bad.list_streams()
        r = self.raw.call("ListStreams", {}, credentials=(key, "x" + secret))
        self.assertRawError(r, "InvalidSignatureException", SIG_MISMATCH)

    def test_unknown_key(self):
        other = self.server.client(credentials=("AKIAUNKNOWNKEY000000", "s3cr3t/unknown/key/000000000000000000000"))
        with self.assertAwsError("UnrecognizedClientException",
                                 "The security token included in the request is invalid."):
            other.list_streams()

    def test_tampered_body(self):
        """Sign one body, send another of the same length."""
        name = unique_name("tamper")
        self.kinesis.create_stream(StreamName=name, ShardCount=1)
        good = ('{"StreamName": "%s"}' % name).encode()
        bad = ('{"StreamName": "%s"}' % name.replace("t", "x", 1)).encode()
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=good,
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "Kinesis_20131202.DescribeStreamSummary"})
        SigV4Auth(Credentials(*self.server.credentials()), "kinesis", "us-east-1").add_auth(req)
        headers = dict(req.prepare().headers.items())
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("POST", "/", body=bad, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.assertEqual(resp.status, 400, body)
        self.assertIn(b"InvalidSignatureException", body)

    def test_clock_skew(self):
        # The issue fixes the window at 15 minutes (AWS's SigV4 window; some Kinesis
        # endpoints have been reported to answer "- 15 min." instead).
        now = datetime.datetime.now(datetime.timezone.utc)
        r = self.raw.call("ListStreams", {}, clock_skew=datetime.timedelta(minutes=-20))
        self.assertRawError(r, "InvalidSignatureException")
        m = re.match(r"^Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
                     r"\((\d{8}T\d{6}Z) - 15 min\.\)$", r.message or "")
        self.assertTrue(m, r.message)
        signed, limit, server_now = (parse_amz(x) for x in m.groups())
        self.assertLess(abs((signed - (now - datetime.timedelta(minutes=20))).total_seconds()), 60)
        self.assertLess(abs((server_now - now).total_seconds()), 60)
        self.assertEqual(server_now - limit, datetime.timedelta(minutes=15))

        r = self.raw.call("ListStreams", {}, clock_skew=datetime.timedelta(minutes=20))
        self.assertRawError(r, "InvalidSignatureException")
        m = re.match(r"^Signature not yet current: (\d{8}T\d{6}Z) is still later than (\d{8}T\d{6}Z) "
                     r"\((\d{8}T\d{6}Z) \+ 15 min\.\)$", r.message or "")
        self.assertTrue(m, r.message)
        signed, limit, server_now = (parse_amz(x) for x in m.groups())
        self.assertEqual(limit - server_now, datetime.timedelta(minutes=15))

        # boto3 with a clock 20 min slow gets the same error.
        with skewed_clock(datetime.timedelta(minutes=-20)):
            with self.assertAwsError("InvalidSignatureException", message_regex=r"^Signature expired: "):
                self.kinesis.list_streams()
        # Within the 15 minutes: accepted.
        r = self.raw.call("ListStreams", {}, clock_skew=datetime.timedelta(minutes=10))
        self.assertEqual(r.status, 200, r)
        r = self.raw.call("ListStreams", {}, clock_skew=datetime.timedelta(minutes=-10))
        self.assertEqual(r.status, 200, r)

    def test_unsigned_rejected(self):
        anon = self.server.session().client("kinesis", endpoint_url=self.server.endpoint,
                                            config=Config(signature_version=UNSIGNED,
                                                          retries={"max_attempts": 0}))
        with self.assertAwsError("MissingAuthenticationTokenException", "Missing Authentication Token"):
            anon.list_streams()

    def test_credentials_survive_restart(self):
        before = self.server.credentials()
        self.server.restart()
        self.assertEqual(self.server.credentials(), before)
        self.assertIn("StreamNames", self.server.client().list_streams())


@millrace_only("--auth none is a Millrace flag")
class AuthNoneTest(KinesisTestCase):
    server_options = {"auth": False}

    def test_unsigned_requests_accepted(self):
        name = unique_name("noauth")
        r = self.raw.call("CreateStream", {"StreamName": name, "ShardCount": 1}, sign=False)
        self.assertEqual(r.status, 200, r)
        anon = self.server.session(credentials=("x", "y")).client(
            "kinesis", endpoint_url=self.server.endpoint,
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 0}))
        self.wait_active(name)
        anon.put_record(StreamName=name, Data=b"anon", PartitionKey="k")
        # Any signature is accepted too.
        other = self.server.client(credentials=("AKIAWHATEVER", "whatever"))
        self.assertIn(name, other.list_streams()["StreamNames"])


@millrace_only("MILLRACE_ROOT_* are Millrace's")
class RootKeyFromEnvTest(KinesisTestCase):
    KEY = "AKIAMILLRACEROOT0001"
    SECRET = "rootSecretFromEnv/0123456789abcdefghijklmn"
    server_options = {"env": {"MILLRACE_ROOT_ACCESS_KEY_ID": KEY,
                              "MILLRACE_ROOT_SECRET_ACCESS_KEY": SECRET}}

    @classmethod
    def setUpClass(cls):
        # The generic setup reads DIR/credentials; with an env root key use the key itself.
        from harness import new_server
        cls.server = new_server(**cls.server_options)
        try:
            cls.server.start()
            cls.kinesis = cls.server.client(credentials=(cls.KEY, cls.SECRET))
            cls.raw = cls.server.raw(credentials=(cls.KEY, cls.SECRET))
        except BaseException:
            cls.server.close()
            raise

    def test_env_root_key_works(self):
        self.assertIn("StreamNames", self.kinesis.list_streams())
        self.create_stream(shards=1)
        bad = self.server.client(credentials=(self.KEY, self.SECRET + "x"))
        with self.assertAwsError("InvalidSignatureException"):
            bad.list_streams()


if __name__ == "__main__":
    unittest.main()
