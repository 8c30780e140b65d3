"""The AWS SDK for Go v2 from Debian (golang-github-aws-aws-sdk-go-v2-dev), built offline in
GOPATH mode from tests/e2e/go_sdk/main.go: Kinesis with the SDK's defaults but for the
endpoint, including SubscribeToShard."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import REPO, MillraceServer, millrace_only, unique_name

GOCODE = "/usr/share/gocode"  # where Debian's Go library packages put their sources


@millrace_only("the Go SDK is tested against the real binary")
class GoSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("go") is None or not os.path.isdir(
                os.path.join(GOCODE, "src", "github.com", "aws", "aws-sdk-go-v2", "service", "kinesis")):
            raise AssertionError("go and golang-github-aws-aws-sdk-go-v2-dev are installed by "
                                 "scripts/install-deps.sh; run it (make test does)")
        cls.tmp = tempfile.mkdtemp(prefix="millrace-go-")
        cls.binary = os.path.join(cls.tmp, "go_sdk")
        env = dict(os.environ, GO111MODULE="off", GOPATH=GOCODE, GOCACHE=os.path.join(cls.tmp, "cache"),
                   GOFLAGS="", GOPROXY="off")
        p = subprocess.run(["go", "build", "-o", cls.binary, "main.go"],
                           cwd=os.path.join(REPO, "tests", "e2e", "go_sdk"), env=env,
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise AssertionError("go build failed:\n" + p.stdout + p.stderr)
        cls.server = MillraceServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_go_sdk_v2_with_its_defaults(self):
        key, secret = self.server.credentials()
        p = subprocess.run([self.binary, self.server.endpoint, key, secret, unique_name("go")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.server.log_tail(20))
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(len(set(out["put"])), 3)
        self.assertEqual(out["read"], ["go-first", "go-second", "go-third"])
        self.assertEqual(out["subscribed"], ["go-first", "go-second", "go-third"])
        self.assertEqual(out["error"], "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main()
