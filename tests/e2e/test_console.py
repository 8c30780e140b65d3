"""The web console (docs/console.md) in headless Chromium against the real binary
(tests/e2e/console_browser.mjs clicks through it; this test puts records with boto3 when
the page asks, and checks on the server that what the page showed and did is so).
Screenshots of each page go to docs/console/, so the documentation shows the console as it
is."""

import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import REPO, KinesisTestCase, millrace_only, slow
from pg import Postgres
from pg import available as pg_available

SCRIPT = os.path.join(REPO, "tests", "e2e", "console_browser.mjs")
SHOTS = os.path.join(REPO, "docs", "console")


@slow
@millrace_only("the web console is Millrace's")
class ConsoleTest(KinesisTestCase):

    def scenario(self, name, key, secret, on_need):
        os.makedirs(SHOTS, exist_ok=True)
        p = subprocess.Popen(["node", SCRIPT, self.server.endpoint, name, key, secret, SHOTS],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        done = None
        try:
            for line in p.stdout:
                msg = json.loads(line)
                if msg["event"] == "need":
                    p.stdin.write(json.dumps(on_need(msg)) + "\n")
                    p.stdin.flush()
                elif msg["event"] == "done":
                    done = msg
            p.wait(timeout=60)
            stderr = p.stderr.read()
        finally:
            if p.poll() is None:
                p.kill()
            for f in (p.stdin, p.stdout, p.stderr):
                f.close()
        self.assertIsNotNone(done, "the browser script ended without its result:\n" + stderr)
        self.assertNotIn("failure", done, done.get("failure", "") + "\n" + stderr +
                         "\n" + self.server.log_tail())
        self.assertEqual(done["errors"], [], "errors in the page")
        return done

    def test_admin_then_read_only(self):
        key, secret = self.server.credentials()
        # A change stream from a real PostgreSQL, for the Change streams page.
        self.assertTrue(pg_available(), "PostgreSQL 15 is not installed (scripts/install-deps.sh)")
        pg = Postgres(logical=True, tcp=True).start()
        self.addCleanup(pg.stop)
        pg.psql("CREATE TABLE shipment (id int PRIMARY KEY, city text); "
                "INSERT INTO shipment SELECT g, 'Lyon' FROM generate_series(1, 100) g;")
        from test_consumers import Api
        status, doc = Api(self.server).call("POST", "/api/v1/change-streams", {
            "name": "shop-cdc", "stream": "shop-changes",
            "source": {"type": "postgresql", "dsn": pg.dsn(), "tables": ["public.shipment"]}})
        self.assertEqual(status, 201, doc)
        put = {"rate": 0}

        def put_for_rates(stream):
            # A record every 100 ms for 8 s: the list's rate column has something to show.
            for _ in range(100):  # the stream made with '+' is CREATING for a moment
                status = self.kinesis.describe_stream_summary(StreamName=stream)
                if status["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                    break
                time.sleep(0.05)
            for i in range(80):
                self.kinesis.put_record(StreamName=stream, PartitionKey="rate",
                                        Data=json.dumps({"n": -1, "rate": i}).encode())
                put["rate"] += 1
                time.sleep(0.1)

        def on_need(msg):
            if msg["what"] == "stream-rates":  # while the page samples the rates
                put_for_rates(msg["stream"])
                return {}
            if msg["what"] == "records":
                # The tail is running: put the records now, as a producer would.
                for i in range(msg["count"]):
                    self.kinesis.put_record(
                        StreamName=msg["stream"], PartitionKey="customer-%d" % (i % 5),
                        Data=json.dumps({"n": i, "item": "book-%d" % i}).encode())
                return {"count": msg["count"], "total": msg["count"] + put["rate"]}
            raise AssertionError("unknown need: %r" % msg)

        out = self.scenario("admin", key, secret, on_need)

        # Signed in with temporary credentials; the key's secret is kept nowhere.
        self.assertTrue(out["session"]["sessionToken"])
        self.assertNotEqual(out["session"]["accessKeyId"], key)
        self.assertNotIn(secret, out["storage"])
        # The stream made with '+'.
        summary = self.kinesis.describe_stream_summary(StreamName="orders")
        self.assertEqual(summary["StreamDescriptionSummary"]["OpenShardCount"], 2)
        self.assertIn('endpoint_url="%s"' % self.server.endpoint, out["snippet"])
        # The live tail saw the 40 records put while it ran, newest first.
        self.assertEqual(out["tail_rows"], 40)
        self.assertEqual(sorted(out["tail_keys"]), sorted("customer-%d" % (i % 5) for i in range(40)))
        self.assertIn('"item": "book-', out["expanded"])  # pretty-printed JSON
        # Filters: jq by the server, and partition key, over every record of the stream.
        self.assertEqual(out["received"][:2], [40 + put["rate"]] * 2)
        self.assertEqual(put["rate"], 80)
        self.assertEqual(len(out["jq_rows"]), 1)
        self.assertIn('"n": 7,', out["jq_rows"][0])
        self.assertEqual(out["key_rows"], ["customer-1"] * 8)
        self.assertIn("is not a valid jq expression", out["bad_filter"])
        # The transformation's test run: per-record results, and its printed line in the logs.
        self.assertEqual(len(out["test_results"]), 2)
        self.assertIn("Ok", out["test_results"][0])
        self.assertIn('"enriched": true', out["test_results"][0])
        self.assertIn("Dropped", out["test_results"][1])
        # The consumer made in the form, running again after pause and resume.
        consumer = self.control("GET", "/api/v1/consumers/orders-to-lake")
        self.assertEqual((consumer["stream"], consumer["dataset"], consumer["transformation"],
                          consumer["buffer_interval_seconds"]),
                         ("orders", "orders-lake", "enrich", 0))
        self.assertNotIn("paused", consumer)
        self.assertEqual(consumer["state"], "RUNNING")
        # Created, paused, resumed (and one more when the Parquet columns inferred from the
        # first file are stored).
        self.assertGreaterEqual(consumer["version"], 3)
        # The Parquet file previewed: the records with the function's column.
        self.assertIn("n", out["preview_head"])
        self.assertIn("enriched", out["preview_head"])
        self.assertGreater(out["preview_rows"], 0)
        # The change stream: its table, state, and the snapshot's bar full.
        self.assertIn("public.shipment", out["change_stream"])
        self.assertIn("STREAMING", out["change_stream"])
        self.assertEqual(out["snapshot_bar"], "100")
        self.assertFalse(self.control("GET", "/api/v1/change-streams/shop-cdc")["paused"])

        # A read-only user (IAM's ReadOnlyAccess) sees every edit control disabled, and the
        # server refuses what a forced click sends.
        iam = self.server.client("iam")
        iam.create_user(UserName="viewer")
        iam.attach_user_policy(UserName="viewer",
                               PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        ak = iam.create_access_key(UserName="viewer")["AccessKey"]
        share = subprocess.run(
            [self.server.binary, "share", "--data-dir", self.server.data_dir, "--dataset",
             "orders-lake", "--prefix", "acme", "--customer", "acme", "--keys"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(share.returncode, 0, share.stderr)
        acme_key = json.loads(share.stdout)["AccessKeyId"]
        out = self.scenario("readonly", ak["AccessKeyId"], ak["SecretAccessKey"],
                            lambda msg: {})
        self.assertEqual(out["disabled"], {
            "create_stream": True, "stream_Edit": True, "stream_Tags": True,
            "stream_Delete": True, "consumer_Pause": True, "consumer_Edit": True,
            "consumer_Delete": True, "test_transformation": True,
            "delete_transformation": True, "create_dataset": True, "content_filter": True})
        self.assertGreater(out["readonly_rows"], 0)
        self.assertIn("AccessDeniedException", out["forced_error"])
        # The Access page: the share's user, its key, what it reads and from which dataset.
        for part in ("share-acme", acme_key, "s3://orders-lake/acme/*", "orders-lake"):
            self.assertIn(part, out["share"])
        self.assertNotIn("not-allowed", self.kinesis.list_streams()["StreamNames"])

    def control(self, method, path, body=None):
        from test_consumers import Api
        status, answer = Api(self.server).call(method, path, body)
        self.assertEqual(status, 200, answer)
        return answer

    def test_assets_are_served_with_caching_headers(self):
        def get(path, headers=None):
            req = urllib.request.Request(self.server.endpoint + path, headers=headers or {})
            try:
                with urllib.request.urlopen(req) as r:
                    return r.status, dict(r.headers), r.read()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read()

        status, headers, page = get("/console/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertIn("default-src 'self'", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        script = page.decode().split('src="')[1].split('"')[0]
        self.assertRegex(script, r"^app-[0-9a-f]{16}\.js$")
        status, headers, body = get("/console/" + script, {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Encoding"], "gzip")
        self.assertEqual(headers["Cache-Control"], "public, max-age=31536000, immutable")
        self.assertEqual(body[:2], b"\x1f\x8b")
        status, _, _ = get("/console/" + script, {"If-None-Match": headers["ETag"]})
        self.assertEqual(status, 304)
        # /console redirects; a name that is not the console's is 404, not a file.
        req = urllib.request.Request(self.server.endpoint + "/console")
        opener = urllib.request.build_opener(NoRedirect)
        with self.assertRaises(urllib.error.HTTPError) as e:
            opener.open(req)
        self.assertEqual((e.exception.code, e.exception.headers["Location"]), (301, "/console/"))
        for path in ("/console/../credentials", "/console/nope.js", "/console/%2e%2e/credentials"):
            self.assertEqual(get(path)[0], 404, path)
        # The Kinesis endpoint's GET / stays AWS's answer.
        self.assertEqual(get("/")[0], 403)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


if __name__ == "__main__":
    unittest.main()
