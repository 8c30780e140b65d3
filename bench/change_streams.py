#!/usr/bin/env python3
"""bench/change_streams.py: change streams (issue #12) against PostgreSQL's own tools, on
the same machine in the same run. A PostgreSQL 15 (Debian's, wal_level = logical) and a
Millrace server (durable: --sync on, the default) are started on loopback.

- capture: ROWS rows inserted in transactions of 10,000 while the change stream is paused,
  then the time for Millrace to write them all durably into its stream, against the time
  `pg_recvlogical` (pgoutput, the same publication) takes to stream the same WAL to
  /dev/null. Peak RSS of the server while capturing.
- one transaction of BIG_TXN rows: capture time and the server's peak RSS (bounded memory).
- snapshot: the initial snapshot of a ROWS-row table, against `COPY table TO STDOUT` > /dev/null
  (rows per second), and the bytes it wrote per second against `dd ... conv=fdatasync` of as
  many bytes on the same file system (the disk's ceiling).
- latency: commit to readable record (GetRecords polled continuously), at about 5,000
  changes/s for LATENCY_SECONDS; p50 and p99.

Prints one JSON line per measurement; ROUNDS rounds, medians in the summary line.

    python3 bench/change_streams.py            # ~3 minutes
    ROWS=200000 ROUNDS=1 python3 bench/change_streams.py
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import MillraceServer  # noqa: E402
from pg import PG_BIN, Postgres  # noqa: E402
from test_consumers import Api  # noqa: E402

ROWS = int(os.environ.get("ROWS", "500000"))
BIG_TXN = int(os.environ.get("BIG_TXN", "1000000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LATENCY_SECONDS = float(os.environ.get("LATENCY_SECONDS", "10"))
ROW = ("g, (ARRAY['ACME','GLOBEX','INITECH'])[g % 3 + 1], 'created', (g % 1000) * 1.25, "
       "now(), 'Rotterdam', 'Lyon'")
COLUMNS = ("id bigint PRIMARY KEY, tenant text, status text, weight_kg numeric(8,2), "
           "updated_at timestamptz, origin text, destination text")


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakRss(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.05)


def emit(doc):
    print(json.dumps(doc), flush=True)
    return doc


class Bench:
    def __init__(self):
        self.pg = Postgres(logical=True, tcp=True).start()
        self.server = MillraceServer().start()
        self.api = Api(self.server)

    def close(self):
        self.server.stop()
        self.pg.stop()

    def call(self, method, path, body=None, expect=200):
        status, doc = self.api.call(method, path, body)
        if status != expect:
            raise RuntimeError("%s %s: %s %s" % (method, path, status, doc))
        return doc

    def create(self, name, table, snapshot="never"):
        return self.call("POST", "/api/v1/change-streams", {
            "name": name, "stream": name, "snapshot": snapshot,
            "source": {"type": "postgresql", "dsn": self.pg.dsn(), "tables": [table]}}, 201)

    def describe(self, name):
        return self.call("GET", "/api/v1/change-streams/" + name)

    def wait(self, pred, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.02)
        raise RuntimeError("timed out")

    def capture(self, r):
        t = "cap%d" % r
        self.pg.psql("CREATE TABLE %s (%s)" % (t, COLUMNS))
        doc = self.create(t, t)
        self.wait(lambda: self.describe(t)["state"] == "STREAMING")
        self.call("POST", "/api/v1/change-streams/%s/pause" % t)
        pub = doc["source"]["publication"]
        recv = ["-h", "127.0.0.1", "-p", str(self.pg.port), "-U", "postgres", "-d", "postgres"]
        subprocess.run([os.path.join(PG_BIN, "pg_recvlogical")] + recv +
                       ["-S", t + "_recv", "-P", "pgoutput", "--create-slot"], check=True)
        self.pg.psql("DO $$BEGIN FOR b IN 0..%d LOOP INSERT INTO %s SELECT %s FROM "
                     "generate_series(b * 10000 + 1, b * 10000 + 10000) g; COMMIT; END LOOP; END$$"
                     % (ROWS // 10000 - 1, t, ROW))
        end = self.pg.psql("SELECT pg_current_wal_lsn()")[0][0]
        t0 = time.monotonic()
        subprocess.run([os.path.join(PG_BIN, "pg_recvlogical")] + recv +
                       ["-S", t + "_recv", "--start", "-o", "proto_version=1", "-o",
                        "publication_names=" + pub, "-f", "/dev/null", "-E", end, "--no-loop"],
                       check=True)
        recv_s = time.monotonic() - t0
        subprocess.run([os.path.join(PG_BIN, "pg_recvlogical")] + recv +
                       ["-S", t + "_recv", "--drop-slot"], check=True)
        peak = PeakRss(self.server.proc.pid)
        before = rss_kib(self.server.proc.pid)
        peak.start()
        t0 = time.monotonic()
        self.call("POST", "/api/v1/change-streams/%s/resume" % t)
        self.wait(lambda: self.describe(t)["counters"]["changes"] >= ROWS)
        ours_s = time.monotonic() - t0
        peak.stop.set()
        peak.join()
        self.call("DELETE", "/api/v1/change-streams/" + t)
        return emit({"bench": "capture", "round": r, "changes": ROWS,
                     "pg_recvlogical_per_s": round(ROWS / recv_s),
                     "millrace_per_s": round(ROWS / ours_s),
                     "ratio": round(recv_s / ours_s, 3),
                     "rss_before_mib": round(before / 1024, 1),
                     "rss_peak_mib": round(peak.peak / 1024, 1)})

    def big_transaction(self):
        t = "bigtxn"
        self.pg.psql("CREATE TABLE %s (%s)" % (t, COLUMNS))
        self.create(t, t)
        self.wait(lambda: self.describe(t)["state"] == "STREAMING")
        self.call("POST", "/api/v1/change-streams/%s/pause" % t)
        self.pg.psql("INSERT INTO %s SELECT %s FROM generate_series(1, %d) g" % (t, ROW, BIG_TXN))
        peak = PeakRss(self.server.proc.pid)
        before = rss_kib(self.server.proc.pid)
        peak.start()
        t0 = time.monotonic()
        self.call("POST", "/api/v1/change-streams/%s/resume" % t)
        self.wait(lambda: self.describe(t)["counters"]["changes"] >= BIG_TXN)
        secs = time.monotonic() - t0
        peak.stop.set()
        peak.join()
        self.call("DELETE", "/api/v1/change-streams/" + t)
        return emit({"bench": "one_transaction", "changes": BIG_TXN, "seconds": round(secs, 2),
                     "per_s": round(BIG_TXN / secs), "rss_before_mib": round(before / 1024, 1),
                     "rss_peak_mib": round(peak.peak / 1024, 1)})

    def snapshot(self, r):
        t = "snap%d" % r
        self.pg.psql("CREATE TABLE %s (%s)" % (t, COLUMNS))
        self.pg.psql("INSERT INTO %s SELECT %s FROM generate_series(1, %d) g; ANALYZE %s"
                     % (t, ROW, ROWS, t))
        t0 = time.monotonic()
        with open(os.devnull, "wb") as null:
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg.port), "-U", "postgres",
                            "-X", "-q", "-c", "COPY %s TO STDOUT" % t], stdout=null, check=True)
        copy_s = time.monotonic() - t0
        t0 = time.monotonic()
        self.create(t, t, snapshot="initial")
        self.wait(lambda: self.describe(t)["snapshot_progress"]["done"])
        ours_s = time.monotonic() - t0
        self.call("DELETE", "/api/v1/change-streams/" + t)
        metrics = self.server.raw().request(b"", method="GET", path="/metrics").body.decode()
        written = next(float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith('millrace_stream_bytes_in_total{stream="%s"}' % t))
        # The disk's own rate for as many bytes, on the data directory's file system.
        probe = os.path.join(self.server.root, "dd.probe")
        t0 = time.monotonic()
        subprocess.run(["dd", "if=/dev/zero", "of=" + probe, "bs=1M",
                        "count=%d" % max(1, written // (1 << 20)), "conv=fdatasync"],
                       check=True, capture_output=True)
        dd_s = time.monotonic() - t0
        os.unlink(probe)
        return emit({"bench": "snapshot", "round": r, "rows": ROWS,
                     "copy_rows_per_s": round(ROWS / copy_s),
                     "millrace_rows_per_s": round(ROWS / ours_s),
                     "ratio": round(copy_s / ours_s, 3),
                     "record_bytes": round(written / ROWS),
                     "millrace_mb_per_s": round(written / ours_s / 1e6),
                     "dd_fdatasync_mb_per_s": round(written / dd_s / 1e6)})

    def latency(self):
        t = "lat"
        self.pg.psql("CREATE TABLE %s (id bigint PRIMARY KEY, tenant text)" % t)
        self.create(t, t)
        self.wait(lambda: self.describe(t)["state"] == "STREAMING")
        client = self.server.client()
        shards = [s["ShardId"] for s in client.list_shards(StreamName=t)["Shards"]]
        its = {s: client.get_shard_iterator(StreamName=t, ShardId=s,
                                            ShardIteratorType="LATEST")["ShardIterator"]
               for s in shards}
        lat = []
        stop = threading.Event()
        # About 5,000 changes/s: 50 rows per transaction, 100 transactions a second.
        n = int(LATENCY_SECONDS * 100)
        writer = threading.Thread(target=lambda: self.pg.psql(
            "DO $$DECLARE s timestamptz; BEGIN FOR b IN 0..%d LOOP s := clock_timestamp(); "
            "INSERT INTO %s SELECT g, 'ACME' FROM generate_series(b * 50 + 1, b * 50 + 50) g; "
            "COMMIT; PERFORM pg_sleep(greatest(0, 0.01 - extract(epoch FROM clock_timestamp() - s))); "
            "END LOOP; END$$" % (n - 1, t)))
        t0 = time.monotonic()
        writer.start()
        while writer.is_alive() or len(lat) < n * 50:
            got = 0
            for s in shards:
                r = client.get_records(ShardIterator=its[s], Limit=10000)
                its[s] = r["NextShardIterator"]
                now = time.time()
                for x in r["Records"]:
                    src = json.loads(x["Data"])["source"]
                    ct = time.mktime(time.strptime(src["commitTime"][:19], "%Y-%m-%dT%H:%M:%S")) \
                        - time.timezone + float("0." + src["commitTime"][20:26])
                    lat.append(now - ct)
                got += len(r["Records"])
            if not writer.is_alive() and got == 0 and time.monotonic() - t0 > LATENCY_SECONDS + 30:
                break
        secs = time.monotonic() - t0
        lat.sort()
        return emit({"bench": "latency", "changes": len(lat), "rate_per_s": round(len(lat) / secs),
                     "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                     "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
                     "max_ms": round(lat[-1] * 1000, 1)})


def main():
    b = Bench()
    try:
        caps = [b.capture(r) for r in range(ROUNDS)]
        snaps = [b.snapshot(r) for r in range(ROUNDS)]
        big = b.big_transaction()
        lat = b.latency()
        emit({"summary": True,
              "capture_per_s_median": statistics.median(c["millrace_per_s"] for c in caps),
              "pg_recvlogical_per_s_median": statistics.median(
                  c["pg_recvlogical_per_s"] for c in caps),
              "capture_ratio_median": statistics.median(c["ratio"] for c in caps),
              "snapshot_ratio_median": statistics.median(s["ratio"] for s in snaps),
              "one_transaction_rss_peak_mib": big["rss_peak_mib"],
              "latency_p99_ms": lat["p99_ms"]})
    finally:
        b.close()


if __name__ == "__main__":
    main()
