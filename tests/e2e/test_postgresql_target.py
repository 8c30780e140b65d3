"""A dataset whose target is a PostgreSQL table (the seed's Redshift target): a consumer's CSV
files loaded with COPY into a table made from the dataset's columns, each file in one
transaction with its key in millrace_loads, so a kill -9 at any moment neither loses nor
duplicates a row; the DSN's password never shown; bad targets refused clearly."""
import json
import re
import threading
import time
import unittest

from harness import MillraceServer, RawClient, unique_name
from pg import Postgres, available
from test_consumers import Api, wait_for

COLUMNS = [{"name": "id", "type": "int64", "nullable": False},
           {"name": "city", "type": "string"},
           {"name": "at", "type": "timestamp_ms"},
           {"name": "amount", "type": "decimal(10,2)"},
           {"name": "tags", "type": "list<string>"}]


@unittest.skipUnless(available(), "PostgreSQL 15 is not installed (scripts/install-deps.sh)")
class PostgresTargetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.server = MillraceServer().start()
        cls.api = Api(cls.server)
        cls.kinesis = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.pg.stop()

    def pipeline(self, table, interval=0, dsn=None):
        stream = unique_name("pgsrc")
        self.kinesis.create_stream(StreamName=stream, ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
        status, doc = self.api.call("POST", "/api/v1/consumers", {
            "name": unique_name("topg"), "stream": stream, "buffer_interval_seconds": interval,
            "buffer_size_mib": 1,
            "dataset": {"name": unique_name("pgds"), "file_type": "csv",
                        "schema": {"columns": COLUMNS, "input": "json"},
                        "target": {"type": "postgresql", "dsn": dsn or self.pg.dsn(), "table": table}}})
        self.assertEqual(status, 201, doc)
        return stream, doc

    def count(self, table):
        return int(self.pg.psql("SELECT count(*) FROM %s" % table)[0][0])

    def test_rows_land_typed_in_a_table_made_from_the_columns(self):
        table = "orders_" + unique_name("t").replace("-", "_")
        stream, doc = self.pipeline(table, dsn=self.pg.dsn() + " password=s3cret-dsn")
        self.assertNotIn("s3cret-dsn", json.dumps(doc))
        records = [{"id": i, "city": "Zürich" if i % 2 else "Lyon, \"FR\"", "at": "2024-03-01T12:34:56.789Z",
                    "amount": "12.5", "tags": ["a", "b"]} for i in range(50)]
        for r in records:
            self.kinesis.put_record(StreamName=stream, PartitionKey=str(r["id"]),
                                    Data=json.dumps(r).encode())
        wait_for(lambda: self.pg.psql("SELECT to_regclass('%s')" % table)[0][0] != "<NULL>"
                 and self.count(table) == 50, 30, "50 rows in %s" % table)
        types = dict(self.pg.psql(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '%s'" % table))
        self.assertEqual(types, {"id": "bigint", "city": "text", "at": "timestamp with time zone",
                                 "amount": "numeric", "tags": "jsonb"})
        row = self.pg.psql("SELECT city, at AT TIME ZONE 'UTC', amount, tags->>1 FROM %s WHERE id = 3" % table)[0]
        self.assertEqual(row, ["Zürich", "2024-03-01 12:34:56.789", "12.50", "b"])
        self.assertEqual(self.pg.psql("SELECT city FROM %s WHERE id = 4" % table)[0], ['Lyon, "FR"'])
        loads = self.pg.psql("SELECT sum(rows) FROM millrace_loads")
        self.assertGreaterEqual(int(loads[0][0]), 50)

    def test_a_kill_during_loads_loses_and_duplicates_nothing(self):
        table = "kill_" + unique_name("t").replace("-", "_")
        stream, _ = self.pipeline(table)
        acked = []
        stop = threading.Event()

        def produce():
            k = self.server.client()
            n = 0
            while not stop.is_set() and n < 3000:
                batch = [{"PartitionKey": str(i), "Data": json.dumps({"id": i, "city": "c"}).encode()}
                         for i in range(n, n + 100)]
                try:
                    out = k.put_records(StreamName=stream, Records=batch)
                except Exception:
                    return
                acked.extend(int(json.loads(batch[j]["Data"])["id"])
                             for j, r in enumerate(out["Records"]) if "SequenceNumber" in r)
                n += 100
        t = threading.Thread(target=produce)
        t.start()
        wait_for(lambda: self.pg.psql("SELECT to_regclass('%s')" % table)[0][0] != "<NULL>"
                 and self.count(table) > 0, 30, "the first load")
        self.server.kill9()
        stop.set()
        t.join()
        self.server.restart()
        type(self).kinesis = self.server.client()
        wait_for(lambda: self.count(table) >= len(acked), 60, "every acknowledged row")
        time.sleep(1)
        dup = self.pg.psql("SELECT id FROM %s GROUP BY id HAVING count(*) > 1" % table)
        self.assertEqual(dup, [])
        ids = {int(r[0]) for r in self.pg.psql("SELECT id FROM %s" % table)}
        self.assertTrue(set(acked) <= ids, "acknowledged rows missing: %d" % len(set(acked) - ids))

    def test_large_files_load_while_they_are_built_and_a_refused_one_leaves_nothing(self):
        # Files past 256 KiB go to COPY in pieces while they are built. One that PostgreSQL
        # refuses half way (a key twice) leaves none of its rows; the consumer says why and
        # tries again; once the table takes it, every row is there once.
        table = "big_" + unique_name("t").replace("-", "_")
        self.pg.psql("CREATE TABLE %s (id bigint PRIMARY KEY, city text, at timestamptz, "
                     "amount numeric(10,2), tags jsonb)" % table)
        stream, doc = self.pipeline(table, interval=5)
        n = 20000
        ids = list(range(n)) + [5]  # the last file holds id 5 a second time
        for lo in range(0, len(ids), 500):
            out = self.kinesis.put_records(StreamName=stream, Records=[
                {"PartitionKey": "k%d" % (j % 2), "Data": json.dumps(
                    {"id": i, "city": "city-%d" % (i % 97), "at": "2024-03-01T12:34:56.789Z",
                     "amount": "%d.%02d" % (i % 1000, i % 100), "tags": ["x"]}).encode()}
                for j, i in enumerate(ids[lo:lo + 500])])
            self.assertEqual(out["FailedRecordCount"], 0)

        def failing():
            st, d = self.api.call("GET", "/api/v1/consumers/" + doc["name"])
            return d.get("state") == "FAILING" and "duplicate key" in d.get("last_error", "")
        wait_for(failing, 60, "the refused load to show")
        loaded = self.count(table)
        self.assertLess(loaded, n)  # the refused file's rows are not there at all
        loads = self.pg.psql("SELECT coalesce(sum(rows), 0), coalesce(max(rows), 0) FROM millrace_loads "
                             "WHERE key LIKE '%%%s%%'" % doc["name"])[0]
        self.assertEqual(int(loads[0]), loaded)
        self.pg.psql("ALTER TABLE %s DROP CONSTRAINT %s_pkey" % (table, table))
        wait_for(lambda: self.count(table) == n + 1, 60, "every row once the table takes them")
        time.sleep(1)
        self.assertEqual(self.count(table), n + 1)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM %s WHERE id = 5" % table)[0][0], "2")
        biggest = int(self.pg.psql("SELECT max(rows) FROM millrace_loads WHERE key LIKE '%%%s%%'"
                                   % doc["name"])[0][0])
        self.assertGreater(biggest, 4000)  # files of several hundred KiB: loaded in pieces

    def test_binary_copy_loads_every_type_as_csv_text_does(self):
        # A table made from the dataset's columns takes binary COPY data; one whose types
        # differ (city as varchar here) takes CSV text, cast by PostgreSQL. Both tables get
        # the same values, edge cases of every type included.
        columns = [{"name": "id", "type": "int64", "nullable": False},
                   {"name": "b", "type": "boolean"}, {"name": "i", "type": "int32"},
                   {"name": "f", "type": "float"}, {"name": "d", "type": "double"},
                   {"name": "dec0", "type": "decimal(5,0)"}, {"name": "dec2", "type": "decimal(10,2)"},
                   {"name": "dec38", "type": "decimal(38,10)"}, {"name": "dt", "type": "date"},
                   {"name": "tms", "type": "timestamp_ms"}, {"name": "tus", "type": "timestamp_us"},
                   {"name": "s", "type": "string"}, {"name": "j", "type": "json"},
                   {"name": "bin", "type": "binary"}, {"name": "l", "type": "list<int64>"},
                   {"name": "st", "type": "struct<a:string,b:int64>"}]
        decimals38 = ["0", "-0.0000000001", "0.0000000001", "1", "-1", "10000", "0.5", "12345.6789",
                      "9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
                      "100000000.0000000001", "0.0001", "1000.1", "123456789012.12"]
        decimals2 = ["0", "0.01", "-0.01", "99999999.99", "-99999999.99", "10000", "0.1", "1.23"]
        dates = ["1970-01-01", "1999-12-31", "2000-01-01", "2000-01-02", "1900-02-28", "2100-03-01"]
        stamps = ["2024-03-01T12:34:56.789Z", "1999-12-31T23:59:59.999Z", "2000-01-01T00:00:00Z",
                  "1969-07-20T20:17:40.5Z", "2262-01-01T00:00:00Z"]
        records = []
        for n in range(300):
            r = {"id": n, "b": n % 3 == 0, "i": (n * 7919) % 200001 - 100000, "f": n / 7.0, "d": -n / 3.0,
                 "dec0": str((n * 37) % 199999 - 99999), "dec2": decimals2[n % len(decimals2)],
                 "dec38": decimals38[n % len(decimals38)], "dt": dates[n % len(dates)],
                 "tms": stamps[n % len(stamps)], "tus": stamps[(n + 1) % len(stamps)],
                 "s": ["plain", "Zürich, \"quoted\"", "line\nbreak", "", "tab\there"][n % 5],
                 "j": {"k": n, "nested": [1, 2, {"x": None}]}, "bin": "bytes-%d" % n,
                 "l": list(range(n % 4)), "st": {"a": "v%d" % n, "b": n}}
            if n % 10 == 9:  # nulls in every nullable column
                r = {"id": n}
            records.append(r)
        made = "bin_" + unique_name("t").replace("-", "_")
        cast = "csv_" + unique_name("t").replace("-", "_")
        types = ("id bigint NOT NULL, b boolean, i integer, f real, d double precision, "
                 "dec0 numeric(5,0), dec2 numeric(10,2), dec38 numeric(38,10), dt date, "
                 "tms timestamptz, tus timestamptz, s %s, j jsonb, bin text, l jsonb, st jsonb")
        self.pg.psql("CREATE TABLE %s (%s)" % (cast, types % "varchar"))
        names = []
        for table in (made, cast):
            stream = unique_name("pgtypes")
            self.kinesis.create_stream(StreamName=stream, ShardCount=1)
            self.kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
            for lo in range(0, len(records), 100):
                self.kinesis.put_records(StreamName=stream, Records=[
                    {"PartitionKey": "p", "Data": json.dumps(r).encode()} for r in records[lo:lo + 100]])
            name = unique_name("types")
            status, doc = self.api.call("POST", "/api/v1/consumers", {
                "name": name, "stream": stream, "buffer_interval_seconds": 0, "buffer_size_mib": 1,
                "dataset": {"name": unique_name("typesds"), "file_type": "csv",
                            "schema": {"columns": columns, "input": "json"},
                            "target": {"type": "postgresql", "dsn": self.pg.dsn(), "table": table}}})
            self.assertEqual(status, 201, doc)
            names.append(name)
            wait_for(lambda: self.pg.psql("SELECT to_regclass('%s')" % table)[0][0] != "<NULL>"
                     and self.count(table) == len(records), 60, "%d rows in %s" % (len(records), table))
        for name in names:
            st, doc = self.api.call("GET", "/api/v1/consumers/" + name)
            self.assertEqual(doc.get("records_conversion_failed", 0), 0, doc)
        with open(self.server.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn('"%s" loads CSV text' % cast, log)  # its column s is varchar
        self.assertNotIn('"%s" loads CSV text' % made, log)
        cols = "id, b, i, f, d, dec0, dec2, dec38, dt, tms, tus, s::text, j, bin, l, st"
        for a, b in ((made, cast), (cast, made)):
            diff = self.pg.psql("SELECT %s FROM %s EXCEPT SELECT %s FROM %s" % (cols, a, cols, b))
            self.assertEqual(diff, [], "rows of %s not in %s" % (a, b))
        row = self.pg.psql("SELECT dec38::text, dt::text, tms AT TIME ZONE 'UTC', bin FROM %s WHERE id = 8"
                           % made)[0]
        self.assertEqual(row, ["9999999999999999999999999999.9999999999", "2000-01-01",
                               "1969-07-20 20:17:40.5", "Ynl0ZXMtOA=="])

    def test_a_table_altered_under_binary_loads_gets_csv_text(self):
        # The types are checked once per connection; a column changed afterwards makes the
        # binary COPY fail once, and the file goes again as CSV text (cast by PostgreSQL).
        table = "alter_" + unique_name("t").replace("-", "_")
        stream, doc = self.pipeline(table)
        def put(lo, hi):
            self.kinesis.put_records(StreamName=stream, Records=[
                {"PartitionKey": str(i), "Data": json.dumps({"id": i, "amount": "1.25"}).encode()}
                for i in range(lo, hi)])
        put(0, 10)
        wait_for(lambda: self.pg.psql("SELECT to_regclass('%s')" % table)[0][0] != "<NULL>"
                 and self.count(table) == 10, 30, "10 rows")
        self.pg.psql("ALTER TABLE %s ALTER COLUMN amount TYPE text" % table)
        put(10, 20)
        wait_for(lambda: self.count(table) == 20, 30, "20 rows after the change")
        self.assertEqual(self.pg.psql("SELECT DISTINCT amount FROM %s WHERE id >= 10" % table), [["1.25"]])
        with open(self.server.log_path, errors="replace") as f:  # records may span lines
            records = re.split(r"\n(?=\d{4}-\d\d-\d\dT)", f.read())
        again = [r for r in records if "writing it again whole" in r and doc["name"] in r]
        self.assertEqual(len(again), 1, again)  # the one file, once

    def test_bad_targets_are_refused(self):
        for target, needle in (
                ({"type": "postgresql", "table": "t"}, "target.dsn"),
                ({"type": "postgresql", "dsn": "host=/tmp", "table": ""}, "target.table"),
                ({"type": "postgresql", "dsn": "host=/tmp", "table": "t", "extra": 1}, "target.extra")):
            status, doc = self.api.call("POST", "/api/v1/datasets", {
                "name": unique_name("bad"), "file_type": "csv", "target": target})
            self.assertEqual(status, 400, doc)
            self.assertIn(needle, json.dumps(doc))
        status, doc = self.api.call("POST", "/api/v1/datasets", {
            "name": unique_name("bad"), "file_type": "parquet",
            "target": {"type": "postgresql", "dsn": "host=/tmp", "table": "t"}})
        self.assertEqual(status, 400, doc)
        self.assertIn("csv", json.dumps(doc))


@unittest.skipUnless(available(), "PostgreSQL 15 is not installed (scripts/install-deps.sh)")
class FirehoseRedshiftTest(unittest.TestCase):
    """Firehose's RedshiftDestinationConfiguration, as far as it maps, onto a PostgreSQL table."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(tcp=True).start()
        cls.server = MillraceServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.pg.stop()

    def test_records_put_to_firehose_land_in_the_table(self):
        fh = self.server.client("firehose", validate=False)
        self.pg.psql("CREATE TABLE events (id integer PRIMARY KEY, kind text)")
        config = {"RoleARN": "arn:aws:iam::000000000000:role/firehose",
                  "ClusterJDBCURL": "jdbc:redshift://127.0.0.1:%d/postgres" % self.pg.port,
                  "CopyCommand": {"DataTableName": "public.events", "DataTableColumns": "id,kind",
                                  "CopyOptions": "json 'auto'"},
                  "Username": "postgres", "Password": "unused-with-trust",
                  "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/firehose",
                                      "BucketARN": "arn:aws:s3:::staging",
                                      "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}}
        name = unique_name("toredshift")
        with self.assertRaises(Exception) as cm:
            fh.create_delivery_stream(DeliveryStreamName=name, RedshiftDestinationConfiguration=dict(
                config, ClusterJDBCURL="jdbc:mysql://127.0.0.1/db"))
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgumentException")
        fh.create_delivery_stream(DeliveryStreamName=name, RedshiftDestinationConfiguration=config)
        wait_for(lambda: fh.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE", 10, "ACTIVE")
        desc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        red = desc["Destinations"][0]["RedshiftDestinationDescription"]
        self.assertEqual(red["CopyCommand"]["DataTableName"], "public.events")
        self.assertEqual(red["Username"], "postgres")
        self.assertNotIn("unused-with-trust", json.dumps(desc, default=str))
        out = fh.put_record_batch(DeliveryStreamName=name, Records=[
            {"Data": json.dumps({"id": i, "kind": "k%d" % (i % 3)}).encode()} for i in range(30)])
        self.assertEqual(out["FailedPutCount"], 0)
        wait_for(lambda: int(self.pg.psql("SELECT count(*) FROM events")[0][0]) == 30, 30, "30 rows")
        self.assertEqual(self.pg.psql("SELECT kind FROM events WHERE id = 4"), [["k1"]])
        fh.delete_delivery_stream(DeliveryStreamName=name)

    def test_update_destination_moves_the_table_and_the_connection(self):
        fh = self.server.client("firehose", validate=False)
        self.pg.psql("CREATE TABLE moved_a (id integer PRIMARY KEY, kind text)")
        self.pg.psql("CREATE TABLE moved_b (id integer PRIMARY KEY, kind text)")
        config = {"ClusterJDBCURL": "jdbc:postgresql://127.0.0.1:%d/postgres" % self.pg.port,
                  "CopyCommand": {"DataTableName": "public.moved_a", "DataTableColumns": "id,kind",
                                  "CopyOptions": "json 'auto'"},
                  "Username": "postgres", "Password": "kept-across-updates",
                  "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/firehose",
                                      "BucketARN": "arn:aws:s3:::staging",
                                      "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}}
        name = unique_name("moving")
        fh.create_delivery_stream(DeliveryStreamName=name, RedshiftDestinationConfiguration=config)

        def describe():
            return fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]

        def update(**members):
            d = describe()
            fh.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
                                  DestinationId=d["Destinations"][0]["DestinationId"],
                                  RedshiftDestinationUpdate=members)
            return int(describe()["VersionId"]) - int(d["VersionId"])

        def put(lo, hi):
            out = fh.put_record_batch(DeliveryStreamName=name, Records=[
                {"Data": json.dumps({"id": i, "kind": "k%d" % i}).encode()} for i in range(lo, hi)])
            self.assertEqual(out["FailedPutCount"], 0)

        def count(table):
            return int(self.pg.psql("SELECT count(*) FROM %s" % table)[0][0])

        wait_for(lambda: describe()["DeliveryStreamStatus"] == "ACTIVE", 10, "ACTIVE")
        put(0, 10)
        wait_for(lambda: count("moved_a") == 10, 30, "10 rows in moved_a")
        # An S3 update of a Redshift destination is refused by name.
        d = describe()
        with self.assertRaises(Exception) as cm:
            fh.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
                                  DestinationId=d["Destinations"][0]["DestinationId"],
                                  ExtendedS3DestinationUpdate={"Prefix": "x/"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgumentException")
        self.assertIn("RedshiftDestinationUpdate", cm.exception.response["Error"]["Message"])
        # A new table, and a larger buffer: one new version.
        self.assertEqual(update(CopyCommand={"DataTableName": "public.moved_b",
                                             "DataTableColumns": "id,kind", "CopyOptions": "json"},
                                S3Update={"BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 0}}), 1)
        red = describe()["Destinations"][0]["RedshiftDestinationDescription"]
        self.assertEqual(red["CopyCommand"]["DataTableName"], "public.moved_b")
        self.assertEqual(red["S3DestinationDescription"]["BufferingHints"]["SizeInMBs"], 2)
        self.assertEqual(red["Username"], "postgres")
        put(10, 20)
        wait_for(lambda: count("moved_b") == 10, 30, "10 rows in moved_b")
        self.assertEqual(count("moved_a"), 10)
        # A user the database does not have: nothing loads, and the stream says why...
        self.assertEqual(update(Username="nobody_here"), 1)
        put(20, 30)
        api = RawClient(self.server, service="millrace")
        def failing():
            r = api.request(b"", method="GET", path="/api/v1/consumers/" + name,
                            content_type="application/json")
            return "nobody_here" in r.body.decode()
        wait_for(failing, 30, "the consumer to report the unknown user")
        self.assertEqual(count("moved_b"), 10)
        # ...the user back, and the held records load, once.
        self.assertEqual(update(Username="postgres"), 1)
        wait_for(lambda: count("moved_b") == 20, 30, "20 rows in moved_b")
        time.sleep(0.5)
        self.assertEqual(count("moved_b"), 20)
        consumer = json.loads(api.request(b"", method="GET", path="/api/v1/consumers/" + name,
                                          content_type="application/json").body)
        dataset = api.request(b"", method="GET", path="/api/v1/datasets/" + consumer["dataset"],
                              content_type="application/json")
        self.assertEqual(dataset.status, 200)
        self.assertNotIn("kept-across-updates", dataset.body.decode())  # the password stays hidden
        fh.delete_delivery_stream(DeliveryStreamName=name)


if __name__ == "__main__":
    unittest.main()
