"""Harness for Millrace's end-to-end tests.

Starts the real `millrace` binary (``$MILLRACE_BIN``, default ``build/bin/millrace``) in a
temporary data directory on a free loopback port, and gives tests boto3 clients, a raw
signed-JSON client (to check status codes and exact error bodies), an AWS CLI runner and a
few Kinesis helpers (wait for ACTIVE, read a shard to its tip, ...).

Environment:
  MILLRACE_BIN          path of the binary (ctest sets it).
  MILLRACE_E2E_TARGET   ``millrace`` (default) or ``kinesalite``: run the tests that make
                        sense against kinesalite instead (via ../shared/peers/), to check
                        the expected AWS messages; Millrace-only tests are skipped there.
                        ``kinesis-local`` (kinesis-mock) also works, unofficially: it has the
                        newer features kinesalite lacks but not AWS's wording, so use it only
                        to sanity-check a test's logic.
  MILLRACE_E2E_QUICK=1  skip the slow tests.
  MILLRACE_E2E_KEEP=1   keep data directories and server logs (their path is printed).

Python stdlib + boto3/botocore only; works with boto3 1.26 (Debian) and current boto3.
"""

import base64
import configparser
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import types
import unittest
import uuid

import boto3
import botocore
import botocore.auth
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("MILLRACE_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")

TARGET = os.environ.get("MILLRACE_E2E_TARGET", "millrace").strip().lower() or "millrace"
if TARGET not in ("millrace", "kinesalite", "kinesis-local"):
    raise SystemExit("MILLRACE_E2E_TARGET must be millrace or kinesalite, not %r" % TARGET)
# kinesis-local (kinesis-mock) is an unofficial extra target: it has the newer features
# kinesalite lacks, but not AWS's exact messages; use it only to sanity-check test logic.
QUICK = os.environ.get("MILLRACE_E2E_QUICK", "") not in ("", "0", "false", "no")
KEEP = os.environ.get("MILLRACE_E2E_KEEP", "") not in ("", "0", "false", "no")

ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
AMZ_JSON = "application/x-amz-json-1.1"
TARGET_PREFIX = "Kinesis_20131202"
POW128 = 1 << 128
MIB = 1024 * 1024
STREAM_NAME_PATTERN = "[a-zA-Z0-9_.-]+"


# --------------------------------------------------------------------------- skips

def millrace_only(reason="checks behaviour only Millrace has"):
    """Skip on kinesalite (auth, keys, durability, Millrace flags, ...)."""
    return unittest.skipUnless(TARGET == "millrace", "Millrace-only: " + reason)


def not_on_kinesalite(what):
    """Skip on kinesalite for an AWS feature kinesalite 3.3.3 does not implement (or gets
    differently from today's AWS)."""
    return unittest.skipIf(TARGET == "kinesalite", "kinesalite does not implement " + what)


def slow(obj):
    return unittest.skipIf(QUICK, "slow test skipped (MILLRACE_E2E_QUICK=1)")(obj)


_MODEL = None


def kinesis_model():
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model("kinesis")
    return _MODEL


def botocore_has(op, member=None):
    """True when the installed botocore knows operation `op` (and its input `member`)."""
    model = kinesis_model()
    if op not in model.operation_names:
        return False
    if member is None:
        return True
    shape = model.operation_model(op).input_shape
    return shape is not None and member in shape.members


BOTOCORE_VERSION = botocore.__version__


# --------------------------------------------------------------------------- utilities

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_name(prefix="s"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def md5_hash_key(partition_key):
    """The 128-bit hash key Kinesis derives from a partition key: MD5 of its UTF-8 bytes."""
    return int(hashlib.md5(partition_key.encode("utf-8")).hexdigest(), 16)


def even_ranges(n):
    """The hash key ranges AWS gives the n shards of a new stream: 2^128 divided evenly
    (floor), the last shard ending at 2^128-1."""
    width = POW128 // n
    out = []
    for i in range(n):
        start = width * i
        end = (width * (i + 1) - 1) if i < n - 1 else POW128 - 1
        out.append((start, end))
    return out


def shard_id(i):
    return "shardId-%012d" % i


def shard_for_hash(shards, hash_key, open_only=True):
    for s in shards:
        if open_only and s.get("SequenceNumberRange", {}).get("EndingSequenceNumber"):
            continue
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= hash_key <= int(r["EndingHashKey"]):
            return s["ShardId"]
    return None


def stream_arn(name, region=DEFAULT_REGION, account=ACCOUNT_ID):
    return "arn:aws:kinesis:%s:%s:stream/%s" % (region, account, name)


def _to_wire(value):
    """Python value -> AWS JSON 1.1 value (bytes as base64, datetimes as epoch seconds)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_wire(v) for v in value]
    return value


def all_records(client, stream):
    """Every record's Data in every shard of `stream`, from TRIM_HORIZON to the end."""
    out = []
    for sh in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(StreamName=stream, ShardId=sh["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            r = client.get_records(ShardIterator=it, Limit=10000)
            out += [x["Data"] for x in r["Records"]]
            if not r["Records"]:
                break
            it = r.get("NextShardIterator")
    return out


@contextlib.contextmanager
def skewed_clock(delta):
    """Makes botocore's SigV4 signer believe the time is now+delta (works with the old
    botocore that calls datetime.datetime.utcnow() and the new one that calls
    get_current_datetime())."""
    mod = botocore.auth
    if hasattr(mod, "get_current_datetime"):
        orig = mod.get_current_datetime
        mod.get_current_datetime = lambda *a, **k: orig(*a, **k) + delta
        try:
            yield
        finally:
            mod.get_current_datetime = orig
    else:
        real_datetime_module = mod.datetime

        class SkewedDatetime(real_datetime_module.datetime):
            @classmethod
            def utcnow(cls):
                return real_datetime_module.datetime.utcnow() + delta

            @classmethod
            def now(cls, tz=None):
                return real_datetime_module.datetime.now(tz) + delta

        fake = types.SimpleNamespace(**{k: getattr(real_datetime_module, k)
                                        for k in dir(real_datetime_module)
                                        if not k.startswith("__")})
        fake.datetime = SkewedDatetime
        mod.datetime = fake
        try:
            yield
        finally:
            mod.datetime = real_datetime_module


# --------------------------------------------------------------------------- raw client

class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def error_type(self):
        """The error code, as botocore reads it: __type without any 'namespace#' prefix,
        or the x-amzn-ErrorType header."""
        t = None
        if isinstance(self.json, dict):
            t = self.json.get("__type") or self.json.get("code")
        if not t:
            t = self.headers.get("x-amzn-errortype")
        if t:
            t = t.split(":")[0].split("#")[-1]
        return t

    @property
    def message(self):
        if isinstance(self.json, dict):
            for k in ("message", "Message", "errorMessage"):
                if k in self.json:
                    return self.json[k]
        return None

    def __repr__(self):
        body = self.body[:600]
        return "<HTTP %d %r %s>" % (self.status, self.headers.get("content-type"), body)


class RawClient:
    """Sends hand-made AWS JSON 1.1 requests, SigV4-signed by botocore (or not), and returns
    the exact status, headers and body."""

    def __init__(self, server, credentials=None, region=None, service="kinesis"):
        self.server = server
        self.credentials = credentials
        self.region = region
        self.service = service

    def request(self, body=b"", *, target=None, headers=None, sign=True, method="POST",
                path="/", content_type=AMZ_JSON, credentials=None, region=None,
                clock_skew=None, conn=None, timeout=30):
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = {}
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        if target is not None:
            hdrs["X-Amz-Target"] = target
        hdrs.update(headers or {})
        url = "http://127.0.0.1:%d%s" % (self.server.port, path)
        req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
        if sign:
            key, secret = credentials or self.credentials or self.server.credentials()
            signer = SigV4Auth(Credentials(key, secret), self.service,
                               region or self.region or self.server.region)
            if clock_skew is not None:
                with skewed_clock(clock_skew):
                    signer.add_auth(req)
            else:
                signer.add_auth(req)
        prepared = req.prepare()
        send_headers = dict(prepared.headers.items())
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        try:
            conn.request(method, path, body=body if body else None, headers=send_headers)
            resp = conn.getresponse()
            data = resp.read()
            return RawResponse(resp.status, resp.getheaders(), data)
        finally:
            if own:
                conn.close()

    def call(self, action, payload=None, **kw):
        if payload is None:
            payload = {}
        if isinstance(payload, (dict, list)):
            body = json.dumps(_to_wire(payload))
        else:
            body = payload
        return self.request(body, target="%s.%s" % (TARGET_PREFIX, action), **kw)


# --------------------------------------------------------------------------- servers

class ServerStartError(RuntimeError):
    pass


def make_tls_files(directory, cn="localhost", ca=None):
    """A test CA (made once per directory unless `ca` is given) and a server certificate for
    localhost and 127.0.0.1 signed by it, with the openssl command line. Returns
    {"ca": ca.pem, "ca_key": ..., "cert": cert.pem, "key": key.pem, "serial": hex}."""
    os.makedirs(directory, exist_ok=True)
    run = lambda *a: subprocess.run(["openssl"] + list(a), check=True, capture_output=True, cwd=directory)
    if ca is None:
        ca = {"ca": os.path.join(directory, "ca.pem"), "ca_key": os.path.join(directory, "ca.key")}
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Millrace test CA",
            "-keyout", ca["ca_key"], "-out", ca["ca"])
    tag = uuid.uuid4().hex[:8]
    key, csr, cert, ext = (os.path.join(directory, "%s.%s" % (tag, x)) for x in ("key", "csr", "pem", "ext"))
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout", key, "-out", csr)
    serial = uuid.uuid4().hex[:16]
    run("x509", "-req", "-in", csr, "-CA", ca["ca"], "-CAkey", ca["ca_key"], "-set_serial", "0x" + serial,
        "-days", "2", "-extfile", ext, "-out", cert)
    return dict(ca, cert=cert, key=key, serial=serial.upper().lstrip("0"))


class _Server:
    region = DEFAULT_REGION
    port = None
    credentials_file = None
    data_dir = None
    tls = None  # {"ca", "cert", "key"} when the server speaks TLS

    @property
    def endpoint(self):
        if self.tls:
            return "https://127.0.0.1:%d" % self.port
        return "http://127.0.0.1:%d" % self.port

    def ssl_context(self):
        """A client context that trusts the test CA."""
        return ssl.create_default_context(cafile=self.tls["ca"])

    def credentials(self):
        raise NotImplementedError

    def session(self, credentials=None, region=None):
        key, secret = credentials or self.credentials()
        return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                     region_name=region or self.region)

    def client(self, service="kinesis", *, credentials=None, region=None, retries=0,
               validate=True, read_timeout=30, max_pool_connections=10):
        """A boto3 client for this server. retries=0: one attempt, so every error is seen."""
        cfg = Config(retries={"max_attempts": retries, "mode": "standard"},
                     parameter_validation=validate, connect_timeout=5,
                     read_timeout=read_timeout, max_pool_connections=max_pool_connections)
        return self.session(credentials, region).client(
            service, endpoint_url=self.endpoint, region_name=region or self.region, config=cfg,
            verify=self.tls["ca"] if self.tls else None)

    def raw(self, **kw):
        return RawClient(self, **kw)

    def log_tail(self, n=80):
        return ""


class MillraceServer(_Server):
    """The real binary on a temp data dir. start()/stop()/kill9()/restart() keep the data
    dir (and the port when it can)."""

    def __init__(self, *, region=DEFAULT_REGION, auth=True, throttling=False,
                 transition_ms=100, extra_args=(), env=None, data_dir=None,
                 log_level=None, tls=None):
        self.binary = os.environ.get("MILLRACE_BIN") or os.path.join(REPO, "build", "bin", "millrace")
        self.region = region
        self.auth = auth
        self.throttling = throttling
        self.transition_ms = transition_ms
        self.extra_args = list(extra_args)
        self.tls = tls
        self.env = dict(env or {})
        self.log_level = log_level or os.environ.get("MILLRACE_E2E_LOG_LEVEL")
        self.root = tempfile.mkdtemp(prefix="millrace-e2e-")
        self.data_dir = data_dir or os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "server.log")
        self.credentials_file = os.path.join(self.data_dir, "credentials")
        self.port = free_port()
        self.proc = None
        self._log = None
        self.starts = 0

    # ---- lifecycle
    def command(self):
        cmd = [self.binary, "serve", "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port]
        if not self.auth:
            cmd += ["--auth", "none"]
        if not self.throttling:
            cmd += ["--throttling", "off"]
        if self.transition_ms is not None:
            cmd += ["--stream-transition-ms", str(self.transition_ms)]
        if self.region != DEFAULT_REGION:
            cmd += ["--region", self.region]
        if self.log_level:
            cmd += ["--log-level", self.log_level]
        if self.tls:
            cmd += ["--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]]
        return cmd + self.extra_args

    def start(self, timeout=None):
        if timeout is None:
            timeout = float(os.environ.get("MILLRACE_E2E_START_TIMEOUT", "10"))
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise ServerStartError("millrace binary not found at %s (set MILLRACE_BIN or build it)"
                                   % self.binary)
        os.makedirs(os.path.dirname(self.data_dir), exist_ok=True)
        for attempt in range(2):
            self._log = open(self.log_path, "ab")
            self._log.write(("\n==== start #%d: %s\n" % (self.starts + 1, " ".join(self.command()))).encode())
            self._log.flush()
            env = dict(os.environ)
            env.update(self.env)
            self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            self.starts += 1
            try:
                self._wait_healthy(timeout)
                return self
            except ServerStartError:
                exited = self.proc.poll() is not None
                if exited and attempt == 0 and b"in use" in self._read_log()[-4000:].lower():
                    # Port taken meanwhile (e.g. by another test process): take another one.
                    self.port = free_port()
                    continue
                self._terminate(timeout=3)
                raise

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError("millrace exited with status %s before answering /healthz\n%s"
                                       % (self.proc.returncode, self.log_tail()))
            try:
                if self.tls:
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=1,
                                                       context=self.ssl_context())
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last_err = "HTTP %d" % resp.status
            except OSError as e:
                last_err = repr(e)
            time.sleep(0.05)
        raise ServerStartError("millrace did not answer GET /healthz with 200 within %.0f s (last: %s)\n%s"
                               % (timeout, last_err, self.log_tail()))

    def _read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def log_tail(self, n=80):
        lines = self._read_log().decode("utf-8", "replace").splitlines()
        return "---- server log (%s), last %d lines:\n%s" % (self.log_path, n, "\n".join(lines[-n:]))

    def _terminate(self, timeout=10.0):
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait(timeout=10)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit status."""
        return self._terminate(timeout)

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def restart(self, timeout=None):
        self.stop()
        return self.start(timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        try:
            self.stop(timeout=5)
        finally:
            if KEEP:
                sys.stderr.write("\n[e2e] kept %s\n" % self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # ---- credentials and keys
    def credentials(self, profile="default"):
        cp = configparser.ConfigParser()
        if not cp.read(self.credentials_file):
            raise AssertionError("no credentials file at %s" % self.credentials_file)
        sec = cp[profile]
        return sec["aws_access_key_id"].strip(), sec["aws_secret_access_key"].strip()

    def keys(self, *args, check=True):
        """Runs `millrace keys ARGS --data-dir DIR`; returns the CompletedProcess."""
        cmd = [self.binary, "keys"] + list(args[:1]) + ["--data-dir", self.data_dir] + list(args[1:])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d):\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def create_key(self, scope, streams=(), buckets=()):
        args = ["create", "--scope", scope]
        for s in streams:
            args += ["--stream", s]
        for b in buckets:
            args += ["--bucket", b]
        out = self.keys(*args).stdout.strip()
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError("`millrace keys create` did not print JSON: %r" % out)

    def list_keys(self):
        out = self.keys("list").stdout.strip()
        if not out:
            return [], out
        try:
            data = json.loads(out)
            if isinstance(data, dict):
                data = data.get("Keys") or data.get("keys") or [data]
            return data, out
        except ValueError:
            return [json.loads(line) for line in out.splitlines() if line.strip()], out

    def revoke_key(self, key_id):
        return self.keys("revoke", key_id)


class KinesaliteServer(_Server):
    """kinesalite 3.3.3 from ../shared/peers (checks no signature; account 000000000000)."""

    FAKE_CREDENTIALS = ("AKIDKINESALITE0000000", "kinesalite/secret/key/000000000000000000")

    peer = "kinesalite"

    def __init__(self, *, region=DEFAULT_REGION, **_ignored):
        self.region = region
        self.root = tempfile.mkdtemp(prefix="kinesalite-e2e-")
        self.credentials_file = os.path.join(self.root, "credentials")
        with open(self.credentials_file, "w") as f:
            f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % self.FAKE_CREDENTIALS)
        self.port = free_port()
        self.pid = None
        self.peers_dir = os.environ.get("PEERS_DIR", "/tmp/peers")

    def start(self, timeout=None):
        if not os.path.isdir(os.path.join(self.peers_dir, "node_modules", "kinesalite")):
            subprocess.run(["bash", os.path.join(SHARED, "peers", "install.sh")], check=True,
                           stdout=subprocess.DEVNULL)
        env = dict(os.environ, AWS_REGION=self.region)
        p = subprocess.run(["bash", os.path.join(SHARED, "peers", "start.sh"), self.peer,
                            str(self.port)], capture_output=True, text=True, env=env, timeout=60)
        if p.returncode != 0:
            raise ServerStartError("kinesalite did not start: %s %s" % (p.stdout, p.stderr))
        self.pid = int(p.stdout.strip().splitlines()[-1])
        return self

    def stop(self, timeout=10.0):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and os.path.exists("/proc/%d" % self.pid):
                time.sleep(0.05)
            self.pid = None

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def credentials(self):
        return self.FAKE_CREDENTIALS


class KinesisLocalServer(KinesaliteServer):
    peer = "kinesis-local"


def new_server(**options):
    if TARGET == "kinesalite":
        return KinesaliteServer(**options)
    if TARGET == "kinesis-local":
        return KinesisLocalServer(**options)
    return MillraceServer(**options)


# --------------------------------------------------------------------------- AWS CLI

_CLI_VERSION = None


def aws_cli_version():
    global _CLI_VERSION
    if _CLI_VERSION is None:
        exe = shutil.which("aws")
        if not exe:
            _CLI_VERSION = ""
        else:
            p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
            _CLI_VERSION = (p.stdout + p.stderr).strip()
    return _CLI_VERSION


def aws_cli_is_v2():
    return aws_cli_version().startswith("aws-cli/2")


def aws_cli(server, *args, check=True, timeout=60, credentials_file=None, service="kinesis"):
    """Runs `aws --endpoint-url URL --output json SERVICE ARGS` with the server's credentials
    file; returns the parsed JSON (None for an empty answer). With check=False returns
    (returncode, parsed-or-text, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_SHARED_CREDENTIALS_FILE": credentials_file or server.credentials_file,
        "AWS_CONFIG_FILE": os.path.join(tempfile.gettempdir(), "millrace-e2e-no-aws-config"),
        "AWS_DEFAULT_REGION": server.region,
        "AWS_PAGER": "",
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "1",
    })
    cmd = ["aws", "--endpoint-url", server.endpoint, "--output", "json", service] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    out = p.stdout.strip()
    try:
        parsed = json.loads(out) if out else None
    except ValueError:
        parsed = out
    if not check:
        return p.returncode, parsed, p.stderr
    if p.returncode != 0:
        raise AssertionError("%s\nexit %d\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return parsed


# --------------------------------------------------------------------------- test base

class KinesisTestCase(unittest.TestCase):
    """Each class gets its own server (setUpClass), a boto3 client `kinesis` and a raw
    client `raw`. Override `server_options` to pass MillraceServer options."""

    server_options = {}
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = new_server(**cls.server_options)
        try:
            cls.server.start()
            cls.kinesis = cls.server.client()
            cls.kinesis_nv = cls.server.client(validate=False)
            cls.raw = cls.server.raw()
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        for attr in ("kinesis", "kinesis_nv"):
            client = cls.__dict__.get(attr)
            if client is not None and hasattr(client, "close"):
                client.close()
        cls.server.close()
        super().tearDownClass()

    # ---- generic call: boto3 when the installed botocore knows the op/params, else raw
    def call(self, op, _raw=False, **params):
        """Calls `op` through boto3 when the installed botocore knows it and its parameters,
        else (or with _raw=True, e.g. when old botocore would drop new output members) with
        the raw client; returns the parsed answer or raises ClientError either way."""
        if not _raw and botocore_has(op) and all(botocore_has(op, p) for p in params):
            method = botocore.xform_name(op)
            return getattr(self.kinesis, method)(**params)
        resp = self.raw.call(op, params)
        if resp.status != 200:
            raise ClientError({"Error": {"Code": resp.error_type or "", "Message": resp.message or ""},
                               "ResponseMetadata": {"HTTPStatusCode": resp.status}}, op)
        return resp.json or {}

    # ---- errors
    @contextlib.contextmanager
    def assertAwsError(self, code, message=None, status=400, message_regex=None):
        """with self.assertAwsError('ResourceNotFoundException', 'Stream x ...'): client call"""
        with self.assertRaises(ClientError) as cm:
            yield cm
        err = cm.exception.response.get("Error", {})
        got_status = cm.exception.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        self.assertEqual(err.get("Code"), code, "error code; full error: %r" % (err,))
        if message is not None:
            self.assertEqual(err.get("Message"), message, "error message")
        if message_regex is not None:
            self.assertRegex(err.get("Message") or "", message_regex)
        if status is not None:
            self.assertEqual(got_status, status, "HTTP status of %s" % code)

    def assertRawError(self, resp, code, message=None, status=400, message_regex=None):
        self.assertEqual(resp.status, status, "HTTP status; response: %r" % resp)
        self.assertEqual(resp.error_type, code, "error type; response: %r" % resp)
        if message is not None:
            self.assertEqual(resp.message, message, "error message; response: %r" % resp)
        if message_regex is not None:
            self.assertRegex(resp.message or "", message_regex)

    def assertValidation(self, resp_or_cm, message):
        """ValidationException with exactly `message`, HTTP 400."""
        if isinstance(resp_or_cm, RawResponse):
            self.assertRawError(resp_or_cm, "ValidationException", message)
        else:
            raise TypeError(resp_or_cm)

    # ---- streams
    def stream_name(self, prefix=None):
        return unique_name(prefix or self.__class__.__name__.lower()[:20])

    def create_stream(self, name=None, shards=1, mode=None, wait=True, **extra):
        name = name or self.stream_name()
        params = dict(StreamName=name, **extra)
        if shards is not None:
            params["ShardCount"] = shards
        if mode is not None:
            params["StreamModeDetails"] = {"StreamMode": mode}
        self.call("CreateStream", **params)
        if wait:
            self.wait_active(name)
        return name

    def summary(self, name):
        return self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]

    def wait_active(self, name, timeout=20.0):
        """Polls DescribeStreamSummary every 50 ms until ACTIVE (boto3 waiters poll every 10 s)."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.summary(name)["StreamStatus"]
            if status == "ACTIVE":
                return
            time.sleep(0.05)
        self.fail("stream %s not ACTIVE after %.0f s (last status %s)" % (name, timeout, status))

    def wait_gone(self, name, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.summary(name)
            except ClientError as e:
                if e.response["Error"]["Code"] == "ResourceNotFoundException":
                    return
                raise
            time.sleep(0.05)
        self.fail("stream %s still exists after %.0f s" % (name, timeout))

    def shards(self, name):
        out, kw = [], {}
        while True:
            d = self.kinesis.describe_stream(StreamName=name, **kw)["StreamDescription"]
            out += d["Shards"]
            if not d["HasMoreShards"] or not d["Shards"]:
                return out
            kw = {"ExclusiveStartShardId": d["Shards"][-1]["ShardId"]}

    def iterator(self, name, shard, kind="TRIM_HORIZON", **kw):
        return self.kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                               ShardIteratorType=kind, **kw)["ShardIterator"]

    def read_shard(self, name, shard, kind="TRIM_HORIZON", limit=None, max_calls=1000,
                   client=None, **kw):
        """Reads a shard from `kind` to its tip (an empty answer with MillisBehindLatest 0)
        or to its end (no NextShardIterator). Returns (records, last_response)."""
        client = client or self.kinesis
        it = client.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind,
                                       **kw)["ShardIterator"]
        records, last = [], None
        for _ in range(max_calls):
            args = {"ShardIterator": it}
            if limit:
                args["Limit"] = limit
            last = client.get_records(**args)
            records += last["Records"]
            it = last.get("NextShardIterator")
            if not it:
                break
            if not last["Records"] and last.get("MillisBehindLatest", 0) == 0:
                break
        else:
            self.fail("shard %s of %s not read to its tip in %d calls" % (shard, name, max_calls))
        return records, last

    def read_all(self, name, client=None):
        """{shard id: [records]} for every shard of the stream, from TRIM_HORIZON."""
        return {s["ShardId"]: self.read_shard(name, s["ShardId"], client=client)[0]
                for s in self.shards(name)}
