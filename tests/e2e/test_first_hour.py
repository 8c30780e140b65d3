"""Issue #11, "the first hour": what stopped or misled a new user, each as a test that failed
before the fix. The control API refuses unknown fields by name and takes stream ARNs; a no-op
update is no new version; CSV datasets take CSV lines and JSON records, and write "" apart from
NULL (read back by DuckDB and PostgreSQL's COPY); transformations that fail say so (their
tracebacks in the logs, FAILING with backoff, recovery, counters); the CLI's flags and
messages."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import pg
from harness import millrace_only, stream_arn
from test_consumers import Api, dataset_files, wait_for
from test_transformations import create_function
from test_typed_datasets import duckdb, sql_list

GOOD = "import base64\n" \
       "def handler(event, context):\n" \
       "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']}\n" \
       "                        for r in event['records']]}\n"
BROKEN = "def handler(event, context):\n" \
         "    print('about to divide')\n" \
         "    return helper()\n" \
         "def helper():\n" \
         "    return 1 / 0\n"


def cli(server, *args, env=None, cwd=None, timeout=60):
    e = dict(os.environ, MILLRACE_ENDPOINT=server.endpoint,
             AWS_SHARED_CREDENTIALS_FILE=os.path.join(server.data_dir, "credentials"))
    if env is not None:
        e = env
    return subprocess.run([os.path.abspath(server.binary)] + list(args), capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=timeout)


@millrace_only("the control API and the millrace CLI are Millrace's")
class FirstHourTest(harness.KinesisTestCase):
    def setUp(self):
        self.api = Api(self.server)

    def consumer(self, name, stream, dataset, **extra):
        body = {"name": name, "stream": stream, "dataset": dataset, "buffer_size_mib": 1,
                "buffer_interval_seconds": 1}
        body.update(extra)
        st, doc = self.api.call("POST", "/api/v1/consumers", body)
        self.assertEqual(st, 201, doc)
        return doc

    # ---- the control API says what is wrong, and takes what it prints ----

    def test_unknown_fields_are_refused_by_name(self):
        self.create_stream("fh-unknown", shards=1)
        cases = [
            ("/api/v1/datasets", {"name": "fh-u1", "file_type": "jsonl", "compresion": "gzip"},
             "compresion: unknown field (the fields are name, file_type, compression, target, "
             "schema, csv, key_prefix, error_prefix, record_delimiter, file_extension, time_zone)"),
            ("/api/v1/datasets", {"name": "fh-u2", "file_type": "jsonl",
                                  "target": {"type": "local", "path": "/tmp/b"}},
             "target.path: unknown field (the fields are type, bucket, prefix)"),
            ("/api/v1/consumers", {"name": "fh-u3", "stream": "fh-unknown", "dataset": "x",
                                   "buffer_interval_second": 5},
             "buffer_interval_second: unknown field"),
            ("/api/v1/consumers", {"name": "fh-u4", "stream": "fh-unknown",
                                   "dataset": {"name": "fh-u4", "file_type": "jsonl", "colour": 1}},
             "dataset.colour: unknown field"),
        ]
        for path, body, message in cases:
            with self.subTest(body=body):
                st, doc = self.api.call("POST", path, body)
                self.assertEqual(st, 400, doc)
                self.assertEqual(doc["error"]["code"], "ValidationError")
                self.assertIn(message, doc["error"]["message"])
        # What describe shows may be sent back as it is (a read-modify-write client).
        self.api.call("POST", "/api/v1/datasets", {"name": "fh-u5", "file_type": "jsonl"})
        c = self.consumer("fh-u5", "fh-unknown", "fh-u5")
        c["buffer_interval_seconds"] = 7
        st, doc = self.api.call("PUT", "/api/v1/consumers/fh-u5", c)
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["buffer_interval_seconds"], 7)

    def test_stream_views_and_consumers_take_the_stream_arn(self):
        self.create_stream("fh-arn", shards=1)
        arn = stream_arn("fh-arn", region=self.server.region)
        self.api.call("POST", "/api/v1/datasets", {"name": "fh-arn-ds", "file_type": "jsonl"})
        c = self.consumer("fh-arn-c", arn, "fh-arn-ds")
        self.assertEqual(c["stream"], "fh-arn")
        for query in ("", "?request_type=get_datasets"):
            st, doc = self.api.call("GET", "/api/v1/streams/" + arn.replace("/", "%2F") + query)
            self.assertEqual(st, 200, doc)
        st, doc = self.api.call("GET", "/api/v1/streams/%s?request_type=get_datasets" %
                                arn.replace("/", "%2F"))
        self.assertEqual([d["name"] for d in doc["datasets"]], ["fh-arn-ds"])
        st, doc = self.api.call("GET", "/api/v1/streams/" + arn.replace("/", "%2F"))
        self.assertEqual(doc["consumers"], ["fh-arn-c"])
        other = arn.replace(harness.ACCOUNT_ID, "123456789012")
        st, doc = self.api.call("GET", "/api/v1/streams/" + other.replace("/", "%2F"))
        self.assertEqual(st, 400, doc)

    def test_an_update_that_changes_nothing_keeps_the_version(self):
        self.create_stream("fh-noop", shards=1)
        self.api.call("POST", "/api/v1/datasets", {"name": "fh-noop-ds", "file_type": "jsonl"})
        c = self.consumer("fh-noop-c", "fh-noop", "fh-noop-ds")
        for body in ({}, {"buffer_interval_seconds": 1}, {"stream": "fh-noop"}):
            st, doc = self.api.call("PUT", "/api/v1/consumers/fh-noop-c", body)
            self.assertEqual((st, doc["version"]), (200, c["version"]), body)
        st, doc = self.api.call("PUT", "/api/v1/datasets/fh-noop-ds", {"file_type": "jsonl"})
        self.assertEqual(st, 200, doc)
        st, doc = self.api.call("GET", "/api/v1/consumers/fh-noop-c")
        self.assertEqual(doc["version"], c["version"])
        st, doc = self.api.call("PUT", "/api/v1/consumers/fh-noop-c", {"buffer_interval_seconds": 2})
        self.assertEqual(doc["version"], c["version"] + 1)

    # ---- CSV datasets ----

    @unittest.skipIf(shutil.which("node") is None or not pg.available(),
                     "needs node (DuckDB) and PostgreSQL 15")
    def test_csv_dataset_takes_csv_lines_and_json_and_keeps_empty_apart_from_null(self):
        self.create_stream("fh-csv", shards=1)
        st, doc = self.api.call("POST", "/api/v1/datasets", {
            "name": "fh-csv-ds", "file_type": "csv",
            "schema": {"csv_header": ["id", "s"],
                       "columns": [{"name": "id", "type": "int64"}, {"name": "s", "type": "string"}]}})
        self.assertEqual(st, 201, doc)
        self.assertEqual(doc["schema"]["input"], "auto")
        self.consumer("fh-csv-c", "fh-csv", "fh-csv-ds")
        records = [b"1,plain", b'2,""', b"3,", json.dumps({"id": 4, "s": ""}).encode(),
                   json.dumps({"id": 5, "s": None}).encode(), json.dumps({"id": 6}).encode(),
                   b'7,"with ""quotes"", and comma"']
        for r in records:
            self.kinesis.put_record(StreamName="fh-csv", Data=r, PartitionKey="k")
        root = os.path.join(self.server.data_dir, "datasets", "fh-csv-ds")

        def rows():
            return sum(open(os.path.join(root, f)).read().count("\n") - 1
                       for f in dataset_files(self.server, "fh-csv-ds")
                       if f.endswith(".csv") and "failed/" not in f)
        wait_for(lambda: rows() >= 7, timeout=30, what="7 CSV rows")
        paths = [os.path.join(root, f) for f in dataset_files(self.server, "fh-csv-ds")
                 if f.endswith(".csv")]
        self.assertFalse([f for f in dataset_files(self.server, "fh-csv-ds") if "failed/" in f])
        want = [("1", "plain"), ("2", ""), ("3", None), ("4", ""), ("5", None), ("6", None),
                ("7", 'with "quotes", and comma')]
        # DuckDB: a quoted empty field is the empty string once quoted NULLs are off.
        got = duckdb("SELECT CAST(id AS VARCHAR) AS id, s FROM read_csv(%s, header = true, "
                     "allow_quoted_nulls = false, columns = {'id': 'BIGINT', 's': 'VARCHAR'}) "
                     "ORDER BY id" % sql_list(paths))
        self.assertEqual([(r["id"], r["s"]) for r in got], want)
        # PostgreSQL's COPY ... CSV: "" is the empty string, an empty field NULL.
        db = pg.Postgres().start()
        try:
            db.psql("CREATE TABLE t (id bigint, s text)")
            for p in paths:
                db.psql("\\copy t FROM '%s' WITH (FORMAT csv, HEADER true)" % p)
            got = db.psql("SELECT id, s FROM t ORDER BY id")
        finally:
            db.stop()
        self.assertEqual([(r[0], None if r[1] == "<NULL>" else r[1]) for r in got], want)

    # ---- transformations that tell the user what went wrong ----

    def broken_consumer(self, function, stream):
        """A consumer "<stream>-c" of a new stream, into "<stream>-ds", through BROKEN as
        `function`, with one record put; returns a function that reads its status."""
        st, doc = create_function(self.api, function, "main.py", BROKEN, "main.handler",
                                  timeout_seconds=5)
        self.assertEqual(st, 201, doc)
        self.create_stream(stream, shards=1)
        self.api.call("POST", "/api/v1/datasets", {"name": stream + "-ds", "file_type": "jsonl"})
        self.consumer(stream + "-c", stream, stream + "-ds", transformation=function)
        self.kinesis.put_record(StreamName=stream, Data=b'{"n": 1}', PartitionKey="k")
        return lambda: self.api.call("GET", "/api/v1/consumers/%s-c" % stream)[1]

    def test_a_failing_transformation_is_reported_backs_off_and_recovers(self):
        st, doc = create_function(self.api, "fh-missing", "main.py", GOOD, "main.nope")
        self.assertEqual(st, 400, doc)
        self.assertIn("main.nope cannot be loaded from main.py: Runtime.HandlerNotFound: "
                      "Handler 'nope' missing on module 'main'", doc["error"]["message"])
        status = self.broken_consumer("fh-div", "fh-fail")
        wait_for(lambda: status()["state"] == "FAILING", timeout=60, what="FAILING")
        s = status()
        self.assertIn("ZeroDivisionError: division by zero", s["last_error"])
        self.assertGreaterEqual(s["consecutive_failures"], 1)
        self.assertRegex(s["last_error_at"], r"^\d{4}-\d\d-\d\dT")
        self.assertGreaterEqual(s["counters"]["invocation_errors"], 4)  # first try + 3 retries
        wait_for(lambda: status()["counters"]["records_processing_failed"] == 1, timeout=30,
                 what="the record in processing-failed/")
        # The traceback is in the function's log, after what it printed.
        lines = self.api.call("GET", "/api/v1/transformations/fh-div/logs")[1]["lines"]
        errors = [l for l in lines if l["level"] == "error"]
        self.assertTrue(errors, lines)
        self.assertTrue(errors[0]["text"].startswith("[ERROR] ZeroDivisionError: division by zero\n"
                                                     "Traceback (most recent call last):"))
        self.assertIn("return 1 / 0", errors[0]["text"])
        self.assertIn("about to divide", [l["text"] for l in lines if l["level"] == "output"])
        # ... and `logs --follow` prints it.
        p = subprocess.Popen([self.server.binary, "transformations", "logs", "fh-div", "--follow"],
                             stdout=subprocess.PIPE, text=True, env=dict(
                                 os.environ, MILLRACE_ENDPOINT=self.server.endpoint,
                                 AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.server.data_dir,
                                                                          "credentials")))
        try:
            seen = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("Traceback" in l for l in seen):
                seen.append(p.stdout.readline())
            self.assertTrue(any("[ERROR] ZeroDivisionError" in l for l in seen), seen)
        finally:
            p.kill()
            p.wait()
        # A fixed function: the consumer recovers by itself and delivers.
        st, doc = self.api.call("PUT", "/api/v1/transformations/fh-div", {
            "code": {"file_name": "main.py", "content_base64": base64.b64encode(GOOD.encode()).decode()}})
        self.assertEqual(st, 200, doc)
        self.kinesis.put_record(StreamName="fh-fail", Data=b'{"n": 2}', PartitionKey="k")
        wait_for(lambda: status()["counters"]["records_delivered"] == 1, timeout=90,
                 what="delivery after the fix")
        s = status()
        self.assertEqual((s["state"], s["consecutive_failures"]), ("RUNNING", 0))
        self.assertGreaterEqual(s["counters"]["invocations"], 5)
        metrics = self.server.raw().request(b"", method="GET", path="/metrics").body.decode()
        self.assertIn('millrace_consumer_records_total{consumer="fh-fail-c",outcome="delivered"} 1',
                      metrics)
        self.assertIn('millrace_consumer_invocation_duration_seconds_count{consumer="fh-fail-c"}',
                      metrics)

    def test_a_stop_during_the_retries_sends_nothing_to_processing_failed(self):
        """Regression: a consumer stopped (here: restarted by an update) while it waited to
        retry a failed invocation wrote the batch to processing-failed/ after fewer than all
        attempts; it must be redone by the next run, with every attempt."""
        status = self.broken_consumer("fh-stop", "fh-stop")
        wait_for(lambda: status()["counters"]["invocation_errors"] >= 1, timeout=60,
                 what="a first failed attempt")
        st, doc = self.api.call("PUT", "/api/v1/consumers/fh-stop-c", {"buffer_interval_seconds": 2})
        self.assertEqual(st, 200, doc)
        wait_for(lambda: status()["counters"]["records_processing_failed"] >= 1, timeout=90,
                 what="processing-failed after every attempt")
        root = os.path.join(self.server.data_dir, "datasets", "fh-stop-ds")
        failed = [json.loads(l) for f in dataset_files(self.server, "fh-stop-ds")
                  if f.startswith("processing-failed/")
                  for l in open(os.path.join(root, f)).read().splitlines() if l]
        self.assertEqual([r["attemptsMade"] for r in failed], [4], failed)

    # ---- the CLI ----

    def test_cli_schema_flag_creates_a_typed_dataset_with_the_consumer(self):
        self.create_stream("fh-cli", shards=1)
        out = cli(self.server, "consumers", "create", "fh-cli-c", "--stream", "fh-cli",
                  "--dataset", "fh-cli-ds", "--file-type", "parquet", "--schema",
                  '{"columns": [{"name": "id", "type": "int64"}]}')
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual(doc["created_dataset"]["schema"]["columns"][0]["name"], "id")
        out = cli(self.server, "consumers", "create", "fh-cli-d", "--stream", "fh-cli",
                  "--dataset", "fh-cli-ds2", "--file-type", "parquet", "--schema", "[1]")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--schema: the value must be a JSON object", out.stderr)

    def test_cli_without_credentials_says_where_it_looked(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("MILLRACE_")}
        env["MILLRACE_ENDPOINT"] = self.server.endpoint
        with tempfile.TemporaryDirectory() as empty:
            out = cli(self.server, "datasets", "list", env=env, cwd=empty)
        self.assertEqual(out.returncode, 1)
        for where in ("No credentials were found", "--credentials FILE",
                      "$AWS_SHARED_CREDENTIALS_FILE", "./data/credentials",
                      "$AWS_ACCESS_KEY_ID", "millrace keys create"):
            self.assertIn(where, out.stderr)


if __name__ == "__main__":
    unittest.main()
