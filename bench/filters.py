#!/usr/bin/env python3
"""bench/filters.py: many consumers with record filters on one stream (issue #12's "a
thousand consumers with filters on one stream must work").

For each N in COUNTS (default 10 100 1000): a fresh server (`--throttling off`), one stream of
one shard, N consumers each with its own jsonl dataset and the filter `.tenant == "T<i>"`,
created one by one through the control API; then 500 JSON records spread over the N tenants
in one PutRecords, and the time until the consumers' `records_delivered` sum to 500; then the
server's CPU over 5 s idle and its RSS. Prints one JSON line per N.

    python3 bench/filters.py              # ~1 minute
    COUNTS="10 100" python3 bench/filters.py
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import MillraceServer  # noqa: E402
from test_consumers import Api  # noqa: E402

RECORDS = 500


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(n):
    server = MillraceServer()
    server.start()
    try:
        api = Api(server)
        kinesis = server.client()
        kinesis.create_stream(StreamName="t", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="t", WaiterConfig={"Delay": 0.2})
        t0 = time.monotonic()
        for i in range(n):
            st, doc = api.call("POST", "/api/v1/consumers", {
                "name": "c%d" % i, "stream": "t", "buffer_interval_seconds": 1,
                "dataset": {"name": "d%d" % i, "file_type": "jsonl"},
                "filter": '.tenant == "T%d"' % i})
            if st != 201:
                raise SystemExit("creating consumer %d: %s" % (i, doc))
        created = time.monotonic() - t0
        records = [{"Data": json.dumps({"tenant": "T%d" % (j % n), "j": j}).encode(),
                    "PartitionKey": "k%d" % j} for j in range(RECORDS)]
        t1 = time.monotonic()
        kinesis.put_records(StreamName="t", Records=records)

        def delivered():
            _, doc = api.call("GET", "/api/v1/consumers")
            return sum(c["counters"]["records_delivered"] for c in doc["consumers"])
        while delivered() < RECORDS and time.monotonic() - t1 < 300:
            time.sleep(0.2)
        took = time.monotonic() - t1
        pid = server.proc.pid
        c0 = cpu_seconds(pid)
        time.sleep(5)
        idle = (cpu_seconds(pid) - c0) / 5
        rss = int([l for l in open("/proc/%d/status" % pid) if l.startswith("VmRSS")][0].split()[1])
        return {"consumers": n, "create_all_s": round(created, 2),
                "deliver_%d_s" % RECORDS: round(took, 2), "delivered": delivered(),
                "idle_cpu_cores": round(idle, 3), "rss_mib": rss // 1024}
    finally:
        server.close()


if __name__ == "__main__":
    for n in (int(x) for x in os.environ.get("COUNTS", "10 100 1000").split()):
        print(json.dumps(run(n)), flush=True)
