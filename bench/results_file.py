"""The results file of a benchmark run: bench/results/<name>-<date>.jsonl (not in git), one
JSON document per line, each also printed."""
import json
import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emitter(name):
    """A function that prints a document and appends it to today's results file of `name`."""
    path = os.path.join(REPO, "bench", "results", "%s-%s.jsonl" % (name, time.strftime("%Y-%m-%d")))

    def emit(doc):
        print(json.dumps(doc), flush=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(doc) + "\n")
    return emit
