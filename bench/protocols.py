#!/usr/bin/env python3
"""bench/protocols.py: what HTTP/2, TLS and CBOR cost or save (issue #15), in one run.

PutRecord (100 B) and PutRecords (100 records of 100 B) against one Millrace server in
cleartext and one with TLS (same binary, same flags: fsync on, throttling off), driven by
h2load (Debian's nghttp2-client: one load generator for HTTP/1.1 and HTTP/2, cleartext and
TLS) with a request signed once by botocore (SigV4 has no nonce: the same signed request
is valid for 15 minutes). Each variant runs with C connections and one request in flight
per connection (HTTP/2 with -m 1, so every variant has the same concurrency), ROUNDS times,
interleaved; medians and ratios to HTTP/1.1 cleartext JSON, of requests per second and of
the server's own CPU time per request (/proc: the load generator shares the two cores, so
a protocol that costs the client more lowers everyone's throughput):

    h1      HTTP/1.1, cleartext, JSON         (the baseline)
    h2c     HTTP/2 with prior knowledge, JSON (target >= 1.0x)
    h2c-m8  HTTP/2, 8 streams in flight per connection, C/8 connections
    h1-tls  HTTP/1.1 over TLS, JSON           (target >= 0.8x)
    h2-tls  HTTP/2 over TLS (ALPN), JSON      (target >= 0.8x)
    cbor    HTTP/1.1, cleartext, CBOR         (target >= 1.0x JSON)

    python3 bench/protocols.py                          # ~4 minutes
    ROUNDS=1 SECONDS_PER_RUN=3 python3 bench/protocols.py
    SYNC=off python3 bench/protocols.py                 # CPU-bound: protocol costs show most
    SYNC=off RATE=12000 python3 bench/protocols.py      # PutRecord at a fixed 12,000 req/s in
                                                        # every variant: the server's cost per
                                                        # request at equal load (RATE_BATCH:
                                                        # the same for PutRecords)
    COUNT=2000 python3 bench/protocols.py               # the server's instructions per
                                                        # request (valgrind's callgrind, N
                                                        # requests per variant, 8 connections):
                                                        # deterministic, unlike CPU time on a
                                                        # shared machine; 1 round suffices
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import MillraceServer, make_tls_files  # noqa: E402

sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-cbor2
import cbor2  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS_PER_RUN = float(os.environ.get("SECONDS_PER_RUN", "5"))
SYNC = os.environ.get("SYNC", "on")
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
# PutRecord's and PutRecords' offered loads in req/s (h2load --rps per connection); 0: as
# fast as it goes.
RATE = int(os.environ.get("RATE", "0"))
RATE_BATCH = int(os.environ.get("RATE_BATCH", "0"))
# With COUNT=N, each variant sends N requests to servers run under callgrind and what is
# reported is the server's instructions per request (valgrind: apt-get install valgrind).
COUNT = int(os.environ.get("COUNT", "0"))
OUT = os.path.join(REPO, "bench", "results", "protocols-%s.jsonl" % time.strftime("%Y-%m-%d"))


def emit(doc):
    print(json.dumps(doc), flush=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)  # bench/results/ is not in git
    with open(OUT, "a") as f:
        f.write(json.dumps(doc) + "\n")


def signed(server, tmp, name, action, payload, cbor):
    """Writes the body to a file; returns (body path, [h2load -H arguments])."""
    ctype = "application/x-amz-cbor-1.1" if cbor else "application/x-amz-json-1.1"
    if cbor:
        body = cbor2.dumps(payload)
    else:
        p = dict(payload)
        if "Data" in p:
            import base64
            p["Data"] = base64.b64encode(p["Data"]).decode()
        if "Records" in p:
            import base64
            p["Records"] = [dict(r, Data=base64.b64encode(r["Data"]).decode()) for r in p["Records"]]
        body = json.dumps(p).encode()
    url = "http://127.0.0.1:%d/" % server.port
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-Type": ctype, "X-Amz-Target": "Kinesis_20131202." + action})
    SigV4Auth(Credentials(*server.credentials()), "kinesis", "us-east-1").add_auth(req)
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(body)
    headers = []
    for k, v in req.headers.items():
        if k.lower() == "host":
            continue  # h2load sends the URL's host:port, which is what was signed
        headers += ["-H", "%s: %s" % (k.lower(), v)]
    return path, headers


def cpu_seconds(pid):
    """User + system CPU time of a process so far (it is the server's cost we compare: the
    load generator shares this machine's two cores)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def h2load(url, body, headers, extra, connections):
    cmd = ["h2load", "-D", "%gs" % SECONDS_PER_RUN, "--warm-up-time", "1s", "-c", str(connections),
           "-t", "1", "-d", body] + headers + extra + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS_PER_RUN + 60)
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", p.stdout)
    st = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", p.stdout)
    if not m or not st:
        raise RuntimeError("h2load said:\n" + p.stdout + p.stderr)
    if int(st.group(3)) or int(st.group(4)):
        raise RuntimeError("errors in the run:\n" + p.stdout)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done", p.stdout)
    return float(m.group(1)), int(done.group(1))


class CountedServer(MillraceServer):
    """A server under callgrind with instrumentation off until a run turns it on: what it
    executes for a batch of requests is counted exactly, whatever else the machine does."""

    def command(self):
        self.dumps = os.path.join(os.path.dirname(self.data_dir), "callgrind")
        return ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                "--callgrind-out-file=" + self.dumps + ".%p"] + super().command()

    def count(self, run):
        """Instructions the server executed while run() ran."""
        pid = str(self.proc.pid)
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
        run()
        subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
        before = set(os.listdir(os.path.dirname(self.dumps)))
        subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
        new = [f for f in os.listdir(os.path.dirname(self.dumps)) if f not in before]
        with open(os.path.join(os.path.dirname(self.dumps), new[0])) as f:
            for line in f:
                if line.startswith("totals:"):  # ("summary:" stays 0 after a zeroing)
                    return int(line.split()[1])
        raise RuntimeError("no totals in the callgrind dump")


def h2load_n(url, body, headers, extra, n):
    cmd = ["h2load", "-n", str(n), "-c", "8", "-t", "1", "-d", body] + headers + extra + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if ("%d 2xx" % n) not in p.stdout:
        raise RuntimeError("h2load said:\n" + p.stdout + p.stderr)


def main():
    if shutil.which("h2load") is None:
        sys.exit("h2load is missing: apt-get install nghttp2-client (scripts/install-deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="millrace-bench-proto-")
    tls = make_tls_files(tmp)
    args = ["--sync", SYNC]
    if COUNT and shutil.which("valgrind") is None:
        sys.exit("valgrind is missing: apt-get install valgrind")
    kind = CountedServer if COUNT else MillraceServer
    plain = kind(extra_args=args).start(timeout=60)
    secure = kind(extra_args=args, tls=tls).start(timeout=60)
    try:
        variants = {}
        for srv, scheme in ((plain, "http"), (secure, "https")):
            k = srv.client()
            k.create_stream(StreamName="bench", ShardCount=4)
            while k.describe_stream_summary(StreamName="bench")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
                time.sleep(0.05)
        record = {"StreamName": "bench", "PartitionKey": "pk", "Data": b"x" * 100}
        batch = {"StreamName": "bench", "Records": [{"PartitionKey": "pk%d" % i, "Data": b"x" * 100}
                                                     for i in range(100)]}
        for action, payload in (("PutRecord", record), ("PutRecords", batch)):
            for srv, tag in ((plain, "plain"), (secure, "tls")):
                for cbor in (False, True):
                    if tag == "tls" and cbor:
                        continue
                    body, hdrs = signed(srv, tmp, "%s-%s-%s" % (action, tag, cbor), action, payload, cbor)
                    url = "%s://127.0.0.1:%d/" % ("https" if tag == "tls" else "http", srv.port)
                    if tag == "plain" and not cbor:
                        variants[action, "h1"] = (url, body, hdrs, ["--h1"], CONNECTIONS)
                        variants[action, "h2c"] = (url, body, hdrs, ["-m", "1"], CONNECTIONS)
                        variants[action, "h2c-m8"] = (url, body, hdrs, ["-m", "8"], max(1, CONNECTIONS // 8))
                    elif tag == "plain":
                        variants[action, "cbor"] = (url, body, hdrs, ["--h1"], CONNECTIONS)
                    else:
                        variants[action, "h1-tls"] = (url, body, hdrs, ["--h1"], CONNECTIONS)
                        variants[action, "h2-tls"] = (url, body, hdrs, ["-m", "1"], CONNECTIONS)
        if COUNT:
            for key, (url, body, hdrs, extra, conns) in variants.items():
                srv = secure if url.startswith("https") else plain
                n = COUNT if key[0] == "PutRecord" else max(1, COUNT // 10)
                h2load_n(url, body, hdrs, extra, 8)  # connections and HPACK tables warm
                instr = srv.count(lambda: h2load_n(url, body, hdrs, extra, n)) / n
                variants[key] = instr
                emit({"bench": "protocols", "count": n, "action": key[0], "variant": key[1],
                      "sync": SYNC, "server_instructions_per_req": round(instr)})
            for action in ("PutRecord", "PutRecords"):
                for v in ("h1", "h2c", "h2c-m8", "h1-tls", "h2-tls", "cbor"):
                    emit({"bench": "protocols", "summary": True, "action": action, "variant": v,
                          "server_instructions_per_req": round(variants[action, v]),
                          "ratio_to_h1": round(variants[action, v] / variants[action, "h1"], 3)})
            return
        results = {k: [] for k in variants}
        cpu = {k: [] for k in variants}
        for r in range(ROUNDS):
            for key, (url, body, hdrs, extra, conns) in variants.items():
                srv = secure if url.startswith("https") else plain
                cpu0 = cpu_seconds(srv.proc.pid)
                rate = RATE if key[0] == "PutRecord" else RATE_BATCH
                if rate:
                    extra = extra + ["--rps", str(max(1, rate // conns))]
                rps, done = h2load(url, body, hdrs, extra, conns)
                cpu_us = (cpu_seconds(srv.proc.pid) - cpu0) * 1e6 / max(done, 1)
                results[key].append(rps)
                cpu[key].append(cpu_us)
                emit({"bench": "protocols", "round": r, "action": key[0], "variant": key[1],
                      "sync": SYNC, "rate": RATE if key[0] == "PutRecord" else RATE_BATCH,
                      "connections": conns, "req_per_s": rps,
                      "server_cpu_us_per_req": round(cpu_us, 1)})
        for action in ("PutRecord", "PutRecords"):
            base = statistics.median(results[action, "h1"])
            base_cpu = statistics.median(cpu[action, "h1"])
            for v in ("h1", "h2c", "h2c-m8", "h1-tls", "h2-tls", "cbor"):
                med = statistics.median(results[action, v])
                med_cpu = statistics.median(cpu[action, v])
                emit({"bench": "protocols", "summary": True, "action": action, "variant": v, "sync": SYNC,
                      "rate": RATE if action == "PutRecord" else RATE_BATCH,
                      "median_req_per_s": round(med, 1), "ratio_to_h1": round(med / base, 3),
                      "server_cpu_us_per_req": round(med_cpu, 1),
                      "cpu_ratio_to_h1": round(med_cpu / base_cpu, 3)})
    finally:
        plain.close()
        secure.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
