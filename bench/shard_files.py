#!/usr/bin/env python3
"""bench/shard_files.py: one delivery across shards (a file per buffer, as Firehose writes)
against one file per shard per buffer (Millrace before 2026-12-07), issue #16's "fewer,
larger files".

Each round starts the server binary under test (fsync on, throttling off), and for each:

1. throughput: N JSON records of 100 bytes put over 4 shards first (loadgen put-records,
   random partition keys), then a consumer from TRIM_HORIZON into a local jsonl dataset
   (buffer 128 MiB, interval 0: a delivery per pass over the shards) timed from its creation
   until its status counts every record delivered; files written, server CPU per record.
2. small files: a 16-shard stream, a consumer with buffer 1 MiB and interval 0 (or 1 s),
   and a producer putting 400 records with random keys at ~100 records/s; the files it
   took once all are delivered (the user's report: ~200 files for 400 records).

    python3 bench/shard_files.py                       # this build only
    BEFORE=/tmp/millrace-before python3 bench/shard_files.py   # and an older binary, interleaved
"""
import json
import os
import random
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

N = int(os.environ.get("N", "1000000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LOADGEN = os.path.join(REPO, "build", "bin", "loadgen")
emit = emitter("shard-files")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_binary(label, binary, rnd):
    srv = MillraceServer(extra_args=["--sync", "on"])
    srv.binary = binary
    srv.start()
    api = RawClient(srv, service="millrace")

    def call(method, path, body=None):
        r = api.request(json.dumps(body).encode() if body is not None else b"", method=method,
                        path=path, content_type="application/json")
        return r.status, json.loads(r.body) if r.body else None

    def wait_delivered(name, n, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st, doc = call("GET", "/api/v1/consumers/" + name)
            if doc.get("records_delivered", 0) >= n:
                return doc
            time.sleep(0.01)
        raise SystemExit("%s: %s did not deliver %d records" % (label, name, n))

    try:
        lg = [LOADGEN, "--endpoint", "http://127.0.0.1:%d" % srv.port, "--credentials", srv.data_dir]
        subprocess.run(lg[:1] + ["create-stream"] + lg[1:] + ["--stream", "big", "--shards", "4"],
                       check=True, capture_output=True)
        subprocess.run(lg[:1] + ["put-records"] + lg[1:] + [
            "--stream", "big", "--json-records", "--record-size", "100", "--batch", "500",
            "--connections", "4", "--until-bytes", str(N * 100), "--duration", "0", "--warmup", "0"],
            check=True, capture_output=True)
        subprocess.run(["sync"])
        k = srv.client()
        have = 0  # what the stream holds (the fill stops at a batch's end past N)
        r = api.request(b"", method="GET", path="/metrics", sign=False, content_type=None)
        for line in r.body.decode().splitlines():
            if line.startswith('millrace_stream_records_in_total{stream="big"}'):
                have = int(float(line.split()[-1]))
        cpu0, t0 = cpu_s(srv.proc.pid), time.monotonic()
        st, doc = call("POST", "/api/v1/consumers", {
            "name": "big", "stream": "big", "buffer_size_mib": 128, "buffer_interval_seconds": 0,
            "dataset": {"name": "big", "file_type": "jsonl"}})
        assert st == 201, doc
        doc = wait_delivered("big", have)
        seconds = time.monotonic() - t0
        cpu = cpu_s(srv.proc.pid) - cpu0
        out = [{"bench": "shard-files", "part": "throughput", "binary": label, "round": rnd,
                "shards": 4, "records": have, "seconds": round(seconds, 3),
                "records_per_s": round(have / seconds), "objects": doc.get("objects_written"),
                "server_cpu_us_per_record": round(cpu * 1e6 / have, 3)}]
        emit(out[-1])

        for interval in (0, 1):
            name = "small%d" % interval
            k.create_stream(StreamName=name, ShardCount=16)
            while k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
                time.sleep(0.05)
            st, doc = call("POST", "/api/v1/consumers", {
                "name": name, "stream": name, "buffer_size_mib": 1,
                "buffer_interval_seconds": interval, "dataset": {"name": name, "file_type": "jsonl"}})
            assert st == 201, doc
            start = time.monotonic()
            for i in range(400):  # ~100 records/s, 4 s
                k.put_record(StreamName=name, Data=json.dumps({"n": i}).encode(),
                             PartitionKey=str(random.random()))
                delay = start + (i + 1) / 100.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            doc = wait_delivered(name, 400, timeout=60)
            out.append({"bench": "shard-files", "part": "small-files", "binary": label,
                        "round": rnd, "shards": 16, "interval_s": interval, "records": 400,
                        "objects": doc.get("objects_written")})
            emit(out[-1])
        return out
    finally:
        srv.close()


def main():
    binaries = [("this", os.path.join(REPO, "build", "bin", "millrace"))]
    if os.environ.get("BEFORE"):
        binaries.append(("before", os.environ["BEFORE"]))
    rows = []
    for rnd in range(ROUNDS):
        for label, binary in binaries:
            rows += one_binary(label, binary, rnd)
    for label, _ in binaries:
        mine = [r for r in rows if r["binary"] == label]
        summary = {"bench": "shard-files", "summary": True, "binary": label}
        tp = [r for r in mine if r["part"] == "throughput"]
        for key in ("records_per_s", "server_cpu_us_per_record", "objects"):
            summary[key] = statistics.median(r[key] for r in tp)
        for interval in (0, 1):
            summary["small_files_objects_interval_%d" % interval] = statistics.median(
                r["objects"] for r in mine if r["part"] == "small-files" and r["interval_s"] == interval)
        emit(summary)


if __name__ == "__main__":
    main()
