"""Consumer record filters (issue #12, "Delivery to each customer"): a jq expression per
consumer chooses its records from a shared stream. Here, the seed's shape: one consumer per
tenant, each dataset holding exactly its tenant's records; rejected records are counted as
filtered, not failed; an expression that does not compile is a 400 with jq's message."""
import json
import os
import subprocess

import harness
from harness import millrace_only
from test_consumers import Api, read_lines, wait_for

TENANTS = ("ACME", "GLOBEX", "INITECH")


@millrace_only("consumer filters are Millrace's")
class FiltersTest(harness.KinesisTestCase):
    def setUp(self):
        self.api = Api(self.server)

    def test_one_consumer_per_tenant_gets_exactly_its_records(self):
        self.create_stream("shipments", shards=2)
        for t in TENANTS:
            st, doc = self.api.call("POST", "/api/v1/consumers", {
                "name": "PROD_%s_Shipment" % t, "stream": "shipments", "buffer_size_mib": 1,
                "buffer_interval_seconds": 1,
                "dataset": {"name": "tenant-%s" % t.lower(), "file_type": "jsonl"},
                "filter": '.dynamodb.NewImage.tenant == "%s" or .dynamodb.OldImage.tenant == "%s"'
                          % (t, t)})
            self.assertEqual(st, 201, doc)
        sent = {t: [] for t in TENANTS}
        records = []
        for i in range(90):
            t = TENANTS[i % 3]
            kind = ("INSERT", "MODIFY", "REMOVE")[i % 3 if i % 2 else 0]
            image = {"tenant": t, "id": i}
            dyn = {"Keys": {"id": i}}
            if kind != "REMOVE":
                dyn["NewImage"] = image
            if kind != "INSERT":
                dyn["OldImage"] = image
            rec = json.dumps({"eventName": kind, "dynamodb": dyn}).encode()
            sent[t].append(rec)
            records.append({"Data": rec, "PartitionKey": "shipment/%d" % i})
        records.append({"Data": b"not json at all", "PartitionKey": "x"})
        self.kinesis.put_records(StreamName="shipments", Records=records)
        for t in TENANTS:
            ds = "tenant-%s" % t.lower()
            wait_for(lambda: len(read_lines(self.server, ds)) >= 30, timeout=30, what=ds)
        for t in TENANTS:
            got = read_lines(self.server, "tenant-%s" % t.lower())
            self.assertEqual(sorted(got), sorted(sent[t]), t)
            st, doc = self.api.call("GET", "/api/v1/consumers/PROD_%s_Shipment" % t)
            c = doc["counters"]
            self.assertEqual((c["records_delivered"], c["records_filtered"]), (30, 61), c)
            self.assertEqual(doc["records_failed"], 0)
            self.assertEqual(doc["filter"], '.dynamodb.NewImage.tenant == "%s" or '
                                            '.dynamodb.OldImage.tenant == "%s"' % (t, t))
        metrics = self.server.raw().request(b"", method="GET", path="/metrics").body.decode()
        self.assertIn('millrace_consumer_records_total{consumer="PROD_ACME_Shipment",'
                      'outcome="filtered"} 61', metrics)

    def test_a_filter_that_does_not_compile_is_refused(self):
        self.create_stream("filter-bad", shards=1)
        st, doc = self.api.call("POST", "/api/v1/consumers", {
            "name": "fb", "stream": "filter-bad", "filter": ".tenant ==",
            "dataset": {"name": "fb", "file_type": "jsonl"}})
        self.assertEqual(st, 400, doc)
        self.assertIn("filter: is not a valid jq expression", doc["error"]["message"])
        st, doc = self.api.call("GET", "/api/v1/datasets/fb")
        self.assertEqual(st, 404, doc)  # nothing was created
        # The CLI sets and removes it.
        env = dict(os.environ, MILLRACE_ENDPOINT=self.server.endpoint,
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.server.data_dir, "credentials"))
        run = lambda *a: subprocess.run([self.server.binary] + list(a), capture_output=True,
                                        text=True, env=env, timeout=60)
        out = run("consumers", "create", "fc", "--stream", "filter-bad", "--dataset", "fc",
                  "--file-type", "jsonl", "--filter", '.n > 1')
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["filter"], ".n > 1")
        out = run("consumers", "update", "fc", "--filter", "")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("filter", json.loads(out.stdout))
