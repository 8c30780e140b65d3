"""PutRecord from a web page: the browser build of the AWS SDK for JavaScript v3 in headless
Chromium (Debian's), the page served from another origin, so the calls are cross-origin
requests that need the CORS answers (preflight and headers) AWS gives
(tests/e2e/kinesis_browser.mjs)."""

import json
import os
import subprocess
import unittest

from harness import REPO, KinesisTestCase, millrace_only, shard_id

SCRIPT = os.path.join(REPO, "tests", "e2e", "kinesis_browser.mjs")


@millrace_only("the browser test runs against Millrace")
class BrowserTest(KinesisTestCase):

    def test_put_record_from_a_page_with_the_sdks_browser_build(self):
        name = self.create_stream(shards=1)
        key, secret = self.server.credentials()
        p = subprocess.run(["node", SCRIPT, self.server.endpoint, key, secret, name],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            self.fail("node %s failed (%d):\n%s\n%s" % (SCRIPT, p.returncode, p.stdout, p.stderr))
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertNotEqual(out["origin"], self.server.endpoint)  # a cross-origin page
        self.assertEqual(out["put"]["ShardId"], shard_id(0))
        # The error reached the page as the SDK's typed exception (the CORS headers expose it).
        self.assertEqual(out["error"], {"name": "ResourceNotFoundException", "status": 400})
        it = self.iterator(name, shard_id(0))
        got = self.kinesis.get_records(ShardIterator=it)["Records"]
        self.assertEqual([(r["Data"], r["PartitionKey"], r["SequenceNumber"]) for r in got],
                         [(b"from a page", "browser", out["put"]["SequenceNumber"])])


if __name__ == "__main__":
    unittest.main()
