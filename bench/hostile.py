#!/usr/bin/env python3
"""Hostile clients against an honest one (issue #10's target): 1,000 connections that never
authenticate, of four kinds (slow heads, trickled bodies, large bodies with a wrong
signature under a real key id, large unsigned bodies), while an honest boto3 client calls
PutRecord. Prints the server's RSS growth and the honest client's PutRecord p50/p99 idle
and under attack (median of ROUNDS rounds). Loopback only; bounded in count and time.

    python3 bench/hostile.py [CONNECTIONS] [ROUNDS]      (build/bin/millrace, or $MILLRACE_BIN)
"""
import datetime
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import AMZ_JSON, MillraceServer  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def latencies(client, stream, n):
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        client.put_record(StreamName=stream, Data=b"x" * 100, PartitionKey=str(i))
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.99) - 1]


def heads(server):
    key, _ = server.credentials()
    amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    auth = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/kinesis/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=%s"
            % (key, amz[:8], server.region, "0" * 64))
    base = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n" % AMZ_JSON
    big = 12 * 1024 * 1024
    return {
        "slow-head": (base + "X-Amz-Date: %s\r\n" % amz).encode(),  # never ends its head
        "trickle": (base + "Content-Length: 1000\r\n\r\n").encode(),
        "wrong-signature": (base + "X-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n"
                            % (amz, auth, big)).encode(),
        "unsigned-big": (base + "Content-Length: %d\r\n\r\n" % big).encode(),
    }


def attack(server, n, stop):
    kinds = list(heads(server).items())
    socks = []
    for i in range(n):
        kind, head = kinds[i % len(kinds)]
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.setblocking(False)
            s.send(head)
            socks.append((kind, s))
        except OSError:
            pass
    chunk = b"x" * (64 * 1024)
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        for kind, s in socks:
            try:
                if kind == "trickle":
                    s.send(b"x")
                elif kind in ("wrong-signature", "unsigned-big"):
                    s.send(chunk)
            except OSError:
                pass
        time.sleep(0.2)
    for _, s in socks:
        s.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = []
    for r in range(rounds):
        server = MillraceServer(throttling=False)
        server.start()
        try:
            k = server.client()
            k.create_stream(StreamName="bench", ShardCount=1)
            time.sleep(0.5)
            latencies(k, "bench", 200)  # warm up
            idle = latencies(k, "bench", 1000)
            before = rss_kib(server.proc.pid)
            stop = threading.Event()
            t = threading.Thread(target=attack, args=(server, n, stop))
            t.start()
            time.sleep(3)
            hostile = latencies(k, "bench", 1000)
            peak = rss_kib(server.proc.pid)
            stop.set()
            t.join()
            results.append((idle, hostile, (peak - before) / 1024.0))
            print("round %d: idle p50 %.2f p99 %.2f ms; under %d hostile connections p50 %.2f "
                  "p99 %.2f ms; RSS +%.1f MiB" % (r + 1, idle[0], idle[1], n, hostile[0],
                                                   hostile[1], (peak - before) / 1024.0))
        finally:
            server.close()
    med = lambda xs: statistics.median(xs)
    idle99 = med([x[0][1] for x in results])
    host99 = med([x[1][1] for x in results])
    print("median: PutRecord p99 idle %.2f ms, under attack %.2f ms (%.2fx; target < 10x); "
          "RSS growth %.1f MiB (target < 64)" % (idle99, host99, host99 / idle99,
                                                 med([x[2] for x in results])))


if __name__ == "__main__":
    main()
