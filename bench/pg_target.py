#!/usr/bin/env python3
"""bench/pg_target.py: loading a stream into PostgreSQL through a consumer (issue #16's target:
>= 0.8x of COPY of the same file from psql).

A throwaway PostgreSQL 15 (tests/e2e/pg.py: fsync off, on a Unix socket) and one Millrace
server (fsync on). N JSON records ({"id", "city", "amount", "at"}) are put into a 1-shard
stream first; then, each round:

    psql     \\copy of the CSV Millrace writes for those rows (made once, by Millrace, and
             joined into one file) into a fresh table: psql's time, from start to exit
    millrace a consumer (TRIM_HORIZON, buffer 128 MiB / 0 s: a file per read) into a fresh table of the same
             columns: from its creation until its status counts N rows delivered (read
             from the log, JSON to CSV, COPY in one transaction per file, millrace_loads)

ROUNDS rounds, interleaved; medians of rows per second and the ratio.

    python3 bench/pg_target.py                 # ~1 minute
    N=20000 ROUNDS=1 python3 bench/pg_target.py
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)
from results_file import emitter  # noqa: E402
from harness import MillraceServer, RawClient  # noqa: E402
from pg import Postgres  # noqa: E402

N = int(os.environ.get("N", "200000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
COLUMNS = [{"name": "id", "type": "int64", "nullable": False}, {"name": "city", "type": "string"},
           {"name": "amount", "type": "decimal(10,2)"}, {"name": "at", "type": "timestamp_ms"}]
DDL = "(id bigint NOT NULL, city text, amount numeric(10,2), at timestamptz)"


emit = emitter("pg-target")


def count(pg, table):
    rows = pg.psql("SELECT count(*) FROM %s" % table)
    return int(rows[0][0])


def main():
    pg = Postgres().start()
    srv = MillraceServer(extra_args=["--sync", "on"]).start()
    api = RawClient(srv, service="millrace")
    try:
        k = srv.client()
        k.create_stream(StreamName="src", ShardCount=1)
        while k.describe_stream_summary(StreamName="src")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.05)
        for start in range(0, N, 500):
            recs = [{"PartitionKey": "p", "Data": json.dumps(
                {"id": i, "city": "city-%d" % (i % 97), "amount": "%d.%02d" % (i % 1000, i % 100),
                 "at": "2024-03-01T12:34:56.789Z"}).encode()} for i in range(start, min(N, start + 500))]
            assert k.put_records(StreamName="src", Records=recs)["FailedRecordCount"] == 0

        def consume(table, dataset_target):
            body = {"name": "c-" + table, "stream": "src", "buffer_size_mib": 128,
                    "buffer_interval_seconds": 0,
                    "dataset": {"name": "d-" + table, "file_type": "csv",
                                "schema": {"columns": COLUMNS, "input": "json"}, "target": dataset_target}}
            t0 = time.monotonic()
            r = api.request(json.dumps(body).encode(), method="POST", path="/api/v1/consumers",
                            content_type="application/json")
            assert r.status == 201, r.body
            return t0

        # The CSV file Millrace writes for these rows: the baseline's input.
        consume("file", {"type": "local"})
        root = os.path.join(srv.data_dir, "datasets", "d-file")
        while True:
            files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".csv")]
            if files and sum(max(0, open(f).read().count("\n") - 1) for f in files) >= N:
                break
            time.sleep(0.2)
        # One file of every row, one header: psql's COPY at its best (one process, one COPY).
        whole = os.path.join(srv.data_dir, "all-rows.csv")
        with open(whole, "w") as out:
            for i, f in enumerate(sorted(files)):
                lines = open(f).read().splitlines(keepends=True)
                out.writelines(lines if i == 0 else lines[1:])
        csv_files = [whole]
        results = {"psql": [], "millrace": []}
        for rnd in range(ROUNDS):
            base = "base_%d" % rnd
            pg.psql("CREATE TABLE %s %s" % (base, DDL))
            t0 = time.monotonic()
            for f in csv_files:
                subprocess.run(["psql", "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", "-X", "-q",
                                "-v", "ON_ERROR_STOP=1", "-c", "\\copy %s FROM '%s' WITH (FORMAT csv, HEADER true)"
                                % (base, f)], check=True, capture_output=True)
            psql_s = time.monotonic() - t0
            assert count(pg, base) == N
            table = "mr_%d" % rnd
            t0 = consume(table, {"type": "postgresql", "dsn": pg.dsn(), "table": table})
            # Done when the consumer counts every row delivered: it counts a file's rows once
            # its COPY's transaction committed (polled over HTTP every 5 ms, where a psql
            # process per poll would take tens of ms to tell); the table is checked after.
            while True:
                r = api.request(b"", method="GET", path="/api/v1/consumers/c-" + table,
                                content_type="application/json")
                if r.status == 200 and json.loads(r.body).get("records_delivered", 0) >= N:
                    break
                time.sleep(0.005)
            mr_s = time.monotonic() - t0
            assert count(pg, table) == N
            results["psql"].append(N / psql_s)
            results["millrace"].append(N / mr_s)
            emit({"bench": "pg-target", "round": rnd, "rows": N, "files": len(csv_files),
                  "psql_rows_per_s": round(N / psql_s), "millrace_rows_per_s": round(N / mr_s)})
        p = statistics.median(results["psql"])
        m = statistics.median(results["millrace"])
        emit({"bench": "pg-target", "summary": True, "rows": N, "psql_rows_per_s": round(p),
              "millrace_rows_per_s": round(m), "ratio": round(m / p, 3)})
    finally:
        srv.close()
        pg.stop()


if __name__ == "__main__":
    main()
