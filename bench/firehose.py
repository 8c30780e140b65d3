#!/usr/bin/env python3
"""bench/firehose.py: Firehose's PutRecordBatch and PutRecord against Kinesis's PutRecords and
PutRecord on the same server (issue #16's target: PutRecordBatch >= 0.9x PutRecords).

One Millrace server (fsync on, throttling off). Two pipelines doing the same work: a
DirectPut delivery stream (its own 1-shard stream, delivering into a bucket of the S3 API),
and a 1-shard Kinesis stream with a consumer delivering into a dataset; both buffer 5 MiB /
60 s. h2load (HTTP/1.1, 64 connections, one request in flight each) drives, each request
signed once by botocore (SigV4 has no nonce):

    batch    PutRecordBatch of 100 records of 1,000 B   vs  PutRecords of the same
    single   PutRecord of 100 B                          vs  PutRecord of the same

ROUNDS rounds of SECONDS_PER_RUN seconds, interleaved; medians, ratios Firehose / Kinesis
of requests per second and of the server's CPU time per request.

    python3 bench/firehose.py                     # ~1.5 minutes
    ROUNDS=1 SECONDS_PER_RUN=3 python3 bench/firehose.py
"""
import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from protocols import REPO, MillraceServer, cpu_seconds, h2load  # noqa: E402
from results_file import emitter  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS_PER_RUN = float(os.environ.get("SECONDS_PER_RUN", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))


emit = emitter("firehose")


def signed(server, tmp, name, service, target, payload):
    body = json.dumps(payload).encode()
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % server.port, data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(*server.credentials()), service, "us-east-1").add_auth(req)
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(body)
    headers = []
    for k, v in req.headers.items():
        if k.lower() != "host":
            headers += ["-H", "%s: %s" % (k.lower(), v)]
    return path, headers


def b64(data):
    return base64.b64encode(data).decode()


def main():
    if shutil.which("h2load") is None:
        sys.exit("h2load is missing: apt-get install nghttp2-client (scripts/install-deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="millrace-bench-firehose-")
    srv = MillraceServer(extra_args=["--sync", "on"]).start()
    try:
        k = srv.client()
        fh = srv.client("firehose", validate=False)
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="landing")
        hints = {"SizeInMBs": 5, "IntervalInSeconds": 60}
        fh.create_delivery_stream(DeliveryStreamName="bench", ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::landing",
            "Prefix": "bench/", "BufferingHints": hints})
        k.create_stream(StreamName="kbench", ShardCount=1)
        for name in ("kbench", "firehose-bench"):
            while k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
                time.sleep(0.05)
        api_body = json.dumps({"name": "kbench-files", "stream": "kbench", "buffer_size_mib": 5,
                               "buffer_interval_seconds": 60,
                               "dataset": {"name": "kbench-files", "file_type": "other"}}).encode()
        from harness import RawClient
        r = RawClient(srv, service="millrace").request(api_body, method="POST", path="/api/v1/consumers",
                                                      content_type="application/json")
        assert r.status == 201, r.body
        rec = os.urandom(750)  # 1,000 B of base64 in the JSON either way
        small = b"x" * 100
        loads = {
            ("batch", "firehose"): signed(srv, tmp, "fb", "firehose", "Firehose_20150804.PutRecordBatch", {
                "DeliveryStreamName": "bench", "Records": [{"Data": b64(rec)} for _ in range(100)]}),
            ("batch", "kinesis"): signed(srv, tmp, "kb", "kinesis", "Kinesis_20131202.PutRecords", {
                "StreamName": "kbench", "Records": [{"PartitionKey": "pk%d" % i, "Data": b64(rec)}
                                                    for i in range(100)]}),
            ("single", "firehose"): signed(srv, tmp, "fs", "firehose", "Firehose_20150804.PutRecord", {
                "DeliveryStreamName": "bench", "Record": {"Data": b64(small)}}),
            ("single", "kinesis"): signed(srv, tmp, "ks", "kinesis", "Kinesis_20131202.PutRecord", {
                "StreamName": "kbench", "PartitionKey": "pk", "Data": b64(small)}),
        }
        url = "http://127.0.0.1:%d/" % srv.port
        results = {key: [] for key in loads}
        cpu = {key: [] for key in loads}
        for rnd in range(ROUNDS):
            for key, (body, hdrs) in loads.items():
                c0 = cpu_seconds(srv.proc.pid)
                rps, done = h2load(url, body, hdrs, ["--h1"], CONNECTIONS)
                cpu_us = (cpu_seconds(srv.proc.pid) - c0) * 1e6 / max(done, 1)
                results[key].append(rps)
                cpu[key].append(cpu_us)
                emit({"bench": "firehose", "round": rnd, "load": key[0], "api": key[1],
                      "req_per_s": rps, "server_cpu_us_per_req": round(cpu_us, 1)})
        for load in ("batch", "single"):
            base = statistics.median(results[load, "kinesis"])
            base_cpu = statistics.median(cpu[load, "kinesis"])
            for api in ("kinesis", "firehose"):
                med = statistics.median(results[load, api])
                med_cpu = statistics.median(cpu[load, api])
                emit({"bench": "firehose", "summary": True, "load": load, "api": api,
                      "median_req_per_s": round(med, 1), "ratio_to_kinesis": round(med / base, 3),
                      "server_cpu_us_per_req": round(med_cpu, 1),
                      "cpu_ratio_to_kinesis": round(med_cpu / base_cpu, 3)})
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
