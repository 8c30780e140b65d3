"""The producer script of the Streams use case (../shared/seeds/003_72ec196859603090.txt), kept
in seed_producer.py as the page gives it: only its indentation restored (the page lost it), the
endpoint_url added, and its two credential placeholders read from the environment (plus the
`import os` that needs). It sends every line of ./data.csv with put_record to "My-Stream" in
eu-west-1; here it runs with a producer key scoped to that stream, and every record is then read
back with GetRecords and compared with the file."""

import csv
import io
import os
import random
import subprocess
import sys
import shutil
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

from harness import (HERE, TARGET, KinesisTestCase, md5_hash_key, shard_for_hash)

SECTORS = ["FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL"]
NAMES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
         "Hooli", "Vandelay", "Wonka", "Gringotts", "Müller", "Société Générale", "Nakatomi", "Ørsted",
         "Pied Piper", "Oscorp", "Aperture", "Massive Dynamic", "Duff", "Monarch", "Dunder Mifflin"]


def make_csv(n=120, seed=3):
    rnd = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["company_id", "company_name", "ticker", "sector", "market_cap_musd", "employees"])
    for i in range(1, n + 1):
        name = "%s %s" % (rnd.choice(NAMES), rnd.choice(["Corp", "Inc", "AG", "SA", "Holdings", "Group"]))
        ticker = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        w.writerow([i, name, ticker, SECTORS[i % len(SECTORS)], "%.2f" % rnd.uniform(10, 90000),
                    rnd.randint(5, 250000)])
    return out.getvalue()


class SeedProducerTest(KinesisTestCase):
    server_options = {"region": "eu-west-1"}

    def wait_key_known(self, creds, timeout=5.0):
        """A new key is picked up within ~1 s: wait until the server knows it (a producer key
        may not ListStreams, so AccessDenied means known)."""
        c = self.server.client(credentials=creds)
        deadline = time.monotonic() + timeout
        while True:
            try:
                c.list_streams()
                return
            except ClientError as e:
                code = e.response["Error"]["Code"]
                if code == "AccessDeniedException":
                    return
                if code != "UnrecognizedClientException" or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def test_seed_producer_script(self):
        stream = "My-Stream"
        self.kinesis.create_stream(StreamName=stream, ShardCount=2)
        self.wait_active(stream)
        if TARGET == "millrace":
            key = self.server.create_key("producer", [stream])
            creds = (key["AccessKeyId"], key["SecretAccessKey"])
            self.wait_key_known(creds)
        else:
            creds = self.server.credentials()

        work = tempfile.mkdtemp(prefix="seed-producer-")
        try:
            text = make_csv()
            with open(os.path.join(work, "data.csv"), "w", encoding="utf-8") as f:
                f.write(text)
            lines = text.splitlines(keepends=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({"MILLRACE_ENDPOINT_URL": self.server.endpoint, "ACCESS_KEY_ID": creds[0],
                        "SECRET_ACCESS_KEY": creds[1], "AWS_CONFIG_FILE": os.devnull,
                        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "PYTHONIOENCODING": "utf-8"})
            p = subprocess.run([sys.executable, os.path.join(HERE, "seed_producer.py")], cwd=work,
                               env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)
            self.assertEqual(p.returncode, 0, "seed_producer.py failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-4000:]))
        finally:
            shutil.rmtree(work, ignore_errors=True)

        out = p.stdout.splitlines()
        sent = [l for l in out if l.startswith("Message sent #")]
        self.assertEqual(sent, ["Message sent #%d" % i for i in range(1, len(lines) + 1)])
        self.assertNotIn("Error!", out)
        self.assertEqual(out[-1], repr(lines))

        shards = self.shards(stream)
        got = self.read_all(stream)
        records = [r for recs in got.values() for r in recs]
        self.assertEqual(sorted(r["Data"].decode("utf-8") for r in records), sorted(lines))
        for sid, recs in got.items():
            # In each shard, the lines come in the file's order (the script sends them one by one).
            idx = [lines.index(r["Data"].decode("utf-8")) for r in recs]
            self.assertEqual(idx, sorted(idx), sid)
            for r in recs:
                self.assertRegex(r["PartitionKey"], r"^-?\d+$")
                self.assertEqual(shard_for_hash(shards, md5_hash_key(r["PartitionKey"])), sid)
        self.assertGreater(min(len(v) for v in got.values()), 0, "hash(line) keys should spread over both shards")

        # What the use case's consumers then do: split by sector (4th column).
        by_sector = {}
        for r in records:
            fields = r["Data"].decode("utf-8").split(",")
            by_sector.setdefault(fields[3].strip(), []).append(r)
        for s in SECTORS:
            self.assertEqual(len(by_sector[s]), sum(1 for l in lines[1:] if l.split(",")[3] == s), s)


if __name__ == "__main__":
    unittest.main()
