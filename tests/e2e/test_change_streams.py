"""Change streams: a real PostgreSQL 15 (wal_level = logical, on a free loopback port)
captured into a Millrace stream through logical replication (docs/change-streams.md)."""
import json
import os
import threading
import time
import unittest

from harness import MillraceServer, all_records, millrace_only, slow, unique_name
from pg import Postgres, available
from test_consumers import Api, wait_for


def records(server, stream):
    """The change records in `stream`, parsed, in (commit LSN, seq) order."""
    out = [json.loads(d) for d in all_records(server.client(), stream)]
    out.sort(key=lambda r: (r["source"]["snapshot"] is False,
                            int(r["source"]["lsn"].split("/")[0], 16) << 32 |
                            int(r["source"]["lsn"].split("/")[1], 16),
                            r["source"]["seq"]))
    return out


@millrace_only("change streams")
@unittest.skipUnless(available(), "PostgreSQL 15 is not installed (scripts/install-deps.sh)")
class ChangeStreamCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(logical=True, tcp=True).start()
        cls.server = MillraceServer().start()
        cls.api = Api(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.pg.stop()

    def create(self, name, tables, expect=201, **extra):
        body = {"name": name, "stream": extra.pop("stream", name + "-changes"),
                "source": {"type": "postgresql", "dsn": extra.pop("dsn", self.pg.dsn()),
                           "tables": tables}}
        body["source"].update(extra.pop("source", {}))
        body.update(extra)
        status, doc = self.api.call("POST", "/api/v1/change-streams", body)
        self.assertEqual(status, expect, doc)
        return doc

    def describe(self, name):
        status, doc = self.api.call("GET", "/api/v1/change-streams/" + name)
        self.assertEqual(status, 200, doc)
        return doc

    def wait_streaming(self, name, timeout=30):
        wait_for(lambda: self.describe(name)["state"] == "STREAMING", timeout,
                 "change stream %s never STREAMING: %s\n%s" % (
                     name, self.describe(name), self.server.log_tail()))

    def wait_records(self, stream, n, timeout=30):
        got = []

        def enough():
            got[:] = records(self.server, stream)
            return len(got) >= n
        wait_for(enough, timeout, "expected %d records in %s" % (n, stream))
        time.sleep(0.3)
        got = records(self.server, stream)
        self.assertEqual(len(got), n, [r["eventName"] for r in got])
        return got


class CaptureTest(ChangeStreamCase):
    def test_snapshot_then_changes_in_the_seed_shape(self):
        t = unique_name("ship").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, tenant text NOT NULL, "
                     "weight numeric(10,2), shipped_at timestamptz, tags jsonb)" % t)
        self.pg.psql("ALTER TABLE %s REPLICA IDENTITY FULL" % t)
        self.pg.psql("INSERT INTO %s VALUES (1, 'ACME', 12.50, '2026-12-05 10:00:00+00', "
                     "'{\"fragile\": true}'), (2, 'GLOBEX', NULL, NULL, NULL)" % t)
        doc = self.create(t, ["public." + t])
        self.assertTrue(doc.get("created_stream"), doc)
        self.assertNotIn("password", doc["source"]["dsn"])
        self.wait_streaming(t)
        self.pg.psql("BEGIN; INSERT INTO %s VALUES (3, 'ACME', 1, now(), '[]'); "
                     "UPDATE %s SET weight = 13 WHERE id = 1; COMMIT" % (t, t))
        self.pg.psql("DELETE FROM %s WHERE id = 2" % t)
        recs = self.wait_records(t + "-changes", 5)
        self.assertEqual([r["eventName"] for r in recs],
                         ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"])
        snap = [r for r in recs if r["source"]["snapshot"]]
        self.assertEqual(len(snap), 2)
        first = next(r for r in snap if r["dynamodb"]["Keys"] == {"id": 1})
        self.assertEqual(first["dynamodb"]["NewImage"],
                         {"id": 1, "tenant": "ACME", "weight": 12.50,
                          "shipped_at": "2026-12-05T10:00:00Z", "tags": {"fragile": True}})
        for r in recs:
            self.assertEqual(r["awsRegion"], "us-east-1")
            self.assertEqual(r["tableName"], t)
            self.assertEqual(r["recordFormat"], "application/json")
            self.assertIsNone(r["userIdentity"])
            self.assertEqual(r["dynamodb"]["ApproximateCreationDateTimePrecision"], "MICROSECOND")
            self.assertGreater(r["dynamodb"]["SizeBytes"], 0)
        ins, mod, rem = recs[2], recs[3], recs[4]
        self.assertEqual(ins["source"]["xid"], mod["source"]["xid"])  # one transaction
        self.assertEqual(ins["source"]["lsn"], mod["source"]["lsn"])
        self.assertEqual(mod["dynamodb"]["OldImage"]["weight"], 12.5)
        self.assertEqual(mod["dynamodb"]["NewImage"]["weight"], 13)
        self.assertEqual(mod["source"]["oldImage"], "full")
        self.assertEqual(rem["dynamodb"]["Keys"], {"id": 2})
        self.assertEqual(rem["dynamodb"]["OldImage"]["tenant"], "GLOBEX")
        self.assertNotIn("NewImage", rem["dynamodb"])
        self.assertEqual(len({r["eventID"] for r in recs}), 5)
        d = self.describe(t)
        self.assertEqual(d["counters"]["changes"], 5, d)
        self.assertTrue(d["snapshot_progress"]["done"], d)


if __name__ == "__main__":
    unittest.main()
