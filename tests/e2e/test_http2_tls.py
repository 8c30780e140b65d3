"""HTTP/2 and TLS on the one port: the AWS SDK for JavaScript v3 with its default (HTTP/2)
request handler, curl over h2c and h2, boto3 and the AWS CLI over TLS, certificate reload
on SIGHUP, and HTTP/2's bounds (the same as HTTP/1.1's)."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import REPO, MillraceServer, make_tls_files, millrace_only, unique_name


def wait_active(kinesis, stream, timeout=20.0):
    deadline = time.monotonic() + timeout
    while kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise AssertionError("stream %s not ACTIVE" % stream)
        time.sleep(0.05)

NODE_SCRIPT = os.path.join(REPO, "tests", "e2e", "kinesis_sdk_v3.mjs")


def run_node(server, stream, env=None):
    key, secret = server.credentials()
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["node", NODE_SCRIPT, server.endpoint, key, secret, stream],
                       capture_output=True, text=True, timeout=300, env=e)
    if p.returncode != 0:
        raise AssertionError("node %s failed (%d):\n%s\n%s\n%s" % (NODE_SCRIPT, p.returncode, p.stdout,
                                                                 p.stderr, server.log_tail(30)))
    return json.loads(p.stdout.strip().splitlines()[-1])


def curl(server, *args, ca=None):
    """curl ARGS; returns (exit code, stdout)."""
    cmd = ["curl", "-sS", "--max-time", "30"] + (["--cacert", ca] if ca else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def signed_put_record(server, stream, extra):
    """curl's own SigV4 (not botocore's) over the protocol `extra` picks."""
    key, secret = server.credentials()
    body = json.dumps({"StreamName": stream, "PartitionKey": "k", "Data": "aGVsbG8="})
    return curl(server, *extra, "-X", "POST", "--aws-sigv4", "aws:amz:us-east-1:kinesis",
                "--user", "%s:%s" % (key, secret), "-H", "X-Amz-Target: Kinesis_20131202.PutRecord",
                "-H", "Content-Type: application/x-amz-json-1.1", "--data-binary", body,
                "-w", "\\n%{http_version} %{http_code}", server.endpoint + "/",
                ca=server.tls["ca"] if server.tls else None)


def check_js_sdk(test, out):
    # The five PutRecords went concurrently, as streams of one connection: any order.
    test.assertEqual(out["read"][0], "first")
    test.assertEqual(sorted(out["read"][1:]), ["batch-%d" % i for i in range(5)])
    test.assertEqual(len(set(out["put"])), 6)
    test.assertEqual(out["error"]["name"], "ResourceNotFoundException")
    test.assertEqual(out["error"]["status"], 400)


@millrace_only("HTTP/2 and TLS are tested against the real binary")
class Http2CleartextTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer().start()
        cls.kinesis = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_javascript_sdk_v3_with_its_default_http2_handler(self):
        # Regression: the SDK's default handler speaks HTTP/2 with prior knowledge to an
        # http:// endpoint, and every call failed with "Protocol error".
        check_js_sdk(self, run_node(self.server, unique_name("js")))

    def test_curl_prior_knowledge_signed_with_curls_own_sigv4(self):
        stream = unique_name("curl")
        self.kinesis.create_stream(StreamName=stream, ShardCount=1)
        wait_active(self.kinesis, stream)
        rc, out = signed_put_record(self.server, stream, ["--http2-prior-knowledge"])
        self.assertEqual(rc, 0, out)
        body, status = out.rsplit("\n", 1)
        self.assertEqual(status, "2 200", out)
        self.assertIn("SequenceNumber", json.loads(body))
        # HTTP/1.1 on the same port, as before.
        rc, out = signed_put_record(self.server, stream, ["--http1.1"])
        self.assertEqual(out.rsplit("\n", 1)[1], "1.1 200", out)
        got = self.kinesis.get_records(ShardIterator=self.kinesis.get_shard_iterator(
            StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        self.assertEqual([r["Data"] for r in got["Records"]], [b"hello", b"hello"])

    def test_unsigned_and_forged_requests_are_refused_over_http2(self):
        rc, out = curl(self.server, "--http2-prior-knowledge", "-X", "POST",
                       "-H", "X-Amz-Target: Kinesis_20131202.ListStreams",
                       "-H", "Content-Type: application/x-amz-json-1.1", "--data-binary", "{}",
                       "-w", "\n%{http_version} %{http_code}", self.server.endpoint + "/")
        self.assertEqual(out.rsplit("\n", 1)[1], "2 400", out)
        self.assertIn("MissingAuthenticationToken", out)
        key, _ = self.server.credentials()
        rc, out = curl(self.server, "--http2-prior-knowledge", "-X", "POST", "--aws-sigv4",
                       "aws:amz:us-east-1:kinesis", "--user", key + ":wrong-secret",
                       "-H", "X-Amz-Target: Kinesis_20131202.ListStreams",
                       "-H", "Content-Type: application/x-amz-json-1.1", "--data-binary", "{}",
                       "-w", "\n%{http_version} %{http_code}", self.server.endpoint + "/")
        self.assertEqual(out.rsplit("\n", 1)[1], "2 400", out)
        self.assertIn("InvalidSignatureException", out)

    def test_http2_bounds_match_http1(self):
        tmp = tempfile.mkdtemp(prefix="millrace-h2-")
        try:
            big = os.path.join(tmp, "big")
            with open(big, "wb") as f:
                f.write(b"x" * (17 * 1024 * 1024))  # over the 16 MiB body limit
            key, secret = self.server.credentials()
            statuses = {}
            for proto in ("--http2-prior-knowledge", "--http1.1"):
                for signed in (False, True):
                    sign = ["--aws-sigv4", "aws:amz:us-east-1:kinesis", "--user", key + ":" + secret] if signed else []
                    rc, out = curl(self.server, proto, "-X", "POST", *sign,
                                   "-H", "X-Amz-Target: Kinesis_20131202.ListStreams",
                                   "-H", "Content-Type: application/x-amz-json-1.1",
                                   "--data-binary", "@" + big, "-o", "/dev/null", "-w", "%{http_code}",
                                   self.server.endpoint + "/")
                    statuses[proto, signed] = out[-3:]
            # Unsigned: refused at its head (400), before the body is read; signed: 413.
            self.assertEqual(statuses, {("--http2-prior-knowledge", False): "400",
                                        ("--http2-prior-knowledge", True): "413",
                                        ("--http1.1", False): "400", ("--http1.1", True): "413"})
        finally:
            shutil.rmtree(tmp)
        # A header block over 64 KiB: the stream is reset, the connection and server go on.
        rc, out = curl(self.server, "--http2-prior-knowledge", "-H", "X-Big: " + "a" * (70 * 1024),
                       "-o", "/dev/null", "-w", "%{http_code}", self.server.endpoint + "/healthz")
        self.assertNotEqual(out.strip()[-3:], "200", out)
        rc, out = curl(self.server, "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                       "%{http_version} %{http_code}", self.server.endpoint + "/healthz")
        self.assertEqual(out, "2 200")

    def test_a_stalled_http2_request_is_answered_408_and_others_go_on(self):
        # A raw h2c connection: preface, SETTINGS, then HEADERS without END_STREAM and no body.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            # HEADERS, stream 1, END_HEADERS only; HPACK: :method POST (3), :scheme http (6),
            # :path / (4), :authority literal without indexing.
            block = bytes([0x83, 0x86, 0x84, 0x01, 0x09]) + b"127.0.0.1"
            s.sendall(len(block).to_bytes(3, "big") + b"\x01\x04" + (1).to_bytes(4, "big") + block)
            s.settimeout(1)
            # The server's SETTINGS and ACK arrive; the stream stays open (no deadline hit yet).
            data = b""
            with self.assertRaises(socket.timeout):
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.assertNotIn(b"\x00\x00\x00\x03", data[-13:])  # no RST_STREAM yet
        # Others are served meanwhile.
        self.assertEqual(self.kinesis.list_streams()["ResponseMetadata"]["HTTPStatusCode"], 200)


@millrace_only("HTTP/2 and TLS are tested against the real binary")
class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="millrace-tls-")
        first = make_tls_files(cls.tmp)
        # The server reads its certificate from fixed paths, rewritten for the reload test.
        cls.cert = os.path.join(cls.tmp, "server.pem")
        cls.key = os.path.join(cls.tmp, "server.key")
        shutil.copy(first["cert"], cls.cert)
        shutil.copy(first["key"], cls.key)
        cls.files = dict(first, cert=cls.cert, key=cls.key)
        cls.server = MillraceServer(tls=cls.files).start()
        cls.kinesis = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def peer_serial(self):
        ctx = self.server.ssl_context()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.getpeercert()["serialNumber"].lstrip("0")

    def test_boto3_over_tls(self):
        stream = unique_name("tls")
        self.kinesis.create_stream(StreamName=stream, ShardCount=1)
        wait_active(self.kinesis, stream)
        put = self.kinesis.put_record(StreamName=stream, PartitionKey="k", Data=b"over tls")
        got = self.kinesis.get_records(ShardIterator=self.kinesis.get_shard_iterator(
            StreamName=stream, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        self.assertEqual([r["Data"] for r in got["Records"]], [b"over tls"])
        # S3 and the control API share the port and its TLS.
        s3 = self.server.client("s3")
        s3.create_bucket(Bucket="tls-bucket")
        s3.put_object(Bucket="tls-bucket", Key="a", Body=b"x" * 300000)
        self.assertEqual(len(s3.get_object(Bucket="tls-bucket", Key="a")["Body"].read()), 300000)

    def test_javascript_sdk_v3_over_tls_negotiates_http2(self):
        check_js_sdk(self, run_node(self.server, unique_name("jstls"),
                                    env={"NODE_EXTRA_CA_CERTS": self.files["ca"]}))

    def test_curl_picks_http2_or_http1_by_alpn(self):
        for flag, version in (("--http2", "2"), ("--http1.1", "1.1")):
            rc, out = curl(self.server, flag, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                           self.server.endpoint + "/healthz", ca=self.files["ca"])
            self.assertEqual(out, version + " 200", flag)
        stream = unique_name("curltls")
        self.kinesis.create_stream(StreamName=stream, ShardCount=1)
        wait_active(self.kinesis, stream)
        rc, out = signed_put_record(self.server, stream, ["--http2"])
        self.assertEqual(out.rsplit("\n", 1)[1], "2 200", out)

    def test_secure_transport_condition_is_true_over_tls(self):
        iam = self.server.client("iam")
        user = unique_name("tlsuser")
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "kinesis:ListStreams", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                {"Effect": "Deny", "Action": "kinesis:ListShards", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        client = self.server.client(credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        deadline = time.time() + 5
        while True:
            try:
                client.list_streams()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        with self.assertRaises(client.exceptions.ClientError) as cm:
            client.list_shards(StreamName="anything")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")

    def test_cleartext_to_the_tls_port_is_refused_and_harmless(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            self.assertNotIn(b"200", data)  # a TLS alert, a reset or nothing, never an answer
        self.assertEqual(self.kinesis.list_streams()["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_sighup_reloads_the_certificate_and_a_bad_one_is_refused(self):
        before = self.peer_serial()
        fresh = make_tls_files(self.tmp, ca=self.files)
        shutil.copy(fresh["cert"], self.cert + ".tmp")
        shutil.copy(fresh["key"], self.key + ".tmp")
        os.replace(self.key + ".tmp", self.key)
        os.replace(self.cert + ".tmp", self.cert)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while self.peer_serial() != fresh["serial"] and time.time() < deadline:
            time.sleep(0.05)
        self.assertNotEqual(before, fresh["serial"])
        self.assertEqual(self.peer_serial(), fresh["serial"])
        # A broken file: the reload is refused and logged, the certificate in use stays.
        with open(self.cert, "w") as f:
            f.write("not a certificate\n")
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while b"TLS not reloaded" not in self.server._read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn(b"TLS not reloaded", self.server._read_log())
        self.assertEqual(self.peer_serial(), fresh["serial"])
        self.assertTrue(self.server.running())
        shutil.copy(fresh["cert"], self.cert)


if __name__ == "__main__":
    unittest.main()
