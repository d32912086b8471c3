"""One scan of each log source per run, shared by the investigators that read it together.

Readers here are real ``InvestigationContext.log_records`` iterators over real log files (the
``logs`` source type), run in threads as the pipeline runs investigators. Each must see exactly
what a private read of the same window gives, whatever the others do: read fast or slowly, stop
pulling, start late, ask for another window. The batch and ring sizes are made small so that a
few hundred records exercise what a million do in production.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from faults import write_case, write_large_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incident_flow.context as context_module
from incident_flow.api import run_incident
from incident_flow.config import Settings
from incident_flow.context import InvestigationContext, RunState
from incident_flow.logs import LogsSource
from incident_flow.logs.shared import SharedScan
from incident_flow.model import Incident
from incident_flow.sources import LogRecord, LogSource

DETECTED = datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
START = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
#: Generous bounds: a reader that is waited on would take the stall timeout (30 s) or forever.
BOUND = 10.0


class CountingLogs(LogsSource):
    """The ``logs`` source, counting how often its files are read and the records parsed; with a
    ``gate``, a read starts only once the gate is open (the test decides who has joined by then)."""

    def __init__(self, *args: Any, gate: threading.Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0
        self.parsed = 0
        self.gate = gate

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogRecord]:
        self.reads += 1
        if self.gate is not None:
            self.gate.wait(BOUND)
        for record in super().records(since, until):
            self.parsed += 1
            yield record


def make_state(
    sources: list[Any], *, depth: int = 2, timeout: float = 60.0
) -> tuple[RunState, InvestigationContext, list[dict[str, Any]]]:
    audit: list[dict[str, Any]] = []
    state = RunState(
        sources,
        audit=lambda kind, **data: audit.append({"kind": kind, **data}),
        emit=lambda event: None,
        shared_depth=depth,
    )
    ctx = InvestigationContext(
        Incident(id="shared-scan", description="orders failing", detected_at=DETECTED),
        Settings(lookback=timedelta(hours=1), investigator_timeout=timeout),
        state,
    )
    return state, ctx, audit


@contextlib.contextmanager
def small_batches(batch: int = 4, lag: float | None = None) -> Iterator[None]:
    """Batches of ``batch`` records (the production size is 512), and optionally a shorter lag."""
    saved = context_module._BATCH, context_module._LAG_S
    context_module._BATCH = batch
    if lag is not None:
        context_module._LAG_S = lag
    try:
        yield
    finally:
        context_module._BATCH, context_module._LAG_S = saved


Pace = Callable[[str, int], None]


def start_readers(
    iterators: dict[str, Iterator[LogRecord]], pace: Pace | None = None
) -> tuple[list[threading.Thread], dict[str, list[LogRecord]]]:
    """Each iterator read to its end in a thread of its own, as the pipeline runs investigators;
    ``pace(name, index)`` runs after each record."""
    out: dict[str, list[LogRecord]] = {name: [] for name in iterators}

    def read(name: str, iterator: Iterator[LogRecord]) -> None:
        for index, record in enumerate(iterator):
            out[name].append(record)
            if pace is not None:
                pace(name, index)

    threads = [
        threading.Thread(target=read, args=item, name=f"reader-{item[0]}") for item in iterators.items()
    ]
    for thread in threads:
        thread.start()
    return threads, out


def join_readers(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(BOUND * 3)
        assert not thread.is_alive(), f"{thread.name} still reading"


def drain(iterators: dict[str, Iterator[LogRecord]], pace: Pace | None = None) -> dict[str, list[LogRecord]]:
    threads, out = start_readers(iterators, pace)
    join_readers(threads)
    return out


def open_when_joined(state: RunState, source: LogSource, readers: int, gate: threading.Event) -> None:
    """Open ``gate`` once ``readers`` readers have joined the source's scan."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        scan = state.scans._current.get(id(source))
        if scan is not None and len(scan._subscribers) == readers:
            break
        time.sleep(0.005)
    gate.set()


def scan_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("incident-flow-")]


def settle_threads() -> None:
    """Wait until the run's reading threads have ended; fail naming the ones that did not."""
    deadline = time.monotonic() + 5
    while scan_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not scan_threads(), [t.name for t in scan_threads()]


def app_log(path: Path, lines: int, *, every_s: float = 1.0) -> Path:
    """A Python-logging file from START, a stack trace after every tenth line."""
    out: list[str] = []
    for index in range(lines):
        moment = START + timedelta(seconds=index * every_s)
        out.append(f"{moment:%Y-%m-%d %H:%M:%S},000 ERROR [orders] request {index} failed")
        if index % 10 == 9:
            out += ["Traceback (most recent call last):", '  File "pay.py", line 3, in charge']
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def private_read(path: Path, since: datetime | None = None) -> list[LogRecord]:
    """What a reader of its own gets: the same files through a source of their own."""
    return list(LogsSource("app", [path], component="orders").records(since))


# -- every reader sees what a private read gives ---------------------------------------------------

_minute = st.integers(min_value=-20, max_value=100)
_window = st.one_of(
    st.none(),
    st.tuples(st.one_of(st.none(), _minute), st.one_of(st.none(), _minute)),
)
_reader = st.fixed_dictionaries(
    {
        "window": _window,
        "stop_after": st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
        "slow": st.booleans(),
    }
)
_line = st.one_of(
    st.tuples(st.integers(min_value=0, max_value=80), st.sampled_from(["INFO", "ERROR", "WARNING"])),
    st.sampled_from(["Traceback (most recent call last):", "    at Pay.charge(Pay.java:3)", "no time here"]),
)


def _write(folder: Path, lines: list[Any]) -> Path:
    text = []
    for number, line in enumerate(lines):
        if isinstance(line, tuple):
            minute, level = line
            moment = START + timedelta(minutes=minute, seconds=number % 60)
            text.append(f"{moment:%Y-%m-%d %H:%M:%S},000 {level} [orders] event {number}")
        else:
            text.append(line)
    path = folder / "app.log"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_line, max_size=150),
    readers=st.lists(_reader, min_size=1, max_size=4),
    depth=st.integers(min_value=1, max_value=4),
)
def test_every_reader_gets_exactly_what_a_private_read_gives(
    lines: list[Any], readers: list[dict[str, Any]], depth: int
) -> None:
    """Random logs, windows and readers (fast, slow enough to be dropped to a private read, or
    stopping early): each reader's records are those of ``source.records(since, until)``."""
    with tempfile.TemporaryDirectory() as folder, small_batches(batch=3, lag=0.005):
        source = LogsSource("app", [_write(Path(folder), lines)], component="orders")
        state, ctx, _ = make_state([source], depth=depth)
        iterators: dict[str, Iterator[LogRecord]] = {}
        expected: dict[str, list[LogRecord]] = {}
        for index, reader in enumerate(readers):
            name = f"r{index}"
            window = reader["window"]
            since = until = None
            if window is not None:
                since = None if window[0] is None else START + timedelta(minutes=window[0])
                until = None if window[1] is None else START + timedelta(minutes=window[1])
            view = ctx.for_investigator(name)
            iterators[name] = view.log_records(since, until)
            private = list(source.records(ctx.window_start if since is None else since, until))
            expected[name] = private[: reader["stop_after"]] if reader["stop_after"] is not None else private

        def pace(name: str, index: int) -> None:
            if readers[int(name[1:])]["slow"] and index % 3 == 0:
                time.sleep(0.01)

        def limited(name: str, iterator: Iterator[LogRecord]) -> Iterator[LogRecord]:
            stop = readers[int(name[1:])]["stop_after"]
            with contextlib.closing(cast(Generator[LogRecord, None, None], iterator)):
                for index, record in enumerate(iterator):
                    if stop is not None and index >= stop:
                        return  # an investigator that breaks out of its loop: it leaves the scan
                    yield record

        got = drain({name: limited(name, it) for name, it in iterators.items()}, pace)
        assert got == expected
        assert state.problems() == []
    settle_threads()


# -- one parse for readers that read together ----------------------------------------------------


def test_readers_that_read_together_parse_the_log_once(tmp_path: Path) -> None:
    """Four readers that start together: the files are read once, not four times."""
    gate = threading.Event()
    path = app_log(tmp_path / "app.log", 400)
    source = CountingLogs("app", [path], component="orders", gate=gate)
    with small_batches():
        state, ctx, audit = make_state([source])
        threads, got = start_readers({name: ctx.for_investigator(name).log_records() for name in "abcd"})
        open_when_joined(state, source, 4, gate)
        join_readers(threads)
    private = private_read(path, ctx.window_start)
    assert len(private) == 400
    assert all(records == private for records in got.values())
    assert source.reads == 1
    queries = [a for a in audit if a["kind"] == "source.query"]
    assert sorted(a["investigator"] for a in queries) == ["a", "b", "c", "d"]  # each reader's query
    settle_threads()


# -- a reader that stops pulling -------------------------------------------------------------------


def test_a_reader_that_stops_pulling_does_not_hold_the_others(tmp_path: Path) -> None:
    """A reader takes one record and stops (an investigator abandoned at its timeout): the others
    finish without it, and when it pulls again it gets the rest from a private read, nothing lost."""
    gate, resume = threading.Event(), threading.Event()
    path = app_log(tmp_path / "app.log", 600)
    source = CountingLogs("app", [path], component="orders", gate=gate)

    def pace(name: str, index: int) -> None:
        if name == "stuck" and index == 0:
            resume.wait(BOUND)

    with small_batches(lag=1.0):
        state, ctx, audit = make_state([source])
        names = ("stuck", "a", "b", "c")
        threads, got = start_readers({name: ctx.for_investigator(name).log_records() for name in names}, pace)
        open_when_joined(state, source, 4, gate)
        started = time.monotonic()
        join_readers(threads[1:])
        elapsed = time.monotonic() - started
        resume.set()
        join_readers(threads[:1])
    private = private_read(path, ctx.window_start)
    assert elapsed < BOUND  # held by the stuck reader, they would wait for ever
    assert all(got[name] == private for name in names)
    assert source.reads == 2  # the shared scan, then the stuck reader's own read
    (fallback,) = [a for a in audit if a["kind"] == "source.query" and "skip" in a]
    assert fallback["investigator"] == "stuck" and 0 < fallback["skip"] < len(private)
    settle_threads()


def test_readers_abandoned_mid_read_leave_no_thread_behind(tmp_path: Path) -> None:
    """One reader stops pulling without closing, one closes early: the scan stops reading and its
    thread ends, though neither read to the end."""
    source = LogsSource("app", [app_log(tmp_path / "app.log", 2000)], component="orders")
    with small_batches(lag=0.1):
        _, ctx, _ = make_state([source])
        kept = ctx.for_investigator("kept").log_records()
        next(kept)  # joined, then never pulled again (nor closed)
        closed = ctx.for_investigator("closed").log_records()
        next(closed)
        cast(Generator[LogRecord, None, None], closed).close()
        settle_threads()
        assert next(kept).line > 1  # it can still go on, alone


# -- a reader that starts late ----------------------------------------------------------------------


def test_a_reader_that_starts_late_joins_and_reads_what_it_missed_on_its_own(tmp_path: Path) -> None:
    """The first reader is past the scan's first batches when the second starts: the second joins
    where the scan is and reads the records it missed on its own, not the whole log again."""
    path = app_log(tmp_path / "app.log", 300)
    source = CountingLogs("app", [path], component="orders")
    with small_batches():
        _, ctx, _ = make_state([source], depth=2)
        early = ctx.for_investigator("early").log_records()
        head = [next(early) for _ in range(100)]  # 25 batches in: the first ones are long gone
        got = drain({"early": early, "late": ctx.for_investigator("late").log_records()})
    private = private_read(path, ctx.window_start)
    assert head + got["early"] == private
    assert got["late"] == private
    assert source.reads == 2  # the scan, and the late reader's read of what it missed
    assert len(private) < source.parsed < 2 * len(private)
    settle_threads()


def test_a_reader_that_asks_again_after_the_scan_ended_reads_afresh(tmp_path: Path) -> None:
    """A second call after the first read ended sees lines appended since (a live log)."""
    path = app_log(tmp_path / "app.log", 20)
    source = LogsSource("app", [path], component="orders")
    _, ctx, _ = make_state([source])
    first = list(ctx.log_records())
    with path.open("a", encoding="utf-8") as out:
        out.write("2026-03-14 12:30:00,000 ERROR [orders] appended later\n")
    second = list(ctx.log_records())
    assert [r.message for r in second] == [r.message for r in first] + ["appended later"]
    settle_threads()


# -- a source that fails or hangs -----------------------------------------------------------------


class Failing(LogSource):
    """Gives ``good`` records, then fails as a disk that went away would, or hangs on a ``hang``
    event as a dead mount would (its last record comes after a pause, so that the records before
    the hang are handed over: a batch goes when it is full or 50 ms old)."""

    shared_scan = True

    def __init__(self, name: str, good: int, hang: threading.Event | None = None) -> None:
        super().__init__(name)
        self.good = good
        self.hang = hang
        self.reads = 0

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogRecord]:
        self.reads += 1
        for line in range(1, self.good + 1):
            if self.hang is not None and line == self.good:
                time.sleep(0.1)
            at = START + timedelta(seconds=line)
            yield LogRecord(message=f"event {line}", source=self.name, line=line, text=f"event {line}", at=at)
        if self.hang is not None:
            self.hang.wait(60)
            return
        raise OSError(5, "Input/output error")


def test_a_source_that_fails_mid_scan_is_one_problem_recorded_once() -> None:
    """Four readers of one scan each get the records before the failure; the report gets one problem."""
    source = Failing("flaky", good=50)
    with small_batches():
        state, ctx, audit = make_state([source], depth=64)
        iterators = {name: ctx.for_investigator(name).log_records() for name in "abcd"}
        firsts = {name: next(it) for name, it in iterators.items()}  # the ring never fills: all join
        got = drain(iterators)
    assert source.reads == 1
    assert all([r.line for r in [firsts[name], *got[name]]] == list(range(1, 51)) for name in got)
    problems = state.problems()
    assert [(p.source, p.error) for p in problems] == [("flaky", "OSError: [Errno 5] Input/output error")]
    assert len([a for a in audit if a["kind"] == "source.problem"]) == 1
    settle_threads()


def test_a_shared_source_that_hangs_is_abandoned_by_each_reader_and_named_once() -> None:
    """The stall guard: after half the investigator timeout without a record, each reader stops
    waiting with what it had; the problem is recorded once."""
    hang = threading.Event()
    source = Failing("hung", good=20, hang=hang)
    try:
        state, ctx, _ = make_state([source], timeout=2.0)  # stall 1 s
        started = time.monotonic()
        got = drain({name: ctx.for_investigator(name).log_records() for name in "abc"})
        elapsed = time.monotonic() - started
        assert elapsed < BOUND
        assert all([r.line for r in records] == list(range(1, 21)) for records in got.values())
        assert [(p.source, p.error.split(":")[0]) for p in state.problems()] == [("hung", "no answer for 1s")]
    finally:
        hang.set()
    settle_threads()


@pytest.mark.parametrize("shared", [True, False])
def test_a_source_still_hung_is_not_waited_on_again(shared: bool) -> None:
    """A second read of a source whose first read stalled, and is still blocked, gives up at once
    (an investigator that reads the logs twice must not spend the stall timeout twice); once the
    source answers, it is read again."""
    hang = threading.Event()
    source = Failing("hung", good=20, hang=hang)
    source.shared_scan = shared
    try:
        state, ctx, _ = make_state([source], timeout=2.0)  # stall 1 s
        assert len(list(ctx.log_records())) == 20
        started = time.monotonic()
        assert list(ctx.log_records()) == []
        assert time.monotonic() - started < 0.5
        assert source.reads == 1
        assert [p.source for p in state.problems()] == ["hung"]
    finally:
        hang.set()
    settle_threads()  # the blocked read ended when the source answered
    assert [r.line for r in ctx.log_records()] == list(range(1, 21))
    assert source.reads == 2
    settle_threads()


def test_a_slow_reader_is_dropped_to_a_read_of_its_own(tmp_path: Path) -> None:
    """A reader that sits on its first record longer than the lag is dropped; it still gets every
    record, and the fast reader is not held, nor is the source named as hung."""
    gate = threading.Event()
    path = app_log(tmp_path / "app.log", 200)
    source = CountingLogs("app", [path], component="orders", gate=gate)

    def pace(name: str, index: int) -> None:
        if name == "slow" and index == 0:
            time.sleep(1.0)

    with small_batches():
        state, ctx, audit = make_state([source], timeout=4.0)  # stall 2 s, dropped after 0.5 s
        threads, got = start_readers(
            {name: ctx.for_investigator(name).log_records() for name in ("fast", "slow")}, pace
        )
        open_when_joined(state, source, 2, gate)
        join_readers(threads)
    private = private_read(path, ctx.window_start)
    assert got["fast"] == private and got["slow"] == private
    assert state.problems() == []
    assert "slow" in [a["investigator"] for a in audit if "skip" in a]
    settle_threads()


def test_a_reader_much_slower_than_the_others_does_not_set_their_pace(tmp_path: Path) -> None:
    """A reader whose work per record is heavy keeps pulling, but would tie the fast reader to its
    pace: once it has held the scan back for the lag in all, it reads on alone and the fast one
    finishes long before it."""
    gate = threading.Event()
    path = app_log(tmp_path / "app.log", 400)
    source = CountingLogs("app", [path], component="orders", gate=gate)
    finished: dict[str, float] = {}

    def pace(name: str, index: int) -> None:
        if name == "slow":
            time.sleep(0.01)  # 4 s over the 400 records
        if index == 399:
            finished[name] = time.monotonic()

    with small_batches(lag=0.3):
        state, ctx, audit = make_state([source])
        threads, got = start_readers(
            {name: ctx.for_investigator(name).log_records() for name in ("fast", "slow")}, pace
        )
        open_when_joined(state, source, 2, gate)
        started = time.monotonic()
        join_readers(threads)
    private = private_read(path, ctx.window_start)
    assert got["fast"] == private and got["slow"] == private
    assert finished["fast"] - started < 2.0 <= finished["slow"] - started
    assert [a["investigator"] for a in audit if "skip" in a] == ["slow"]
    settle_threads()


def test_waiting_on_a_slower_subscriber_is_not_a_stall() -> None:
    """The scan waits 1 s for a slow subscriber (within its lag); the fast one waits as long, more
    than its stall timeout, and is not told the source hangs: the source is not to blame."""
    scan = SharedScan(lambda: range(100), "slow-sibling", batch=10, flush_s=60, depth=1, lag_s=30)
    fast, slow = scan.join(), scan.join()
    assert fast is not None and slow is not None
    slow_batches = slow.batches(30)
    got_slow = [next(slow_batches)]
    fast_got: list[int] = []

    def read_fast() -> None:
        fast_got.extend(item for batch in fast.batches(0.3) for item in batch)

    reader = threading.Thread(target=read_fast)
    reader.start()
    time.sleep(1.0)  # the ring (depth 1) is full: the scan waits on the slow subscriber
    assert reader.is_alive()
    got_slow.extend(slow_batches)
    reader.join(BOUND)
    assert fast_got == list(range(100))
    assert [item for batch in got_slow for item in batch] == list(range(100))
    settle_threads()


# -- memory stays flat ------------------------------------------------------------------------------


def test_the_scan_reads_at_most_its_depth_ahead_of_the_slowest_reader() -> None:
    """A reader that holds back keeps the scan within ``depth`` batches of it, whatever the size."""
    produced = 0

    def read() -> Iterator[int]:
        nonlocal produced
        for item in range(100_000):
            produced += 1
            yield item

    scan = SharedScan(read, "count", batch=10, flush_s=60, depth=5, lag_s=60)
    fast, slow = scan.join(), scan.join()
    assert fast is not None and slow is not None
    fast_batches, slow_batches = fast.batches(30), slow.batches(30)
    next(slow_batches)
    for _ in range(5):
        next(fast_batches)
    time.sleep(0.3)
    assert produced <= (5 + 2) * 10  # the ring, the batch being filled, and one item
    late = scan.join()  # past its first batch: a newcomer reads the ones dropped on its own
    assert late is not None and late.missed == 10
    late.close()
    fast_batches.close()
    slow_batches.close()
    settle_threads()


# -- a whole run ------------------------------------------------------------------------------------


def test_a_run_reads_its_log_once_for_all_investigators_and_leaves_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The built-in investigators read the log together; after the run no reading thread is left."""
    parsed: dict[str, int] = {}
    original = LogsSource.records

    def counted(self: LogsSource, since: datetime | None = None, until: datetime | None = None) -> Any:
        for record in original(self, since, until):
            parsed[self.name] = parsed.get(self.name, 0) + 1
            yield record

    monkeypatch.setattr(LogsSource, "records", counted)
    folder = tmp_path / "case"
    (folder / "logs").mkdir(parents=True)
    lines = write_large_log(folder / "logs" / "big.log", 2.0)
    extra = '[[sources]]\nname = "big"\ntype = "logs"\npaths = ["logs/big.log"]\ncomponent = "batch"\n'
    at = datetime(2026, 3, 14, 12, 30, tzinfo=UTC)
    config = write_case(folder, at, extra=extra)
    before = {t.ident for t in threading.enumerate()}
    report = run_incident("orders failing", config=config, at=at)
    assert {r.name: r.status.value for r in report.investigators} == {
        "debugger": "ok",
        "ops": "ok",
        "performance": "ok",
        "security": "ok",
    }
    # One shared scan for the four investigators (those that come to this second source late
    # parse what they missed on their own), and one for the impact measured after them: a private
    # read per investigator would parse the log five times.
    assert parsed["big"] <= 3 * lines, (parsed["big"], lines)
    settle_threads()
    assert {t.ident for t in threading.enumerate()} <= before
