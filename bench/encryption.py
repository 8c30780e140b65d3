#!/usr/bin/env python3
"""bench/encryption.py: what server-side encryption costs (StartStreamEncryption), in one run.

One Millrace server (fsync on, throttling off), two streams of 4 shards: one plain, one
encrypted with alias/aws/kinesis. h2load (HTTP/1.1, 64 connections, one request in flight
each) drives, with requests signed once by botocore:

    put-record    PutRecord of 100 B
    put-records   PutRecords of 100 records of 1,000 B
    get-records   GetRecords of 1,000 records of 1,000 B (the same iterator each time:
                  every call opens the same sealed frames again)

ROUNDS rounds of SECONDS_PER_RUN seconds, interleaved; medians, and the encrypted stream's
ratio to the plain one (requests per second, and the server's CPU time per request).

    python3 bench/encryption.py                      # ~2 minutes
    ROUNDS=1 SECONDS_PER_RUN=3 python3 bench/encryption.py
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from protocols import REPO, MillraceServer, cpu_seconds, h2load, signed  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
OUT = os.path.join(REPO, "bench", "results", "encryption-%s.jsonl" % time.strftime("%Y-%m-%d"))


def emit(doc):
    print(json.dumps(doc), flush=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "a") as f:
        f.write(json.dumps(doc) + "\n")


def main():
    if shutil.which("h2load") is None:
        sys.exit("h2load is missing: apt-get install nghttp2-client (scripts/install-deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="millrace-bench-enc-")
    srv = MillraceServer(extra_args=["--sync", "on"]).start()
    try:
        k = srv.client()
        for name in ("plain", "sealed"):
            k.create_stream(StreamName=name, ShardCount=4)
        def wait(name):
            while k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
                time.sleep(0.05)
        for name in ("plain", "sealed"):
            wait(name)
        k.start_stream_encryption(StreamName="sealed", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        wait("sealed")
        url = "http://127.0.0.1:%d/" % srv.port
        variants = {}
        for name in ("plain", "sealed"):
            # 1,000 records of 1,000 B in one shard, for the reads.
            for _ in range(10):
                r = k.put_records(StreamName=name, Records=[
                    {"PartitionKey": "read", "ExplicitHashKey": "0", "Data": os.urandom(1000)}
                    for _ in range(100)])
                assert r["FailedRecordCount"] == 0
            shard = r["Records"][0]["ShardId"]
            it = k.get_shard_iterator(StreamName=name, ShardId=shard,
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            assert len(k.get_records(ShardIterator=it, Limit=1000)["Records"]) == 1000
            loads = {
                "put-record": ("PutRecord", {"StreamName": name, "PartitionKey": "pk", "Data": b"x" * 100}),
                "put-records": ("PutRecords", {"StreamName": name, "Records": [
                    {"PartitionKey": "pk%d" % i, "Data": os.urandom(1000)} for i in range(100)]}),
                "get-records": ("GetRecords", {"ShardIterator": it, "Limit": 1000}),
            }
            for load, (action, payload) in loads.items():
                body, hdrs = signed(srv, tmp, "%s-%s" % (load, name), action, payload, False)
                variants[load, name] = (body, hdrs)
        results = {key: [] for key in variants}
        cpu = {key: [] for key in variants}
        for r in range(ROUNDS):
            for key, (body, hdrs) in variants.items():
                cpu0 = cpu_seconds(srv.proc.pid)
                rps, done = h2load(url, body, hdrs, ["--h1"], CONNECTIONS)
                cpu_us = (cpu_seconds(srv.proc.pid) - cpu0) * 1e6 / max(done, 1)
                results[key].append(rps)
                cpu[key].append(cpu_us)
                emit({"bench": "encryption", "round": r, "load": key[0], "stream": key[1],
                      "req_per_s": rps, "server_cpu_us_per_req": round(cpu_us, 1)})
        for load in ("put-record", "put-records", "get-records"):
            base = statistics.median(results[load, "plain"])
            base_cpu = statistics.median(cpu[load, "plain"])
            for name in ("plain", "sealed"):
                med = statistics.median(results[load, name])
                med_cpu = statistics.median(cpu[load, name])
                emit({"bench": "encryption", "summary": True, "load": load, "stream": name,
                      "median_req_per_s": round(med, 1), "ratio_to_plain": round(med / base, 3),
                      "server_cpu_us_per_req": round(med_cpu, 1),
                      "cpu_ratio_to_plain": round(med_cpu / base_cpu, 3)})
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
