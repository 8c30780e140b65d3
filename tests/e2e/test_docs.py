"""The README and docs/ as a new user reads them: every code block marked runnable
(`<!-- runnable -->` on the line before its fence) is run as written against a fresh server,
in a fresh directory that holds the build as `build/` and the server's data as `data/`, as
after `make run` (only the port differs: each test's server has its own, so 127.0.0.1:4580 in
a block becomes that port). The environment is the one the README's first block sets up.

And the flags: every flag `millrace <command> --help` prints is documented, and every flag
the docs give a `millrace` command exists in its help (docs that name a flag that does not
exist, or commands with flags nobody documented, fail here)."""
import os
import re
import subprocess
import sys
import unittest

import harness
from harness import MillraceServer, millrace_only

REPO = harness.REPO
RUNNABLE = re.compile(r"<!-- runnable -->[ \t]*\n```(sh|python)\n(.*?)\n```", re.S)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMANDS = ("serve", "keys", "share", "datasets", "consumers", "transformations", "change-streams",
            "streams")


def doc_files():
    out = [os.path.join(REPO, "README.md")]
    for dirpath, _, files in os.walk(os.path.join(REPO, "docs")):
        out += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".md")]
    return out


def read(path):
    with open(path) as f:
        return f.read()


def runnable_blocks(path):
    return RUNNABLE.findall(read(path))


def binary():
    return os.environ.get("MILLRACE_BIN") or os.path.join(REPO, "build", "bin", "millrace")


def help_text(command):
    out = subprocess.run([binary(), command, "--help"], capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


def documented_millrace_flags(text):
    """Flags given to a `millrace` command in the docs: on command lines of code blocks (and
    their continuation lines), and in inline code spans that start with `millrace `."""
    found = []
    in_code = False
    continuing = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continuing = False
            continue
        if in_code:
            stripped = line.strip()
            if stripped.startswith("$ "):
                stripped = stripped[2:]
            if continuing or re.match(r"(build/bin/)?millrace (%s)\b" % "|".join(COMMANDS), stripped):
                found += [(f, line) for f in FLAG.findall(stripped.split("#")[0])]
                continuing = stripped.endswith("\\")
            continue
        for span in re.findall(r"`((?:build/bin/)?millrace (?:%s)\b[^`]*)`" % "|".join(COMMANDS), line):
            found += [(f, span) for f in FLAG.findall(span)]
    return found


class DocFlagsTest(unittest.TestCase):
    def test_every_flag_in_help_is_documented_and_every_documented_flag_exists(self):
        docs = "".join(read(p) for p in doc_files())
        helps = {c: help_text(c) for c in COMMANDS}
        for command, text in helps.items():
            self.assertIn("Usage", text, command)
            for flag in sorted(set(FLAG.findall(text))):
                with self.subTest(command=command, flag=flag):
                    self.assertTrue(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(flag), docs),
                                    "millrace %s --help has %s; no document names it" % (command, flag))
        known = set()
        for text in helps.values():
            known |= set(FLAG.findall(text))
        known |= {"--help"}
        for path in doc_files():
            for flag, where in documented_millrace_flags(read(path)):
                with self.subTest(doc=os.path.relpath(path, REPO), flag=flag):
                    self.assertIn(flag, known, "%s names %s (in %r), which no millrace --help has"
                                  % (os.path.relpath(path, REPO), flag, where))


@millrace_only("runs the README's and docs' examples against the real server")
class RunnableDocsTest(unittest.TestCase):
    def run_document(self, rel):
        blocks = runnable_blocks(os.path.join(REPO, rel))
        self.assertTrue(blocks, "%s has no runnable block" % rel)
        server = MillraceServer()
        server.start()
        try:
            build = os.path.dirname(os.path.dirname(os.path.abspath(server.binary)))
            os.symlink(build, os.path.join(server.root, "build"))
            env = dict(os.environ,
                       AWS_SHARED_CREDENTIALS_FILE="./data/credentials",
                       AWS_DEFAULT_REGION="us-east-1",
                       PATH=os.path.join(server.root, "build", "bin") + os.pathsep + os.environ["PATH"],
                       MILLRACE_ENDPOINT="http://127.0.0.1:%d" % server.port)
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                      "AWS_PROFILE", "MILLRACE_DATA_DIR"):
                env.pop(k, None)
            for i, (lang, code) in enumerate(blocks):
                code = code.replace("127.0.0.1:4580", "127.0.0.1:%d" % server.port)
                cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else \
                    [sys.executable if lang == "python" else lang, "-c", code]
                out = subprocess.run(cmd, cwd=server.root, env=env, capture_output=True, text=True,
                                     timeout=300)
                self.assertEqual(out.returncode, 0, "%s, runnable block %d failed:\n%s\n--- stdout\n%s"
                                 "\n--- stderr\n%s\n--- server log\n%s" % (
                                     rel, i + 1, code, out.stdout[-3000:], out.stderr[-3000:],
                                     server.log_tail(30)))
                yield i, out
        finally:
            server.close()

    def test_readme(self):
        outputs = {i: out for i, out in self.run_document("README.md")}
        # The happy path: the records came out in the dataset, nothing failed.
        self.assertIn('{"user": "ana", "page": "/home"}', outputs[2].stdout)
        self.assertIn('{"user": "bo", "page": "/cart"}', outputs[2].stdout)
        self.assertIn('"state": "RUNNING"', outputs[2].stdout)
        self.assertIn('"records_format_conversion_failed": 0', outputs[2].stdout)

    def test_docs(self):
        ran = 0
        for path in doc_files():
            rel = os.path.relpath(path, REPO)
            if rel == "README.md" or not runnable_blocks(path):
                continue
            with self.subTest(doc=rel):
                for _ in self.run_document(rel):
                    ran += 1
        self.assertGreaterEqual(ran, 2)


if __name__ == "__main__":
    unittest.main()
