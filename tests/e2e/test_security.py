"""Trust under hostile input (issue #10): one owner per data directory, private files and
sealed secrets, SigV4 as strict as AWS, bounded validation errors and echoes, bounded
memory before authentication, bounded open segments, /metrics authentication, throttle
counters, pipelining after a half-close. Each test failed before its fix."""

import base64
import datetime
import hashlib
import json
import os
import socket
import stat
import subprocess
import threading
import time
import unittest
import urllib.parse

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from harness import (AMZ_JSON, KinesisTestCase, MillraceServer, millrace_only, skewed_clock,
                     unique_name)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def signed_headers(server, target, body, *, credentials=None, region=None, service="kinesis",
                   extra=None, skew=None):
    """The headers botocore would send for a signed Kinesis call (as a dict)."""
    hdrs = {"Content-Type": AMZ_JSON, "X-Amz-Target": "Kinesis_20131202." + target}
    hdrs.update(extra or {})
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=hdrs)
    key, secret = credentials or server.credentials()
    signer = SigV4Auth(Credentials(key, secret), service, region or server.region)
    if skew is not None:
        with skewed_clock(skew):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    return dict(req.prepare().headers.items())


def create_active_stream(client, shards=1):
    """Creates a stream on a server of the test's own and waits until it is ACTIVE."""
    name = unique_name()
    client.create_stream(StreamName=name, ShardCount=shards)
    for _ in range(200):
        if client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return name
        time.sleep(0.05)
    raise AssertionError("stream %s never became ACTIVE" % name)


def send_raw(port, data, *, read=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


@millrace_only("the data directory is Millrace's")
class DataDirectoryTest(unittest.TestCase):

    def setUp(self):
        self.server = MillraceServer()
        self.server.start()

    def tearDown(self):
        self.server.close()

    def test_second_server_on_the_same_data_dir_refuses_to_start(self):
        second = MillraceServer(data_dir=self.server.data_dir)
        try:
            p = subprocess.run(second.command(), capture_output=True, text=True, timeout=20)
            self.assertNotEqual(p.returncode, 0, "a second server started on the same data dir")
            msg = p.stdout + p.stderr
            self.assertIn(self.server.data_dir, msg)
            self.assertIn("pid %d" % self.server.proc.pid, msg)
        finally:
            second.close()
        # The first one is unharmed.
        self.assertIn("StreamNames", self.server.client().list_streams())

    def test_a_stale_lock_after_kill9_does_not_block_a_restart(self):
        self.server.kill9()
        self.assertTrue(os.path.exists(os.path.join(self.server.data_dir, "LOCK")))
        self.server.start()
        self.assertIn("StreamNames", self.server.client().list_streams())

    def test_everything_in_the_data_dir_is_private(self):
        k = self.server.client()
        name = create_active_stream(k)
        k.put_record(StreamName=name, Data=b"x", PartitionKey="p")
        self.server.stop()
        # An operator (or an older version) left some of it readable by others.
        os.chmod(self.server.data_dir, 0o755)
        os.chmod(os.path.join(self.server.data_dir, "catalog.db"), 0o644)
        self.server.start()
        seen = 0
        for root, dirs, files in os.walk(self.server.data_dir):
            for n in dirs + files:
                p = os.path.join(root, n)
                mode = stat.S_IMODE(os.lstat(p).st_mode)
                self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (p, mode))
                seen += 1
        self.assertEqual(stat.S_IMODE(os.stat(self.server.data_dir).st_mode), 0o700)
        self.assertGreater(seen, 5)

    def test_catalog_holds_no_secret_in_plain_text(self):
        key, secret = self.server.credentials()
        created = self.server.create_key("admin")
        self.server.stop()
        for n in ("catalog.db", "catalog.db-wal"):
            p = os.path.join(self.server.data_dir, n)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data = f.read()
                self.assertNotIn(secret.encode(), data, n)
                self.assertNotIn(created["SecretAccessKey"].encode(), data, n)
        self.server.start()
        # Sealed secrets still sign.
        self.assertIn("StreamNames", self.server.client().list_streams())
        self.assertIn("StreamNames", self.server.client(
            credentials=(created["AccessKeyId"], created["SecretAccessKey"])).list_streams())


@millrace_only("Millrace's SigV4 verifier")
class StrictSigV4Test(KinesisTestCase):
    """Each row is a request AWS refuses; each must be refused here too."""

    def call_with(self, target, body, headers):
        conn_headers = dict(headers)
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            c.request("POST", "/", body=body, headers=conn_headers)
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"{}")
        finally:
            c.close()

    def test_signature_without_host_or_target_is_refused(self):
        body = b"{}"
        h = {"Content-Type": AMZ_JSON, "X-Amz-Target": "Kinesis_20131202.ListStreams"}
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=body, headers=h)
        key, secret = self.server.credentials()
        now = datetime.datetime.now(datetime.timezone.utc)
        req.context["timestamp"] = now.strftime("%Y%m%dT%H%M%SZ")
        signer = SigV4Auth(Credentials(key, secret), "kinesis", "us-east-1")
        # Sign only x-amz-date, as the hostile request in the issue did.
        def only_date(request):
            h = HTTPHeaders()
            h["x-amz-date"] = request.headers["X-Amz-Date"]
            return h
        signer.headers_to_sign = only_date
        signer.add_auth(req)
        status, body_json = self.call_with("ListStreams", body, dict(req.prepare().headers.items()))
        self.assertEqual(status, 400, body_json)
        self.assertEqual(body_json["__type"], "IncompleteSignatureException")
        self.assertIn("'Host'", body_json["message"])

    def test_replayed_signature_for_another_action_fails(self):
        name = self.create_stream()
        body = json.dumps({"StreamName": name}).encode()
        h = signed_headers(self.server, "DescribeStreamSummary", body)
        h["X-Amz-Target"] = "Kinesis_20131202.DeleteStream"  # the replay
        status, out = self.call_with("DeleteStream", body, h)
        self.assertEqual(status, 400, out)
        self.assertEqual(out["__type"], "InvalidSignatureException")
        self.assertEqual(self.summary(name)["StreamStatus"], "ACTIVE")

    def test_scope_of_another_service_or_region_is_refused(self):
        for kw, needle in (({"service": "s3"}, "correct service"),
                           ({"region": "eu-west-1"}, "valid region")):
            body = b"{}"
            h = signed_headers(self.server, "ListStreams", body, **kw)
            status, out = self.call_with("ListStreams", body, h)
            self.assertEqual((status, out.get("__type")), (400, "InvalidSignatureException"), kw)
            self.assertIn(needle, out["message"])

    def test_unsigned_payload_and_wrong_body_hash_are_refused(self):
        body = b"{}"
        h = signed_headers(self.server, "ListStreams", body,
                           extra={"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
        status, out = self.call_with("ListStreams", body, h)
        self.assertEqual((status, out.get("__type")), (400, "InvalidSignatureException"), out)
        other = hashlib.sha256(b'{"x":1}').hexdigest()
        h = signed_headers(self.server, "ListStreams", body, extra={"X-Amz-Content-Sha256": other})
        status, out = self.call_with("ListStreams", body, h)
        self.assertEqual((status, out.get("__type")), (400, "XAmzContentSHA256Mismatch"), out)

    def test_unsigned_amz_header_is_refused(self):
        body = b"{}"
        h = signed_headers(self.server, "ListStreams", body)
        h["X-Amz-Security-Token"] = "added-after-signing"
        status, out = self.call_with("ListStreams", body, h)
        self.assertEqual((status, out.get("__type")), (400, "IncompleteSignatureException"), out)
        self.assertIn("x-amz-security-token", out["message"])

    def test_clock_skew_beyond_15_minutes(self):
        body = b"{}"
        for skew in (datetime.timedelta(minutes=16), datetime.timedelta(minutes=-16)):
            h = signed_headers(self.server, "ListStreams", body, skew=skew)
            status, out = self.call_with("ListStreams", body, h)
            self.assertEqual((status, out.get("__type")), (400, "InvalidSignatureException"), skew)
        h = signed_headers(self.server, "ListStreams", body, skew=datetime.timedelta(minutes=14))
        self.assertEqual(self.call_with("ListStreams", body, h)[0], 200)

    def test_presigned_url_past_its_expiry(self):
        key, secret = self.server.credentials()
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=b"{}",
                         headers={"Content-Type": AMZ_JSON,
                                  "X-Amz-Target": "Kinesis_20131202.ListStreams"})
        with skewed_clock(datetime.timedelta(seconds=-120)):
            SigV4QueryAuth(Credentials(key, secret), "kinesis", "us-east-1", expires=60).add_auth(req)
        p = req.prepare()
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        path = p.url[len(self.server.endpoint):]
        headers = {k: v for k, v in p.headers.items() if k.lower() != "content-length"}
        c.request("POST", path, body=b"{}", headers=headers)
        r = c.getresponse()
        out = json.loads(r.read())
        c.close()
        self.assertEqual((r.status, out["__type"]), (403, "AccessDeniedException"), out)
        self.assertEqual(out["message"], "Request has expired")


@millrace_only("Millrace's limits")
class BoundedErrorsTest(KinesisTestCase):

    def test_two_million_entries_get_a_short_error_quickly(self):
        body = ('{"StreamName":"s","Records":[' + ",".join(["{}"] * 2_000_000) + "]}").encode()
        t0 = time.monotonic()
        r = self.raw.request(body, target="Kinesis_20131202.PutRecords", timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 400)
        self.assertLess(len(r.body), 8192, "the error quotes the input: %d bytes" % len(r.body))
        self.assertIn("Member must have length less than or equal to 500", r.message)
        # /healthz still answers at once afterwards.
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        c.request("GET", "/healthz")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.assertLess(took, 5.0)

    def test_a_key_without_the_right_is_refused_before_validation(self):
        name = self.create_stream()
        key = self.server.create_key("consumer", [name])
        body = json.dumps({"StreamName": name, "Records": [{}] * 600}).encode()
        for _ in range(40):  # the server sees a new key within a second
            r = self.raw.request(body, target="Kinesis_20131202.PutRecords",
                                 credentials=(key["AccessKeyId"], key["SecretAccessKey"]))
            if r.error_type != "UnrecognizedClientException":
                break
            time.sleep(0.1)
        self.assertEqual(r.error_type, "AccessDeniedException", r)

    def test_an_unsigned_body_is_not_parsed(self):
        # Authentication comes before the body is parsed: malformed JSON from a caller
        # without a valid signature is refused for its signature, not its syntax.
        for body in (b"{not json", b"[1, 2", b'{"StreamName": "x"}'):
            r = self.raw.request(body, target="Kinesis_20131202.ListStreams", sign=False)
            self.assertEqual(r.error_type, "MissingAuthenticationTokenException", r)
            r = self.raw.request(body, target="Kinesis_20131202.ListStreams",
                                 credentials=("MRKANOSUCHKEY000000", "x" * 40))
            self.assertEqual(r.error_type, "UnrecognizedClientException", r)

    def test_an_unknown_url_is_not_echoed(self):
        # A GET no route claims falls to the Kinesis endpoint, which answers it as AWS does
        # (403 AccessDeniedException) without quoting the 60,000-byte path.
        path = "/" + "a" * 60000
        out = send_raw(self.server.port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        self.assertIn(b" 403 ", out.split(b"\r\n")[0])
        self.assertNotIn(b"aaaaaaaa", out)
        self.assertLess(len(out), 2048, "the answer quotes the URL: %d bytes" % len(out))


@millrace_only("Millrace's control API")
class ResourceNamesTest(KinesisTestCase):

    def test_names_that_would_leave_their_folder_are_refused(self):
        from harness import RawClient
        raw = RawClient(self.server, service="millrace")
        for name in ("..", ".", "a/b", "NUL", "com1.txt", "x.", "a\u0000b"):
            body = json.dumps({"name": name, "file_type": "jsonl"}).encode()
            r = raw.request(body, method="POST", path="/api/v1/datasets",
                            content_type="application/json")
            self.assertEqual(r.status, 400, "%r: %r" % (name, r))
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "datasets", "..", "jsonl")))
        self.assertEqual(sorted(os.listdir(self.server.data_dir + "/datasets"))
                         if os.path.isdir(self.server.data_dir + "/datasets") else [], [])


@millrace_only("Millrace's HTTP limits")
class PreAuthMemoryTest(unittest.TestCase):
    """Clients that never authenticate cannot pin memory."""

    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_large_body_with_a_bad_signature_is_refused_before_it_is_read(self):
        head = ("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                "X-Amz-Target: Kinesis_20131202.PutRecords\r\nContent-Length: %d\r\n\r\n"
                % (AMZ_JSON, 12 * 1024 * 1024)).encode()
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.sendall(head + b"{")  # and nothing more of the 12 MiB
        answer = s.recv(65536)
        s.close()
        self.assertIn(b" 400 ", answer.split(b"\r\n")[0], answer[:300])
        self.assertIn(b"MissingAuthenticationToken", answer)

    def test_hostile_connections_do_not_pin_memory(self):
        key, _ = self.server.credentials()
        # A real key id, a wrong signature: passes every check that needs no body.
        now = datetime.datetime.now(datetime.timezone.utc)
        amz = now.strftime("%Y%m%dT%H%M%SZ")
        auth = ("AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/kinesis/aws4_request, "
                "SignedHeaders=host;x-amz-date;x-amz-target, Signature=%s"
                % (key, amz[:8], "0" * 64))
        head = ("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Date: %s\r\n"
                "X-Amz-Target: Kinesis_20131202.PutRecords\r\nAuthorization: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (AMZ_JSON, amz, auth, 12 * 1024 * 1024)).encode()
        pid = self.server.proc.pid
        before = rss_kib(pid)
        socks = []
        refused = 0
        chunk = b"x" * (256 * 1024)
        try:
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                s.setblocking(False)
                socks.append(s)
                try:
                    s.send(head)
                except OSError:
                    refused += 1
            # Each sends 1 MiB of its 12 MiB body, then stalls.
            for _ in range(4):
                for s in socks:
                    try:
                        s.send(chunk)
                    except OSError:
                        pass
                time.sleep(0.05)
            time.sleep(1.0)
            peak = rss_kib(pid)
        finally:
            for s in socks:
                s.close()
        grew_mib = (peak - before) / 1024.0
        self.assertLess(grew_mib, 64, "300 hostile connections raised RSS by %.0f MiB" % grew_mib)
        # The server still serves an honest client at once.
        self.assertIn("StreamNames", self.server.client().list_streams())

    def test_a_trickling_body_is_cut_off(self):
        head = ("POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n").encode()
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        s.sendall(head)
        t0 = time.monotonic()
        answer = b""
        s.settimeout(1.0)
        while time.monotonic() - t0 < 25:
            try:
                s.sendall(b"x")
            except OSError:
                break
            try:
                got = s.recv(4096)
                if not got:
                    break
                answer += got
                break
            except socket.timeout:
                continue
        s.close()
        self.assertIn(b" 408 ", answer.split(b"\r\n")[0] if answer else b"", answer[:200])
        self.assertLess(time.monotonic() - t0, 25)

    def test_pipelined_requests_after_a_half_close_are_answered(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        out = send_raw(self.server.port, req * 3)
        self.assertEqual(out.count(b"HTTP/1.1 200"), 3, out)


@millrace_only("Millrace's log segments")
class OpenSegmentsTest(unittest.TestCase):
    """A low `ulimit -n` and many segments: requests keep working."""

    def test_many_segments_with_few_descriptors(self):
        server = MillraceServer(extra_args=["--segment-mb", "1", "--threads", "1"])
        try:
            # Start under the low limit (the harness's Popen has no preexec hook: use prlimit).
            server.start()
            subprocess.run(["prlimit", "--pid", str(server.proc.pid), "--nofile=96:96"], check=True)
            k = server.client()
            name = create_active_stream(k)
            blob = os.urandom(200 * 1024)
            for i in range(120 * 5):  # ~120 segments of 1 MiB
                k.put_records(StreamName=name, Records=[{"Data": blob, "PartitionKey": str(i)}])
            segs = [n for n in os.listdir(os.path.join(server.data_dir, "log")) if n.endswith(".seg")]
            self.assertGreater(len(segs), 100)
            open_fds = len(os.listdir("/proc/%d/fd" % server.proc.pid))
            self.assertLess(open_fds, 96)
            # Read everything back from the start: every sealed segment is opened again.
            sh = k.list_shards(StreamName=name)["Shards"][0]["ShardId"]
            it = k.get_shard_iterator(StreamName=name, ShardId=sh,
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            n = 0
            while it and n < 600:
                r = k.get_records(ShardIterator=it, Limit=10000)
                if not r["Records"]:
                    break
                n += len(r["Records"])
                it = r.get("NextShardIterator")
            self.assertEqual(n, 600)
        finally:
            server.close()


@millrace_only("Millrace's /metrics")
class MetricsTest(unittest.TestCase):

    def test_metrics_can_require_a_signature(self):
        server = MillraceServer(extra_args=["--metrics-auth", "on"], throttling=True)
        try:
            server.start()
            out = send_raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b" 401 ", out.split(b"\r\n")[0])
            import http.client
            req = AWSRequest(method="GET", url=server.endpoint + "/metrics")
            key, secret = server.credentials()
            SigV4Auth(Credentials(key, secret), "millrace", "us-east-1").add_auth(req)
            p = req.prepare()
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            c.request("GET", "/metrics", headers=dict(p.headers.items()))
            r = c.getresponse()
            text = r.read().decode()
            c.close()
            self.assertEqual(r.status, 200, text[:300])
            # Throttles are counted: a PROVISIONED shard takes 1,000 records/s.
            k = server.client()
            name = create_active_stream(k)
            r = k.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(i)}
                                                         for i in range(500)] )
            r2 = k.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(i)}
                                                          for i in range(500)])
            r3 = k.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(i)}
                                                          for i in range(500)])
            failed = r["FailedRecordCount"] + r2["FailedRecordCount"] + r3["FailedRecordCount"]
            self.assertGreater(failed, 0)
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            req = AWSRequest(method="GET", url=server.endpoint + "/metrics")
            SigV4Auth(Credentials(key, secret), "millrace", "us-east-1").add_auth(req)
            c.request("GET", "/metrics", headers=dict(req.prepare().headers.items()))
            text = c.getresponse().read().decode()
            c.close()
            line = [l for l in text.splitlines()
                    if l.startswith("millrace_stream_write_throttles_total") and name in l]
            self.assertTrue(line, text[:1000])
            self.assertEqual(int(float(line[0].split()[-1])), failed)
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main()
