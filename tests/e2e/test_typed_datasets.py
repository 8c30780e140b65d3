"""Typed datasets (csv and parquet) end to end: records pushed with boto3, files written by the
server, read back by DuckDB (npm @duckdb/node-api, through duckdb_query.mjs). Declared schemas
from JSON and from CSV lines (the seed's producer pushes a CSV file's lines, header included),
records that do not fit in format-conversion-failed/, inferred schemas that widen until pinned,
and schema changes that bump the consumer's version."""
import base64
import json
import os
import itertools
import random
import shutil
import subprocess
import threading
import time
import unittest

import harness
from harness import millrace_only, slow
from test_consumers import (KEY_RE, Api, dataset_files, own_server_with_stream, read_lines,
                            start_moto, wait_for)
from test_transformations import SECTORS, create_function

HERE = os.path.dirname(os.path.abspath(__file__))


def duckdb(sql):
    out = subprocess.run(["node", os.path.join(HERE, "duckdb_query.mjs"), sql],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError("DuckDB failed on %s:\n%s" % (sql, out.stderr[-2000:]))
    return json.loads(out.stdout)


def data_paths(server, dataset, suffix):
    root = os.path.join(server.data_dir, "datasets", dataset)
    return [os.path.join(root, f) for f in dataset_files(server, dataset)
            if f.endswith(suffix) and "failed/" not in f]


def sql_list(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


@millrace_only("typed datasets are Millrace's")
@unittest.skipIf(shutil.which("node") is None, "node is not installed: DuckDB cannot read the files")
class TypedDatasetsTest(harness.KinesisTestCase):
    def setUp(self):
        self.api = Api(self.server)

    def dataset(self, name, file_type, schema=None, expect=201, **extra):
        body = {"name": name, "file_type": file_type, "target": {"type": "local"}}
        if schema is not None:
            body["schema"] = schema
        body.update(extra)
        st, doc = self.api.call("POST", "/api/v1/datasets", body)
        self.assertEqual(st, expect, doc)
        return doc

    def consumer(self, name, stream, dataset, interval=1):
        st, doc = self.api.call("POST", "/api/v1/consumers", {
            "name": name, "stream": stream, "dataset": dataset, "buffer_size_mib": 1,
            "buffer_interval_seconds": interval})
        self.assertEqual(st, 201, doc)

    def put(self, stream, records):
        for i in range(0, len(records), 200):
            out = self.kinesis.put_records(StreamName=stream, Records=[
                {"Data": r if isinstance(r, bytes) else r.encode(), "PartitionKey": "k"}
                for r in records[i:i + 200]])
            self.assertEqual(out["FailedRecordCount"], 0)

    def failed(self, dataset):
        return [json.loads(l) for l in
                read_lines(self.server, dataset, "format-conversion-failed/")]

    def test_parquet_from_json_with_a_declared_schema(self):
        self.create_stream("tp1", shards=1)
        self.dataset("tpd1", "parquet", {"columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "name", "type": "string"},
            {"name": "price", "type": "decimal(10,2)"},
            {"name": "ts", "type": "timestamp_ms"},
            {"name": "day", "type": "date"},
            {"name": "ok", "type": "boolean"},
            {"name": "ratio", "type": "double"},
            {"name": "city", "type": "string", "path": "address.city"},
            {"name": "extra", "type": "json"},
        ]}, compression="zstd")
        self.consumer("tpc1", "tp1", "tpd1")
        good = [{"id": i, "name": "n%d é" % i, "price": "%d.%02d" % (i, i % 100),
                 "ts": "2024-03-01T12:00:%02d.123Z" % (i % 60), "day": "2024-02-29",
                 "ok": i % 2 == 0, "ratio": i / 4, "address": {"city": "C%d" % (i % 3)},
                 "extra": {"k": [i, None]}} for i in range(200)]
        good.append({"id": 200})  # every nullable column null
        bad = [{"name": "no id"}, {"id": 1, "price": "12.345.6"}, {"id": 2, "day": "2023-02-29"}]
        lines = [json.dumps(r) for r in good] + [json.dumps(r) for r in bad] + ["not json"]
        self.put("tp1", lines)
        wait_for(lambda: len(self.failed("tpd1")) >= 4 and data_paths(self.server, "tpd1", ".parquet"),
                 what="the parquet file and 4 failed records")
        paths = data_paths(self.server, "tpd1", ".parquet")
        rows = duckdb("SELECT id, name, CAST(price AS VARCHAR) AS price, "
                      "CAST(epoch_ms(ts) AS VARCHAR) AS ts, CAST(day AS VARCHAR) AS day, ok, ratio, "
                      "city, extra FROM read_parquet(%s) ORDER BY id" % sql_list(paths))
        self.assertEqual(len(rows), 201)
        for i, row in enumerate(rows[:200]):
            self.assertEqual(row["id"], str(i))
            self.assertEqual(row["name"], "n%d é" % i)
            self.assertEqual(row["price"], "%d.%02d" % (i, i % 100))
            self.assertEqual(row["ts"], str(1709294400000 + (i % 60) * 1000 + 123))
            self.assertEqual(row["day"], "2024-02-29")
            self.assertEqual(row["ok"], i % 2 == 0)
            self.assertEqual(float(row["ratio"]), i / 4)
            self.assertEqual(row["city"], "C%d" % (i % 3))
            self.assertEqual(json.loads(row["extra"]), {"k": [i, None]})
        self.assertEqual(rows[200], {"id": "200", "name": None, "price": None, "ts": None,
                                     "day": None, "ok": None, "ratio": None, "city": None,
                                     "extra": None})
        types = {r["column_name"]: r["column_type"] for r in duckdb(
            "DESCRIBE SELECT * FROM read_parquet(%s)" % sql_list(paths))}
        self.assertEqual(types["id"], "BIGINT")
        self.assertEqual(types["price"], "DECIMAL(10,2)")
        self.assertTrue(types["ts"].startswith("TIMESTAMP"), types["ts"])
        self.assertEqual(types["day"], "DATE")
        comp = duckdb("SELECT DISTINCT compression FROM parquet_metadata(%s)" % sql_list(paths))
        self.assertEqual(comp, [{"compression": "ZSTD"}])
        failed = self.failed("tpd1")
        raw = sorted(base64.b64decode(f["rawData"]) for f in failed)
        self.assertEqual(raw, sorted(l.encode() for l in lines[201:]))
        messages = " | ".join(f["errorMessage"] for f in failed)
        self.assertIn("column 'id'", messages)
        self.assertIn("'12.345.6'", messages)
        self.assertIn("'2023-02-29'", messages)
        self.assertIn("the record is not JSON", messages)
        for f in dataset_files(self.server, "tpd1"):
            self.assertTrue(KEY_RE.match(f.replace("format-conversion-failed/", "")), f)

    def test_csv_lines_of_the_seed_producer_into_parquet_and_csv(self):
        # The seed's producer pushes every line of data.csv, the header line first.
        csv_lines = ["id,name,amount,when\n",
                     '1,"Smith, Jane",10.50,2024-01-02 03:04:05\n',
                     '2,"say ""hi""",-3,2024-01-02T03:04:06Z\n',
                     "3,,0.01,\n",
                     '4,"",1e2,2024-01-02\n']
        self.create_stream("tp2", shards=1)
        schema = {"input": "csv", "csv_header": ["id", "name", "amount", "when"], "columns": [
            {"name": "id", "type": "int32", "nullable": False}, {"name": "name", "type": "string"},
            {"name": "amount", "type": "decimal(8,2)"}, {"name": "when", "type": "timestamp_us"}]}
        self.dataset("tpd2p", "parquet", schema)
        self.dataset("tpd2c", "csv", schema, compression="gzip", csv={"delimiter": ";"})
        self.consumer("tpc2p", "tp2", "tpd2p")
        self.consumer("tpc2c", "tp2", "tpd2c")
        self.put("tp2", csv_lines + ["x,too,many,fields,here\n"])
        wait_for(lambda: data_paths(self.server, "tpd2p", ".parquet") and
                 data_paths(self.server, "tpd2c", ".csv.gz") and self.failed("tpd2p") and
                 self.failed("tpd2c"), what="both files")
        at = 1704164645000000  # 2024-01-02T03:04:05Z in microseconds
        want = [{"id": 1, "name": "Smith, Jane", "amount": "10.50", "when": str(at)},
                {"id": 2, "name": 'say "hi"', "amount": "-3.00", "when": str(at + 1000000)},
                {"id": 3, "name": None, "amount": "0.01", "when": None},
                {"id": 4, "name": "", "amount": "100.00", "when": str(at - 11045000000)}]
        cols = ("id, name, CAST(amount AS VARCHAR) AS amount, "
                "CAST(epoch_us(\"when\") AS VARCHAR) AS \"when\"")
        got = duckdb("SELECT %s FROM read_parquet(%s) ORDER BY id" % (
            cols, sql_list(data_paths(self.server, "tpd2p", ".parquet"))))
        self.assertEqual(got, want)
        csv_paths = data_paths(self.server, "tpd2c", ".csv.gz")
        got = duckdb(
            "SELECT %s FROM read_csv(%s, header=true, delim=';', quote='\"', escape='\"', "
            "allow_quoted_nulls=false, "
            "columns={'id': 'INTEGER', 'name': 'VARCHAR', 'amount': 'DECIMAL(8,2)', "
            "'when': 'TIMESTAMPTZ'}) ORDER BY id" % (cols, sql_list(csv_paths)))
        self.assertEqual(got, want)
        for ds in ("tpd2p", "tpd2c"):
            failed = self.failed(ds)
            self.assertEqual(len(failed), 1, failed)
            self.assertIn("5 fields", failed[0]["errorMessage"])

    def test_inferred_schema_widens_until_pinned(self):
        self.create_stream("tp3", shards=1)
        self.dataset("tpd3", "parquet")
        self.consumer("tpc3", "tp3", "tpd3")
        self.put("tp3", [json.dumps({"a": i, "b": "x", "t": "2024-05-01T00:00:00Z", "n": None})
                         for i in range(10)])
        wait_for(lambda: data_paths(self.server, "tpd3", ".parquet"), what="the first file")
        st, doc = self.api.call("GET", "/api/v1/datasets/tpd3")
        self.assertEqual(st, 200)
        schema = doc["schema"]
        self.assertTrue(schema["inferred"])
        self.assertEqual([(c["name"], c["type"]) for c in schema["columns"]],
                         [("a", "int64"), ("b", "string"), ("t", "timestamp_us"), ("n", "string")])
        first = data_paths(self.server, "tpd3", ".parquet")
        self.assertEqual(KEY_RE.match(dataset_files(self.server, "tpd3")[0]).group(6), "2")
        # A wider value and a new member: the schema widens, the version moves on.
        self.put("tp3", [json.dumps({"a": 1.5, "b": "y", "c": [1, 2]})])
        wait_for(lambda: len(data_paths(self.server, "tpd3", ".parquet")) == 2, what="second file")
        st, doc = self.api.call("GET", "/api/v1/datasets/tpd3")
        cols = {c["name"]: c["type"] for c in doc["schema"]["columns"]}
        self.assertEqual(cols["a"], "double")
        self.assertEqual(cols["c"], "list<int64>")
        second = [p for p in data_paths(self.server, "tpd3", ".parquet") if p not in first]
        self.assertEqual(KEY_RE.match(os.path.relpath(
            second[0], os.path.join(self.server.data_dir, "datasets", "tpd3"))).group(6), "3")
        self.assertEqual(duckdb("SELECT a, c FROM read_parquet(%s)" % sql_list(second)),
                         [{"a": 1.5, "c": ["1", "2"]}])  # DuckDB's JSON form of BIGINT
        # Pinned: it no longer widens; what does not fit fails, with the reason.
        st, doc = self.api.call("PUT", "/api/v1/datasets/tpd3", {"schema": {"inferred": False}})
        self.assertEqual(st, 200, doc)
        self.assertNotIn("inferred", doc["schema"])
        self.put("tp3", [json.dumps({"a": "not a number"}), json.dumps({"a": 7, "z": 1})])
        wait_for(lambda: self.failed("tpd3") and len(data_paths(self.server, "tpd3", ".parquet")) == 3,
                 what="the third file and a failure")
        self.assertIn("'not a number'", self.failed("tpd3")[0]["errorMessage"])
        # The pin was a schema change: the consumer's version moved on, so did the names.
        root = os.path.join(self.server.data_dir, "datasets", "tpd3")
        third = [p for p in data_paths(self.server, "tpd3", ".parquet")
                 if p not in first and p not in second]
        self.assertEqual(KEY_RE.match(os.path.relpath(third[0], root)).group(6), "4")
        st, doc = self.api.call("GET", "/api/v1/datasets/tpd3")
        self.assertNotIn("z", [c["name"] for c in doc["schema"]["columns"]])

    def test_the_seed_use_case_transformed_csv_lines_into_an_inferred_parquet_schema(self):
        # The seed: CSV lines pushed one per record, a transformation keeping one sector, the
        # dataset a Parquet one whose columns come from the declared header and the data.
        self.create_stream("tp5", shards=1)
        with open(os.path.join(HERE, "seed_filters", "filter_technology.py")) as f:
            st, body = create_function(self.api, "tech-only", "filter_technology.py", f.read(),
                                       "filter_technology.lambda_handler")
        self.assertEqual(st, 201, body)
        self.dataset("tpd5", "parquet", {"input": "csv", "csv_header": [
            "company", "suffix", "employees", "sector"]})
        st, doc = self.api.call("POST", "/api/v1/consumers", {
            "name": "tpc5", "stream": "tp5", "dataset": "tpd5", "buffer_size_mib": 1,
            "buffer_interval_seconds": 1, "transformation": "tech-only"})
        self.assertEqual(st, 201, doc)
        lines = ["company,suffix,employees,sector\n"] + [
            "Company%d,Inc,%d,%s\n" % (i, 1000 + i, SECTORS[i % len(SECTORS)]) for i in range(60)]
        # The filter fails the header line (its "sector" is no known sector): it lands in
        # processing-failed/, as in the seed.
        self.put("tp5", lines)
        wait_for(lambda: data_paths(self.server, "tpd5", ".parquet"), timeout=60, what="a file")
        st, doc = self.api.call("GET", "/api/v1/datasets/tpd5")
        self.assertEqual([(c["name"], c["type"]) for c in doc["schema"]["columns"]],
                         [("company", "string"), ("suffix", "string"), ("employees", "int64"),
                          ("sector", "string")])
        self.assertTrue(doc["schema"]["inferred"])
        got = duckdb("SELECT company, employees, sector FROM read_parquet(%s) ORDER BY employees"
                     % sql_list(data_paths(self.server, "tpd5", ".parquet")))
        want = [{"company": "Company%d" % i, "employees": str(1000 + i), "sector": "TECHNOLOGY"}
                for i in range(60) if SECTORS[i % len(SECTORS)] == "TECHNOLOGY"]
        self.assertEqual(got, want)

    @slow
    def test_kill9_while_an_inferred_schema_widens_loses_and_repeats_nothing(self):
        server, api = own_server_with_stream(self, "eo", shards=2)
        self.assertEqual(api.call("POST", "/api/v1/datasets", {
            "name": "eo", "file_type": "parquet", "target": {"type": "local"}})[0], 201)
        self.assertEqual(api.call("POST", "/api/v1/consumers", {
            "name": "eo", "stream": "eo", "dataset": "eo", "buffer_size_mib": 1,
            "buffer_interval_seconds": 0})[0], 201)
        ids = itertools.count()
        for round_ in range(3):
            stop = threading.Event()
            lock = threading.Lock()

            def writer():
                c = server.client()
                while not stop.is_set():
                    with lock:
                        n = [next(ids) for _ in range(50)]
                    # Each round widens the schema: a new member, then a double for an int.
                    batch = [json.dumps({"n": i, "v": (i + 0.5) if round_ == 2 else i,
                                         **({"r%d" % round_: "x"} if round_ else {})})
                             for i in n]
                    try:
                        c.put_records(StreamName="eo", Records=[
                            {"Data": d.encode(), "PartitionKey": str(random.random())}
                            for d in batch])
                    except Exception:
                        return
            threads = [threading.Thread(target=writer) for _ in range(2)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.5, 1.5))
            server.kill9()
            stop.set()
            for t in threads:
                t.join()
            server.start()
        in_stream = [json.loads(d)["n"] for d in harness.all_records(server.client(), "eo")]
        self.assertGreater(len(in_stream), 100)

        def delivered():
            paths = data_paths(server, "eo", ".parquet")
            if not paths:
                return []
            return [int(r["n"]) for r in duckdb(
                "SELECT n FROM read_parquet(%s, union_by_name=true)" % sql_list(paths))]
        wait_for(lambda: len(delivered()) >= len(in_stream), timeout=90,
                 what="every record of the stream delivered")
        time.sleep(1)
        got = delivered()
        self.assertEqual(len(got), len(set(got)), "a record was delivered twice")
        self.assertEqual(sorted(got), sorted(in_stream))
        self.assertEqual(self.failed_in(server, "eo"), [])
        st, doc = api.call("GET", "/api/v1/datasets/eo")
        cols = {c["name"]: c["type"] for c in doc["schema"]["columns"]}
        self.assertEqual(cols, {"n": "int64", "v": "double", "r1": "string", "r2": "string"})

    def failed_in(self, server, dataset):
        return read_lines(server, dataset, "format-conversion-failed/")

    def test_parquet_into_an_s3_bucket(self):
        port = harness.free_port()
        proc, s3 = start_moto(port)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)  # cleanups run last first: kill, then wait
        s3.create_bucket(Bucket="lake")
        self.create_stream("tp6", shards=1)
        self.dataset("tpd6", "parquet", {"columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "tags", "type": "list<string>"},
            {"name": "geo", "type": "struct<lat:double,lon:double>"}]}, target={
            "type": "s3", "endpoint_url": "http://127.0.0.1:%d" % port, "bucket": "lake",
            "prefix": "orders/", "access_key_id": "AKIDMOTO", "secret_access_key": "secret"})
        self.consumer("tpc6", "tp6", "tpd6")
        self.put("tp6", [json.dumps({"id": i, "tags": ["t%d" % (i % 3), None][:1 + i % 2],
                                     "geo": {"lat": i / 2, "lon": -i}}) for i in range(100)])

        def objects():
            return [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
        wait_for(objects, timeout=60, what="the object in the bucket")
        key = objects()[0]
        self.assertTrue(key.startswith("orders/") and key.endswith(".parquet"), key)
        self.assertTrue(KEY_RE.match(key[len("orders/"):]), key)
        obj = s3.get_object(Bucket="lake", Key=key)
        self.assertEqual(obj["ContentType"], "application/vnd.apache.parquet")
        path = os.path.join(self.server.data_dir, "downloaded.parquet")
        with open(path, "wb") as f:
            f.write(obj["Body"].read())
        rows = duckdb("SELECT id, tags, geo FROM read_parquet('%s') ORDER BY id" % path)
        self.assertEqual(len(rows), 100)
        for i, r in enumerate(rows):
            self.assertEqual(r["id"], str(i))
            self.assertEqual(r["tags"], ["t%d" % (i % 3), None][:1 + i % 2])
            self.assertEqual(r["geo"], {"lat": i / 2, "lon": float(-i)})

    def test_bad_schemas_are_refused_with_the_member_named(self):
        cases = [
            ("parquet", {"columns": [{"name": "a", "type": "str"}]}, "schema.columns[0].type"),
            ("parquet", {"columns": [{"name": "a", "type": "decimal(40,2)"}]},
             "schema.columns[0].type"),
            ("csv", {"columns": [{"name": "a", "type": "int64"}, {"name": "a", "type": "int64"}]},
             "schema.columns[1].name"),
            ("jsonl", {"columns": [{"name": "a", "type": "int64"}]}, "schema"),
            ("parquet", {"input": "xml"}, "schema.input"),
            ("csv", {"input": "csv", "csv_header": ["x"], "columns": [{"name": "y", "type": "int64"}]},
             "schema.columns"),
        ]
        for i, (file_type, schema, member) in enumerate(cases):
            doc = self.dataset("bad%d" % i, file_type, schema, expect=400)
            self.assertTrue(doc["error"]["message"].startswith(member), doc)
        # Nothing to pin before the first records gave columns.
        self.dataset("nocols", "parquet")
        st, doc = self.api.call("PUT", "/api/v1/datasets/nocols", {"schema": {"inferred": False}})
        self.assertEqual(st, 409, doc)
        self.assertIn("no columns to pin yet", doc["error"]["message"])


if __name__ == "__main__":
    unittest.main()
