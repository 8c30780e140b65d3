#!/usr/bin/env python3
"""bench/s3_put.py: the S3 API's write path (issue #13), on the same machine in one run,
against moto and s3rver (../shared/peers/) and against the disk itself.

- PutObject of 1 KiB, 64 KiB and 1 MiB objects, THREADS client processes with a keep-alive
  connection each, sending one request at a time for ROUND_SECONDS, signed by the same small SigV4 client (the
  payload's SHA-256 signed, as botocore does over http), ROUNDS rounds: objects/s and
  MiB/s. Millrace fsyncs every object before it answers; moto and s3rver do not (so the
  comparison flatters them).
- The disk's ceiling for the same work: THREADS Python threads each writing a file, fsync,
  rename into place and fsync of the folder, per object (what a durable PutObject must do).
- ListObjectsV2: a bucket of LIST_OBJECTS objects under delivery-like keys
  (YYYY/MM/DD/hh/name), 1,000-key pages (the first, and one with start-after in the middle),
  median of 20 requests, on each server.

    python3 bench/s3_put.py          # ~3 minutes
    ROUNDS=1 ROUND_SECONDS=3 python3 bench/s3_put.py
"""
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import MillraceServer, free_port  # noqa: E402
from test_s3_writes import RawS3  # noqa: E402

PEERS = os.path.join(REPO, "..", "shared", "peers")
ROUND_SECONDS = float(os.environ.get("ROUND_SECONDS", "5"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = int(os.environ.get("THREADS", "4"))
LIST_OBJECTS = int(os.environ.get("LIST_OBJECTS", "3000"))
SIZES = [1024, 64 * 1024, 1 << 20]


def emit(doc):
    print(json.dumps(doc), flush=True)
    return doc


class Target:
    def __init__(self, name, port, creds, bucket):
        self.name, self.port, self.creds, self.bucket = name, port, creds, bucket

    def client(self):
        class S:
            pass
        s = S()
        s.port = self.port
        return RawS3(s, self.creds)


def _put_loop(target, size, i, seconds):
    """One client process: PUTs of `size` bytes on one keep-alive connection for `seconds`."""
    import http.client
    data = os.urandom(size)
    digest = hashlib.sha256(data).hexdigest()
    raw = target.client()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    n = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        path = "/%s/bench/%d/%d-%d" % (target.bucket, size, i, n)
        h, *_ = raw.request("PUT", path, body=data, payload_hash=digest)
        h["content-length"] = str(len(data))
        conn.request("PUT", path, body=data, headers=h)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("%s: PUT answered %d" % (target.name, r.status))
        n += 1
    conn.close()
    return n


def put_rate(target, size):
    # Client processes, not threads: one Python process would be the bottleneck (the GIL).
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(THREADS) as pool:
        t0 = time.monotonic()
        counts = list(pool.map(_put_loop, [target] * THREADS, [size] * THREADS,
                               range(THREADS), [ROUND_SECONDS] * THREADS))
        elapsed = time.monotonic() - t0
    return sum(counts) / elapsed


def disk_rate(root, size):
    data = os.urandom(size)
    counts = [0] * THREADS
    stop = time.monotonic() + ROUND_SECONDS

    def worker(i):
        d = os.path.join(root, "t%d" % i)
        os.makedirs(d, exist_ok=True)
        n = 0
        while time.monotonic() < stop:
            tmp = os.path.join(root, ".stage-%d-%d" % (i, n))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(d, str(n)))
            dfd = os.open(d, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)
            n += 1
        counts[i] = n
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def list_times(target, keys):
    import http.client
    raw = target.client()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    out = {}
    for label, query in (("first page", "list-type=2&max-keys=1000&prefix=listing%2F"),
                         ("page after the middle",
                          "list-type=2&max-keys=1000&prefix=listing%2F&start-after=" +
                          keys[len(keys) // 2].replace("/", "%2F"))):
        times = []
        for _ in range(20):
            path = "/%s" % target.bucket
            h, *_ = raw.request("GET", path, query=query)
            t0 = time.perf_counter()
            conn.request("GET", path + "?" + query, headers=h)
            r = conn.getresponse()
            body = r.read()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status != 200 or body.count(b"<Key>") == 0:
                raise RuntimeError("%s: list answered %d %r" % (target.name, r.status, body[:200]))
        out[label] = round(statistics.median(times), 2)
    conn.close()
    return out


def fill(target, keys):
    import http.client
    raw = target.client()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    body = b'{"n":1}\n'
    for k in keys:
        path = "/%s/%s" % (target.bucket, k)
        h, *_ = raw.request("PUT", path, body=body)
        h["content-length"] = str(len(body))
        conn.request("PUT", path, body=body, headers=h)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, (target.name, r.status)
    conn.close()


def start_peer(name, port):
    pid = int(subprocess.run([os.path.join(PEERS, "start.sh"), name, str(port)], check=True,
                             capture_output=True, text=True).stdout.split()[-1])
    import socket
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return pid
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(name + " did not start")


def main():
    subprocess.run([os.path.join(PEERS, "install.sh")], check=True, stdout=subprocess.DEVNULL)
    server = MillraceServer(extra_args=["--log-level", "warn"]).start()
    pids = []
    try:
        creds = server.credentials()
        targets = [Target("millrace", server.port, creds, "bench")]
        moto_port, s3rver_port = free_port(), free_port()
        pids.append(start_peer("moto", moto_port))
        pids.append(start_peer("s3rver", s3rver_port))
        targets.append(Target("moto", moto_port, ("AKIDBENCH", "secret"), "bench"))
        targets.append(Target("s3rver", s3rver_port, ("S3RVER", "S3RVER"), "peer-bucket"))
        for t in targets:
            if t.name != "s3rver":
                import http.client
                raw = t.client()
                h, *_ = raw.request("PUT", "/bench")
                c = http.client.HTTPConnection("127.0.0.1", t.port)
                c.request("PUT", "/bench", headers=h)
                r = c.getresponse()
                r.read()
                assert r.status == 200, (t.name, r.status)
        disk_root = tempfile.mkdtemp(prefix="fsync-", dir=server.data_dir)
        results = {}
        for size in SIZES:
            for rnd in range(ROUNDS):
                for t in targets:
                    rate = put_rate(t, size)
                    results.setdefault((t.name, size), []).append(rate)
                rate = disk_rate(disk_root, size)
                results.setdefault(("disk (write+fsync+rename)", size), []).append(rate)
        for (name, size), rates in results.items():
            med = statistics.median(rates)
            emit({"bench": "s3-put", "target": name, "size": size, "threads": THREADS,
                  "objects_per_s": round(med, 1), "mib_per_s": round(med * size / (1 << 20), 1),
                  "rounds": [round(r, 1) for r in rates]})
        for size in SIZES:
            ours = statistics.median(results[("millrace", size)])
            emit({"bench": "s3-put-ratio", "size": size,
                  "vs_moto": round(ours / statistics.median(results[("moto", size)]), 1),
                  "vs_s3rver": round(ours / statistics.median(results[("s3rver", size)]), 1),
                  "of_disk": round(ours / statistics.median(
                      results[("disk (write+fsync+rename)", size)]), 2)})
        # Listing: the same keys under "listing/" in each server's bench bucket.
        keys = ["listing/2026/12/%02d/%02d/delivery-%06d.jsonl" % (1 + i // 2400, (i // 100) % 24, i)
                for i in range(LIST_OBJECTS)]
        for t in targets:
            fill(t, keys)
        for t in targets:
            emit({"bench": "s3-list-v2", "target": t.name, "objects": LIST_OBJECTS,
                  "median_ms": list_times(t, keys)})
    finally:
        for pid in pids:
            try:
                os.kill(pid, 15)
            except OSError:
                pass
        server.stop()


if __name__ == "__main__":
    main()
