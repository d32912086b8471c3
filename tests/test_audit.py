"""The hash-chained audit trail: writing, failing safely, and catching every kind of tampering."""

from __future__ import annotations

import dataclasses
import enum
import errno
import io
import itertools
import json
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow import audit
from incident_flow.audit import (
    GENESIS_HASH,
    AuditSummary,
    AuditTrail,
    VerifyResult,
    canonical_json,
    json_safe,
    record_hash,
    verify_content,
    verify_trail,
)
from incident_flow.model import Incident, Severity

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def ticking_clock() -> Iterator[datetime]:
    n = 0
    while True:
        yield T0 + timedelta(seconds=n)
        n += 1


def clock() -> Any:
    ticks = ticking_clock()
    return lambda: next(ticks)


def make_trail(records: int) -> bytes:
    """An in-memory trail: open, ``records`` records, close."""
    stream = io.BytesIO()
    trail = AuditTrail.to_stream(stream, "run-1", clock=clock(), incident_id="inc-1")
    for i in range(records):
        trail.record("step", i=i, note=f"record {i}")
    summary = trail.close()
    assert summary.error is None
    return stream.getvalue()


def lines_of(content: bytes) -> list[bytes]:
    return content.split(b"\n")[:-1]


def join(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def rewrite(line: bytes, rehash: bool = False, **changes: Any) -> bytes:
    record = json.loads(line)
    record.update(changes)
    if rehash:
        record["hash"] = record_hash(record)
    return canonical_json(record).encode("utf-8")


# -- writing ---------------------------------------------------------------------------------------


def test_a_fresh_trail_verifies(tmp_path: Path) -> None:
    incident = Incident(
        id="inc-7", description="502 for all users", detected_at=T0, severity_hint=Severity.CRITICAL
    )
    trail = AuditTrail.open(tmp_path / "audit", "inc-7", incident=incident, version="9.9")
    trail.record("source.query", source="orders-logs", since=T0, until=T0 + timedelta(hours=1))
    trail.record("finding", title="deploy abc broke orders", confidence=0.9)
    summary = trail.close()

    assert summary == AuditSummary(
        path=tmp_path / "audit" / "inc-7.jsonl", records=4, final_hash=summary.final_hash, error=None
    )
    assert summary.ok
    result = verify_trail(summary.path, summary.final_hash)  # type: ignore[arg-type]
    assert result == VerifyResult(ok=True, records=4, final_hash=summary.final_hash)
    assert str(result) == f"ok: 4 records, final hash {summary.final_hash}"

    records = [json.loads(line) for line in summary.path.read_text(encoding="utf-8").splitlines()]  # type: ignore[union-attr]
    assert [r["seq"] for r in records] == [0, 1, 2, 3]
    assert [r["kind"] for r in records] == ["open", "source.query", "finding", "close"]
    assert records[0]["prev"] == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after["prev"] == before["hash"]
    for r in records:
        assert set(r) == {"seq", "at", "kind", "data", "prev", "hash"}
        assert r["hash"] == record_hash(r)
    opening = records[0]["data"]
    assert opening["run_id"] == "inc-7"
    assert opening["incident"]["id"] == "inc-7"
    assert opening["incident"]["severity_hint"] == "critical"
    assert opening["version"] == "9.9"
    assert opening["tool"] == "incident-flow"
    assert records[1]["data"]["since"] == "2024-01-02T03:04:05Z"
    # The final hash is the hash of the last record before close, and the close record repeats it.
    assert summary.final_hash == records[2]["hash"]
    assert records[3]["data"] == {"records": 4, "final_hash": records[2]["hash"]}


def test_lines_are_canonical_json(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path, "r")
    trail.record("note", text="café ☕", b=1, a=2)
    summary = trail.close()
    for line in summary.path.read_text(encoding="utf-8").splitlines():  # type: ignore[union-attr]
        assert line == canonical_json(json.loads(line))
    assert "café ☕" in summary.path.read_text(encoding="utf-8")  # type: ignore[union-attr]


def test_each_record_is_flushed_at_once(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path, "r")
    trail.record("one")
    # Read by another handle before close: the records are on disk already (a killed run keeps them).
    assert len((tmp_path / "r.jsonl").read_bytes().splitlines()) == 2
    result = verify_trail(tmp_path / "r.jsonl")
    assert not result.ok and result.record == 3 and "without a close record" in (result.problem or "")
    trail.close()


def test_an_empty_run_has_open_and_close(tmp_path: Path) -> None:
    summary = AuditTrail.open(tmp_path, "r").close()
    assert summary.records == 2
    assert verify_trail(tmp_path / "r.jsonl", summary.final_hash).ok


def test_close_is_idempotent_and_later_records_are_dropped(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path, "r")
    first = trail.close()
    trail.record("late", by="a hung investigator thread")  # must not raise
    assert trail.close() is first
    assert trail.closed
    assert verify_trail(tmp_path / "r.jsonl", first.final_hash).ok


def test_context_manager_closes(tmp_path: Path) -> None:
    with AuditTrail.open(tmp_path, "r") as trail:
        trail.record("x")
    assert trail.closed
    assert verify_trail(tmp_path / "r.jsonl").ok


@pytest.mark.parametrize("kind", ["open", "close", "", "  "])
def test_reserved_or_empty_kinds_are_refused(tmp_path: Path, kind: str) -> None:
    trail = AuditTrail.open(tmp_path, "r")
    with pytest.raises(ValueError):
        trail.record(kind)
    assert verify_trail(tmp_path / "r.jsonl", trail.close().final_hash).ok


def test_data_may_use_the_names_of_the_parameters(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path, "r", folder="f")
    trail.record("x", kind="k", self="s")
    assert verify_trail(tmp_path / "r.jsonl", trail.close().final_hash).ok
    data = [json.loads(line)["data"] for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert data[0]["folder"] == "f"
    assert data[1] == {"kind": "k", "self": "s"}


def test_a_trail_is_never_overwritten(tmp_path: Path) -> None:
    first = AuditTrail.open(tmp_path, "inc-1").close()
    second = AuditTrail.open(tmp_path, "inc-1").close()
    third = AuditTrail.open(tmp_path, "inc-1").close()
    assert [s.path.name for s in (first, second, third)] == ["inc-1.jsonl", "inc-1-2.jsonl", "inc-1-3.jsonl"]  # type: ignore[union-attr]
    for summary in (first, second, third):
        assert verify_trail(summary.path, summary.final_hash).ok  # type: ignore[arg-type]


def test_run_ids_are_made_safe_as_file_names(tmp_path: Path) -> None:
    summary = AuditTrail.open(tmp_path, "../../etc/PD 123/x").close()
    assert summary.path is not None and summary.path.parent == tmp_path
    assert summary.path.name == "etc_PD_123_x.jsonl"
    opening = json.loads(summary.path.read_text().splitlines()[0])
    assert opening["data"]["run_id"] == "../../etc/PD 123/x"


def test_the_folder_is_created(tmp_path: Path) -> None:
    summary = AuditTrail.open(tmp_path / "a" / "b", "r").close()
    assert summary.ok and (tmp_path / "a" / "b" / "r.jsonl").is_file()


def test_many_threads(tmp_path: Path) -> None:
    threads, per_thread = 16, 150
    trail = AuditTrail.open(tmp_path, "threads")
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            trail.record("work", thread=n, i=i)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    summary = trail.close()

    assert summary.records == threads * per_thread + 2
    assert verify_trail(tmp_path / "threads.jsonl", summary.final_hash).ok
    records = [json.loads(line) for line in (tmp_path / "threads.jsonl").read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(len(records)))
    seen: dict[int, list[int]] = {}
    for r in records[1:-1]:
        seen.setdefault(r["data"]["thread"], []).append(r["data"]["i"])
    # Every record of every thread is there, in the order each thread wrote them.
    assert seen == {n: list(range(per_thread)) for n in range(threads)}


# -- failing safely --------------------------------------------------------------------------------


class FullDisk(io.RawIOBase):
    """A writer that accepts ``budget`` writes, then fails as a full disk does."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= 1
        self.written += bytes(data)
        return len(data)


@pytest.mark.parametrize("budget", [0, 1, 3])
def test_a_failing_writer_stops_the_trail_without_raising(budget: int) -> None:
    disk = FullDisk(budget)
    trail = AuditTrail.to_stream(disk, "r", path=Path("/audit/r.jsonl"))  # type: ignore[arg-type]
    for i in range(5):
        trail.record("step", i=i)  # never raises
    summary = trail.close()

    assert summary.records == budget
    assert summary.error is not None
    assert "No space left on device" in summary.error
    assert "/audit/r.jsonl" in summary.error
    assert "\n" not in summary.error
    assert trail.error == summary.error
    if budget:
        assert summary.final_hash == json.loads(lines_of(bytes(disk.written))[-1])["hash"]
        result = verify_content(bytes(disk.written))
        assert not result.ok and "without a close record" in (result.problem or "")
    else:
        assert summary.final_hash is None


def test_a_failure_at_open_is_remembered(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    trail = AuditTrail.open(blocker / "audit", "r")
    trail.record("x")
    summary = trail.close()
    assert summary.records == 0
    assert summary.final_hash is None
    assert summary.error is not None and "cannot create the audit trail" in summary.error


def test_a_failure_writing_the_open_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        audit, "_create_exclusive", lambda folder, stem: (FullDisk(0), folder / f"{stem}.jsonl")
    )
    summary = AuditTrail.open(tmp_path, "r").close()
    assert summary.records == 0
    assert summary.error is not None and "No space left" in summary.error


def test_a_failing_sync_at_close_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(audit.os, "fsync", broken_fsync)
    trail = AuditTrail.open(tmp_path, "r")
    summary = trail.close()
    assert summary.records == 2  # the close record reached the file...
    assert summary.error is not None and "Input/output error" in summary.error  # ...but may not be durable
    assert verify_trail(tmp_path / "r.jsonl", summary.final_hash).ok


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_dev_full() -> None:
    with open("/dev/full", "wb", buffering=0) as stream:
        trail = AuditTrail.to_stream(stream, "r", path=Path("/dev/full"))
        trail.record("x", big="y" * 10_000)
        summary = trail.close()
    assert summary.records == 0
    assert summary.error is not None and "No space left on device" in summary.error


def test_verify_a_missing_file(tmp_path: Path) -> None:
    result = verify_trail(tmp_path / "nope.jsonl")
    assert not result.ok and "cannot read" in (result.problem or "") and result.records == 0


# -- tampering -------------------------------------------------------------------------------------


def check(result: VerifyResult, record: int | None, *words: str) -> None:
    assert not result.ok, result
    assert result.record == record, result
    assert result.final_hash is None
    assert result.problem is not None and "\n" not in result.problem
    for word in words:
        assert word in result.problem, result.problem


FIELD_CHANGES = {
    "seq": lambda v: v + 1,
    "at": lambda v: "1999-01-01T00:00:00Z",
    "kind": lambda v: v + "x",
    "data": lambda v: {**v, "tampered": True},
    "prev": lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),
    "hash": lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),
}


@settings(max_examples=150)
@given(st.integers(0, 6), st.data())
def test_altering_any_field_of_any_record_is_detected(extra: int, data: st.DataObject) -> None:
    lines = lines_of(make_trail(extra))
    index = data.draw(st.integers(0, len(lines) - 1), label="record")
    field = data.draw(st.sampled_from(sorted(FIELD_CHANGES)), label="field")
    record = json.loads(lines[index])
    record[field] = FIELD_CHANGES[field](record[field])
    lines[index] = canonical_json(record).encode("utf-8")
    check(verify_content(join(lines)), index + 1, f"record {index + 1} was altered")


@given(st.integers(0, 6), st.data())
def test_removing_any_record_is_detected(extra: int, data: st.DataObject) -> None:
    lines = lines_of(make_trail(extra))
    index = data.draw(st.integers(0, len(lines) - 1), label="removed")
    del lines[index]
    result = verify_content(join(lines))
    if index == len(lines):  # the close record itself
        check(result, index + 1, "without a close record")
    else:
        check(result, index + 1, f"record {index + 1} (seq {index}) was removed")


@given(st.integers(0, 6), st.data())
def test_inserting_a_copy_is_detected(extra: int, data: st.DataObject) -> None:
    lines = lines_of(make_trail(extra))
    original = len(lines)
    copied = data.draw(st.integers(0, original - 1), label="copied")
    at = data.draw(st.integers(0, original), label="inserted at")
    lines.insert(at, lines[copied])
    result = verify_content(join(lines))
    if at == copied:  # just before its original: the copy looks right, the original does not
        check(result, at + 2, "copy")
    else:
        check(result, at + 1, "copy")


@given(st.integers(1, 6), st.data())
def test_swapping_two_records_is_detected(extra: int, data: st.DataObject) -> None:
    lines = lines_of(make_trail(extra))
    i, j = sorted(data.draw(st.lists(st.integers(0, len(lines) - 1), min_size=2, max_size=2, unique=True)))
    lines[i], lines[j] = lines[j], lines[i]
    check(verify_content(join(lines)), i + 1, "out of order")


@given(st.integers(0, 6), st.data())
def test_truncating_at_a_line_is_detected(extra: int, data: st.DataObject) -> None:
    lines = lines_of(make_trail(extra))
    keep = data.draw(st.integers(0, len(lines) - 1), label="kept")
    result = verify_content(join(lines[:keep]))
    if keep == 0:
        check(result, 1, "empty")
    else:
        check(result, keep + 1, "without a close record", "truncated")


@given(st.integers(0, 6), st.data())
def test_truncating_inside_a_line_is_detected(extra: int, data: st.DataObject) -> None:
    content = make_trail(extra)
    lines = lines_of(content)
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    cut = data.draw(st.integers(1, len(lines[index]) - 1), label="cut")
    result = verify_content(join(lines[:index]) + lines[index][:cut])
    check(result, index + 1, "not valid JSON")


def test_a_record_appended_after_the_close_is_named() -> None:
    lines = lines_of(make_trail(1))
    extra = rewrite(lines[-1], rehash=True, seq=3, prev=json.loads(lines[-1])["hash"], kind="late")
    check(verify_content(join([*lines, extra])), 4, "record 4 comes after the close record")


def test_a_missing_final_newline_is_harmless() -> None:
    content = make_trail(2)
    assert verify_content(content.rstrip(b"\n")).ok


def test_a_removed_run_of_records_is_named() -> None:
    lines = lines_of(make_trail(6))
    del lines[2:5]
    check(verify_content(join(lines)), 3, "records 3-5 (seq 2-4) were removed")


def test_an_altered_and_rehashed_record_breaks_the_chain_after_it() -> None:
    lines = lines_of(make_trail(3))
    lines[1] = rewrite(lines[1], rehash=True, data={"i": 0, "note": "nothing to see"})
    check(verify_content(join(lines)), 3, "record 3 does not chain to record 2")


@pytest.mark.parametrize(
    ("old", "new"),
    [(b'"kind":', b'"kind" :'), (b"{", b"{ "), (b"}", b"}\r"), (b'"note":"r', b'"note":"\\u0072')],
)
def test_a_reformatted_line_is_altered_even_with_the_same_content(old: bytes, new: bytes) -> None:
    lines = lines_of(make_trail(2))
    lines[1] = lines[1].replace(old, new, 1)
    check(verify_content(join(lines)), 2, "record 2 was altered")


def test_a_rehashed_first_record_must_start_the_chain() -> None:
    lines = lines_of(make_trail(1))
    lines[0] = rewrite(lines[0], rehash=True, prev="1" * 64)
    check(verify_content(join(lines)), 1, "does not start the chain")


def test_a_rewritten_trail_is_caught_by_the_reports_final_hash() -> None:
    content = make_trail(3)
    expected = verify_content(content).final_hash
    assert expected is not None
    # Rewrite record 2 and recompute every hash after it: the file alone looks fine...
    lines = lines_of(content)
    records = [json.loads(line) for line in lines]
    records[1]["data"] = {"i": 0, "note": "forged"}
    prev = GENESIS_HASH
    for r in records:
        r["prev"] = prev
        if r["kind"] == "close":
            r["data"]["final_hash"] = prev
        r["hash"] = record_hash(r)
        prev = r["hash"]
    forged = join([canonical_json(r).encode("utf-8") for r in records])
    assert verify_content(forged).ok
    # ...but not beside the report.
    result = verify_content(forged, expected)
    check(result, None, "differs from the expected")
    assert verify_content(content, expected.upper()).ok


@pytest.mark.parametrize(
    ("close_data", "words"),
    [
        ({"records": 99}, "counts 99 records"),
        ({"records": True}, "counts True records"),
        ({"final_hash": "f" * 64}, "final_hash"),
    ],
)
def test_a_close_record_that_disagrees_is_named(close_data: dict[str, Any], words: str) -> None:
    lines = lines_of(make_trail(2))
    close = json.loads(lines[-1])
    lines[-1] = rewrite(lines[-1], rehash=True, data={**close["data"], **close_data})
    check(verify_content(join(lines)), len(lines), words)


def test_bad_lines_are_named() -> None:
    lines = lines_of(make_trail(2))
    check(verify_content(join([*lines[:1], b"", *lines[1:]])), 2, "line 2 is empty")
    check(verify_content(join([*lines[:2], b"[1, 2]", *lines[2:]])), 3, "not a JSON object")
    check(verify_content(join([lines[0], b"\xff\xfe", *lines[1:]])), 2, "not valid JSON")
    record = json.loads(lines[1])
    duplicated = lines[1][:-1] + b',"data":{}}'
    check(verify_content(join([lines[0], duplicated, *lines[2:]])), 2, "duplicate key")
    check(verify_content(join([lines[0], rewrite(lines[1], extra=1), *lines[2:]])), 2, "unexpected 'extra'")
    del record["prev"]
    check(verify_content(join([lines[0], canonical_json(record).encode(), *lines[2:]])), 2, "missing prev")
    check(verify_content(join([lines[0], rewrite(lines[1], seq=-1), *lines[2:]])), 2, "seq must be")
    check(verify_content(join([lines[0], rewrite(lines[1], hash="XYZ"), *lines[2:]])), 2, "64 lower-case hex")


def test_the_first_record_must_be_open_and_only_once() -> None:
    lines = lines_of(make_trail(1))
    lines[0] = rewrite(lines[0], rehash=True, kind="step")
    check(verify_content(join(lines)), 1, "not the open record")
    lines = lines_of(make_trail(1))
    lines[1] = rewrite(lines[1], rehash=True, kind="open")
    lines[2] = rewrite(lines[2], rehash=True, prev=json.loads(lines[1])["hash"])
    check(verify_content(join(lines)), 2, "second open record")


# -- JSON-safe data --------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


@attrs.frozen
class Box:
    label: str
    at: datetime
    tags: frozenset[str]


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_json_safe_conversions() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    value = {
        "when": datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2024, 1, 2, 3, 4, 5),
        "day": datetime(2024, 1, 2).date(),
        "took": timedelta(seconds=1.5),
        "set": {3, 1, 2},
        "mixed": {1, "a", None},
        "path": Path("/var/log/x.log"),
        "box": Box("b", T0, frozenset({"z", "y"})),
        "point": Point(1, 2.5),
        "enum": Colour.RED,
        "severity": Severity.HIGH,
        "nan": math.nan,
        "inf": -math.inf,
        "bytes": b"ok\xff",
        "surrogate": "bad \udcff byte",
        "huge": 2**20_000,
        "cycle": cyclic,
        "keys": {1: "int", Path("/p"): "path", ("a", 1): "tuple"},
        "other": object,
        "unprintable": Unprintable(),
        "tuple": (1, 2),
    }
    safe = json_safe(value)
    assert safe["when"] == "2024-01-02T03:04:05.500+02:00"
    assert safe["naive"] == "2024-01-02T03:04:05Z"
    assert safe["day"] == "2024-01-02"
    assert safe["took"] == 1.5
    assert safe["set"] == [1, 2, 3]
    assert sorted(map(str, safe["mixed"])) == ["1", "None", "a"]
    assert safe["path"] == "/var/log/x.log"
    assert safe["box"] == {"label": "b", "at": "2024-01-02T03:04:05Z", "tags": ["y", "z"]}
    assert safe["point"] == {"x": 1, "y": 2.5}
    assert safe["enum"] == "red" and safe["severity"] == "high"
    assert safe["nan"] == "nan" and safe["inf"] == "-inf"
    assert safe["bytes"] == "ok\\xff"
    assert safe["surrogate"] == "bad \\udcff byte"
    assert safe["huge"].startswith("<integer of")
    assert safe["cycle"] == [1, "<cycle>"]
    assert safe["keys"] == {"1": "int", "/p": "path", '["a",1]': "tuple"}
    assert safe["other"] == str(object)
    assert safe["unprintable"] == "<unprintable Unprintable>"
    assert safe["tuple"] == [1, 2]
    assert json.loads(canonical_json(safe)) == safe


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(max_size=8),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.timedeltas(),
    st.builds(Path, st.text(max_size=8)),
    st.sampled_from(list(Severity)),
    st.frozensets(st.integers() | st.text(max_size=3), max_size=3),
)
anything = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(anything)
def test_json_safe_always_gives_canonical_json(value: Any) -> None:
    safe = json_safe(value)
    text = canonical_json(safe)
    text.encode("utf-8")
    assert json.loads(text) == json.loads(canonical_json(json_safe(safe)))


@settings(max_examples=50)
@given(st.dictionaries(st.text(min_size=1, max_size=6), anything, max_size=4))
def test_whatever_is_recorded_verifies(data: dict[str, Any]) -> None:
    stream = io.BytesIO()
    trail = AuditTrail.to_stream(stream, "r")
    trail.record("anything", **data)
    summary = trail.close()
    assert summary.ok
    assert verify_content(stream.getvalue(), summary.final_hash).ok
