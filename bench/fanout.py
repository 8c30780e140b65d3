#!/usr/bin/env python3
"""bench/fanout.py: enhanced fan-out delivery latency and throughput (issue #15).

- Latency: one subscription (boto3, HTTP/1.1) to a one-shard stream; a producer puts
  RATE records/s (PutRecords of 10 every 10 ms, fsync on) for SECONDS, each record carrying
  the monotonic time just before its PutRecords call; the subscriber notes when its event
  arrives. Put-to-event p50/p90/p99/max (AWS quotes ~70 ms; the target is < 10 ms p99 on
  loopback). ROUNDS times; the medians of the rounds' percentiles.
- Throughput: a shard prefilled with PREFILL_MB of 1 KiB records, read from TRIM_HORIZON by
  one subscription: MiB/s (AWS's limit, and ours, is 2 MiB/s per subscription) and, for
  comparison, GetRecords of the same shard in a loop (one caller, throttling off).

    python3 bench/fanout.py                      # ~1 minute
    RATE=1000 SECONDS=10 ROUNDS=3 PREFILL_MB=16 python3 bench/fanout.py
"""
import json
import os
import statistics
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import MillraceServer  # noqa: E402

RATE = int(os.environ.get("RATE", "1000"))
SECONDS = float(os.environ.get("SECONDS", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PREFILL_MB = int(os.environ.get("PREFILL_MB", "16"))
OUT = os.path.join(REPO, "bench", "results", "fanout-%s.jsonl" % time.strftime("%Y-%m-%d"))


def emit(doc):
    print(json.dumps(doc), flush=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)  # bench/results/ is not in git
    with open(OUT, "a") as f:
        f.write(json.dumps(doc) + "\n")


def wait_active(k, name):
    while k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        time.sleep(0.05)
    return k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def consumer(k, arn, name):
    c = k.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"]["ConsumerARN"]
    while k.describe_stream_consumer(ConsumerARN=c)["ConsumerDescription"]["ConsumerStatus"] != "ACTIVE":
        time.sleep(0.05)
    return c


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def latency_round(server, r):
    k = server.client(read_timeout=60)
    name = "lat%d" % r
    k.create_stream(StreamName=name, ShardCount=1)
    arn = wait_active(k, name)
    c = consumer(k, arn, "bench")
    sub = k.subscribe_to_shard(ConsumerARN=c, ShardId="shardId-000000000000",
                               StartingPosition={"Type": "LATEST"})
    latencies = []
    expected = int(RATE * SECONDS)
    done = threading.Event()

    def read():
        for ev in sub["EventStream"]:
            now = time.monotonic_ns()
            for rec in ev["SubscribeToShardEvent"]["Records"]:
                sent = struct.unpack(">q", rec["Data"][:8])[0]
                latencies.append((now - sent) / 1e6)
            if len(latencies) >= expected:
                break
        done.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(0.5)
    producer = server.client()
    batch, interval = 10, 10.0 / RATE  # RATE records/s as PutRecords of 10
    start = time.monotonic()
    for i in range(expected // batch):
        due = start + i * interval
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stamp = struct.pack(">q", time.monotonic_ns())
        producer.put_records(StreamName=name, Records=[
            {"PartitionKey": "p%d" % j, "Data": stamp + b"x" * 92} for j in range(batch)])
    done.wait(30)
    sub["EventStream"].close()
    achieved = len(latencies) / (time.monotonic() - start)
    return latencies, achieved


def throughput(server):
    k = server.client(read_timeout=120)
    k.create_stream(StreamName="tp", ShardCount=1)
    arn = wait_active(k, "tp")
    payload = b"y" * 1024
    total = PREFILL_MB * 1024
    for i in range(0, total, 500):
        k.put_records(StreamName="tp", Records=[{"PartitionKey": "p", "Data": payload}] * min(500, total - i))
    c = consumer(k, arn, "tp")
    t0 = time.monotonic()
    got = 0
    sub = k.subscribe_to_shard(ConsumerARN=c, ShardId="shardId-000000000000",
                               StartingPosition={"Type": "TRIM_HORIZON"})
    for ev in sub["EventStream"]:
        got += sum(len(r["Data"]) for r in ev["SubscribeToShardEvent"]["Records"])
        if got >= total * 1024:
            break
    efo = got / (time.monotonic() - t0) / 2**20
    sub["EventStream"].close()
    it = k.get_shard_iterator(StreamName="tp", ShardId="shardId-000000000000",
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    t0 = time.monotonic()
    got = 0
    while got < total * 1024:
        r = k.get_records(ShardIterator=it, Limit=10000)
        got += sum(len(x["Data"]) for x in r["Records"])
        it = r["NextShardIterator"]
    polled = got / (time.monotonic() - t0) / 2**20
    return efo, polled


def main():
    server = MillraceServer().start()  # fsync on, throttling off
    try:
        p50s, p90s, p99s, maxes = [], [], [], []
        for r in range(ROUNDS):
            lat, achieved = latency_round(server, r)
            row = {"bench": "fanout-latency", "round": r, "rate": RATE, "records": len(lat),
                   "achieved_per_s": round(achieved), "p50_ms": round(pct(lat, 50), 2),
                   "p90_ms": round(pct(lat, 90), 2), "p99_ms": round(pct(lat, 99), 2),
                   "max_ms": round(max(lat), 2)}
            emit(row)
            p50s.append(row["p50_ms"]), p90s.append(row["p90_ms"])
            p99s.append(row["p99_ms"]), maxes.append(row["max_ms"])
        emit({"bench": "fanout-latency", "summary": True, "rate": RATE, "rounds": ROUNDS,
              "median_p50_ms": statistics.median(p50s), "median_p90_ms": statistics.median(p90s),
              "median_p99_ms": statistics.median(p99s), "median_max_ms": statistics.median(maxes)})
        efo, polled = throughput(server)
        emit({"bench": "fanout-throughput", "prefill_mb": PREFILL_MB,
              "subscription_mib_per_s": round(efo, 2), "getrecords_loop_mib_per_s": round(polled, 2)})
    finally:
        server.close()


if __name__ == "__main__":
    main()
