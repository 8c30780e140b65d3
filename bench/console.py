#!/usr/bin/env python3
"""bench/console.py: the web console's targets (issue #17), in headless Chromium against one
Millrace server (fsync on, throttling off):

    first page   1,000 streams and 1,000 consumers (each consumer on its own stream, all
                 into one dataset): time from navigation to the first page of 50 rows and
                 the pager, for #/streams and #/consumers, ROUNDS fresh tabs each (target:
                 < 1 s on loopback)
    live tail    a 4-shard stream taking 1,000 records/s (PutRecords of 100 records of
                 ~200 B every 100 ms, boto3) while the page tails it: frame intervals
                 (requestAnimationFrame) over 10 s and long tasks (> 50 ms)
    idle cost    the server's CPU time over 30 s before the console was ever opened and
                 again after the browser closed (the console keeps nothing running in the
                 server, so the two should match; both include the 1,000 idle consumers)

    python3 bench/console.py                 # ~3 minutes
    STREAMS=200 ROUNDS=3 python3 bench/console.py
"""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from protocols import REPO, MillraceServer, cpu_seconds  # noqa: E402
from results_file import emitter  # noqa: E402

STREAMS = int(os.environ.get("STREAMS", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
RATE = int(os.environ.get("RATE", "1000"))
emit = emitter("console")


def main():
    server = MillraceServer(extra_args=["--throttling", "off"]).start()
    try:
        k = server.client()
        t0 = time.time()
        for i in range(STREAMS):
            k.create_stream(StreamName="s%04d" % i, ShardCount=1)
        k.create_stream(StreamName="tail", ShardCount=4)
        sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
        from test_consumers import Api
        control = Api(server)
        st, body = control.call("POST", "/api/v1/datasets", {"name": "lake", "file_type": "jsonl"})
        assert st == 201, body
        for i in range(STREAMS):
            st, body = control.call("POST", "/api/v1/consumers", {
                "name": "c%04d" % i, "stream": "s%04d" % i, "dataset": "lake",
                "buffer_interval_seconds": 300, "starting_position": "LATEST"})
            assert st == 201, body
        setup_s = time.time() - t0
        time.sleep(5)
        cpu0 = cpu_seconds(server.proc.pid)
        time.sleep(30)
        idle_before = cpu_seconds(server.proc.pid) - cpu0
        key, secret = server.credentials()
        p = subprocess.Popen(["node", os.path.join(HERE, "console_browser.mjs"), server.endpoint,
                              key, secret, str(ROUNDS)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        put = {"records": 0, "seconds": 0.0}
        stop = threading.Event()

        def produce():
            data = json.dumps({"order": 1, "customer": "c" * 40, "lines": [1, 2, 3],
                               "note": "x" * 120}).encode()
            batch = [{"Data": data, "PartitionKey": "k%d" % i} for i in range(RATE // 10)]
            start = time.time()
            n = 0
            while not stop.is_set():
                k.put_records(StreamName="tail", Records=batch)
                put["records"] += len(batch)
                n += 1
                time.sleep(max(0.0, start + n * 0.1 - time.time()))
            put["seconds"] = time.time() - start

        producer = None
        result = None
        for line in p.stdout:
            msg = json.loads(line)
            if msg["event"] == "tailing":
                producer = threading.Thread(target=produce)
                producer.start()
                time.sleep(2)  # the rate settles before the frames are counted
                p.stdin.write("go\n")
                p.stdin.flush()
            elif msg["event"] == "done":
                result = msg
        stop.set()
        if producer:
            producer.join()
        p.wait(timeout=60)
        time.sleep(2)
        cpu0 = cpu_seconds(server.proc.pid)
        time.sleep(30)
        idle_cpu = cpu_seconds(server.proc.pid) - cpu0
        doc = {"bench": "console", "streams": STREAMS, "consumers": STREAMS, "setup_s": round(setup_s, 1),
               "produced_per_s": round(put["records"] / max(put["seconds"], 0.001)),
               "idle_cpu_s_per_30s_before": round(idle_before, 3),
               "idle_cpu_s_per_30s_after": round(idle_cpu, 3), **(result or {})}
        doc.pop("event", None)
        emit(doc)
    finally:
        server.close()


if __name__ == "__main__":
    main()
