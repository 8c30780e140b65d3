"""Consumers and datasets (Firehose-style delivery) through the control API, end to end:
files appear under <data-dir>/datasets/<dataset>/ named as Firehose names them, every record
exactly once, across kill -9; the seed's two-consumer use case; /metrics."""
import itertools
import json
import os
import random
import re
import threading
import time
import unittest

import harness
from harness import MillraceServer, RawClient, millrace_only, slow

KEY_RE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/([A-Za-z0-9_.-]+)-(\d+)-"
                    r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-"
                    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(\.[a-z.]+)?$")


class Api:
    def __init__(self, server):
        self.raw = RawClient(server, service="millrace")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        r = self.raw.request(data, method=method, path=path, content_type="application/json")
        try:
            doc = json.loads(r.body) if r.body else None
        except ValueError:
            doc = r.body
        return r.status, doc


def dataset_files(server, dataset):
    root = os.path.join(server.data_dir, "datasets", dataset)
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            if ".tmp" in f:
                continue
            out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def read_lines(server, dataset, prefix=""):
    lines = []
    root = os.path.join(server.data_dir, "datasets", dataset)
    for rel in dataset_files(server, dataset):
        if not rel.startswith(prefix) or (not prefix and "failed/" in rel):
            continue
        with open(os.path.join(root, rel), "rb") as f:
            lines += [l for l in f.read().split(b"\n") if l]
    return lines


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


@millrace_only("consumers and datasets are Millrace's")
class ConsumersTest(harness.KinesisTestCase):
    def setUp(self):
        self.api = Api(self.server)

    def make(self, stream, dataset, consumer, file_type="jsonl", interval=1, shards=2, **extra):
        self.create_stream(stream, shards=shards)
        st, body = self.api.call("POST", "/api/v1/datasets",
                                 {"name": dataset, "file_type": file_type, "target": {"type": "local"}})
        self.assertEqual(st, 201, body)
        spec = {"name": consumer, "stream": stream, "dataset": dataset, "buffer_size_mib": 1,
                "buffer_interval_seconds": interval}
        spec.update(extra)
        st, body = self.api.call("POST", "/api/v1/consumers", spec)
        self.assertEqual(st, 201, body)
        return body

    def test_records_land_once_in_firehose_named_files(self):
        self.make("cs1", "ds1", "c1")
        sent = [json.dumps({"i": i, "pad": "x" * random.randint(0, 50)}).encode() for i in range(300)]
        for i in range(0, 300, 100):
            self.kinesis.put_records(StreamName="cs1", Records=[
                {"Data": d, "PartitionKey": "k%d" % j} for j, d in enumerate(sent[i:i + 100])])
        wait_for(lambda: len(read_lines(self.server, "ds1")) >= 300, what="300 delivered records")
        time.sleep(1.5)  # nothing more should come
        got = read_lines(self.server, "ds1")
        self.assertEqual(sorted(got), sorted(sent))
        for rel in dataset_files(self.server, "ds1"):
            m = KEY_RE.match(rel)
            self.assertTrue(m, rel)
            self.assertEqual(m.group(5), "c1")
            self.assertEqual(m.group(6), "1")  # version 1
            self.assertEqual(m.groups()[0:4], m.groups()[6:10])  # folder hour = name hour
            self.assertTrue(rel.endswith(".jsonl"), rel)

    def test_invalid_json_goes_to_format_conversion_failed(self):
        self.make("cs2", "ds2", "c2", shards=1)
        self.kinesis.put_record(StreamName="cs2", Data=b'{"ok": 1}', PartitionKey="a")
        self.kinesis.put_record(StreamName="cs2", Data=b"not json", PartitionKey="a")
        wait_for(lambda: any(f.startswith("format-conversion-failed/") for f in
                             dataset_files(self.server, "ds2")), what="error output")
        wait_for(lambda: read_lines(self.server, "ds2") == [b'{"ok": 1}'], what="the good record")
        failed = read_lines(self.server, "ds2", "format-conversion-failed/")
        self.assertEqual(len(failed), 1)
        rec = json.loads(failed[0])
        for field in ("attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage",
                      "attemptEndingTimestamp", "rawData"):
            self.assertIn(field, rec)
        import base64
        self.assertEqual(base64.b64decode(rec["rawData"]), b"not json")

    def test_lag_and_metrics(self):
        self.make("cs3", "ds3", "c3", interval=900, shards=1)
        self.kinesis.put_record(StreamName="cs3", Data=b'{"a":1}', PartitionKey="a")
        def lagging():
            st, body = self.api.call("GET", "/api/v1/consumers/c3")
            return st == 200 and json.dumps(body).find('"records_behind": 1') >= 0
        wait_for(lagging, what="lag of one record in the API")
        r = self.raw.request(b"", method="GET", path="/metrics", sign=False, content_type=None)
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        self.assertIn('millrace_stream_records_in_total{stream="cs3"} 1', text)
        self.assertIn('millrace_consumer_lag_records{consumer="c3",shard="shardId-000000000000"} 1', text)

    def test_follows_resharding_children_after_parents(self):
        self.make("cs4", "ds4", "c4", shards=1, interval=0)
        batch = lambda lo, hi: [{"Data": json.dumps({"n": i, "k": "same"}).encode(),
                                 "PartitionKey": "same-key"} for i in range(lo, hi)]
        self.kinesis.put_records(StreamName="cs4", Records=batch(0, 100))
        self.kinesis.split_shard(StreamName="cs4", ShardToSplit="shardId-000000000000",
                                 NewStartingHashKey=str(2 ** 127))
        self.wait_active("cs4")
        self.kinesis.put_records(StreamName="cs4", Records=batch(100, 200))
        self.kinesis.merge_shards(StreamName="cs4", ShardToMerge="shardId-000000000001",
                                  AdjacentShardToMerge="shardId-000000000002")
        self.wait_active("cs4")
        self.kinesis.put_records(StreamName="cs4", Records=batch(200, 300))
        wait_for(lambda: len(read_lines(self.server, "ds4")) >= 300, what="300 records")
        time.sleep(0.5)
        got = read_lines(self.server, "ds4")
        self.assertEqual(len(got), 300)
        # One partition key: its records keep their order across the parent/child files.
        files = dataset_files(self.server, "ds4")
        by_shard = {}
        for rel in files:
            with open(os.path.join(self.server.data_dir, "datasets", "ds4", rel), "rb") as f:
                ns = [json.loads(l)["n"] for l in f.read().split(b"\n") if l]
            by_shard.setdefault(min(ns), ns)
        ordered = [n for first in sorted(by_shard) for n in by_shard[first]]
        self.assertEqual(ordered, list(range(300)))

    def test_one_file_per_delivery_across_shards(self):
        # Firehose writes one object per buffer, whatever the shard: 400 records put over 4
        # shards within the buffer's interval are one file, each shard's records in order.
        self.make("cs5", "ds5", "c5", shards=4, interval=3)
        keys = ["key-%d" % i for i in range(16)]
        for lo in range(0, 400, 100):
            self.kinesis.put_records(StreamName="cs5", Records=[
                {"Data": json.dumps({"n": i, "k": keys[i % 16]}).encode(),
                 "PartitionKey": keys[i % 16]} for i in range(lo, lo + 100)])
        wait_for(lambda: len(read_lines(self.server, "ds5")) >= 400, what="400 records")
        time.sleep(0.5)
        files = dataset_files(self.server, "ds5")
        self.assertEqual(len(files), 1, files)
        records = [json.loads(l) for l in read_lines(self.server, "ds5")]
        self.assertEqual(sorted(r["n"] for r in records), list(range(400)))
        shards = {d["ShardId"] for d in self.kinesis.list_shards(StreamName="cs5")["Shards"]}
        self.assertEqual(len(shards), 4)
        for k in keys:  # each key's records in the order they were put
            ns = [r["n"] for r in records if r["k"] == k]
            self.assertEqual(ns, sorted(ns), k)
        # The records of one shard are together, in its order: the file goes shard by shard.
        shard_of = {}
        for i in range(16):
            r = self.kinesis.put_record(StreamName="cs5", Data=b"{}", PartitionKey=keys[i])
            shard_of[keys[i]] = r["ShardId"]
        order = [shard_of[r["k"]] for r in records]
        runs = [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s]
        self.assertEqual(runs, sorted(set(order)), "one run per shard, by shard id")
        self.assertGreater(len(set(order)), 1)

    def test_buffer_size_counts_every_shard(self):
        # The buffer is the delivery's, across shards: 1 MiB of records spread over 4
        # shards makes one file of about 1 MiB, not four of a quarter each.
        self.make("cs6", "ds6", "c6", shards=4, interval=900)
        pad = "x" * 10000
        sent = [json.dumps({"n": i, "pad": pad}).encode() for i in range(350)]
        for lo in range(0, 350, 50):
            self.kinesis.put_records(StreamName="cs6", Records=[
                {"Data": d, "PartitionKey": "p%d" % (lo + j)} for j, d in enumerate(sent[lo:lo + 50])])
        wait_for(lambda: len(dataset_files(self.server, "ds6")) >= 3, what="3 full files")
        time.sleep(1)
        files = dataset_files(self.server, "ds6")
        self.assertEqual(len(files), 3, files)
        root = os.path.join(self.server.data_dir, "datasets", "ds6")
        for rel in files:
            size = os.path.getsize(os.path.join(root, rel))
            self.assertGreaterEqual(size, 1 << 20, rel)
            self.assertLess(size, (1 << 20) + 10100, rel)  # at most one record past the size
        # The rest waits for the interval, and says so.
        st, body = self.api.call("GET", "/api/v1/consumers/c6")
        self.assertEqual(st, 200, body)
        self.assertEqual(350 - len(read_lines(self.server, "ds6")),
                         body["lag"]["records_behind"], body)

    def test_time_zone_names_folders_and_files_in_local_time(self):
        from zoneinfo import ZoneInfo
        import datetime
        for bad in ("Mars/Olympus", "../etc/passwd", "Etc/GMT+5", "Europe"):
            st, body = self.api.call("POST", "/api/v1/datasets",
                                     {"name": "tzbad", "file_type": "jsonl", "time_zone": bad})
            self.assertEqual(st, 400, body)
            self.assertIn("time_zone", body["error"]["message"])
        self.create_stream("cs7", shards=1)
        st, body = self.api.call("POST", "/api/v1/datasets",
                                 {"name": "ds7", "file_type": "jsonl", "time_zone": "Pacific/Chatham"})
        self.assertEqual(st, 201, body)
        self.assertEqual(body["time_zone"], "Pacific/Chatham")
        self.assertEqual(self.api.call("POST", "/api/v1/consumers", {
            "name": "c7", "stream": "cs7", "dataset": "ds7", "buffer_size_mib": 1,
            "buffer_interval_seconds": 0})[0], 201)
        zone = ZoneInfo("Pacific/Chatham")  # +12:45 or +13:45: no hour of UTC's
        before = datetime.datetime.now(zone)
        self.kinesis.put_record(StreamName="cs7", Data=b'{"a": 1}', PartitionKey="a")
        wait_for(lambda: dataset_files(self.server, "ds7"), what="a file")
        after = datetime.datetime.now(zone)
        rel = dataset_files(self.server, "ds7")[0]
        m = KEY_RE.match(rel)
        self.assertTrue(m, rel)
        stamps = {t.strftime("%Y/%m/%d/%H %Y-%m-%d-%H-%M") for t in (before, after)}
        self.assertIn("%s/%s/%s/%s %s-%s-%s-%s-%s" % (m.group(1), m.group(2), m.group(3), m.group(4),
                                                      m.group(7), m.group(8), m.group(9), m.group(10),
                                                      m.group(11)), stamps, rel)

    def test_api_errors_say_which_field(self):
        st, body = self.api.call("POST", "/api/v1/consumers",
                                 {"name": "bad", "stream": "nope", "dataset": "nope",
                                  "buffer_size_mib": 500, "buffer_interval_seconds": 1})
        self.assertEqual(st, 400, body)
        self.assertIn("buffer_size_mib", body["error"]["message"])
        st, body = self.api.call("GET", "/api/v1/consumers/none-such")
        self.assertEqual(st, 404, body)
        self.assertIn("code", body["error"])


def own_server_with_stream(test, stream, shards):
    """A server of the test's own (to kill -9), with `stream` ACTIVE; (server, Api)."""
    server = MillraceServer()
    server.start()
    test.addCleanup(server.close)
    k = server.client()
    k.create_stream(StreamName=stream, ShardCount=shards)
    wait_for(lambda: k.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
             ["StreamStatus"] == "ACTIVE", what="ACTIVE")
    return server, Api(server)


@millrace_only("exactly-once delivery across kill -9")
class ExactlyOnceTest(unittest.TestCase):
    @slow
    def test_kill9_at_random_moments_delivers_every_record_once(self):
        self.kill9_round_trip({}, {})

    @slow
    def test_kill9_with_dynamic_partitions_delivers_every_record_once(self):
        server = self.kill9_round_trip({"partition_query": "{p: (.n % 7)}"},
                                       {"key_prefix": "p=!{partitionKeyFromQuery:p}/",
                                        "error_prefix": "failed/!{firehose:error-output-type}/"})
        root = os.path.join(server.data_dir, "datasets", "eo")
        for rel in dataset_files(server, "eo"):
            m = re.match(r"^p=(\d)/eo-\d+-", rel)
            self.assertIsNotNone(m, rel)
            with open(os.path.join(root, rel), "rb") as f:
                for line in f.read().splitlines():
                    self.assertEqual(json.loads(line)["n"] % 7, int(m.group(1)), rel)

    def test_a_delivery_cut_short_across_shards_is_completed_once(self):
        # A stop between recording a delivery and moving its shards' checkpoints leaves the
        # intent in the catalog; the next start writes that delivery (both shards' ranges,
        # in one file) before reading on, and every record still lands once.
        import sqlite3
        server, api = own_server_with_stream(self, "rd", shards=2)
        self.assertEqual(api.call("POST", "/api/v1/datasets", {"name": "rd", "file_type": "jsonl"})[0], 201)
        self.assertEqual(api.call("POST", "/api/v1/consumers",
                                  {"name": "rd", "stream": "rd", "dataset": "rd", "buffer_size_mib": 1,
                                   "buffer_interval_seconds": 900})[0], 201)
        k = server.client()
        for shard, hash_key in ((0, "0"), (1, str(2 ** 127))):
            r = k.put_records(StreamName="rd", Records=[
                {"Data": json.dumps({"s": shard, "n": n}).encode(), "PartitionKey": "x",
                 "ExplicitHashKey": hash_key} for n in range(10)])
            self.assertEqual({x["ShardId"] for x in r["Records"]}, {"shardId-%012d" % shard})
        catalog = os.path.join(server.data_dir, "catalog.db")

        def checkpoints():
            db = sqlite3.connect(catalog, timeout=10)
            try:
                return {row[0]: row[1:] for row in db.execute(
                    "SELECT shard_index, next_counter, pending, stream_id FROM checkpoints "
                    "WHERE consumer = 'rd'")}
            finally:
                db.close()
        wait_for(lambda: {0, 1} <= set(checkpoints()), what="the consumer's checkpoints")
        server.kill9()
        rows = checkpoints()
        (c0, _, stream_id), (c1, _, _) = rows[0], rows[1]
        pending = {"key": "redo/cut-short.jsonl", "failed_key": "redo/failed.json",
                   "processing_failed_key": "redo/processing-failed.json",
                   "ranges": [{"shard": 0, "first": c0, "last": c0 + 4},
                              {"shard": 1, "first": c1, "last": c1 + 4}]}
        db = sqlite3.connect(catalog)
        db.execute("INSERT OR REPLACE INTO checkpoints VALUES ('rd', ?, 4294967295, 0, ?)",
                   (stream_id, json.dumps(pending)))
        db.commit()
        db.close()
        server.start()
        path = os.path.join(server.data_dir, "datasets", "rd", "redo", "cut-short.jsonl")
        wait_for(lambda: os.path.exists(path), what="the delivery completed")
        with open(path, "rb") as f:
            got = [(d["s"], d["n"]) for d in map(json.loads, f.read().splitlines())]
        self.assertEqual(got, [(0, n) for n in range(5)] + [(1, n) for n in range(5)])
        wait_for(lambda: [r[:2] for _, r in sorted(checkpoints().items())] ==
                 [(c0 + 5, ""), (c1 + 5, ""), (0, "")], what="checkpoints past the delivery")
        # The rest of each shard comes after, in a delivery of its own; nothing twice.
        self.assertEqual(api.call("PUT", "/api/v1/consumers/rd", {"buffer_interval_seconds": 0})[0], 200)
        wait_for(lambda: len(read_lines(server, "rd")) >= 20, what="all 20 records")
        time.sleep(0.5)
        lines = read_lines(server, "rd")
        self.assertEqual(sorted(lines), sorted(json.dumps({"s": s, "n": n}).encode()
                                               for s in (0, 1) for n in range(10)))

    def test_the_recorded_delivery_names_its_shards_and_version(self):
        # While a delivery's files cannot be written (the S3 target is down), its intent
        # stays in the catalog: both shards' ranges in one delivery, and the version its
        # partitioned files are named with (a redo after an update names them the same).
        import sqlite3
        server, api = own_server_with_stream(self, "iv", shards=2)
        target = {"type": "s3", "endpoint_url": "http://127.0.0.1:%d" % harness.free_port(),
                  "region": "us-east-1", "bucket": "lake", "access_key_id": "AKIDX",
                  "secret_access_key": "secret"}
        self.assertEqual(api.call("POST", "/api/v1/datasets",
                                  {"name": "iv", "file_type": "jsonl", "target": target,
                                   "key_prefix": "p=!{partitionKeyFromQuery:p}/",
                                   "error_prefix": "failed/!{firehose:error-output-type}/"})[0], 201)
        self.assertEqual(api.call("POST", "/api/v1/consumers",
                                  {"name": "iv", "stream": "iv", "dataset": "iv", "buffer_size_mib": 1,
                                   "buffer_interval_seconds": 2, "partition_query": "{p: .p}"})[0], 201)
        k = server.client()
        for hash_key in ("0", str(2 ** 127)):
            k.put_records(StreamName="iv", Records=[
                {"Data": json.dumps({"p": n % 2}).encode(), "PartitionKey": "x",
                 "ExplicitHashKey": hash_key} for n in range(4)])
        catalog = os.path.join(server.data_dir, "catalog.db")

        def intent():
            db = sqlite3.connect(catalog, timeout=10)
            try:
                row = db.execute("SELECT pending FROM checkpoints WHERE consumer = 'iv' AND "
                                 "shard_index = 4294967295").fetchone()
            finally:
                db.close()
            return json.loads(row[0]) if row and row[0] else None
        wait_for(intent, what="the delivery's intent in the catalog")
        p = intent()
        self.assertEqual([(r["shard"], r["last"] - r["first"]) for r in p["ranges"]], [(0, 3), (1, 3)])
        self.assertEqual(p["version"], api.call("GET", "/api/v1/consumers/iv")[1]["version"])

    def kill9_round_trip(self, consumer_extra, dataset_extra):
        server, api = own_server_with_stream(self, "eo", shards=2)
        self.assertEqual(api.call("POST", "/api/v1/datasets",
                                  dict({"name": "eo", "file_type": "jsonl"}, **dataset_extra))[0], 201)
        self.assertEqual(api.call("POST", "/api/v1/consumers",
                                  dict({"name": "eo", "stream": "eo", "dataset": "eo",
                                        "buffer_size_mib": 1, "buffer_interval_seconds": 0},
                                       **consumer_extra))[0], 201)
        acked = set()
        ids = itertools.count()  # every record unique across threads and rounds
        for round_ in range(4):
            stop = threading.Event()
            lock = threading.Lock()

            def writer():
                c = server.client()
                while not stop.is_set():
                    with lock:
                        batch = [json.dumps({"n": next(ids)}).encode() for _ in range(50)]
                    try:
                        r = c.put_records(StreamName="eo", Records=[
                            {"Data": d, "PartitionKey": str(random.random())} for d in batch])
                    except Exception:
                        return
                    with lock:
                        for d, rec in zip(batch, r["Records"]):
                            if "SequenceNumber" in rec:
                                acked.add(d)
            threads = [threading.Thread(target=writer) for _ in range(2)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.5, 1.5))
            server.kill9()
            stop.set()
            for t in threads:
                t.join()
            server.start()
        # Everything the stream holds: every acknowledged record, plus any whose write was
        # durable but whose answer the kill cut off.
        in_stream = harness.all_records(server.client(), "eo")
        self.assertGreater(len(acked), 100)
        self.assertTrue(acked <= set(in_stream), "an acknowledged record is missing from the stream")
        wait_for(lambda: len(read_lines(server, "eo")) >= len(in_stream), timeout=60,
                 what="every record of the stream delivered")
        time.sleep(1)
        got = read_lines(server, "eo")
        self.assertEqual(len(got), len(set(got)), "a record was delivered twice")
        self.assertEqual(sorted(got), sorted(in_stream))
        return server


def kpl_aggregate(records):
    """A KPL aggregated record (the Kinesis Producer Library's format) of (key, data) pairs."""
    import hashlib

    def varint(v):
        out = b""
        while v >= 0x80:
            out += bytes([(v & 0x7F) | 0x80])
            v >>= 7
        return out + bytes([v])

    def field(n, data):
        return varint(n << 3 | 2) + varint(len(data)) + data
    keys = sorted({k for k, _ in records})
    msg = b"".join(field(1, k.encode()) for k in keys)
    for k, data in records:
        msg += field(3, varint(1 << 3) + varint(keys.index(k)) + field(3, data))
    return b"\xf3\x89\x9a\xc2" + msg + hashlib.md5(msg).digest()


@millrace_only("KPL de-aggregation")
class KplAggregationTest(harness.KinesisTestCase):
    def test_aggregated_records_are_delivered_one_by_one(self):
        self.create_stream("kpl-src", shards=1)
        api = Api(self.server)
        self.assertEqual(api.call("POST", "/api/v1/consumers", {
            "name": "kpl", "stream": "kpl-src", "buffer_size_mib": 1, "buffer_interval_seconds": 0,
            "dataset": {"name": "kpl", "file_type": "jsonl"}})[0], 201)
        users = [("user-%d" % (i % 3), json.dumps({"n": i}).encode()) for i in range(10)]
        self.kinesis.put_record(StreamName="kpl-src", PartitionKey="agg", Data=kpl_aggregate(users))
        self.kinesis.put_record(StreamName="kpl-src", PartitionKey="plain", Data=b'{"n": 10}')
        wait_for(lambda: len(read_lines(self.server, "kpl")) >= 11, what="11 records")
        got = sorted(json.loads(l)["n"] for l in read_lines(self.server, "kpl"))
        self.assertEqual(got, list(range(11)))


@millrace_only("the seed's use case")
class SeedUseCaseTest(harness.KinesisTestCase):
    """Seed 003: CSV lines pushed with put_record into My-Stream; two consumers feed
    my_financial_streaming_data and my_technical_streaming_data. Without transformations
    (a later release) both datasets hold every record."""

    def test_two_consumers_each_get_every_record(self):
        self.create_stream("My-Stream", shards=1)
        api = Api(self.server)
        for ds, c in (("my_financial_streaming_data", "finance-data-consumer"),
                      ("my_technical_streaming_data", "technology-data-consumer")):
            self.assertEqual(api.call("POST", "/api/v1/consumers", {
                "name": c, "stream": "My-Stream", "buffer_size_mib": 1, "buffer_interval_seconds": 1,
                "dataset": {"name": ds, "file_type": "other", "target": {"type": "local"}}})[0], 201)
        lines = ["Company%d,Inc,%d,%s\n" % (i, 1000 + i, s) for i, s in enumerate(
            ["FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL"] * 8)]
        for line in lines:
            self.kinesis.put_record(StreamName="My-Stream", Data=line, PartitionKey=str(hash(line)))
        for ds in ("my_financial_streaming_data", "my_technical_streaming_data"):
            wait_for(lambda: len(read_lines(self.server, ds)) == len(lines), what=ds)
            self.assertEqual(sorted(read_lines(self.server, ds)),
                             sorted(l.rstrip("\n").encode() for l in lines))
        st, body = api.call("GET", "/streams/My-Stream?request_type=get_datasets")
        self.assertEqual(st, 200, body)
        names = sorted(d["name"] for d in body["datasets"])
        self.assertEqual(names, ["my_financial_streaming_data", "my_technical_streaming_data"])


if __name__ == "__main__":
    unittest.main()


def start_moto(port):
    import shutil
    import subprocess
    exe = shutil.which("moto_server") or os.path.expanduser("~/.pyenv/shims/moto_server")
    if not os.path.exists(exe):
        raise unittest.SkipTest("moto_server is not installed")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                      aws_access_key_id="AKIDMOTO", aws_secret_access_key="secret",
                      config=Config(retries={"max_attempts": 1}))
    deadline = time.monotonic() + 20
    while True:
        try:
            s3.list_buckets()
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("moto_server did not start on port %d" % port)
            time.sleep(0.2)
    return proc, s3


@millrace_only("S3 datasets")
class S3DatasetTest(harness.KinesisTestCase):
    def test_delivers_into_s3_and_retries_while_the_target_is_down(self):
        port = harness.free_port()
        api = Api(self.server)
        self.create_stream("s3s", shards=1)
        target = {"type": "s3", "endpoint_url": "http://127.0.0.1:%d" % port, "region": "us-east-1",
                  "bucket": "lake", "prefix": "raw/", "access_key_id": "AKIDMOTO",
                  "secret_access_key": "secret"}
        st, body = api.call("POST", "/api/v1/datasets",
                            {"name": "s3ds", "file_type": "jsonl", "compression": "gzip",
                             "target": target})
        self.assertEqual(st, 201, body)
        self.assertNotIn("secret_access_key", json.dumps(body))
        st, body = api.call("POST", "/api/v1/consumers",
                            {"name": "s3c", "stream": "s3s", "dataset": "s3ds",
                             "buffer_size_mib": 1, "buffer_interval_seconds": 0})
        self.assertEqual(st, 201, body)
        sent = [json.dumps({"i": i}).encode() for i in range(50)]
        self.kinesis.put_records(StreamName="s3s", Records=[
            {"Data": d, "PartitionKey": str(i)} for i, d in enumerate(sent)])

        # Nothing listens on the port yet: the consumer fails, says why, and keeps the records.
        def failing():
            st, body = api.call("GET", "/api/v1/consumers/s3c")
            return st == 200 and body.get("state") == "FAILING" and body.get("last_error")
        wait_for(failing, what="the consumer to report the unreachable target")

        proc, s3 = start_moto(port)
        self.addCleanup(proc.kill)
        s3.create_bucket(Bucket="lake")

        def delivered():
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
            return keys if keys else None
        wait_for(delivered, timeout=60, what="objects in the bucket after it came up")
        import gzip
        got = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
            got = []
            for key in keys:
                self.assertTrue(key.startswith("raw/"), key)
                self.assertTrue(KEY_RE.match(key[len("raw/"):]), key)
                self.assertTrue(key.endswith(".jsonl.gz"), key)
                data = gzip.decompress(s3.get_object(Bucket="lake", Key=key)["Body"].read())
                got += [l for l in data.split(b"\n") if l]
            if len(got) >= len(sent):
                break
            time.sleep(0.2)
        self.assertEqual(sorted(got), sorted(sent))


@millrace_only("the millrace CLI")
class CliTest(harness.KinesisTestCase):
    def cli(self, *args, check=True):
        import subprocess
        r = subprocess.run([self.server.binary, *args, "--endpoint", self.server.endpoint,
                            "--credentials", self.server.credentials_file],
                           capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_datasets_consumers_and_streams_commands(self):
        self.create_stream("cli-s", shards=1)
        out = json.loads(self.cli("datasets", "create", "cli-ds", "--file-type", "jsonl").stdout)
        self.assertEqual(out["name"], "cli-ds")
        out = json.loads(self.cli("consumers", "create", "cli-c", "--stream", "cli-s",
                                  "--dataset", "cli-ds", "--buffer-interval-seconds", "0").stdout)
        self.assertEqual(out["version"], 1)
        self.kinesis.put_record(StreamName="cli-s", Data=b'{"via":"cli"}', PartitionKey="k")
        wait_for(lambda: read_lines(self.server, "cli-ds") == [b'{"via":"cli"}'], what="delivery")
        out = json.loads(self.cli("consumers", "update", "cli-c", "--buffer-size-mib", "2").stdout)
        self.assertEqual(out["version"], 2)
        out = json.loads(self.cli("streams", "datasets", "cli-s").stdout)
        self.assertEqual([d["name"] for d in out["datasets"]], ["cli-ds"])
        listed = json.loads(self.cli("consumers", "list").stdout)
        self.assertIn("cli-c", json.dumps(listed))
        r = self.cli("consumers", "create", "bad", "--stream", "cli-s", "--dataset", "cli-ds",
                     "--buffer-size-mib", "999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("buffer_size_mib", r.stderr)
        r = self.cli("datasets", "delete", "cli-ds", check=False)
        self.assertEqual(r.returncode, 1)  # a consumer delivers to it
        self.cli("consumers", "delete", "cli-c")
        self.cli("datasets", "delete", "cli-ds")
