"""Throwaway PostgreSQL and Redis servers on free loopback ports, for tests and benches.

``TEST_DATABASE_URL`` / ``REDIS_URL`` point at existing servers instead. When a server cannot be
started, tests that need it skip — unless ``REQUIRE_SERVICES=1`` (CI), where they fail.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class ServiceUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise ServiceUnavailable(f"{what} did not open port {port} in {timeout}s")


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise ServiceUnavailable(f"{name} not found (apt-get install postgresql)")
    return found


@dataclass
class PostgresServer:
    url: str  # base URL without a database name, e.g. postgresql+psycopg://postgres@127.0.0.1:5433
    proc: subprocess.Popen | None = None
    datadir: str | None = None

    def database_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.datadir:
            remove_later(self.datadir)


def remove_later(path: str) -> None:
    """Delete a throwaway data directory without waiting for it: on a disk that discards freed
    blocks one by one, a server's thousands of files can take minutes to unlink, and the test
    session must not hang on that."""
    os.spawnlp(os.P_NOWAIT, "rm", "rm", "-rf", path)  # no Popen object: nothing to warn about later


def real_clock_env() -> dict[str, str]:
    """The environment without libfaketime's preload: the throwaway servers run on the real
    clock (Redis misbehaves under the preload) while the tests and the app see the pinned time."""
    env = dict(os.environ)
    preload = [p for p in env.get("LD_PRELOAD", "").split(":") if p and "faketime" not in p]
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    else:
        env.pop("LD_PRELOAD", None)
    for key in [k for k in env if k.startswith("FAKETIME")]:
        env.pop(key)
    return env


def start_postgres() -> PostgresServer:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        base = given.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return PostgresServer(url=base)
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    datadir = tempfile.mkdtemp(prefix="daogou-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(datadir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(datadir, "data")
    subprocess.run([*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True, env=real_clock_env())
    port = free_port()
    proc = subprocess.Popen(
        [*as_user, postgres, "-D", data, "-p", str(port), "-h", "127.0.0.1", "-k", datadir,
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=1000", "-c", "shared_buffers=256MB"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=real_clock_env())
    _wait_port(port, proc, "postgres")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    # The port opens a moment before the server accepts logins.
    import psycopg
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return PostgresServer(url=url, proc=proc, datadir=datadir)


def pg_admin(server: PostgresServer, sql: str) -> None:
    import psycopg

    plain = server.url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_database(kind: str, name: str, sqlite_path: str | None = None) -> Iterator[tuple[str, str]]:
    """(database URL, new temporary folder) for a bench: an empty SQLite file in that folder (or
    at ``sqlite_path``), or for ``kind`` "postgresql" database ``name`` on a throwaway server,
    stopped afterwards."""
    folder = tempfile.mkdtemp(prefix=f"daogou-{name.replace('_', '-')}-")
    if kind != "postgresql":
        yield f"sqlite:///{sqlite_path or os.path.join(folder, 'bench.sqlite3')}", folder
        return
    server = start_postgres()
    try:
        pg_admin(server, f"CREATE DATABASE {name}")
        yield server.database_url(name), folder
    finally:
        server.stop()


@dataclass
class RedisServer:
    url: str
    proc: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_redis() -> RedisServer:
    if os.environ.get("REDIS_URL"):
        return RedisServer(url=os.environ["REDIS_URL"])
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceUnavailable("redis-server not found (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=real_clock_env())
    _wait_port(port, proc, "redis-server")
    return RedisServer(url=f"redis://127.0.0.1:{port}/0", proc=proc)
