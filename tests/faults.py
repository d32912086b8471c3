"""Helpers for the reliability tests: small incidents to run, servers to break, checks to repeat.

- :func:`write_case` writes a case folder (a config and an application log in which a dependency
  starts failing ten minutes before detection), so a run has a finding to keep while a fault is
  injected beside it. ``marker`` puts a distinct word in every error line, to tell runs apart.
- :func:`assert_survived` is the check every fault test ends with: the run finished within its
  bound, the report names the failed source with a reason, the other findings are intact, and
  the audit trail verifies against the report's final hash.
- :class:`Prometheus` starts the Debian ``prometheus`` binary on 127.0.0.1 (scraping itself once a
  second, so it has series after a few seconds) and can kill, stop or resume it.
- :func:`peak_rss_mb` runs a command and returns its peak resident memory (``os.wait4``).
- :class:`SlowHttpServer` is a loopback HTTP server that answers the way a broken one does: never,
  with garbage, or by hanging up half-way through the body.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from incident_flow.audit import verify_trail
from incident_flow.model import Report

__all__ = [
    "INTACT_FINDING",
    "Prometheus",
    "SlowHttpServer",
    "assert_survived",
    "free_port",
    "incident_log",
    "peak_rss_mb",
    "require_binary",
    "write_case",
    "write_large_log",
]

#: The start of the title of the ops finding that the log of :func:`write_case` gives
#: (``connection failure calling redis: ...`` when it names the peer).
INTACT_FINDING = "connection failure"
_ROUTES = ("/api/orders", "/api/cart", "/api/checkout", "/api/items", "/health")


def free_port() -> int:
    """A TCP port nobody listens on (now) on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(name: str) -> str:
    """The path of ``name``, or a skip (locally) / a failure (``CI=true``): CI must run these tests."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not on PATH (Debian: apt-get install prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true, so this integration test must run, not skip")
        pytest.skip(reason)
    return path


# -- a small incident ------------------------------------------------------------------------------


def incident_log(
    detected_at: datetime,
    *,
    component: str = "orders",
    marker: str = "",
    dependency: str = "redis.internal:6379",
    minutes: int = 90,
    onset_minutes: int = 10,
    seed: int = 1,
) -> str:
    """Python-logging lines of ``component``: quiet traffic, then a dependency failing at the onset.

    From ``detected_at - onset_minutes`` on, about six errors a minute say that ``dependency``
    refuses connections, each followed by a short traceback; ``marker`` goes into every error line.
    """
    rng = random.Random(seed)
    minute = detected_at.replace(second=0, microsecond=0)  # the same lines whatever the seconds
    start = minute - timedelta(minutes=minutes)
    onset = minute - timedelta(minutes=onset_minutes)
    lines: list[str] = []
    moment = start
    while moment < detected_at + timedelta(minutes=2):
        stamp = f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}"
        route = rng.choice(_ROUTES)
        lines.append(
            f"{stamp} INFO [{component}] {route} 200 in {rng.randint(20, 90)}ms user=u{rng.randint(1, 9999)}"
        )
        if moment >= onset and rng.random() < 0.5:
            tag = f" [{marker}]" if marker else ""
            lines.append(
                f"{stamp} ERROR [{component}] connection to {dependency} refused{tag} "
                f"after {rng.randint(1, 30)}ms; request {rng.randint(10**5, 10**6)} failed"
            )
            lines.append("Traceback (most recent call last):")
            lines.append(f'  File "/srv/{component}/app.py", line 42, in handle')
            lines.append(f"ConnectionRefusedError: [Errno 111] Connection refused{tag}")
        moment += timedelta(seconds=rng.uniform(3, 7))
    return "\n".join(lines) + "\n"


def write_case(
    folder: Path,
    detected_at: datetime,
    *,
    component: str = "orders",
    marker: str = "",
    dependency: str = "redis.internal:6379",
    extra: str = "",
    settings: str = "",
) -> Path:
    """A case folder: ``logs/<component>.log`` and ``incident-flow.toml``; returns the config's path.

    ``extra`` is appended to the config (more ``[[sources]]``); ``settings`` goes into its
    ``[settings]`` table (``lookback = "2h"`` is always there).
    """
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{component}.log").write_text(
        incident_log(detected_at, component=component, marker=marker, dependency=dependency), encoding="utf-8"
    )
    config = folder / "incident-flow.toml"
    config.write_text(
        f'[settings]\nlookback = "2h"\n{settings}\n\n'
        f'[[sources]]\nname = "{component}-logs"\ntype = "logs"\npaths = ["logs/{component}.log"]\n'
        f'component = "{component}"\n\n{extra}\n',
        encoding="utf-8",
    )
    return config


def assert_survived(
    report: Report,
    *,
    elapsed: float,
    bound: float,
    failed: dict[str, str] | None = None,
    finding: str | None = INTACT_FINDING,
    cause: str | None = None,
    audit_ok: bool = True,
) -> None:
    """The checks every fault test ends with.

    ``failed`` maps each source that must be named under ``source_problems`` to a word its reason
    must contain; ``finding`` is the title of the ops finding that must survive the fault and
    ``cause`` a component that must stay among the first three root causes (None: skip either);
    ``audit_ok`` says whether the trail must verify against the report's final hash.
    """
    assert elapsed < bound, f"the run took {elapsed:.1f}s, more than the {bound:g}s allowed"
    problems: dict[str, list[str]] = {}
    for problem in report.source_problems:
        problems.setdefault(problem.source, []).append(problem.error)
        assert "\n" not in problem.error
    for source, reason in (failed or {}).items():
        assert source in problems, f"{source} is not among the source problems: {problems}"
        assert any(reason.lower() in error.lower() for error in problems[source]), (source, problems[source])
        assert source in report.to_markdown()
    if finding is not None:
        titles = [f.title for f in report.findings if f.investigator == "ops"]
        assert any(finding in title for title in titles), f"the other findings were lost: {titles}"
    if cause is not None:
        assert cause in [c.component for c in report.root_causes[:3]], report.root_causes
    if audit_ok:
        audit = report.audit
        assert audit.get("error") is None, audit.get("error")
        result = verify_trail(audit["path"], expected_final_hash=audit["final_hash"])
        assert result.ok, result.problem
        assert result.records == audit["records"]


# -- large logs and memory ------------------------------------------------------------------------

_MESSAGES = (
    "GET /api/orders/{n} took {ms}ms",
    "user u{u} logged in from 10.0.{a}.{b}",
    "cache miss for key sess:{h}",
    "connection to db-{a}.internal:5432 reset after {ms}ms",
    "processed batch {n} with {a} items",
)
_LEVELS = ("INFO", "INFO", "INFO", "WARNING", "ERROR")


def write_large_log(path: Path, size_mb: float, *, seed: int = 1) -> int:
    """Write a Python-logging file of about ``size_mb`` MB (10**6 bytes); returns its line count.

    Five message types with random values, four services, one line every 5 ms from a fixed start.
    The same arguments always give the same bytes.
    """
    rng = random.Random(seed)
    start = datetime(2026, 3, 14, 12, 0)
    target = int(size_mb * 1_000_000)
    written = count = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            block = []
            for _ in range(2000):
                moment = start + timedelta(milliseconds=5 * count)
                count += 1
                message = rng.choice(_MESSAGES).format(
                    n=rng.randrange(10**6),
                    ms=rng.randrange(5000),
                    u=rng.randrange(999),
                    a=rng.randrange(256),
                    b=rng.randrange(256),
                    h=f"{rng.getrandbits(48):012x}",
                )
                block.append(
                    f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d} "
                    f"{rng.choice(_LEVELS)} [svc{rng.randrange(4)}] {message}\n"
                )
            text = "".join(block)
            out.write(text)
            written += len(text)
    return count


#: Runs the command given in its arguments and prints its peak RSS (KiB) and exit code. The
#: measurement must come from a small parent: Linux counts the memory a child inherited when it
#: was forked (and a test process grows to 150 MB), so measuring straight from pytest would floor
#: every figure at pytest's own size.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss_mb(command: Sequence[str], *, timeout: float = 600) -> tuple[float, int]:
    """Run ``command``; return its peak resident set size in MB and its exit code."""
    launcher = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a timeout can stop the command with its launcher
    )
    try:
        out, err = launcher.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        raise AssertionError(f"{command[0]} did not finish within {timeout:g}s") from None
    try:
        kib, code = (int(word) for word in out.split())
    except ValueError:
        raise AssertionError(f"the launcher failed: {err[-2000:]}") from None
    return kib / 1024.0, code


# -- a real Prometheus ------------------------------------------------------------------------------


class Prometheus:
    """A Prometheus on 127.0.0.1 that scrapes itself every second; ``kill``, ``stop``, ``resume``."""

    def __init__(self, folder: Path) -> None:
        binary = require_binary("prometheus")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.port}']\n",
            encoding="utf-8",
        )
        self._log = (folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.folder = folder

    def wait_for_series(self, timeout: float = 60) -> None:
        """Return once the server is ready and has scraped itself at least twice."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(
                    f"{self.url}/api/v1/query", params={"query": "count_over_time(up[1m])"}, timeout=2
                ).json()
                result = answer.get("data", {}).get("result", [])
                if result and float(result[0]["value"][1]) >= 2:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus had no series within {timeout:g}s: {self.log_tail()}")
            time.sleep(0.25)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-answer if it was answering."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel's backlog) but nothing answers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.resume()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self) -> str:
        try:
            return (self.folder / "prometheus.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""


# -- a broken HTTP server ---------------------------------------------------------------------------


class SlowHttpServer:
    """A loopback server whose every connection is handled by ``behaviour(socket)`` in a thread.

    Use it as a context manager; closing it releases every connection still held.
    """

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.behaviour = behaviour
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.release = threading.Event()
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True, name="slow-http-server")
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(30)
            self.behaviour(conn)
        with contextlib.suppress(OSError):
            conn.close()  # one answer per connection, as a broken server gives

    def read_request(self, conn: socket.socket) -> bytes:
        """Read one request (headers and a body of Content-Length bytes)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def __enter__(self) -> SlowHttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed time in seconds."""
    box = [0.0]
    started = time.monotonic()
    try:
        yield box
    finally:
        box[0] = time.monotonic() - started
