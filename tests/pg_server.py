"""A real PostgreSQL server for the integration tests, started from the Debian package's binaries.

``initdb`` into a fresh temporary folder, ``pg_stat_statements`` preloaded, listening on 127.0.0.1
on a free port, with a small ``max_connections`` and a few superuser-reserved slots, so the
connection-exhaustion case can fill the ordinary slots while the (superuser) source still gets in.

``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then the server runs as an
unprivileged user (``nobody``, or ``incident-flow-pg`` created with ``useradd`` when there is no
``nobody``) through ``subprocess``'s ``user=``/``group=``, in a data folder that user owns. So CI
only needs ``apt-get install -y postgresql``.

When the binaries are missing the tests are skipped locally, but fail when ``CI=true``: the
integration tests must run in CI, never silently skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

SUPERUSER = "postgres"
APP_ROLE = "app"
MAX_CONNECTIONS = 20
SUPERUSER_RESERVED = 3
FALLBACK_USER = "incident-flow-pg"


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: ``$PG_BINDIR``, the newest Debian one, or PATH."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "postgres").exists():
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name.split(".")[0]),
        reverse=True,
    )
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when not root; else ``nobody`` (or a system user created for the purpose)."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(FALLBACK_USER)


@attrs.define
class PostgresServer:
    """A running server: its port, data folder and process; ``dsn()`` for any role and database."""

    bindir: Path
    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def dsn(self, *, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={dbname} connect_timeout=5"

    def connect(self, *, user: str = SUPERUSER, dbname: str = "postgres", **kwargs: Any) -> Any:
        """A psycopg connection in autocommit mode (the workload and the fixture's own set-up)."""
        import psycopg

        return psycopg.connect(self.dsn(user=user, dbname=dbname), autocommit=True, **kwargs)

    def create_database(self, name: str) -> str:
        """A fresh database owned by the application role, with pg_stat_statements; its name."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        with self.connect(dbname=name) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _run_as(user: pwd.struct_passwd | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def start_server(bindir: Path) -> PostgresServer:
    """initdb, then start ``postgres``; returns once it accepts connections (or fails with its log)."""
    user = _unprivileged_user()
    # Under /tmp when the server runs as another user: $TMPDIR may sit in a folder it cannot enter.
    base = "/tmp" if user is not None and os.path.isdir("/tmp") else None
    folder = Path(tempfile.mkdtemp(prefix="incident-flow-pg-", dir=base))
    data = folder / "data"
    log = folder / "server.log"
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
    env.pop("PGDATA", None)
    init = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        capture_output=True,
        env=env,
        cwd=folder,
        **_run_as(user),
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
    port = _free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(folder),
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.track": "all",
        "max_connections": str(MAX_CONNECTIONS),
        "superuser_reserved_connections": str(SUPERUSER_RESERVED),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "64MB",
        "max_wal_size": "1GB",
        "deadlock_timeout": "1s",
        "log_min_messages": "warning",
        "dynamic_shared_memory_type": "mmap",
    }
    command = [str(bindir / "postgres"), "-D", str(data)]
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    with open(log, "wb") as out:
        if user is not None:
            os.chown(log, user.pw_uid, user.pw_gid)
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, **_run_as(user)
        )
    server = PostgresServer(bindir=bindir, folder=folder, port=port, process=process, log=log)
    deadline = time.monotonic() + 30
    import psycopg

    while True:
        if process.poll() is not None:
            tail = server.log_tail()
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"postgres exited with {process.returncode}:\n{tail}")
        try:
            with server.connect() as conn:
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"postgres did not accept connections within 30s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.1)
    return server


def require_bindir() -> Path:
    """The binaries, or a skip (locally) / a failure (with ``CI=true``) naming what to install."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL binaries not found (apt-get install -y postgresql, or set PG_BINDIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: the integration tests must run in CI")
        pytest.skip(message)
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the session (started in a few seconds, stopped and removed at the end)."""
    server = start_server(require_bindir())
    try:
        yield server
    finally:
        server.stop()
