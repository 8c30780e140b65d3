"""A throwaway PostgreSQL 15 (Debian's postgresql-15) for the e2e tests: initdb in a temporary
directory, listening on a Unix socket there (and, with tcp=True, on a free loopback port),
trust authentication, removed on stop. With logical=True, wal_level = logical (what change
streams need). As root, the server runs as the `postgres` user (PostgreSQL refuses to run
as root)."""
import os
import shutil
import socket
import subprocess
import tempfile

PG_BIN = "/usr/lib/postgresql/15/bin"


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, logical=False, tcp=False):
        self.dir = tempfile.mkdtemp(prefix="millrace-pg-")
        self.data = os.path.join(self.dir, "data")
        self.logical = logical
        self.tcp = tcp
        # Without tcp, on the socket in self.dir only: no TCP port is taken.
        self.port = free_port() if tcp else 5432
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
        self._start()
        return self

    def _start(self):
        opts = "-k %s -c listen_addresses='%s' -p %d -c fsync=off" % (
            self.dir, "127.0.0.1" if self.tcp else "", self.port)
        if self.logical:
            opts += " -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20"
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-o", opts, "-w",
                  "-l", os.path.join(self.dir, "log"), "start")

    def restart(self, mode="fast"):
        """Stops PostgreSQL (fast or immediate: a crash) and starts it again."""
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")
        self._start()

    def dsn(self, dbname="postgres", user="postgres"):
        """A libpq connection string for Millrace: the loopback port with tcp, else the socket."""
        host = "127.0.0.1" if self.tcp else self.dir
        return "host=%s port=%d dbname=%s user=%s" % (host, self.port, dbname, user)

    def psql(self, sql, dbname="postgres"):
        """Runs `sql` with psql (as the caller: \\copy reads the caller's files); returns the
        rows as lists of strings (unaligned, '|'-separated; NULL as <NULL>)."""
        out = subprocess.run(["psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                              "-d", dbname,
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
