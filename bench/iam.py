#!/ usr / bin / env python3
"""bench/iam.py: what authorization costs (issue #14), measured on this machine in one run.

- policy_eval (bench/policy_eval.cc): one evaluation over 10 policies of 10 statements, and
  a service's whole per-request path (context + authorize), in process.
- PutRecord throughput (loadgen put-record, 100 B, 64 connections, closed loop, fsync on,
  throttling off) signed by three principals on one server, interleaved ROUNDS times:
    admin   the root key (one statement: Allow * on *)
    heavy   an IAM user with 10 inline policies of 10 statements each, the PutRecord
            allow being the very last statement (every statement is evaluated)
  and, with BASE_BIN=<millrace built from the commit before IAM>, the same PutRecord load
  against that binary (no policy evaluation at all): the "without policies" figure.
- AssumeRole throughput (loadgen assume-role, 16 connections): the admin key assuming a
  role whose trust policy asks for an ExternalId, a new session name per request; and the
  same load against moto's STS (../shared/peers, which checks no signature and evaluates
  no trust policy), interleaved.

    python3 bench/iam.py                       # ~3 minutes
    SYNC=off python3 bench/iam.py              # writes not fsynced: CPU-bound
    BASE_BIN=/tmp/base/build/bin/millrace python3 bench/iam.py
    ROUNDS=1 SECONDS_PER_RUN=3 python3 bench/iam.py
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import MillraceServer, free_port  # noqa: E402

PEERS = os.path.join(REPO, "..", "shared", "peers")

BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
LOADGEN = os.path.join(BUILD, "bin", "loadgen")
POLICY_EVAL = os.path.join(BUILD, "bin", "policy_eval")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SYNC = os.environ.get("SYNC", "on")  # off: CPU-bound, where authorization shows most
SECONDS_PER_RUN = float(os.environ.get("SECONDS_PER_RUN", "5"))
BASE_BIN = os.environ.get("BASE_BIN")
OUT = os.path.join(REPO, "bench", "results", "iam-%s.jsonl" % time.strftime("%Y-%m-%d"))


def emit(doc):
    print(json.dumps(doc), flush=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)  # bench/results/ is not in git
    with open(OUT, "a") as f:
        f.write(json.dumps(doc) + "\n")
    return doc


def heavy_policy(p, stream_arn):
    statements = []
    for i in range(10):
        last = p == 9 and i == 9
        s = {"Sid": "S%dx%d" % (p, i), "Effect": "Allow",
             "Action": ["kinesis:PutRecord"] if last else
             ["kinesis:Describe*", "s3:List*", "sqs:Send%d*" % i],
             "Resource": [stream_arn if last else
                          "arn:aws:kinesis:*:*:stream/other-%d-%d" % (p, i),
                          "arn:aws:s3:::bucket-%d/home/${aws:username}/*" % p]}
        if i % 3 == 0:
            s["Condition"] = {"StringLike": {"aws:userid": ["AIDA*", "AROA*"]}}
        elif i % 3 == 1:
            s["Condition"] = {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}
        else:
            s["Condition"] = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
        statements.append(s)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def loadgen(mode, port, creds, label, *extra):
    out = os.path.join("/tmp", "iam-bench-%d.jsonl" % os.getpid())
    if os.path.exists(out):
        os.remove(out)
    cmd = [LOADGEN, mode, "--endpoint", "http://127.0.0.1:%d" % port,
           "--access-key-id", creds[0], "--secret-access-key", creds[1],
           "--duration", str(SECONDS_PER_RUN), "--warmup", "1", "--label", label,
           "--json-out", out] + list(extra)
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    with open(out) as f:
        doc = json.loads(f.readline())
    os.remove(out)
    return doc


def start_moto():
    """moto on loopback with a role to assume: (port, pid, role arn), or None."""
    port = free_port()
    p = subprocess.run([os.path.join(PEERS, "start.sh"), "moto", str(port)], capture_output=True,
                       text=True, timeout=120)
    if p.returncode != 0:
        print("moto did not start: " + p.stderr[-300:], file=sys.stderr)
        return None
    pid = int(p.stdout.split()[-1])
    import boto3
    iam = boto3.client("iam", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                       aws_access_key_id="AKIAMOTO", aws_secret_access_key="moto-secret")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="bench",
                          AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return port, pid, arn


def start(binary=None):
    server = MillraceServer(extra_args=["--sync", SYNC])
    if binary:
        server.binary = binary
    server.start()
    k = server.client("kinesis")
    k.create_stream(StreamName="bench", ShardCount=4)
    k.get_waiter("stream_exists").wait(StreamName="bench", WaiterConfig={"Delay": 0.2})
    return server


def main():
    for tool in (LOADGEN, POLICY_EVAL):
        if not os.path.exists(tool):
            sys.exit("build it first: cmake --build build --target loadgen policy_eval millrace")
    p = subprocess.run([POLICY_EVAL, "--json-out", OUT], capture_output=True, text=True,
                       check=True)
    print(p.stdout, end="")

    server = start()
    base = start(BASE_BIN) if BASE_BIN else None
    try:
        iam = server.client("iam")
        arn = "arn:aws:kinesis:us-east-1:000000000000:stream/bench"
        iam.create_user(UserName="heavy")
        for i in range(10):
            iam.put_user_policy(UserName="heavy", PolicyName="p%d" % i,
                                PolicyDocument=heavy_policy(i, arn))
        key = iam.create_access_key(UserName="heavy")["AccessKey"]
        heavy = (key["AccessKeyId"], key["SecretAccessKey"])
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "bench-external-id"}}}]}
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))
        role_arn = role["Role"]["Arn"]
        admin = server.credentials()
        targets = [("admin", server, admin), ("heavy", server, heavy)]
        if base:
            targets.append(("base", base, base.credentials()))
        rates = {name: [] for name, _, _ in targets}
        for r in range(ROUNDS):
#The order turns each round, so that a drift of the machine hurts all alike.
            for name, srv, creds in targets[r % len(targets):] + targets[:r % len(targets)]:
                doc = loadgen("put-record", srv.port, creds, name, "--stream", "bench",
                              "--connections", "64")
                rate = doc["requests_per_s"]
                errors = doc.get("errors") or {
  }
                rates[name].append(rate)
                emit({"bench": "iam-put-record", "sync": SYNC, "principal": name, "round": r,
                      "requests_per_s": rate, "errors": errors,
                      "p50_ms": doc.get("p50_ms"), "p99_ms": doc.get("p99_ms")})
        moto = start_moto()
        assume, assume_moto = [], []
        for r in range(ROUNDS):
            doc = loadgen("assume-role", server.port, admin, "assume-role", "--role-arn",
                          role_arn, "--external-id", "bench-external-id", "--connections", "16")
            rate = doc["requests_per_s"]
            assume.append(rate)
            emit({"bench": "iam-assume-role", "target": "millrace", "round": r,
                  "requests_per_s": rate, "errors": doc.get("errors") or {},
                  "p50_ms": doc.get("p50_ms"), "p99_ms": doc.get("p99_ms")})
            if moto:
                doc = loadgen("assume-role", moto[0], ("AKIAMOTO", "moto-secret"), "moto",
                              "--role-arn", moto[2], "--external-id", "bench-external-id",
                              "--connections", "16")
                assume_moto.append(doc["requests_per_s"])
                emit({"bench": "iam-assume-role", "target": "moto", "round": r,
                      "requests_per_s": doc["requests_per_s"],
                      "errors": doc.get("errors") or {}, "p50_ms": doc.get("p50_ms"),
                      "p99_ms": doc.get("p99_ms")})
        if moto:
            subprocess.run(["kill", str(moto[1])])
        med = {k: statistics.median(v) for k, v in rates.items()}
        summary = {"bench": "iam-summary", "sync": SYNC, "put_record_median": med,
                   "heavy_over_admin": med["heavy"] / med["admin"],
                   "assume_role_median": statistics.median(assume)}
        if assume_moto:
            summary["assume_role_moto_median"] = statistics.median(assume_moto)
            summary["assume_role_over_moto"] = (statistics.median(assume) /
                                                statistics.median(assume_moto))
        if base:
            summary["admin_over_base"] = med["admin"] / med["base"]
            summary["heavy_over_base"] = med["heavy"] / med["base"]
        emit(summary)
    finally:
        server.close()
        if base:
            base.close()


if __name__ == "__main__":
    main()
