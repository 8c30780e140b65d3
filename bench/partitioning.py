#!/usr/bin/env python3
"""bench/partitioning.py: delivery with dynamic partitioning (100 active partitions) against
the same delivery unpartitioned (issue #16's target: >= 0.5x).

One Millrace server (fsync on). N JSON records ({"customer": 0..99, "n", "pad"}) are put
into a 1-shard stream first. Each round creates two consumers reading it from
TRIM_HORIZON into jsonl datasets (buffer BUFFER_MIB = 32 MiB, interval 1 s: deliveries cut
by size, the last by time; BUFFER_MIB=4 for small files), one plain and one with partition_query {customer: .customer} and key_prefix
customer=!{partitionKeyFromQuery:customer}/ (100 partitions, so each delivery writes 100
files), one after the other, and times each from its creation until its status says 90 %
of the records are delivered (the last buffer waits for the interval in both). ROUNDS rounds; medians of records per second, and the ratio.

    python3 bench/partitioning.py              # ~3 minutes
    N=50000 ROUNDS=1 python3 bench/partitioning.py
"""
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)
from results_file import emitter  # noqa: E402
from harness import MillraceServer, RawClient  # noqa: E402

N = int(os.environ.get("N", "1000000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BUFFER_MIB = int(os.environ.get("BUFFER_MIB", "32"))


emit = emitter("partitioning")


def main():
    srv = MillraceServer(extra_args=["--sync", "on"]).start()
    api = RawClient(srv, service="millrace")

    def call(method, path, body=None):
        r = api.request(json.dumps(body).encode() if body is not None else b"", method=method,
                        path=path, content_type="application/json")
        return r.status, json.loads(r.body) if r.body else None

    try:
        k = srv.client()
        k.create_stream(StreamName="src", ShardCount=1)
        while k.describe_stream_summary(StreamName="src")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.05)
        for start in range(0, N, 500):
            recs = [{"PartitionKey": "p", "Data": json.dumps(
                {"customer": i % 100, "n": i, "pad": "x" * 64}).encode()}
                for i in range(start, min(N, start + 500))]
            assert k.put_records(StreamName="src", Records=recs)["FailedRecordCount"] == 0

        def run(name, partitioned):
            consumer = {"name": name, "stream": "src", "buffer_size_mib": BUFFER_MIB,
                        "buffer_interval_seconds": 1,
                        "dataset": {"name": name, "file_type": "jsonl"}}
            if partitioned:
                consumer["partition_query"] = "{customer: .customer}"
                consumer["dataset"]["key_prefix"] = "customer=!{partitionKeyFromQuery:customer}/"
                consumer["dataset"]["error_prefix"] = "failed/!{firehose:error-output-type}/"
            t0 = time.monotonic()
            st, doc = call("POST", "/api/v1/consumers", consumer)
            assert st == 201, doc
            # The rate to 90 % of the records: the last buffer, cut by the interval rather
            # than by size, would add the same wait to both variants.
            t90 = None
            while True:
                st, doc = call("GET", "/api/v1/consumers/" + name)
                delivered = doc.get("records_delivered", 0)
                if t90 is None and delivered >= 0.9 * N:
                    t90 = time.monotonic() - t0
                if delivered >= N:
                    break
                time.sleep(0.01)
            return 0.9 * N / t90, doc.get("objects_written")

        results = {"plain": [], "partitioned": []}
        for rnd in range(ROUNDS):
            for variant in ("plain", "partitioned"):
                rate, objects = run("%s-%d" % (variant, rnd), variant == "partitioned")
                results[variant].append(rate)
                emit({"bench": "partitioning", "round": rnd, "variant": variant, "records": N,
                      "records_per_s": round(rate), "objects": objects})
        plain = statistics.median(results["plain"])
        part = statistics.median(results["partitioned"])
        emit({"bench": "partitioning", "summary": True, "records": N, "plain_records_per_s": round(plain),
              "partitioned_records_per_s": round(part), "ratio": round(part / plain, 3)})
    finally:
        srv.close()


if __name__ == "__main__":
    main()
