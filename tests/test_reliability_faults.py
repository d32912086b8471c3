"""Faults injected into real runs: the run must end within its bound with a report that says what failed.

Every test runs a whole incident (``run_incident`` or the ``incident-flow`` command) over a small case
whose log shows a dependency failing (:func:`faults.write_case`), with one source broken beside it:
a Prometheus killed or frozen mid-run, a PostgreSQL stopped mid-run, an HTTP API that answers
garbage or drips, a git repository with a corrupt object, a log file truncated or rotated while it
is read, a log "file" that never answers (a FIFO), the audit trail's disk full or read-only, and
Ctrl-C. Each then checks, with :func:`faults.assert_survived`: the run finished within a generous
bound (to catch a hang, not to measure speed), the report names the failed source with its reason,
the finding from the healthy log is intact, and the audit trail verifies against the report's final
hash. ``docs/reliability.md`` lists them with their results.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from faults import (
    Prometheus,
    SlowHttpServer,
    assert_survived,
    timed,
    write_case,
    write_large_log,
)

import incident_flow.audit as audit_module
import incident_flow.metrics.prometheus as prometheus_module
from incident_flow import Investigator, hookimpl
from incident_flow.api import arun_incident, run_incident
from incident_flow.audit import verify_trail
from incident_flow.context import InvestigationContext
from incident_flow.metrics.prometheus import PrometheusClient
from incident_flow.model import Finding
from incident_flow.sources import LogRecord, LogSource, Option, SourceSpec, SourceType

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
#: A run of the small case takes about a second; a fault may add its own timeouts (a few seconds).
#: Anything near this bound is a hang.
BOUND = 60.0
ROOT = Path(__file__).resolve().parents[1]


class Plugin:
    """Registers the investigators and source types given to it."""

    def __init__(self, *items: Investigator | SourceType) -> None:
        self.items = items

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        for item in self.items:
            if isinstance(item, Investigator):
                register(item)

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        for item in self.items:
            if isinstance(item, SourceType):
                register(item)


# -- Prometheus -----------------------------------------------------------------------------------


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path / "prometheus")
    try:
        server.wait_for_series()
        yield server
    finally:
        server.close()


def _prom_source(url: str, timeout: str = "5s") -> str:
    return f'[[sources]]\nname = "prom"\ntype = "prometheus"\nurl = "{url}"\ntimeout = "{timeout}"\n'


def _on_first_range_query(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> list[int]:
    """Run ``action`` when the first range query starts: after discovery succeeded, mid-read."""
    original = PrometheusClient.query_range
    calls: list[int] = []
    lock = threading.Lock()

    def query_range(self: PrometheusClient, *args: Any, **kwargs: Any) -> Any:
        with lock:
            calls.append(1)
            if len(calls) == 1:
                action()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PrometheusClient, "query_range", query_range)
    return calls


@pytest.mark.integration
def test_prometheus_killed_in_the_middle_of_a_run(
    prometheus: Prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL between series discovery and the range queries: the source is named, the rest stays."""
    now = datetime.now(UTC)
    config = write_case(tmp_path / "case", now, extra=_prom_source(prometheus.url))
    calls = _on_first_range_query(monkeypatch, prometheus.kill)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=now)
    assert calls, "the run never reached a range query: the fault was not injected"
    assert prometheus.process.poll() is not None
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"prom": "cannot reach it"})


@pytest.mark.integration
def test_prometheus_frozen_in_the_middle_of_a_run(
    prometheus: Prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP mid-read: connections are accepted and never answered; the source's timeout ends it."""
    now = datetime.now(UTC)
    config = write_case(tmp_path / "case", now, extra=_prom_source(prometheus.url, timeout="2s"))
    _on_first_range_query(monkeypatch, prometheus.stop)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=now)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"prom": "timed out after 2s"})


# -- an HTTP API that answers slowly or with garbage ----------------------------------------------


def _never(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    server.release.wait(60)


def _garbage(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    conn.sendall(os.urandom(4096))


def _binary_body(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    body = b"\x00\xff\xfe garbage \x1b[2J" + os.urandom(2000)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _deep_json(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    body = b"[" * 200_000 + b"]" * 200_000
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _hang_up_mid_body(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"sta')
    conn.shutdown(socket.SHUT_RDWR)


def _drip(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
    while not server.release.wait(0.2):
        conn.sendall(b" ")


def _endless(server: SlowHttpServer, conn: socket.socket) -> None:
    server.read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 1_000_000
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    while not server.release.is_set():
        conn.sendall(frame)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (_never, "timed out after 2s"),
        (_garbage, "cannot reach it"),
        (_binary_body, "not JSON"),
        (_deep_json, "not JSON"),
        (_hang_up_mid_body, "cannot reach it"),
        (_drip, "timed out after 2s"),
        (_endless, "larger than 8 MiB"),
    ],
    ids=[
        "never-answers",
        "not-http",
        "binary-body",
        "json-nested-200000-deep",
        "hangs-up",
        "drips",
        "endless",
    ],
)
def test_an_api_that_answers_slowly_or_with_garbage(
    behaviour: Callable[[SlowHttpServer, socket.socket], None],
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real socket on 127.0.0.1 playing a broken Prometheus; its timeout bounds the whole answer."""
    monkeypatch.setattr(prometheus_module, "MAX_RESPONSE_BYTES", 8 << 20)  # the cap, made small
    box: list[SlowHttpServer] = []
    with SlowHttpServer(lambda conn: behaviour(box[0], conn)) as server:
        box.append(server)
        now = datetime.now(UTC)
        config = write_case(tmp_path / "case", now, extra=_prom_source(server.url, timeout="2s"))
        with timed() as elapsed:
            report = run_incident("orders failing", config=config, at=now)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"prom": reason})


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.integration
def test_postgres_stopped_in_the_middle_of_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server shuts down between the performance investigator's two statistics snapshots."""
    from pg_server import require_bindir, start_server

    from incident_flow.sources.postgres import PostgresSource

    server = start_server(require_bindir())
    try:
        original = PostgresSource.snapshot
        snapshots: list[int] = []

        def snapshot(self: PostgresSource) -> Any:
            result = original(self)
            snapshots.append(1)
            if len(snapshots) == 1:
                server.stop()  # fast shutdown: the source's session is cut
            return result

        monkeypatch.setattr(PostgresSource, "snapshot", snapshot)
        now = datetime.now(UTC)
        dsn = server.dsn(dbname=server.create_database("app")).replace(" connect_timeout=5", "")
        extra = (
            f'[[sources]]\nname = "db"\ntype = "postgres"\ndsn = "{dsn}"\n'
            'snapshot_interval = "1s"\nconnect_timeout = "2s"\n'
        )
        config = write_case(tmp_path / "case", now, extra=extra)
        with timed() as elapsed:
            report = run_incident("orders failing", config=config, at=now)
    finally:
        server.stop()
    assert snapshots, "the performance investigator never read the database: the fault was not injected"
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"db": "connection"})
    performance = next(r for r in report.investigators if r.name == "performance")
    assert performance.status.value == "ok"


# -- git ------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, at: datetime | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent)}
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _repository(path: Path) -> dict[str, str]:
    """Three commits in the look-back window; returns their object ids by name."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    ids: dict[str, str] = {}
    for index, name in enumerate(("first", "second", "third")):
        file = path / "services" / "orders" / f"{name}.py"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"VALUE = {index}\n", encoding="utf-8")
        _git(path, "add", ".")
        _git(path, "commit", "-q", "-m", f"orders: {name}", at=AT - timedelta(hours=3 - index))
        ids[name] = _git(path, "rev-parse", "HEAD")
        ids[f"{name}-tree"] = _git(path, "rev-parse", "HEAD^{tree}")
    ids["blob"] = _git(path, "rev-parse", "HEAD:services/orders/second.py")
    return ids


def _corrupt(repo: Path, object_id: str) -> None:
    loose = repo / ".git" / "objects" / object_id[:2] / object_id[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"\x78\x9c garbage, not a zlib stream")


@pytest.mark.parametrize("target", ["second-tree", "third", "blob", "HEAD"])
def test_a_git_repository_with_a_corrupt_object(target: str, tmp_path: Path) -> None:
    """A garbled tree, commit or blob object, or a garbled HEAD: the git source fails alone."""
    repo = tmp_path / "repo"
    ids = _repository(repo)
    if target == "HEAD":
        (repo / ".git" / "HEAD").write_bytes(b"\x00\xffnot a ref\n")
    else:
        _corrupt(repo, ids[target])
    extra = '[[sources]]\nname = "code"\ntype = "git"\npath = "../repo"\ntimeout = "10s"\n'
    config = write_case(tmp_path / "case", AT, extra=extra)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    if target == "blob":
        # git log --numstat reads trees, not blobs: the look-back still works; a diff would fail.
        assert_survived(report, elapsed=elapsed[0], bound=BOUND, cause="redis")
        return
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"code": "git"}, cause="redis")


# -- log files that change while they are read ----------------------------------------------------


def _reader(path: Path, at_line: int, action: Callable[[Path], None], seen: list[LogRecord]) -> Investigator:
    """An investigator that reads the logs through the context and acts on ``path`` at ``at_line``."""

    def investigate(ctx: InvestigationContext) -> list[Finding]:
        done = False
        for record in ctx.log_records():
            if record.source != "big":
                continue
            seen.append(record)
            if not done and record.line >= at_line:
                action(path)
                done = True
        return []

    return Investigator(name="reader", investigate=investigate)


def _big_log(tmp_path: Path) -> tuple[Path, Path, int]:
    """A case whose config also reads ``big.log`` (about 3 MB, three 1 MiB blocks)."""
    folder = tmp_path / "case"
    (folder / "logs").mkdir(parents=True)
    big = folder / "logs" / "big.log"
    lines = write_large_log(big, 3.0)
    extra = '[[sources]]\nname = "big"\ntype = "logs"\npaths = ["logs/big.log"]\ncomponent = "batch"\n'
    # big.log runs from 12:00 for three minutes: detection at 12:30 puts it in the window.
    return write_case(folder, datetime(2026, 3, 14, 12, 30, tzinfo=UTC), extra=extra), big, lines


def test_a_log_truncated_while_it_is_read(tmp_path: Path) -> None:
    """copytruncate: the file is cut to 0 bytes after the first block; the lost rest is reported."""
    config, big, lines = _big_log(tmp_path)
    seen: list[LogRecord] = []
    reader = _reader(big, 100, lambda path: os.truncate(path, 0), seen)
    with timed() as elapsed:
        report = run_incident(
            "orders failing",
            config=config,
            at=datetime(2026, 3, 14, 12, 30, tzinfo=UTC),
            plugins=[Plugin(reader)],
        )
    assert 100 <= len(seen) < lines
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"big": "truncated while"})


def test_a_log_rotated_while_it_is_read(tmp_path: Path) -> None:
    """logrotate's default (rename, then a new file): the open file is read to its end, nothing lost."""
    config, big, lines = _big_log(tmp_path)
    seen: list[LogRecord] = []

    def rotate(path: Path) -> None:
        path.rename(path.with_name("big.log.1"))
        path.write_text("2026-03-14 12:20:00,000 INFO [batch] a new file after rotation\n", encoding="utf-8")

    with timed() as elapsed:
        report = run_incident(
            "orders failing",
            config=config,
            at=datetime(2026, 3, 14, 12, 30, tzinfo=UTC),
            plugins=[Plugin(_reader(big, 100, rotate, seen))],
        )
    assert len(seen) == lines and [r.line for r in seen] == list(range(1, lines + 1))
    assert_survived(report, elapsed=elapsed[0], bound=BOUND)
    assert "big" not in {p.source for p in report.source_problems}


# -- a source that never answers ------------------------------------------------------------------


@contextlib.contextmanager
def _fifo(path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: opening it for reading blocks. Unblocks its readers at the end."""
    os.mkfifo(path)
    try:
        yield path
    finally:
        for _ in range(20):  # every reader still blocked in open() gets EOF
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                break
            os.close(fd)
            time.sleep(0.05)


def test_a_log_source_that_never_answers_is_abandoned_and_named(tmp_path: Path) -> None:
    """A FIFO as a log file blocks every reader; each investigator gives up on it and keeps the rest."""
    folder = tmp_path / "case"
    (folder / "logs").mkdir(parents=True)
    with _fifo(folder / "logs" / "stuck.log"):
        extra = '[[sources]]\nname = "stuck"\ntype = "logs"\npaths = ["logs/stuck.log"]\n'
        config = write_case(folder, AT, extra=extra, settings='investigator_timeout = "6s"')
        with timed() as elapsed:
            report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"stuck": "no answer"})
    assert {r.name: r.status.value for r in report.investigators}["ops"] == "ok"


def _stuck_source_type(release: threading.Event) -> SourceType:
    class Stuck(LogSource):
        def records(
            self, since: datetime | None = None, until: datetime | None = None
        ) -> Iterator[LogRecord]:
            release.wait(120)
            yield from ()

    def factory(spec: SourceSpec) -> Stuck:
        return Stuck(spec.name)

    return SourceType(name="stuck", factory=factory, options={"note": Option((str,), "unused")})


def test_a_plugin_source_that_hangs_is_abandoned_within_the_budget(tmp_path: Path) -> None:
    """A plugin source whose read blocks for two minutes, under a 4 s investigate budget: each
    investigator stops waiting for it after half the budget, names it, and ends with its findings.
    (An investigator that hangs itself is ended by the budget: test_pipeline's budget test.)"""
    release = threading.Event()
    extra = '[[sources]]\nname = "hang"\ntype = "stuck"\n'
    config = write_case(
        tmp_path / "case",
        AT,
        extra=extra,
        settings='investigator_timeout = "60s"\nphase_budgets = { investigate = "4s" }',
    )
    try:
        with timed() as elapsed:
            report = run_incident(
                "orders failing", config=config, at=AT, plugins=[Plugin(_stuck_source_type(release))]
            )
    finally:
        release.set()
    assert_survived(report, elapsed=elapsed[0], bound=20, failed={"hang": "no answer for 2s"})
    assert all(r.status.value == "ok" for r in report.investigators), report.investigators


def test_a_cancelled_run_still_closes_its_audit_trail(tmp_path: Path) -> None:
    """``asyncio.wait_for(arun_incident(...), 2)`` over a source that hangs: the caller's timeout
    cancels the run; its trail must still end with a close record and verify."""
    release = threading.Event()
    config = write_case(
        tmp_path / "case", AT, extra='[[sources]]\nname = "hang"\ntype = "stuck"\n', settings=""
    )

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                arun_incident(
                    "orders failing", config=config, at=AT, plugins=[Plugin(_stuck_source_type(release))]
                ),
                2,
            )

    try:
        asyncio.run(main())
    finally:
        release.set()
    (trail,) = (tmp_path / "state").rglob("*.jsonl")
    result = verify_trail(trail)
    assert result.ok, result.problem


# -- the audit trail's disk -----------------------------------------------------------------------


def _disk_full(monkeypatch: pytest.MonkeyPatch, *, after: int | None) -> list[Path]:
    """Trails go to /dev/full (``after`` None), or to a file that fails with ENOSPC after ``after`` bytes."""
    paths: list[Path] = []

    class FillingUp(io.BufferedWriter):
        written = 0

        def write(self, data: Any) -> int:
            assert after is not None
            if self.written + len(data) > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.written += len(data)
            return super().write(data)

    original = audit_module._create_exclusive

    def create(folder: Path, stem: str) -> tuple[IO[bytes], Path]:
        if after is None:
            return open("/dev/full", "wb"), Path("/dev/full")
        handle, path = original(folder, stem)
        handle.close()
        paths.append(path)
        return FillingUp(io.FileIO(path, "w")), path

    monkeypatch.setattr(audit_module, "_create_exclusive", create)
    return paths


def test_the_audit_trail_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write fails with ENOSPC (/dev/full): the run goes on and the report says why."""
    _disk_full(monkeypatch, after=None)
    config = write_case(tmp_path / "case", AT)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, audit_ok=False, cause="redis")
    assert "No space left on device" in str(report.audit["error"])
    assert "No space left on device" in report.to_markdown()


def test_the_audit_trail_when_the_disk_fills_up_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC after 2 KB: the records written stay verifiable up to the cut, and the report counts them."""
    paths = _disk_full(monkeypatch, after=2048)
    config = write_case(tmp_path / "case", AT)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, audit_ok=False, cause="redis")
    assert "No space left on device" in str(report.audit["error"])
    (path,) = paths
    lines = path.read_bytes().splitlines()
    assert 0 < len(lines) == report.audit["records"]
    result = verify_trail(path)
    assert not result.ok and "truncated" in str(result.problem)
    assert result.record == len(lines) + 1  # every record before the cut verifies
    import json

    assert json.loads(lines[-1])["hash"] == report.audit["final_hash"]


def test_the_audit_trail_on_a_read_only_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EROFS when the trail is created (root ignores a read-only folder's mode, so it is injected)."""

    def refuse(folder: Path, stem: str) -> tuple[IO[bytes], Path]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder / f"{stem}.jsonl"))

    monkeypatch.setattr(audit_module, "_create_exclusive", refuse)
    config = write_case(tmp_path / "case", AT)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, audit_ok=False, cause="redis")
    assert "Read-only file system" in str(report.audit["error"])
    assert report.audit["records"] == 0 and report.audit["final_hash"] is None
    assert "Read-only file system" in report.to_markdown()


# -- Ctrl-C ---------------------------------------------------------------------------------------


def _interrupted_run(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    """``incident-flow run`` over a case with a FIFO log (investigators block), then SIGINT."""
    folder = tmp_path / "case"
    (folder / "logs").mkdir(parents=True)
    state = tmp_path / "state"
    with _fifo(folder / "logs" / "stuck.log"):
        extra = '[[sources]]\nname = "stuck"\ntype = "logs"\npaths = ["logs/stuck.log"]\n'
        config = write_case(folder, AT, extra=extra, settings='investigator_timeout = "120s"')
        env = {**os.environ, "XDG_STATE_HOME": str(state)}
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "incident_flow", "run", "orders failing"),
                *("--config", str(config), "--at", AT.isoformat(), "--format", "json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        trails: list[Path] = []
        while not trails:  # the investigation has started once the trail holds the sources record
            trails = [p for p in state.rglob("*.jsonl") if p.read_bytes().count(b"\n") >= 3]
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        elapsed = time.monotonic() - started
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), elapsed, trails[0]


@pytest.fixture(scope="module")
def interrupted(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    return _interrupted_run(tmp_path_factory.mktemp("ctrl-c"))


def test_ctrl_c_during_the_investigation_exits_130_at_once(
    interrupted: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    done, elapsed, _ = interrupted
    assert done.returncode == 130, done.stderr
    assert elapsed < 10
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_during_the_investigation_closes_the_audit_trail(
    interrupted: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    _, _, trail = interrupted
    result = verify_trail(trail)
    assert result.ok, result.problem
    kinds = [line for line in trail.read_text(encoding="utf-8").splitlines() if '"run.interrupted"' in line]
    assert kinds, "the trail does not say the run was interrupted"
