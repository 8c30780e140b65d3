"""A throwaway PostgreSQL 15 (Debian's postgresql-15) for the e2e tests: initdb in a temporary
directory, listening only on a Unix socket there, trust authentication, removed on stop.
As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root)."""
import os
import shutil
import subprocess
import tempfile

PG_BIN = "/usr/lib/postgresql/15/bin"


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="millrace-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = 5432  # on the socket in self.dir only: no TCP port is taken
        self._as = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            os.chmod(self.dir, 0o755)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args, timeout=120):
        out = subprocess.run(self._as + list(args), capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise AssertionError("%s failed: %s" % (args[0], (out.stdout + out.stderr)[-2000:]))
        return out.stdout

    def start(self):
        self._run(os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale", "C")
        opts = "-k %s -c listen_addresses='' -p %d -c fsync=off" % (self.dir, self.port)
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-o", opts, "-w",
                  "-l", os.path.join(self.dir, "log"), "start")
        return self

    def psql(self, sql):
        """Runs `sql` with psql (as the caller: \\copy reads the caller's files); returns the
        rows as lists of strings (unaligned, '|'-separated; NULL as <NULL>)."""
        out = subprocess.run(["psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                              "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-P", "null=<NULL>", "-c", sql],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise AssertionError("psql failed on %s: %s" % (sql, out.stderr[-2000:]))
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def stop(self):
        try:
            self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
