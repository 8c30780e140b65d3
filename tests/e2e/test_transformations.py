"""Transformations end to end: the seed's use case with its two filter handlers verbatim
(tests/e2e/seed_filters/, indentation restored only), and functions that fail."""
import base64
import json
import os
import time
import unittest

import harness
from harness import millrace_only
from test_consumers import Api, dataset_files, read_lines, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
SECTORS = ["FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL", "AEROSPACE"]


def create_function(api, name, file_name, source, handler, **extra):
    body = {"name": name, "runtime": "python3", "handler": handler,
            "code": {"file_name": file_name,
                     "content_base64": base64.b64encode(source.encode()).decode()}}
    body.update(extra)
    return api.call("POST", "/api/v1/transformations", body)


@millrace_only("transformations")
class SeedTransformationsTest(harness.KinesisTestCase):
    def test_each_dataset_holds_exactly_its_sector(self):
        api = Api(self.server)
        self.create_stream("My-Stream", shards=1)
        for fn, file_name in (("filter-by-financial-sector", "filter_financial.py"),
                              ("filter-by-technology-sector", "filter_technology.py")):
            with open(os.path.join(HERE, "seed_filters", file_name)) as f:
                source = f.read()
            st, body = create_function(api, fn, file_name, source,
                                       file_name[:-3] + ".lambda_handler")
            self.assertEqual(st, 201, body)
        for c, ds, fn in (
                ("finance-data-consumer", "my_financial_streaming_data", "filter-by-financial-sector"),
                ("technology-data-consumer", "my_technical_streaming_data", "filter-by-technology-sector")):
            st, body = api.call("POST", "/api/v1/consumers", {
                "name": c, "stream": "My-Stream", "buffer_size_mib": 1, "buffer_interval_seconds": 1,
                "transformation": fn,
                "dataset": {"name": ds, "file_type": "other", "target": {"type": "local"}}})
            self.assertEqual(st, 201, body)
        lines = ["Company%d,Inc,%d,%s\n" % (i, 1000 + i, SECTORS[i % len(SECTORS)]) for i in range(60)]
        for line in lines:  # the seed's producer loop: put_record per CSV line
            self.kinesis.put_record(StreamName="My-Stream", Data=line, PartitionKey=str(hash(line)))
        want = {
            "my_financial_streaming_data": [l for l in lines if l.split(",")[3].strip() == "FINANCIAL"],
            "my_technical_streaming_data": [l for l in lines if l.split(",")[3].strip() == "TECHNOLOGY"],
        }
        for ds, expected in want.items():
            wait_for(lambda: len(read_lines(self.server, ds)) >= len(expected), timeout=60, what=ds)
            wait_for(lambda: any(f.startswith("processing-failed/") for f in dataset_files(self.server, ds)),
                     timeout=30, what=ds + " processing-failed")
            time.sleep(1)
            self.assertEqual(sorted(read_lines(self.server, ds)),
                             sorted(l.rstrip("\n").encode() for l in expected))
            # Unknown sectors (AEROSPACE) are ProcessingFailed; Dropped records land nowhere.
            failed = [json.loads(l) for l in read_lines(self.server, ds, "processing-failed/")]
            raws = sorted(base64.b64decode(f["rawData"]).decode() for f in failed)
            self.assertEqual(raws, sorted(l for l in lines if "AEROSPACE" in l))
            for f in failed:
                for field in ("attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage",
                              "attemptEndingTimestamp", "rawData"):
                    self.assertIn(field, f)
        st, body = api.call("GET", "/api/v1/transformations/filter-by-financial-sector/logs")
        self.assertEqual(st, 200, body)
        self.assertTrue(any("Processed" in l.get("text", "") for l in body["lines"]), body)

    def test_large_ranges_are_transformed_in_parallel_batches_in_order(self):
        api = Api(self.server)
        self.create_stream("big", shards=1)
        src = ("import base64, json\n"
               "def handler(event, context):\n"
               "    out = []\n"
               "    for r in event['records']:\n"
               "        d = json.loads(base64.b64decode(r['data']))\n"
               "        d['t'] = 1\n"
               "        out.append({'recordId': r['recordId'], 'result': 'Ok',\n"
               "                    'data': base64.b64encode(json.dumps(d).encode()).decode()})\n"
               "    return {'records': out}\n")
        st, body = create_function(api, "tag", "tag.py", src, "tag.handler")
        self.assertEqual(st, 201, body)
        st, body = api.call("POST", "/api/v1/consumers", {
            "name": "big", "stream": "big", "buffer_size_mib": 8, "buffer_interval_seconds": 3,
            "transformation": "tag", "transformation_buffer_mib": 1, "transformation_workers": 2,
            "dataset": {"name": "big", "file_type": "jsonl", "target": {"type": "local"}}})
        self.assertEqual(st, 201, body)
        pad = "x" * 1000
        for b in range(6):  # ~3 MB: three 1 MB batches, two invoked at once
            self.kinesis.put_records(StreamName="big", Records=[
                {"Data": json.dumps({"n": b * 500 + i, "pad": pad}).encode(), "PartitionKey": "k"}
                for i in range(500)])
        wait_for(lambda: len(read_lines(self.server, "big")) >= 3000, timeout=60, what="3000 records")
        ns = [json.loads(l)["n"] for l in read_lines(self.server, "big")]
        self.assertEqual(ns, list(range(3000)))
        st, body = api.call("GET", "/api/v1/consumers/big")
        self.assertEqual(body.get("transformation_workers"), 2, body)
        st, body = api.call("POST", "/api/v1/consumers", {
            "name": "bad", "stream": "big", "dataset": "big", "transformation": "tag",
            "transformation_buffer_mib": 7})
        self.assertEqual(st, 400, body)
        self.assertIn("transformation_buffer_mib", body["error"]["message"])
        self.assertTrue(all(json.loads(l)["t"] == 1 for l in read_lines(self.server, "big")))

    def test_a_crashing_function_sends_its_records_to_processing_failed(self):
        api = Api(self.server)
        self.create_stream("crashy", shards=1)
        st, body = create_function(api, "crash", "crash.py",
                                   "def handler(event, context):\n    raise ValueError('boom')\n",
                                   "crash.handler")
        self.assertEqual(st, 201, body)
        st, body = api.call("POST", "/api/v1/consumers", {
            "name": "crashy", "stream": "crashy", "buffer_size_mib": 1, "buffer_interval_seconds": 0,
            "transformation": "crash",
            "dataset": {"name": "crashy", "file_type": "jsonl", "target": {"type": "local"}}})
        self.assertEqual(st, 201, body)
        self.kinesis.put_record(StreamName="crashy", Data=b'{"a": 1}', PartitionKey="k")
        wait_for(lambda: read_lines(self.server, "crashy", "processing-failed/"), timeout=60,
                 what="processing-failed records")
        rec = json.loads(read_lines(self.server, "crashy", "processing-failed/")[0])
        self.assertEqual(rec["errorCode"], "Lambda.FunctionError")
        self.assertIn("boom", rec["errorMessage"])
        self.assertEqual(rec["attemptsMade"], 4)  # the first try and three retries
        self.assertEqual(read_lines(self.server, "crashy"), [])
        # The server is still up and answering.
        self.assertEqual(self.kinesis.describe_stream_summary(StreamName="crashy")
                         ["StreamDescriptionSummary"]["StreamStatus"], "ACTIVE")


if __name__ == "__main__":
    unittest.main()
