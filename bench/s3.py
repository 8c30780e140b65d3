#!/usr/bin/env python3
"""bench/s3.py: the S3 API's read path (issue #13, first part), on the same machine in one
run, against nginx serving the same files (the ceiling for GetObject).

- GetObject: 1 MiB and 64 MiB objects, downloaded with curl (`--aws-sigv4`) to /dev/null,
  one at a time and 4 at once, for ROUND_SECONDS each; bytes/s against nginx serving the
  same dataset folder (`sendfile on`, 2 workers), the same curl, the same files.
- ListObjectsV2: a bucket of OBJECTS objects laid out as deliveries are
  (YYYY/MM/DD/hh/<name>), 1,000-key pages: the first page, a page in the middle
  (start-after), a day's prefix, the top level with delimiter "/"; the median and p99 of
  20 requests each, timed by curl (`time_total`).

    python3 bench/s3.py                    # ~3 minutes (building the 1,000,000 files: ~1)
    OBJECTS=100000 python3 bench/s3.py
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import MillraceServer, free_port  # noqa: E402
from test_consumers import Api  # noqa: E402

OBJECTS = int(os.environ.get("OBJECTS", "1000000"))
ROUND_SECONDS = float(os.environ.get("ROUND_SECONDS", "5"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))


def emit(doc):
    print(json.dumps(doc), flush=True)
    return doc


def credentials(server):
    key = secret = None
    for line in open(server.credentials_file):
        if line.startswith("aws_access_key_id"):
            key = line.split("=", 1)[1].strip()
        if line.startswith("aws_secret_access_key"):
            secret = line.split("=", 1)[1].strip()
    return key, secret


def curl(url, creds=None, extra=()):
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
           url] + list(extra)
    if creds:
        cmd += ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "%s:%s" % creds]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    if out[0] not in ("200", "206"):
        raise RuntimeError("%s: HTTP %s" % (url, out[0]))
    return int(out[1]), float(out[2])


def throughput(url, creds, parallel):
    """Bytes/s of back-to-back downloads of `url` by `parallel` loops for ROUND_SECONDS."""
    total = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + ROUND_SECONDS

    def loop():
        while time.monotonic() < deadline:
            n, _ = curl(url, creds)
            with lock:
                total[0] += n
    t0 = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total[0] / (time.monotonic() - t0)


def start_nginx(root, port, work):
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 2;
pid %(w)s/nginx.pid;
error_log %(w)s/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path %(w)s/body; proxy_temp_path %(w)s/proxy;
  fastcgi_temp_path %(w)s/fastcgi; uwsgi_temp_path %(w)s/uwsgi; scgi_temp_path %(w)s/scgi;
  server { listen 127.0.0.1:%(p)d; root %(r)s; }
}
""" % {"w": work, "p": port, "r": root})
    proc = subprocess.Popen(["nginx", "-p", work, "-c", conf, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            curl("http://127.0.0.1:%d/" % port)
        except (RuntimeError, subprocess.CalledProcessError):
            pass
        else:
            break
        time.sleep(0.05)
    return proc


def main():
    server = MillraceServer().start()
    api = Api(server)
    creds = credentials(server)
    work = tempfile.mkdtemp(prefix="millrace-s3-bench-")
    nginx = None
    try:
        for name in ("blobs", "big"):
            st, doc = api.call("POST", "/api/v1/datasets", {"name": name, "file_type": "other"})
            assert st == 201, doc
        blobs = os.path.join(server.data_dir, "datasets", "blobs")
        os.makedirs(blobs, exist_ok=True)
        # nginx serves its own copy of the same bytes: the data directory is private to the
        # server's user (0700), which nginx's workers are not.
        public = os.path.join(work, "public")
        os.makedirs(public)
        os.chmod(work, 0o755)
        os.chmod(public, 0o755)
        for name, size in (("one-mib", 1 << 20), ("sixty-four-mib", 64 << 20)):
            data = os.urandom(size)
            for folder in (blobs, public):
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data)
                os.chmod(os.path.join(folder, name), 0o644)
        nginx_port = free_port()
        if shutil.which("nginx"):
            nginx = start_nginx(public, nginx_port, os.path.join(work, "nginx"))
        ours = "http://127.0.0.1:%d/blobs/" % server.port
        theirs = "http://127.0.0.1:%d/" % nginx_port
        curl(ours + "one-mib", creds)  # the first read computes and keeps the MD5
        curl(ours + "sixty-four-mib", creds)
        results = {}
        for obj in ("one-mib", "sixty-four-mib"):
            for parallel in (1, 4):
                m, n = [], []
                for _ in range(ROUNDS):
                    m.append(throughput(ours + obj, creds, parallel))
                    if nginx:
                        n.append(throughput(theirs + obj, None, parallel))
                doc = {"bench": "get_object", "object": obj, "parallel": parallel,
                       "millrace_mb_per_s": round(statistics.median(m) / 1e6),
                       "nginx_mb_per_s": round(statistics.median(n) / 1e6) if n else None}
                if n:
                    doc["ratio"] = round(statistics.median(m) / statistics.median(n), 3)
                results[(obj, parallel)] = emit(doc)

        # A year of deliveries: OBJECTS files over 365 days x 24 hours.
        big = os.path.join(server.data_dir, "datasets", "big")
        t0 = time.monotonic()
        per_hour = max(1, OBJECTS // (365 * 24))
        made = 0
        day = time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0))
        md5 = b"d41d8cd98f00b204e9800998ecf8427e"  # of the empty file
        while made < OBJECTS:
            hour = day + (made // per_hour) * 3600
            folder = os.path.join(big, time.strftime("%Y/%m/%d/%H", time.gmtime(hour)))
            os.makedirs(folder, exist_ok=True)
            for i in range(min(per_hour, OBJECTS - made)):
                path = os.path.join(folder, "PROD_ACME_Shipment-2-%s-%06d" % (
                    time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(hour)), made))
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.setxattr(fd, "user.millrace.md5", md5)
                os.close(fd)
                made += 1
        emit({"bench": "made_objects", "objects": made, "seconds": round(time.monotonic() - t0, 1)})
        # curl 7.88's --aws-sigv4 signs the query in the order given: give it sorted.
        def url(**params):
            params.update({"list-type": "2", "max-keys": "1000"})
            return "http://127.0.0.1:%d/big?%s" % (server.port, "&".join(
                "%s=%s" % (k, urllib.parse.quote(v, safe="")) for k, v in sorted(params.items())))
        middle = time.strftime("%Y/%m/%d/%H", time.gmtime(day + 180 * 86400)) + "/"
        cases = {
            "first_page": url(),
            "middle_page": url(**{"start-after": middle}),
            "day_prefix": url(prefix=time.strftime("%Y/%m/%d/", time.gmtime(day + 90 * 86400))),
            "top_delimiter": url(delimiter="/"),
        }
        for case, target in cases.items():
            times = sorted(curl(target, creds)[1] for _ in range(20))
            emit({"bench": "list_objects_v2", "case": case, "objects_in_bucket": made,
                  "median_ms": round(statistics.median(times) * 1000, 1),
                  "p99_ms": round(times[-1] * 1000, 1)})
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
