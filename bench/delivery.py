#!/usr/bin/env python3
"""The measuring half of bench/delivery.sh: consumers delivering a stream into datasets.

bench/delivery.sh starts the server (and moto), fills the streams with the load generator,
then calls the subcommands below, each of which appends one JSON line to --out:

  deliver   create one consumer (with its dataset) on a filled stream, starting at
            TRIM_HORIZON, and time it until millrace_consumer_records_delivered_total
            reaches what the stream holds: records/s, server CPU per record, peak RSS
  fanout    create K consumers on one stream (each with its own local jsonl dataset), time
            them until all are caught up; then RSS per consumer and CPU with them idle
  latency   PutRecord of a record with a unique id, then poll the dataset's directory
            every 5 ms until a file holding it appears: median and p99 of that time
  summary   the markdown tables of a results file

Only the standard library and botocore/boto3 (for SigV4 and PutRecord). The server's CPU is
utime + stime of /proc/PID/stat (every thread); memory is VmRSS / VmHWM of
/proc/PID/status. Loopback only.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- The server: control API, metrics, /proc -------------------------------------------------

def read_credentials(path):
    if os.path.isdir(path):
        path = os.path.join(path, "credentials")
    key = secret = None
    for line in open(path):
        m = re.match(r"\s*(aws_access_key_id|aws_secret_access_key)\s*=\s*(\S+)", line)
        if m and m.group(1) == "aws_access_key_id":
            key = m.group(2)
        elif m:
            secret = m.group(2)
    return key, secret


class Server:
    """The control API (SigV4, service "millrace") and /metrics over one keep-alive connection."""

    def __init__(self, endpoint, credentials, pid=None):
        from botocore.credentials import Credentials
        self.endpoint = endpoint.rstrip("/")
        u = urllib.parse.urlparse(self.endpoint)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("loopback endpoints only, not " + endpoint)
        self.host, self.port = u.hostname, u.port
        self.key, self.secret = read_credentials(credentials)
        self.creds = Credentials(self.key, self.secret)
        self.pid = pid
        self.conn = None
        self.poll_ms = []

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self.conn

    def raw(self, method, path, body=b"", headers=None):
        for attempt in range(2):
            try:
                c = self._conn()
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise

    def api(self, method, path, body=None, ok=(200, 201)):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        req = AWSRequest(method=method, url=self.endpoint + path, data=data, headers=headers)
        SigV4Auth(self.creds, "millrace", "us-east-1").add_auth(req)
        status, out = self.raw(method, path, data, dict(req.headers.items()))
        if ok and status not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {status} {out[:300]!r}")
        return status, (json.loads(out) if out else None)

    def metrics(self):
        """{(name, labels-dict-as-tuple): value} of GET /metrics."""
        status, text = self.raw("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics: HTTP {status}")
        out = {}
        for line in text.decode().splitlines():
            if not line or line[0] == "#":
                continue
            m = re.match(r"([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
            if not m:
                continue
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
        return out

    def delivered(self, names=None):
        """Records delivered, summed over the consumers named (all if None). The time each
        /metrics answer took goes to self.poll_ms (the HTTP path while consumers work)."""
        total = 0
        t = time.perf_counter()
        m = self.metrics()
        self.poll_ms.append((time.perf_counter() - t) * 1e3)
        for (name, labels), v in m.items():
            if name != "millrace_consumer_records_delivered_total":
                continue
            if names is None or dict(labels).get("consumer") in names:
                total += v
        return int(total)

    def stream_records(self, stream):
        return int(self.metrics().get(
            ("millrace_stream_records_in_total", (("stream", stream),)), 0))

    # /proc
    def cpu_s(self):
        f = open(f"/proc/{self.pid}/stat").read()
        fields = f[f.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def status_kb(self, field):
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def rss_mb(self):
        return self.status_kb("VmRSS") / 1024

    def hwm_mb(self):
        return self.status_kb("VmHWM") / 1024

    def threads(self):
        return self.status_kb("Threads")

    def tids(self):
        return set(os.listdir(f"/proc/{self.pid}/task"))

    def schedstat(self, tid):
        """(seconds on a CPU, seconds runnable but waiting for one) of one thread."""
        try:
            run, wait, _ = open(f"/proc/{self.pid}/task/{tid}/schedstat").read().split()
            return int(run) / 1e9, int(wait) / 1e9
        except (OSError, ValueError):
            return None

    def run_s_all_threads(self):
        """CPU seconds of the live threads, from schedstat (nanoseconds, where /proc/PID/stat
        counts 10 ms ticks): for short windows in which no thread exits."""
        total = 0
        for tid in self.tids():
            st = self.schedstat(tid)
            if st:
                total += st[0]
        return total

    def reset_hwm(self):
        try:  # "5" resets VmHWM to the current RSS (needs to own the process)
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False


class PutProbe(threading.Thread):
    """PutRecord on a fixed schedule (--probe-rate a second) on its own connection, while
    consumers work: the ingest path's latency, each measured from when the request was due
    (a stalled server is not hidden by the probe waiting for it)."""

    def __init__(self, srv, stream, rate):
        super().__init__(daemon=True)
        self.srv, self.stream, self.interval = srv, stream, 1.0 / rate
        self.stop = threading.Event()
        self.lat_ms, self.errors = [], 0

    def run(self):
        import base64
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=60)
        due = time.perf_counter()
        i = 0
        while not self.stop.is_set():
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            body = json.dumps({"StreamName": self.stream, "PartitionKey": f"p{i}",
                               "Data": base64.b64encode(b'{"probe":%d}' % i).decode()}).encode()
            req = AWSRequest(method="POST", url=self.srv.endpoint + "/", data=body, headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "Kinesis_20131202.PutRecord"})
            SigV4Auth(self.srv.creds, "kinesis", "us-east-1").add_auth(req)
            try:
                conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    self.errors += 1
            except (http.client.HTTPException, OSError):
                self.errors += 1
                conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=60)
            self.lat_ms.append((time.perf_counter() - due) * 1e3)
            i += 1
            due += self.interval

    def result(self):
        v = sorted(self.lat_ms)
        if not v:
            return {}
        q = lambda p: round(v[min(len(v) - 1, int(p * len(v)))], 1)
        return {"probe_puts": len(v), "probe_errors": self.errors,
                "probe_p50_ms": round(statistics.median(v), 1), "probe_p99_ms": q(0.99),
                "probe_max_ms": round(v[-1], 1)}


def dataset_body(name, target):
    d = {"name": name, "file_type": "jsonl"}
    if target:
        d["target"] = target
    return d


def delete_consumer(srv, name, dataset):
    srv.api("DELETE", f"/api/v1/consumers/{name}", ok=(200, 404))
    srv.api("DELETE", f"/api/v1/datasets/{dataset}", ok=(200, 404))


def dir_stats(root):
    """(files, bytes, failed files) under a local dataset's directory (temporary files aside)."""
    files = size = failed = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            if ".tmp-" in n:
                continue
            if "format-conversion-failed" in dirpath:
                failed += 1
                continue
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
    return files, size, failed


def s3_stats(target):
    import boto3
    s3 = boto3.client("s3", endpoint_url=target["endpoint_url"], region_name="us-east-1",
                      aws_access_key_id=target["access_key_id"],
                      aws_secret_access_key=target["secret_access_key"])
    files = size = failed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target["bucket"],
                                                             Prefix=target.get("prefix", "")):
        for o in page.get("Contents", []):
            if "format-conversion-failed" in o["Key"]:
                failed += 1
            else:
                files += 1
                size += o["Size"]
    return files, size, failed


def poll_stats(srv):
    v = sorted(srv.poll_ms)
    if not v:
        return {}
    return {"metrics_polls": len(v), "metrics_ms_p50": round(statistics.median(v), 2),
            "metrics_ms_p99": round(v[min(len(v) - 1, int(0.99 * len(v)))], 2),
            "metrics_ms_max": round(v[-1], 2)}


def emit(args, row):
    row["load_average"] = open("/proc/loadavg").read().split()[:3]
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), file=sys.stderr)


# ---- deliver: one consumer, throughput ---------------------------------------------------------

def cmd_deliver(args):
    srv = Server(args.endpoint, args.credentials, args.pid)
    target = json.loads(args.target) if args.target else None
    expect = srv.stream_records(args.stream)
    if expect <= 0:
        raise SystemExit(f"stream {args.stream} holds no records")
    name, dataset = args.name, args.name
    delete_consumer(srv, name, dataset)  # a leftover of an interrupted run
    hwm_reset = srv.reset_hwm()
    rss0 = srv.rss_mb()
    tids0 = srv.tids()
    cpu0 = srv.cpu_s()
    t0 = time.monotonic()
    srv.api("POST", "/api/v1/consumers", {
        "name": name, "stream": args.stream, "dataset": dataset_body(dataset, target),
        "buffer_size_mib": args.size_mib, "buffer_interval_seconds": args.interval,
        "starting_position": "TRIM_HORIZON"})
    # The consumer's thread: the one that appeared with it (its CPU and run-queue waits
    # tell CPU-bound from starved from blocked on I/O).
    # (The control API's own thread exists already: delete_consumer above used it.)
    runner, sched0, sched_last = None, None, None
    for _ in range(100):
        new = srv.tids() - tids0
        if new:
            runner = min(new, key=int)  # a later one would be a helper (e.g. a resolver)
            sched0 = srv.schedstat(runner)
            break
        time.sleep(0.002)
    last_v, last_t, last_cpu = 0, t0, cpu0
    stalled = False
    deadline = t0 + args.timeout
    while True:
        v = srv.delivered({name})
        now = time.monotonic()
        if v != last_v:
            last_v, last_t, last_cpu = v, now, srv.cpu_s()
            if runner:
                sched_last = srv.schedstat(runner) or sched_last
        if v >= expect:
            break
        # With a long buffer interval, what is left after the last full file waits for the
        # timer: count up to the last file written, not the wait.
        if args.interval > args.stall and last_v > 0 and now - last_t > args.stall:
            stalled = True
            break
        if now > deadline:
            break
        time.sleep(args.poll)
    elapsed = last_t - t0
    _, st = srv.api("GET", f"/api/v1/consumers/{name}")
    hwm = srv.hwm_mb()
    delete_consumer(srv, name, dataset)
    if target and target.get("type") == "s3":
        files, size, failed = s3_stats(target)
    else:
        files, size, failed = dir_stats(os.path.join(args.data_dir, "datasets", dataset))
    row = {
        "kind": "deliver", "label": args.label, "target": (target or {}).get("type", "local"),
        "stream": args.stream, "shards": args.shards, "interval_s": args.interval,
        "size_mib": args.size_mib, "stream_records": expect, "delivered": last_v,
        "complete": last_v >= expect, "stopped_at_timer_wait": stalled,
        "timed_out": not stalled and last_v < expect,
        "seconds": round(elapsed, 3),
        "records_per_s": round(last_v / elapsed) if elapsed > 0 else None,
        "mb_per_s": round(last_v * args.record_size / elapsed / 1e6, 1) if elapsed > 0 else None,
        "server_cpu_s": round(last_cpu - cpu0, 2),
        "server_cores": round((last_cpu - cpu0) / elapsed, 2) if elapsed > 0 else None,
        "cpu_us_per_record": round((last_cpu - cpu0) / max(last_v, 1) * 1e6, 3),
        "objects_written": st.get("objects_written"), "records_failed": st.get("records_failed"),
        "files_found": files, "file_bytes": size, "failed_files": failed,
        "bytes_expected": last_v * (args.record_size + 1),
        "rss_before_mb": round(rss0, 1),
        "peak_rss_mb": round(hwm, 1) if hwm_reset else None,
    }
    if sched0 and sched_last and elapsed > 0:
        # Shares of the consumer thread's wall time: on a CPU, runnable (waiting for a CPU:
        # other threads or processes had them), and neither (blocked: fsync, I/O, sleeps).
        run, wait = sched_last[0] - sched0[0], sched_last[1] - sched0[1]
        row.update({"runner_on_cpu": round(run / elapsed, 3),
                    "runner_runnable_waiting": round(wait / elapsed, 3),
                    "runner_blocked": round(max(0.0, 1 - (run + wait) / elapsed), 3),
                    "runner_cpu_us_per_record": round(run / max(last_v, 1) * 1e6, 3)})
    row.update(poll_stats(srv))
    emit(args, row)


# ---- fanout: K consumers on one stream ---------------------------------------------------------

def cmd_fanout(args):
    srv = Server(args.endpoint, args.credentials, args.pid)
    # The stream's counters start again at 0 with each server start: the caller says.
    per = args.records or srv.stream_records(args.stream)
    k = args.consumers
    names = [f"fan{k}-{i:03d}" for i in range(k)]
    threads0 = srv.threads()
    rss0 = srv.rss_mb()
    # The ingest path while they catch up (a baseline first, with none).
    base = None
    if args.probe_stream:
        pb = PutProbe(srv, args.probe_stream, args.probe_rate)
        pb.start()
        time.sleep(2)
        pb.stop.set()
        pb.join()
        base = pb.result()
        probe = PutProbe(srv, args.probe_stream, args.probe_rate)
    run0 = srv.run_s_all_threads()
    cpu0 = srv.cpu_s()
    t0 = time.monotonic()
    if args.probe_stream:
        probe.start()
    for n in names:
        srv.api("POST", "/api/v1/consumers", {
            "name": n, "stream": args.stream, "dataset": dataset_body(n, None),
            "buffer_size_mib": args.size_mib, "buffer_interval_seconds": args.interval,
            "starting_position": "TRIM_HORIZON"})
    t_created = time.monotonic()
    cpu_created = srv.cpu_s()
    delivered_created = srv.delivered(set(names))
    want = per * k
    v = delivered_created
    deadline = t0 + args.timeout
    srv.poll_ms = []
    while v < want and time.monotonic() < deadline:
        time.sleep(args.poll)
        v = srv.delivered(set(names))
    t1 = time.monotonic()
    polls = poll_stats(srv)
    cpu1 = srv.cpu_s()
    run1 = srv.run_s_all_threads()
    if args.probe_stream:
        probe.stop.set()
        probe.join()
        polls.update(probe.result())
        polls.update({"baseline_" + k: v for k, v in base.items()})
    # Caught up: let the buffers go, then memory, then the CPU of K idle consumers.
    time.sleep(args.settle)
    rss1 = srv.rss_mb()
    threads1 = srv.threads()
    ci0, ti0 = srv.run_s_all_threads(), time.monotonic()
    time.sleep(args.idle)
    idle_cores = (srv.run_s_all_threads() - ci0) / (time.monotonic() - ti0)
    # How much of that is memory freed but kept by malloc: ask the server to give it back
    # (gdb calls malloc_trim(0) in it; the consumers are idle, nothing else changes).
    rss_trim = None
    if args.malloc_trim and shutil.which("gdb"):
        try:
            subprocess.run(["gdb", "-p", str(srv.pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            time.sleep(0.5)
            rss_trim = srv.rss_mb()
        except (OSError, subprocess.SubprocessError):
            pass
    files, size, failed = 0, 0, 0
    for n in names:
        f, s, x = dir_stats(os.path.join(args.data_dir, "datasets", n))
        files, size, failed = files + f, size + s, failed + x
    for n in names:
        delete_consumer(srv, n, n)
    total_s = t1 - t0
    row = {
        "kind": "fanout", "consumers": k, "stream": args.stream, "stream_records": per,
        "interval_s": args.interval, "size_mib": args.size_mib,
        "delivered": v, "complete": v >= want, "seconds": round(total_s, 3),
        "create_seconds": round(t_created - t0, 3),
        "records_per_s": round(v / total_s),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "server_cores": round((cpu1 - cpu0) / total_s, 2),
        "cpu_us_per_record": round((cpu1 - cpu0) / max(v, 1) * 1e6, 3),
        # The same from schedstat (ns; no thread exits in the window): a check on the ticks.
        "cpu_us_per_record_schedstat": round((run1 - run0) / max(v, 1) * 1e6, 3),
        # From the moment all K exist (consumer creation left out).
        "cpu_us_per_record_after_create": round(
            (cpu1 - cpu_created) / max(v - delivered_created, 1) * 1e6, 3),
        "rss_before_mb": round(rss0, 1), "rss_idle_mb": round(rss1, 1),
        "rss_per_consumer_mb": round((rss1 - rss0) / k, 3),
        "rss_after_malloc_trim_mb": round(rss_trim, 1) if rss_trim is not None else None,
        "rss_per_consumer_after_trim_mb":
            round((rss_trim - rss0) / k, 3) if rss_trim is not None else None,
        "threads_before": threads0, "threads_after": threads1,
        "idle_cores": round(idle_cores, 4),
        "idle_cpu_ms_per_consumer_s": round(idle_cores / k * 1000, 3),
        "files_found": files, "file_bytes": size, "failed_files": failed,
        "bytes_expected": v * (args.record_size + 1),
    }
    row.update(polls)
    emit(args, row)


# ---- latency: PutRecord to a visible file ------------------------------------------------------

def cmd_latency(args):
    import boto3
    from botocore.config import Config
    srv = Server(args.endpoint, args.credentials, args.pid)
    key, secret = srv.key, srv.secret
    kin = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1",
                       aws_access_key_id=key, aws_secret_access_key=secret,
                       config=Config(retries={"max_attempts": 1}))
    name = args.name
    delete_consumer(srv, name, name)
    srv.api("POST", "/api/v1/consumers", {
        "name": name, "stream": args.stream, "dataset": dataset_body(name, None),
        "buffer_size_mib": 1, "buffer_interval_seconds": args.interval,
        "starting_position": "LATEST"})
    # LATEST is fixed at the consumer's first pass: wait for it.
    for _ in range(500):
        _, st = srv.api("GET", f"/api/v1/consumers/{name}")
        if st.get("state") == "RUNNING" and st.get("lag", {}).get("shards"):
            break
        time.sleep(0.01)
    root = os.path.join(args.data_dir, "datasets", name)
    seen = set()

    def scan(needle):
        if not os.path.isdir(root):
            return False
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                if ".tmp-" in f or p in seen:
                    continue
                seen.add(p)
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        return True
        return False

    kin.put_record(StreamName=args.stream, Data=b'{"warm":1}', PartitionKey="warm")  # connection
    time.sleep(args.interval + 0.3)
    scan(b"-")  # everything so far is seen
    visible, acked, timeouts = [], [], 0
    for i in range(args.samples):
        rid = uuid.uuid4().hex
        data = json.dumps({"id": rid, "i": i}).encode()
        t0 = time.perf_counter()
        kin.put_record(StreamName=args.stream, Data=data, PartitionKey=rid)
        t_ack = time.perf_counter()
        needle = rid.encode()
        found = False
        while time.perf_counter() - t0 < args.interval + 10:
            if scan(needle):
                found = True
                break
            time.sleep(0.005)
        t_vis = time.perf_counter()
        acked.append((t_ack - t0) * 1e3)
        if found:
            visible.append((t_vis - t0) * 1e3)
        else:
            timeouts += 1
        # A random phase against the consumer's 100 ms idle poll (a fixed pause would lock
        # onto it): uniform over one period.
        time.sleep(random.uniform(0, 0.1))
    delete_consumer(srv, name, name)
    v = sorted(visible)
    q = lambda p: round(v[min(len(v) - 1, int(p * len(v)))], 1) if v else None
    row = {
        "kind": "latency", "interval_s": args.interval, "samples": len(v), "timeouts": timeouts,
        "p50_ms": round(statistics.median(v), 1) if v else None, "p90_ms": q(0.90),
        "p99_ms": q(0.99), "max_ms": round(v[-1], 1) if v else None,
        "min_ms": round(v[0], 1) if v else None,
        "put_ack_p50_ms": round(statistics.median(acked), 2),
        "poll_ms": 5,
    }
    emit(args, row)


# ---- summary -----------------------------------------------------------------------------------

def fmt(v, digits=0):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}"


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def cmd_summary(args):
    rows = [json.loads(l) for l in open(args.results) if l.strip()]
    extra = json.load(open(args.extra)) if args.extra and os.path.exists(args.extra) else {}
    out = []
    p = out.append
    if extra.get("machine"):
        m = extra["machine"]
        p(f"Machine: {m['nproc']} cores, {m['cpu']}, kernel {m['kernel']}; "
          f"4 KiB append + fdatasync p50 {m['fdatasync_p50_ms']} ms, p99 {m['fdatasync_p99_ms']} ms. "
          f"Millrace {extra.get('millrace_version', '?')}, `--throttling off` (fsync on). "
          f"Load average at the start: {extra.get('load_average_start', '?')}; "
          f"at the end: {extra.get('load_average_end', '?')}.")
        p("")
    groups = {}
    for r in rows:
        if r["kind"] == "deliver":
            groups.setdefault((r["target"], r["shards"], r["interval_s"], r["size_mib"]), []).append(r)
    if groups:
        p("### Throughput: one consumer from TRIM_HORIZON, 100-byte JSON records")
        p("")
        p("| target | shards | interval s | buffer MiB | records | records/s | MB/s | server cores "
          "| server CPU µs/record | consumer thread: on CPU / waiting for a CPU / blocked "
          "| files | peak RSS MB | runs (records/s) | all delivered |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|")
        for key in sorted(groups, key=lambda k: (k[0] != "local", k[1], k[2])):
            g = groups[key]
            runs = ", ".join(fmt(r["records_per_s"]) for r in g)
            ok = all(r["complete"] or r["stopped_at_timer_wait"] for r in g)
            sizes_ok = all(r["file_bytes"] == r["bytes_expected"] and r["failed_files"] == 0 and
                           r["records_failed"] == 0 for r in g)
            note = "yes" if all(r["complete"] for r in g) else (
                "up to the last full file" if ok else "NO (timeout)")
            if not sizes_ok:
                note += "; file bytes differ from records x 101!"
            p(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {fmt(med(g, 'delivered'))} "
              f"| {fmt(med(g, 'records_per_s'))} | {fmt(med(g, 'mb_per_s'), 1)} "
              f"| {fmt(med(g, 'server_cores'), 2)} | {fmt(med(g, 'cpu_us_per_record'), 2)} "
              f"| {fmt(med(g, 'runner_on_cpu'), 2)} / {fmt(med(g, 'runner_runnable_waiting'), 2)} "
              f"/ {fmt(med(g, 'runner_blocked'), 2)} "
              f"| {fmt(med(g, 'objects_written'))} | {fmt(med(g, 'peak_rss_mb'), 0)} "
              f"| {runs} | {note} |")
        p("")
    fan = [r for r in rows if r["kind"] == "fanout"]
    if fan:
        p(f"### Consumers on one stream (1 shard, {fmt(fan[0]['stream_records'])} records of 100 B; "
          f"each consumer its own local jsonl dataset, interval {fan[0]['interval_s']} s)")
        p("")
        p("| consumers | records delivered | seconds | total records/s | server cores "
          "| server CPU µs/record (stat / schedstat) | RSS before MB | RSS idle after MB "
          "| RSS per consumer MB | the same after malloc_trim(0) "
          "| idle CPU (cores) | idle CPU ms/s per consumer | creating them (s) "
          "| /metrics answer p50 / max ms | PutRecord meanwhile p50 / p99 / max ms "
          "| PutRecord before (none) p50 / max ms |")
        p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(fan, key=lambda r: r["consumers"]):
            p(f"| {r['consumers']} | {fmt(r['delivered'])}{'' if r['complete'] else ' (timeout)'} "
              f"| {fmt(r['seconds'], 2)} | {fmt(r['records_per_s'])} | {fmt(r['server_cores'], 2)} "
              f"| {fmt(r['cpu_us_per_record'], 3)} / {fmt(r.get('cpu_us_per_record_schedstat'), 3)} "
              f"| {fmt(r['rss_before_mb'], 1)} "
              f"| {fmt(r['rss_idle_mb'], 1)} | {fmt(r['rss_per_consumer_mb'], 3)} "
              f"| {fmt(r.get('rss_per_consumer_after_trim_mb'), 3)} "
              f"| {fmt(r['idle_cores'], 3)} | {fmt(r['idle_cpu_ms_per_consumer_s'], 2)} "
              f"| {fmt(r['create_seconds'], 2)} "
              f"| {fmt(r.get('metrics_ms_p50'), 1)} / {fmt(r.get('metrics_ms_max'), 1)} "
              f"| {fmt(r.get('probe_p50_ms'), 1)} / {fmt(r.get('probe_p99_ms'), 1)} "
              f"/ {fmt(r.get('probe_max_ms'), 1)} "
              f"| {fmt(r.get('baseline_probe_p50_ms'), 1)} / {fmt(r.get('baseline_probe_max_ms'), 1)} |")
        p("")
    lat = [r for r in rows if r["kind"] == "latency"]
    if lat:
        p("### End-to-end latency: PutRecord until a local file holding the record is visible "
          "(polled every 5 ms)")
        p("")
        p("| buffer_interval_seconds | samples | p50 ms | p90 ms | p99 ms | max ms | min ms "
          "| PutRecord ack p50 ms | not seen |")
        p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(lat, key=lambda r: r["interval_s"]):
            p(f"| {r['interval_s']} | {r['samples']} | {fmt(r['p50_ms'], 1)} | {fmt(r['p90_ms'], 1)} "
              f"| {fmt(r['p99_ms'], 1)} | {fmt(r['max_ms'], 1)} | {fmt(r['min_ms'], 1)} "
              f"| {fmt(r['put_ack_p50_ms'], 2)} | {r['timeouts']} |")
        p("")
    # Against the targets.
    tgt = []
    loc = [r for r in rows if r["kind"] == "deliver" and r["target"] == "local"]
    if loc:
        per_cfg = {}
        for r in loc:
            per_cfg.setdefault((r["shards"], r["interval_s"]), []).append(r["records_per_s"])
        meds = {k: statistics.median(v) for k, v in sorted(per_cfg.items())}
        measured = "; ".join(f"{k[0]} shard(s), interval {k[1]} s: {fmt(v)}" for k, v in meds.items())
        hits = sum(v >= 1e6 for v in meds.values())
        tgt.append(("log -> local jsonl, 100-byte records, one consumer (median of the runs)",
                    ">= 1,000,000 records/s", measured,
                    "yes" if hits == len(meds) else ("partly" if hits else "NO")))
    if len(fan) >= 2:
        fan_s = sorted(fan, key=lambda r: r["consumers"])
        a, b = fan_s[0], fan_s[-1]
        grow = b["cpu_us_per_record"] / a["cpu_us_per_record"] if a["cpu_us_per_record"] else None
        tgt.append((f"CPU per delivered record, {a['consumers']} -> {b['consumers']} consumers",
                    "does not grow",
                    f"{fmt(a['cpu_us_per_record'], 3)} -> {fmt(b['cpu_us_per_record'], 3)} µs "
                    f"(x{fmt(grow, 2)})", "yes" if grow is not None and grow <= 1.15 else "NO"))
    if tgt:
        p("### Against the targets")
        p("")
        p("| what | target | measured | met |")
        p("|---|---|---|---|")
        for t in tgt:
            p("| " + " | ".join(t) + " |")
        p("")
    if extra.get("prefill"):
        p("Streams filled before the runs (PutRecords, 500 x 100-byte JSON records): " + "; ".join(
            f"{s['stream']} ({s['shards']} shard(s)): {fmt(s['records'])} records at "
            f"{fmt(s['records_per_s'])}/s" for s in extra["prefill"]) + ".")
        p("")
    if extra.get("total_s"):
        p(f"Whole run: {extra['total_s']} s.")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(s):
        s.add_argument("--endpoint", required=True)
        s.add_argument("--credentials", required=True, help="credentials file or data directory")
        s.add_argument("--data-dir", required=True)
        s.add_argument("--pid", type=int, required=True, help="the server's pid")
        s.add_argument("--out", required=True, help="results file (JSON lines, appended)")
        s.add_argument("--record-size", type=int, default=100)

    s = sub.add_parser("deliver")
    common(s)
    s.add_argument("--name", required=True)
    s.add_argument("--label", default="")
    s.add_argument("--stream", required=True)
    s.add_argument("--shards", type=int, required=True)
    s.add_argument("--interval", type=int, default=0)
    s.add_argument("--size-mib", type=int, default=128)
    s.add_argument("--target", help="dataset target JSON (default local)")
    s.add_argument("--timeout", type=float, default=300)
    s.add_argument("--stall", type=float, default=2.5,
                   help="stop counting when nothing was delivered for this long (interval > it)")
    s.add_argument("--poll", type=float, default=0.02)
    s.set_defaults(fn=cmd_deliver)

    s = sub.add_parser("fanout")
    common(s)
    s.add_argument("--stream", required=True)
    s.add_argument("--consumers", type=int, required=True)
    s.add_argument("--records", type=int, default=0, help="records in the stream")
    s.add_argument("--probe-stream", help="PutRecord to this stream while they catch up")
    s.add_argument("--malloc-trim", action="store_true",
                   help="then RSS again after malloc_trim(0) in the server (with gdb)")
    s.add_argument("--probe-rate", type=float, default=20, help="probe PutRecords a second")
    s.add_argument("--interval", type=int, default=0)
    s.add_argument("--size-mib", type=int, default=128)
    s.add_argument("--timeout", type=float, default=300)
    s.add_argument("--poll", type=float, default=0.02)
    s.add_argument("--settle", type=float, default=2, help="seconds idle before RSS")
    s.add_argument("--idle", type=float, default=5, help="seconds of idle CPU measured")
    s.set_defaults(fn=cmd_fanout)

    s = sub.add_parser("latency")
    common(s)
    s.add_argument("--name", required=True)
    s.add_argument("--stream", required=True)
    s.add_argument("--interval", type=int, default=0)
    s.add_argument("--samples", type=int, default=100)
    s.set_defaults(fn=cmd_latency)

    s = sub.add_parser("summary")
    s.add_argument("results")
    s.add_argument("extra", nargs="?")
    s.set_defaults(fn=cmd_summary)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
