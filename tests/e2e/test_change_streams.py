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
        cls.server.close()
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

    def test_every_common_type_in_both_image_formats(self):
        t = unique_name("types").replace("-", "_")
        self.pg.psql("CREATE TYPE %s_mood AS ENUM ('sad', 'happy')" % t)
        self.pg.psql(
            "CREATE TABLE %s (id bigint PRIMARY KEY, n numeric, big numeric, txt text, b bool, "
            "i2 int2, i4 int4, f4 real, f8 double precision, nan float8, ts timestamptz, "
            "lts timestamp, d date, u uuid, j json, jb jsonb, arr int[], tarr text[], "
            "by bytea, mood %s_mood, nul text)" % (t, t))
        row = ("(9007199254740993, 12.50, 123456789012345678901234.5, E'tab\\there \"q\"', true, "
               "-2, 40000, 1.5, 0.1, 'NaN', '2026-01-02 03:04:05.123456+02', "
               "'2026-01-02 03:04:05', '2026-01-02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
               "'{\"a\": [1, 2]}', '{\"k\": {\"x\": null}}', '{1,NULL,3}', "
               "'{\"a b\",c}', '\\x0001ff', 'happy', NULL)")
        for fmt in ("plain", "dynamodb"):
            name = t + "_" + fmt
            self.pg.psql("CREATE TABLE %s (LIKE %s INCLUDING ALL)" % (name, t))
            self.pg.psql("INSERT INTO %s VALUES %s" % (name, row))  # the snapshot's copy
            self.create(name, [name], image_format=fmt)
            self.wait_streaming(name)
            self.pg.psql("INSERT INTO %s SELECT id + 1, n, big, txt, b, i2, i4, f4, f8, nan, ts, "
                         "lts, d, u, j, jb, arr, tarr, by, mood, nul FROM %s" % (name, name))
            recs = self.wait_records(name + "-changes", 2)
            snap, change = recs[0]["dynamodb"]["NewImage"], recs[1]["dynamodb"]["NewImage"]
            del snap["id"], change["id"]
            self.assertEqual(snap, change)  # COPY and pgoutput give the same record
            if fmt == "plain":
                self.assertEqual(snap, {
                    "n": 12.5, "big": "123456789012345678901234.5", "txt": 'tab\there "q"',
                    "b": True, "i2": -2, "i4": 40000, "f4": 1.5, "f8": 0.1, "nan": "NaN",
                    "ts": "2026-01-02T01:04:05.123456Z", "lts": "2026-01-02T03:04:05",
                    "d": "2026-01-02", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                    "j": {"a": [1, 2]}, "jb": {"k": {"x": None}}, "arr": [1, None, 3],
                    "tarr": ["a b", "c"], "by": "AAH/", "mood": "happy", "nul": None})
                self.assertEqual(recs[0]["dynamodb"]["Keys"], {"id": 9007199254740993})
            else:
                self.assertEqual(snap, {
                    "n": {"N": "12.50"}, "big": {"N": "123456789012345678901234.5"},
                    "txt": {"S": 'tab\there "q"'}, "b": {"BOOL": True}, "i2": {"N": "-2"},
                    "i4": {"N": "40000"}, "f4": {"N": "1.5"}, "f8": {"N": "0.1"},
                    "nan": {"S": "NaN"}, "ts": {"S": "2026-01-02T01:04:05.123456Z"},
                    "lts": {"S": "2026-01-02T03:04:05"}, "d": {"S": "2026-01-02"},
                    "u": {"S": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
                    "j": {"M": {"a": {"L": [{"N": "1"}, {"N": "2"}]}}},
                    "jb": {"M": {"k": {"M": {"x": {"NULL": True}}}}},
                    "arr": {"L": [{"N": "1"}, {"NULL": True}, {"N": "3"}]},
                    "tarr": {"L": [{"S": "a b"}, {"S": "c"}]}, "by": {"B": "AAH/"},
                    "mood": {"S": "happy"}, "nul": {"NULL": True}})
                self.assertEqual(recs[0]["dynamodb"]["Keys"], {"id": {"N": "9007199254740993"}})


class CreateErrorsTest(ChangeStreamCase):
    def error(self, body_changes, status=409):
        name = unique_name("bad").replace("-", "_")
        doc = self.create(name, body_changes.pop("tables", ["public.exists_t"]), expect=status,
                          **body_changes)
        return doc["error"]["message"]

    def test_each_mistake_is_named_at_create_time(self):
        self.pg.psql("CREATE TABLE IF NOT EXISTS exists_t (id int PRIMARY KEY)")
        self.pg.psql("CREATE TABLE IF NOT EXISTS nopk_t (id int)")
        self.pg.psql("DO $$BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object "
                     "THEN NULL; END$$")
        msg = self.error({"dsn": "host=127.0.0.1 port=1 dbname=postgres user=postgres"})
        self.assertIn("cannot connect to PostgreSQL", msg)
        msg = self.error({"dsn": self.pg.dsn(user="plain_user")})
        self.assertIn("REPLICATION", msg)
        self.assertIn("plain_user", msg)
        msg = self.error({"tables": ["public.missing_t"]})
        self.assertIn("public.missing_t does not exist", msg)
        msg = self.error({"tables": ["nopk_t"]})
        self.assertIn("no primary key", msg)
        self.assertIn("REPLICA IDENTITY FULL", msg)
        msg = self.error({"source": {"publication": "nopub"}, "snapshot": "never"})
        self.assertIn("publication nopub does not exist", msg)
        msg = self.error({"source": {"slot": "noslot"}, "snapshot": "never"})
        self.assertIn("slot noslot does not exist", msg)
        msg = self.error({"image_format": "xml"}, status=400)
        self.assertIn("image_format", msg)
        msg = self.error({"source": {"type": "mysql"}}, status=400)
        self.assertIn("source.type", msg)
        msg = self.error({"bogus": 1}, status=400)
        self.assertIn("bogus: unknown field", msg)

    def test_wal_level_not_logical(self):
        plain = Postgres(tcp=True).start()
        try:
            msg = self.error({"dsn": plain.dsn()})
            self.assertIn("wal_level", msg)
            self.assertIn("logical", msg)
        finally:
            plain.stop()

    def test_table_without_key_captured_with_replica_identity_full(self):
        t = unique_name("nopk").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (a int, b text)" % t)
        self.pg.psql("ALTER TABLE %s REPLICA IDENTITY FULL" % t)
        self.create(t, [t], snapshot="never")
        self.wait_streaming(t)
        self.pg.psql("INSERT INTO %s VALUES (1, 'x'); UPDATE %s SET b = 'y'; DELETE FROM %s"
                     % (t, t, t))
        recs = self.wait_records(t + "-changes", 3)
        self.assertEqual([r["eventName"] for r in recs], ["INSERT", "MODIFY", "REMOVE"])
        self.assertEqual(recs[1]["dynamodb"]["OldImage"], {"a": 1, "b": "x"})
        self.assertEqual(recs[2]["dynamodb"]["OldImage"], {"a": 1, "b": "y"})
        self.assertEqual(recs[0]["dynamodb"]["Keys"], {})


class LifecycleTest(ChangeStreamCase):
    def slot_exists(self, slot):
        return bool(self.pg.psql("SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s'" % slot))

    def test_delete_drops_its_own_slot_and_publication_only(self):
        t = unique_name("life").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY)" % t)
        self.pg.psql("SELECT pg_create_logical_replication_slot('someone_elses', 'pgoutput')")
        doc = self.create(t, [t])
        self.wait_streaming(t)
        slot = doc["source"]["slot"]
        self.assertTrue(self.slot_exists(slot))
        status, _ = self.api.call("DELETE", "/api/v1/change-streams/" + t)
        self.assertEqual(status, 200)
        self.assertFalse(self.slot_exists(slot))
        self.assertTrue(self.slot_exists("someone_elses"))
        self.assertEqual(self.pg.psql("SELECT count(*) FROM pg_publication WHERE pubname = '%s'"
                                      % doc["source"]["publication"]), [["0"]])
        status, _ = self.api.call("GET", "/api/v1/change-streams/" + t)
        self.assertEqual(status, 404)
        self.pg.psql("SELECT pg_drop_replication_slot('someone_elses')")

    def test_pause_resume_and_an_idle_database_lets_the_slot_advance(self):
        t = unique_name("idle").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY)" % t)
        self.pg.psql("CREATE TABLE %s_other (id int)" % t)
        doc = self.create(t, [t])
        self.wait_streaming(t)
        slot = doc["source"]["slot"]
        before = self.pg.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                              "WHERE slot_name = '%s'" % slot)[0][0]
        # WAL that is not ours (another table): the slot must still move on (heartbeats).
        self.pg.psql("INSERT INTO %s_other SELECT generate_series(1, 1000)" % t)
        end = self.pg.psql("SELECT pg_current_wal_lsn()")[0][0]
        wait_for(lambda: self.pg.psql(
            "SELECT confirmed_flush_lsn >= '%s' FROM pg_replication_slots WHERE slot_name = '%s'"
            % (end, slot))[0][0] == "t", 30, "slot %s to pass %s (was %s)" % (slot, end, before))
        status, d = self.api.call("POST", "/api/v1/change-streams/%s/pause" % t)
        self.assertEqual((status, d["state"]), (200, "PAUSED"))
        self.pg.psql("INSERT INTO %s VALUES (1)" % t)
        time.sleep(1)
        self.assertEqual(records(self.server, t + "-changes"), [])
        status, d = self.api.call("POST", "/api/v1/change-streams/%s/resume" % t)
        self.assertEqual(status, 200)
        recs = self.wait_records(t + "-changes", 1)
        self.assertEqual(recs[0]["dynamodb"]["Keys"], {"id": 1})


class Writer(threading.Thread):
    """Commits iteration after iteration in PostgreSQL until stopped, starting again after
    PostgreSQL restarts. Iteration i, one transaction: INSERT row i (v = 0); UPDATE row i-1
    (v = 1); every 7th, DELETE row i-3; and notes i in `done` (not captured), so that the
    committed iterations are exactly 1..max(done)."""

    def __init__(self, pg, table):
        super().__init__(daemon=True)
        self.pg, self.t = pg, table
        self.stop_event = threading.Event()
        self.runs = 0

    def run(self):
        t = self.t
        while not self.stop_event.is_set():
            try:
                start = int(self.pg.psql("SELECT coalesce(max(i), 0) + 1 FROM %s_done" % t)[0][0])
                self.runs += 1
                self.pg.psql(
                    "DO $$BEGIN FOR i IN %d..%d LOOP "
                    "INSERT INTO %s VALUES (i, 0); UPDATE %s SET v = 1 WHERE id = i - 1; "
                    "IF i %% 7 = 0 THEN DELETE FROM %s WHERE id = i - 3; END IF; "
                    "INSERT INTO %s_done VALUES (i); COMMIT; PERFORM pg_sleep(0.002); "
                    "END LOOP; END$$" % (start, start + 299, t, t, t, t))
            except AssertionError:
                time.sleep(0.2)  # PostgreSQL is restarting

    def finish(self):
        self.stop_event.set()
        self.join(120)


class ExactlyOnceTest(ChangeStreamCase):
    def test_kill9_postgres_restarts_and_dropped_connections_lose_and_double_nothing(self):
        t = unique_name("eo").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, v int)" % t)
        self.pg.psql("CREATE TABLE %s_done (i int)" % t)
        self.pg.psql("INSERT INTO %s SELECT g, 1 FROM generate_series(-50, -1) g" % t)
        self.create(t, [t])
        self.wait_streaming(t)
        writer = Writer(self.pg, t)
        writer.start()
        try:
            chaos = ["kill9", "pg-fast", "kill9", "drop", "pg-immediate", "kill9", "drop", "kill9"]
            slot = self.describe(t)["source"]["slot"]
            for step in chaos:
                time.sleep(1.5)
                if step == "kill9":
                    self.server.kill9()
                    self.server.start()
                elif step == "drop":  # the replication connection dropped under it
                    self.pg.psql("SELECT pg_terminate_backend(active_pid) FROM "
                                 "pg_replication_slots WHERE slot_name = '%s' AND active" % slot)
                else:
                    self.pg.restart(step.split("-")[1])
        finally:
            time.sleep(1)
            writer.finish()
        n = int(self.pg.psql("SELECT max(i) FROM %s_done" % t)[0][0])
        self.assertGreater(n, 100, "the writer hardly ran")
        expected = {r: ["INSERT"] for r in range(-50, 0)}
        for i in range(1, n + 1):
            expected[i] = ["INSERT"]
            if i - 1 >= 1:
                expected[i - 1].append("MODIFY")
            if i % 7 == 0 and i - 3 >= 1:
                expected[i - 3].append("REMOVE")
        total = sum(len(v) for v in expected.values())
        recs = self.wait_records(t + "-changes", total, timeout=60)
        got = {}
        for r in recs:
            got.setdefault(r["dynamodb"]["Keys"]["id"], []).append(r["eventName"])
        self.assertEqual(got, expected)
        self.assertEqual(len({r["eventID"] for r in recs}), total)
        # In each shard, records are in commit order (the order consumers read them in).
        client = self.server.client()
        for sh in client.list_shards(StreamName=t + "-changes")["Shards"]:
            it = client.get_shard_iterator(StreamName=t + "-changes", ShardId=sh["ShardId"],
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            keys = []
            while it:
                r = client.get_records(ShardIterator=it, Limit=10000)
                for x in r["Records"]:
                    s = json.loads(x["Data"])["source"]
                    lsn = s["lsn"].split("/")
                    keys.append((not s["snapshot"], int(lsn[0], 16) << 32 | int(lsn[1], 16),
                                 s["seq"]))
                if not r["Records"]:
                    break
                it = r.get("NextShardIterator")
            self.assertEqual(keys, sorted(keys))
        print("exactly once: %d iterations, %d records, writer runs %d, skipped %s" % (
            n, total, writer.runs, self.describe(t)["counters"]), flush=True)


class SchemaTest(ChangeStreamCase):
    def test_unchanged_toast_is_never_passed_off_as_a_value(self):
        t = unique_name("toast").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, n int, doc text)" % t)
        self.pg.psql("ALTER TABLE %s ALTER COLUMN doc SET STORAGE EXTERNAL" % t)
        self.create(t, [t], snapshot="never")
        self.wait_streaming(t)
        big = "x" * 100000
        self.pg.psql("INSERT INTO %s VALUES (1, 0, '%s')" % (t, big))
        self.pg.psql("UPDATE %s SET n = 1 WHERE id = 1" % t)  # doc unchanged: TOASTed, not sent
        self.pg.psql("ALTER TABLE %s REPLICA IDENTITY FULL" % t)
        self.pg.psql("UPDATE %s SET n = 2 WHERE id = 1" % t)  # the old row carries doc
        recs = self.wait_records(t + "-changes", 3)
        self.assertEqual(recs[0]["dynamodb"]["NewImage"]["doc"], big)
        self.assertEqual(recs[1]["dynamodb"]["NewImage"], {"id": 1, "n": 1})
        self.assertEqual(recs[1]["source"]["unchangedToastColumns"], ["doc"])
        self.assertEqual(recs[1]["source"]["oldImage"], "none")
        self.assertNotIn("OldImage", recs[1]["dynamodb"])
        self.assertEqual(recs[2]["dynamodb"]["NewImage"]["doc"], big)
        self.assertNotIn("unchangedToastColumns", recs[2]["source"])

    def test_alter_table_while_capturing(self):
        t = unique_name("alter").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, a int, b text)" % t)
        self.create(t, [t], snapshot="never")
        self.wait_streaming(t)
        self.pg.psql("INSERT INTO %s VALUES (1, 1, 'one')" % t)
        self.pg.psql("ALTER TABLE %s ADD COLUMN c jsonb DEFAULT '{}'" % t)
        self.pg.psql("INSERT INTO %s VALUES (2, 2, 'two', '{\"k\": 1}')" % t)
        self.pg.psql("ALTER TABLE %s DROP COLUMN b" % t)
        self.pg.psql("ALTER TABLE %s RENAME COLUMN a TO amount" % t)
        self.pg.psql("INSERT INTO %s VALUES (3, 3)" % t)
        self.pg.psql("ALTER TABLE %s ALTER COLUMN amount TYPE numeric USING amount * 1.5" % t)
        self.pg.psql("INSERT INTO %s VALUES (4, 4.25)" % t)
        recs = self.wait_records(t + "-changes", 4)
        self.assertEqual([r["dynamodb"]["NewImage"] for r in recs], [
            {"id": 1, "a": 1, "b": "one"},
            {"id": 2, "a": 2, "b": "two", "c": {"k": 1}},
            {"id": 3, "amount": 3, "c": {}},
            {"id": 4, "amount": 4.25, "c": {}}])

    def test_a_table_added_later_is_captured_from_then_on(self):
        t = unique_name("added").replace("-", "_")
        self.pg.psql("CREATE TABLE %s_a (id int PRIMARY KEY)" % t)
        self.pg.psql("CREATE TABLE %s_b (id int PRIMARY KEY)" % t)
        self.create(t, [t + "_a"])
        self.wait_streaming(t)
        self.pg.psql("INSERT INTO %s_a VALUES (1); INSERT INTO %s_b VALUES (1)" % (t, t))
        status, doc = self.api.call("PATCH", "/api/v1/change-streams/" + t,
                                    {"source": {"tables": ["public.%s_a" % t, "public.%s_b" % t]}})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["version"], 2)
        self.wait_streaming(t)
        self.pg.psql("INSERT INTO %s_b VALUES (2)" % t)
        recs = self.wait_records(t + "-changes", 2)
        self.assertEqual([(r["tableName"], r["dynamodb"]["Keys"]["id"]) for r in recs],
                         [(t + "_a", 1), (t + "_b", 2)])
        # The answer echoed back (the connection string without a password) changes nothing.
        status, again = self.api.call("PUT", "/api/v1/change-streams/" + t, doc)
        self.assertEqual(status, 200, again)
        self.assertEqual(again["version"], 2)


class SeedStoryTest(ChangeStreamCase):
    """The seed's whole story: a shipment table in PostgreSQL, changes for three tenants,
    one consumer per tenant (PROD_<TENANT>_Shipment, a filter, JSON lines), and each
    tenant's files hold exactly that tenant's change records, in the seed's naming."""

    def test_each_tenant_gets_exactly_its_changes(self):
        from test_consumers import dataset_files, read_lines
        tenants = ["ACME", "GLOBEX", "INITECH"]
        self.pg.psql("CREATE TABLE shipment (id int PRIMARY KEY, tenant text NOT NULL, "
                     "status text, weight_kg numeric(8,2), updated_at timestamptz DEFAULT now())")
        self.pg.psql("ALTER TABLE shipment REPLICA IDENTITY FULL")  # deletes carry the tenant
        self.pg.psql("INSERT INTO shipment (id, tenant, status) SELECT g, (ARRAY['ACME', "
                     "'GLOBEX', 'INITECH'])[g % 3 + 1], 'created' FROM generate_series(1, 30) g")
        self.create("shipments-cdc", ["public.shipment"], stream="shipment-changes")
        for t in tenants:
            st, doc = self.api.call("POST", "/api/v1/consumers", {
                "name": "PROD_%s_Shipment" % t, "stream": "shipment-changes",
                # The seed delivers every 5 minutes (300 s); a test waits 1 s.
                "buffer_size_mib": 1, "buffer_interval_seconds": 1,
                "dataset": {"name": "tenant-%s" % t.lower(), "file_type": "jsonl"},
                "filter": '.dynamodb.NewImage.tenant == "%s" or .dynamodb.OldImage.tenant == "%s"'
                          % (t, t)})
            self.assertEqual(st, 201, doc)
        self.wait_streaming("shipments-cdc")
        self.pg.psql("UPDATE shipment SET status = 'shipped', weight_kg = id * 1.5 WHERE id % 2 = 0")
        self.pg.psql("DELETE FROM shipment WHERE id % 5 = 0")
        self.pg.psql("INSERT INTO shipment (id, tenant, status) SELECT g, (ARRAY['ACME', "
                     "'GLOBEX', 'INITECH'])[g % 3 + 1], 'created' FROM generate_series(31, 45) g")
        # What each tenant must get: from PostgreSQL's own arithmetic.
        expect = {}
        for t_i, t in enumerate(tenants):
            ids = [g for g in range(1, 46) if g % 3 == t_i]
            expect[t] = (len(ids)  # snapshot rows and later inserts
                         + len([g for g in ids if g <= 30 and g % 2 == 0])
                         + len([g for g in ids if g <= 30 and g % 5 == 0]))
        for t in tenants:
            ds = "tenant-%s" % t.lower()
            wait_for(lambda: len(read_lines(self.server, ds)) >= expect[t], 60, ds)
        time.sleep(1.5)
        all_ids = set()
        for t in tenants:
            ds = "tenant-%s" % t.lower()
            lines = [json.loads(x) for x in read_lines(self.server, ds)]
            self.assertEqual(len(lines), expect[t], t)
            for r in lines:
                image = r["dynamodb"].get("NewImage") or r["dynamodb"]["OldImage"]
                self.assertEqual(image["tenant"], t)
                self.assertEqual(r["tableName"], "shipment")
                all_ids.add(r["eventID"])
            for f in dataset_files(self.server, ds):
                self.assertRegex(
                    f, r"^\d{4}/\d{2}/\d{2}/\d{2}/PROD_%s_Shipment-\d+-\d{4}-\d{2}-\d{2}-\d{2}-"
                       r"\d{2}-\d{2}-[0-9a-f-]{36}(\.jsonl)?$" % t)
        self.assertEqual(len(all_ids), sum(expect.values()))
        # And each customer pulls its files through the S3 API with a key of its own, which
        # reads its bucket and no other.
        from botocore.config import Config
        from botocore.exceptions import ClientError
        buckets = {t: self.api.call("GET", "/api/v1/datasets/tenant-%s" % t.lower())[1]["bucket"]
                   for t in tenants}
        for t in tenants:
            k = self.server.create_key("bucket-read", buckets=[buckets[t]])
            s3 = self.server.session((k["AccessKeyId"], k["SecretAccessKey"])).client(
                "s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))

            def known():
                try:
                    s3.list_buckets()
                    return True
                except ClientError as e:
                    return e.response["Error"]["Code"] != "InvalidAccessKeyId"
            wait_for(known, 10, "the new key")
            pulled = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=buckets[t]):
                for o in page.get("Contents", []):
                    body = s3.get_object(Bucket=buckets[t], Key=o["Key"])["Body"].read()
                    pulled += [json.loads(line) for line in body.splitlines()]
            self.assertEqual(sorted(r["eventID"] for r in pulled),
                             sorted(json.loads(x)["eventID"] for x in
                                    read_lines(self.server, "tenant-%s" % t.lower())))
            other = buckets[tenants[(tenants.index(t) + 1) % 3]]
            with self.assertRaises(ClientError) as cm:
                s3.list_objects_v2(Bucket=other)
            self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")


class CliTest(ChangeStreamCase):
    def test_cli_create_watch_pause_resume_delete(self):
        import subprocess
        t = unique_name("cli").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, payload text)" % t)
        self.pg.psql("INSERT INTO %s SELECT g, repeat('p', 200) FROM generate_series(1, 50000) g"
                     % t)
        self.pg.psql("ANALYZE %s" % t)
        env = dict(os.environ, MILLRACE_ENDPOINT=self.server.endpoint,
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.server.data_dir, "credentials"))

        def run(*a):
            return subprocess.run([self.server.binary, "change-streams"] + list(a),
                                  capture_output=True, text=True, env=env, timeout=120)
        out = run("create", t, "--dsn", self.pg.dsn(), "--tables", t, "--image-format", "dynamodb")
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual((doc["stream"], doc["image_format"], doc["source"]["tables"]),
                         (t, "dynamodb", ["public." + t]))
        out = run("describe", t, "--watch")  # returns once the snapshot is done
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("[##############################]  100%  50,000 rows  done", out.stdout)
        self.assertIn("snapshot done", out.stdout)
        self.assertIn("STREAMING", out.stdout.splitlines()[-3])
        out = run("list")
        self.assertIn(t, [c["name"] for c in json.loads(out.stdout)["change_streams"]])
        out = run("pause", t)
        self.assertEqual((out.returncode, json.loads(out.stdout)["state"]), (0, "PAUSED"))
        out = run("resume", t)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.wait_streaming(t)
        d = self.describe(t)
        self.assertEqual(d["counters"]["snapshot_rows"], 0)  # counted since the restart
        metrics = self.server.raw().request(b"", method="GET", path="/metrics").body.decode()
        self.assertIn('millrace_change_stream_state{change_stream="%s",state="STREAMING"} 1' % t,
                      metrics)
        self.assertIn('millrace_change_stream_slot_lag_bytes{change_stream="%s"}' % t, metrics)
        out = run("delete", t)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = run("describe", t)
        self.assertEqual(out.returncode, 1)
        self.assertIn("change stream %s does not exist" % t, out.stderr)
        out = run("create", "x", "--dsn", self.pg.dsn())
        self.assertEqual(out.returncode, 1)
        self.assertIn("source.tables", out.stderr)


class LargeTest(ChangeStreamCase):
    @slow
    def test_a_million_row_transaction_in_bounded_memory(self):
        t = unique_name("big").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, tenant text, pad text)" % t)
        self.create(t, [t], snapshot="never")
        self.wait_streaming(t)
        self.api.call("POST", "/api/v1/change-streams/%s/pause" % t)
        self.pg.psql("INSERT INTO %s SELECT g, 'ACME', repeat('x', 100) "
                     "FROM generate_series(1, 1000000) g" % t)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                with open("/proc/%d/status" % self.server.proc.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                time.sleep(0.05)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        self.api.call("POST", "/api/v1/change-streams/%s/resume" % t)
        wait_for(lambda: self.describe(t)["counters"]["changes"] >= 1000000, 180,
                 "a million changes")
        done.set()
        sampler.join()
        d = self.describe(t)
        self.assertEqual((d["counters"]["changes"], d["counters"]["transactions"]), (1000000, 1))
        # The transaction is ~250 MB of records: it must not be held whole.
        self.assertLess(peak[0] / 1024, 200, "peak RSS %d MiB" % (peak[0] // 1024))
        metrics = self.server.raw().request(b"", method="GET", path="/metrics").body.decode()
        self.assertIn('millrace_stream_records_in_total{stream="%s-changes"} 1000000' % t, metrics)

    def test_kill9_during_the_initial_snapshot_starts_it_over(self):
        t = unique_name("snapkill").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id int PRIMARY KEY, pad text)" % t)
        self.pg.psql("INSERT INTO %s SELECT g, repeat('y', 500) FROM generate_series(1, 200000) g"
                     % t)
        self.create(t, [t])
        wait_for(lambda: sum(x["rows_copied"] for x in
                             self.describe(t)["snapshot_progress"]["tables"]) > 0, 30, "copying")
        self.server.kill9()
        self.server.start()
        self.wait_streaming(t, timeout=60)
        self.pg.psql("UPDATE %s SET pad = 'z' WHERE id <= 10" % t)
        recs = []

        def ten_changes():
            recs[:] = records(self.server, t + "-changes")
            return len([r for r in recs if not r["source"]["snapshot"]]) >= 10
        wait_for(ten_changes, 60, "the changes after the snapshot")
        snap = [r for r in recs if r["source"]["snapshot"]]
        changes = [r for r in recs if not r["source"]["snapshot"]]
        # The second snapshot is whole; rows of the interrupted one may come before it.
        last_lsn = max(r["source"]["lsn"] for r in snap)
        second = [r for r in snap if r["source"]["lsn"] == last_lsn]
        self.assertEqual(sorted(r["dynamodb"]["Keys"]["id"] for r in second),
                         list(range(1, 200001)))
        self.assertEqual(sorted(r["dynamodb"]["Keys"]["id"] for r in changes), list(range(1, 11)))
        # The slot of the first attempt was dropped: one slot for this change stream.
        slots = self.pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'"
                             % self.describe(t)["source"]["slot"])
        self.assertEqual(slots, [["1"]])


if __name__ == "__main__":
    unittest.main()
