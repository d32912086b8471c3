"""The audit trail: an append-only, hash-chained record of what a run did and why.

An incident run queries production systems, ranks causes and may propose or run actions; afterwards
people need to know what it saw and decided, and to trust that the record was not edited. So each
run writes one JSON-lines file, ``<audit_dir>/<run_id>.jsonl``, whose records are chained:

``{"seq": n, "at": RFC 3339, "kind": str, "data": {...}, "prev": <hash of record n-1>, "hash": ...}``

* ``seq`` counts from 0; ``prev`` of the first record is 64 zeros;
* ``hash`` is the SHA-256 (hex) of the record without ``hash``, serialised canonically: JSON with
  sorted keys, ``(",", ":")`` separators, ``ensure_ascii=False``, UTF-8 (:func:`record_hash`);
* the first record is ``open`` (run id, tool, version and what the caller passes: the incident);
* the last is ``close``: ``{"records": <count, close included>, "final_hash": <hash of the record
  before close>}``.

**The final hash** (``AuditSummary.final_hash``, which the report carries) is the hash of the last
record *before* ``close``, the same value the close record holds in ``data.final_hash``. Through
the chain it commits to every record of the run, and a reader can compare the report's value with
the file by eye. The close record is itself hashed and chained, so its count cannot be changed
either. :func:`verify_trail` detects an altered, removed, inserted or reordered record, a missing
close (a truncated trail), and, given the report's final hash, a trail rewritten from scratch.

The chain makes tampering evident, not impossible: anyone can recompute every hash of a rewritten
file. That is why the final hash also lives outside the file, in the report.

Writing never breaks a run: an outage tool runs when disks are full. When the trail cannot be
written, it stops, remembers why, and :meth:`AuditTrail.close` returns the error for the report.

The trail outlives the run on disk, so it holds no secret: every text value of a record is redacted
(:mod:`incident_flow.analysis.redact`, one redactor per trail so a secret keeps its placeholder)
before it is hashed and written. A DSN or a URL with a password, a token quoted in an error, an
e-mail address in an incident's description: the trail records that there was one, not what it was.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path, PurePath
from types import TracebackType
from typing import IO, Any

import attrs

from incident_flow.analysis.redact import Redactor
from incident_flow.logger import get_logger
from incident_flow.timeutil import format_time

__all__ = [
    "CLOSE",
    "GENESIS_HASH",
    "OPEN",
    "AuditSummary",
    "AuditTrail",
    "VerifyResult",
    "canonical_json",
    "json_safe",
    "record_hash",
    "verify_content",
    "verify_trail",
]

log = get_logger(__name__)

#: ``prev`` of the first record.
GENESIS_HASH = "0" * 64
#: The kinds of the first and the last record; :meth:`AuditTrail.record` refuses them.
OPEN = "open"
CLOSE = "close"
FIELDS = ("seq", "at", "kind", "data", "prev", "hash")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# json.dumps refuses to print integers beyond sys.get_int_max_str_digits() (4300 digits).
_MAX_INT_BITS = 14_000


# -- canonical form --------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """The one serialisation that hashes are computed over (and that lines are written in)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 hex of ``record`` without its ``hash`` field, in canonical JSON."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data that :func:`canonical_json` always accepts; never raises.

    Investigators hand the trail whatever they have, so the conversion is total: datetimes become
    RFC 3339, timedeltas seconds, enums their value, sets sorted lists, paths and bytes text,
    attrs and dataclass instances dicts of their fields, mapping keys text, NaN and infinities the
    strings ``"nan"``/``"inf"``, and anything else ``str(value)``. Cycles become ``"<cycle>"``.
    """
    return _safe(value, set())


def _text(value: str) -> str:
    # A lone surrogate (a filename decoded with surrogateescape) cannot be encoded as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return str(value)


def _fallback(value: Any) -> str:
    try:
        return _text(str(value))
    except Exception:  # a __str__ that raises must not take the run down
        return f"<unprintable {type(value).__name__}>"


def _safe(value: Any, active: set[int]) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _safe(value.value, active)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return int(value) if value.bit_length() < _MAX_INT_BITS else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return _text(str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    ident = id(value)
    if ident in active:
        return "<cycle>"
    active.add(ident)
    try:
        return _container(value, active)
    except Exception:  # a broken mapping or deep recursion: keep what str() says
        return _fallback(value)
    finally:
        active.discard(ident)


def _container(value: Any, active: set[int]) -> Any:
    cls = type(value)
    if attrs.has(cls):
        return {f.name: _safe(getattr(value, f.name, None), active) for f in attrs.fields(cls)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _safe(getattr(value, f.name, None), active) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k, active): _safe(v, active) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_safe(v, active) for v in value), key=canonical_json)
    if isinstance(value, list | tuple):
        return [_safe(v, active) for v in value]
    return _fallback(value)


def _redact_tree(value: Any, redactor: Redactor) -> Any:
    """JSON data (as :func:`json_safe` returns it) with every string, keys included, redacted."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {redactor.redact(k): _redact_tree(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, redactor) for v in value]
    return value


def _key(key: Any, active: set[int]) -> str:
    safe = _safe(key, active)
    return safe if isinstance(safe, str) else canonical_json(safe)


# -- writing ---------------------------------------------------------------------------------------


@attrs.frozen
class AuditSummary:
    """What the report says about the trail.

    ``records`` counts the records that reached the file (``close`` included). ``final_hash`` is
    the hash of the last record before ``close`` (see the module docstring); for a failed trail,
    the hash of the last record written, or None if none was. ``error`` is None when the whole
    trail, close included, was written; otherwise one line saying what went wrong.
    """

    path: Path | None
    records: int
    final_hash: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _file_stem(run_id: str) -> str:
    """A file name made from a run id; ids come from users (``--incident-id``) and webhooks."""
    stem = _UNSAFE_FILE_CHARS.sub("_", run_id).strip("._")[:200]
    return stem or "run"


def _create_exclusive(folder: Path, stem: str) -> tuple[IO[bytes], Path]:
    """Create a new file, never reusing one: a second run of the same incident gets ``-2``."""
    for n in range(1, 1000):
        path = folder / (f"{stem}.jsonl" if n == 1 else f"{stem}-{n}.jsonl")
        try:
            return open(path, "xb"), path  # the trail owns the file until close()
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder / stem}.jsonl and 998 numbered variants already exist")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _now() -> datetime:
    return datetime.now(UTC)


class AuditTrail:
    """An open audit trail. Create one with :meth:`open` (a file) or :meth:`to_stream`.

    :meth:`record` is safe to call from any thread (investigators run in threads); records are
    numbered and chained in the order their calls took the lock. Every record is flushed at once, so
    a killed process leaves a trail ending at its last record (which verification reports as
    truncated). No method raises because of I/O: see :attr:`error`.
    """

    def __init__(
        self,
        stream: IO[bytes] | None,
        path: Path | None,
        *,
        owns_stream: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Low level: prefer :meth:`open` and :meth:`to_stream`, which also write the open record."""
        self._stream = stream
        self._path = path
        self._owns_stream = owns_stream
        self._clock = clock or _now
        self._lock = threading.Lock()
        self._seq = 0
        self._prev = GENESIS_HASH
        self._error: str | None = None
        self._summary: AuditSummary | None = None
        self._redactor = Redactor()

    @classmethod
    def open(
        cls,
        folder: Path | str,
        run_id: str,
        /,
        *,
        clock: Callable[[], datetime] | None = None,
        **open_data: Any,
    ) -> AuditTrail:
        """Start the trail of run ``run_id`` in ``folder`` (created if missing).

        The file is ``<folder>/<run_id>.jsonl`` (characters other than letters, digits, ``.``,
        ``_`` and ``-`` become ``_``); an existing trail is never overwritten or appended to: the
        new one is ``<run_id>-2.jsonl`` and so on. ``open_data`` goes into the open record beside
        the run id and the tool's version. When the folder or file cannot be created, the trail
        returned has failed (:attr:`error` says why) and the run goes on.
        """
        folder = Path(folder)
        stem = _file_stem(str(run_id))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stream, path = _create_exclusive(folder, stem)
        except OSError as exc:
            trail = cls(None, folder / f"{stem}.jsonl", clock=clock)
            trail._fail(f"cannot create the audit trail in {folder}: {_reason(exc)}")
            return trail
        trail = cls(stream, path, owns_stream=True, clock=clock)
        trail._open(run_id, open_data)
        return trail

    @classmethod
    def to_stream(
        cls,
        stream: IO[bytes],
        run_id: str,
        /,
        *,
        path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        **open_data: Any,
    ) -> AuditTrail:
        """A trail written to a binary stream the caller owns (a pipe, a socket, a test double).

        ``path`` is only reported in the summary. :meth:`close` flushes the stream but leaves it
        open, since the caller opened it.
        """
        trail = cls(stream, path, clock=clock)
        trail._open(run_id, open_data)
        return trail

    def _open(self, run_id: str, open_data: Mapping[str, Any]) -> None:
        from incident_flow import __version__  # late: the package imports the pipeline, which imports us

        data = {"tool": "incident-flow", "version": __version__, **open_data, "run_id": run_id}
        self._append(OPEN, data)

    # -- state -------------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file written (None for a stream without a name)."""
        return self._path

    @property
    def error(self) -> str | None:
        """Why the trail stopped writing, or None while it is healthy."""
        return self._error

    @property
    def records(self) -> int:
        """How many records reached the file so far."""
        return self._seq

    @property
    def closed(self) -> bool:
        return self._summary is not None

    # -- writing -----------------------------------------------------------------------------------

    def record(self, kind: str, /, **data: Any) -> None:
        """Append a record of ``kind`` (``"source.query"``, ``"finding"``...) with ``data``.

        ``data`` is made JSON-safe (see :func:`json_safe`). A record after :meth:`close` is
        dropped, not an error: an investigator thread that overran its budget may still report
        after the run has ended, and that must not crash anything.

        :raises ValueError: ``kind`` is empty or one of the reserved ``open``/``close`` (a bug in
            the caller, not a condition of the disk).
        """
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError(f"an audit record needs a non-empty kind, got {kind!r}")
        if kind in (OPEN, CLOSE):
            raise ValueError(f"the audit record kind {kind!r} is reserved for the trail itself")
        if self._summary is not None:
            log.debug("audit record after close dropped", kind=kind, path=str(self._path))
            return
        self._append(kind, data)

    def _append(self, kind: str, data: Mapping[str, Any]) -> bool:
        safe = json_safe(dict(data))  # outside the lock: converting a large finding takes time
        with self._lock:  # the redactor numbers its placeholders: one record at a time
            try:
                clean = _redact_tree(safe, self._redactor)
            except RecursionError:  # data nested near the interpreter's limit: keep no text of it
                clean = {"unserialisable": "data nested too deep to redact"}
            return self._append_locked(kind, clean)

    def _append_locked(self, kind: str, data: Any) -> bool:
        if self._stream is None or self._error is not None or self._summary is not None:
            return False
        record: dict[str, Any] = {
            "seq": self._seq,
            "at": format_time(self._clock()),
            "kind": kind,
            "data": data,
            "prev": self._prev,
        }
        try:
            digest = record_hash(record)
        except (TypeError, ValueError) as exc:  # pragma: no cover - json_safe makes this unreachable
            record["data"] = {"unserialisable": _fallback(exc)}
            digest = record_hash(record)
        record["hash"] = digest
        line = (canonical_json(record) + "\n").encode("utf-8")
        try:
            self._stream.write(line)
            self._stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed under us
            self._fail(
                f"cannot write the audit trail {self._where()}: {_reason(exc)} "
                f"(it stops after {self._seq} records)"
            )
            return False
        self._seq += 1
        self._prev = digest
        return True

    def _where(self) -> str:
        return str(self._path) if self._path is not None else "stream"

    def _fail(self, message: str) -> None:
        if self._error is None:
            self._error = message
            log.warning("audit trail failed", path=self._where(), error=message)

    def close(self) -> AuditSummary:
        """Write the close record, sync and close the file; return what the report needs.

        Calling it again returns the same summary. It never raises; a failure is in ``error``.
        """
        with self._lock:
            if self._summary is not None:
                return self._summary
            # Whether or not the close record gets written, the final hash is that of the last
            # record before it: for a failed trail, the last one that reached the file.
            final_hash = self._prev if self._seq else None
            self._append_locked(CLOSE, {"records": self._seq + 1, "final_hash": self._prev})
            self._release()
            self._summary = AuditSummary(
                path=self._path, records=self._seq, final_hash=final_hash, error=self._error
            )
            return self._summary

    def _release(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            if not self._owns_stream:
                stream.flush()  # the caller's stream: theirs to close
            elif self._error is None:
                # flush() survives a killed process; fsync() a crashed machine. Once per run.
                os.fsync(stream.fileno())
        except (OSError, ValueError) as exc:
            self._fail(f"cannot finish the audit trail {self._where()}: {_reason(exc)}")
        if self._owns_stream:
            try:
                stream.close()
            except (OSError, ValueError) as exc:  # a buffer that could not be flushed
                self._fail(f"cannot finish the audit trail {self._where()}: {_reason(exc)}")

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- verifying -------------------------------------------------------------------------------------


@attrs.frozen
class VerifyResult:
    """The outcome of :func:`verify_trail`.

    ``records`` is the number of lines holding records in the file. ``final_hash`` is the verified
    final hash (the close record's ``final_hash``) when ``ok``, else None. ``record`` is the 1-based
    line number of the first bad record (for a truncated trail, the line where ``close`` should
    be; None when no single record is to blame, as for a wrong expected hash). ``problem`` is one
    line; in it, "record N" always means the record on line N.
    """

    ok: bool
    records: int
    final_hash: str | None
    problem: str | None = None
    record: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.records} records, final hash {self.final_hash}"
        return f"FAILED: {self.problem}"


class _Bad(Exception):
    """A problem found while checking one line."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two "data" keys on a line: json.loads would keep the last, another reader the first.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@attrs.frozen
class _Line:
    number: int
    seq: int
    kind: str
    data: Mapping[str, Any]
    prev: str
    hash: str
    hash_ok: bool
    canonical: bool


def _parse_line(number: int, raw: bytes) -> _Line:
    if not raw.strip():
        raise _Bad(f"line {number} is empty")
    try:
        text = raw.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _Bad(f"line {number} is not valid JSON ({reason}): the trail was cut or edited") from None
    if not isinstance(obj, dict):
        raise _Bad(f"line {number} is not a JSON object")
    if set(obj) != set(FIELDS):
        missing = [f for f in FIELDS if f not in obj]
        extra = sorted(set(obj) - set(FIELDS))
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(map(repr, extra))}" if extra else "",
            )
            if part
        )
        raise _Bad(f"record {number} does not have the fields of an audit record ({detail})")
    seq, at, kind, data, prev, digest = (obj[f] for f in FIELDS)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise _Bad(f"record {number}: seq must be a non-negative integer, got {seq!r}")
    if not isinstance(at, str) or not isinstance(kind, str) or not isinstance(data, dict):
        raise _Bad(f"record {number}: at and kind must be strings and data an object")
    for name, value in (("prev", prev), ("hash", digest)):
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise _Bad(f"record {number}: {name} must be 64 lower-case hex digits")
    # The writer puts each record in canonical form, so any other text (even re-spaced JSON with
    # the same content) means the line was edited: "a changed line is detected" (DESIGN.md).
    return _Line(
        number,
        seq,
        kind,
        data,
        prev,
        digest,
        hash_ok=record_hash(obj) == digest,
        canonical=canonical_json(obj) == text,
    )


def verify_trail(path: Path | str, expected_final_hash: str | None = None) -> VerifyResult:
    """Check a trail file: every hash, the chain, the numbering, the close record.

    It reports the first problem, naming the record: an altered record (its hash does not match
    its content), a removed one (a gap in ``seq``), an inserted copy or a reordered record (``seq``
    or ``prev`` out of line), lines after the close, a close whose count or final hash disagree, a
    missing close (the trail was truncated or the run never finished), a line that is not JSON, and
    a final hash other than ``expected_final_hash`` (the one the report carries), which catches a
    trail rewritten with every hash recomputed.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return VerifyResult(
            ok=False, records=0, final_hash=None, problem=f"cannot read {path}: {_reason(exc)}"
        )
    return verify_content(content, expected_final_hash)


def verify_content(content: bytes, expected_final_hash: str | None = None) -> VerifyResult:
    """:func:`verify_trail` on a trail's bytes (read from a pipe, an object store, a test)."""
    raw_lines = content.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last record
    count = len(raw_lines)

    def fail(record: int | None, problem: str) -> VerifyResult:
        return VerifyResult(ok=False, records=count, final_hash=None, problem=problem, record=record)

    # First pass: parse every line, so a gap can be told from a move by looking ahead.
    parsed: list[_Line | str] = []
    lines_by_seq: dict[int, list[int]] = {}
    lines_by_hash: dict[str, list[int]] = {}
    for number, raw in enumerate(raw_lines, start=1):
        try:
            line = _parse_line(number, raw)
        except _Bad as bad:
            parsed.append(str(bad))
            continue
        parsed.append(line)
        lines_by_seq.setdefault(line.seq, []).append(number)
        lines_by_hash.setdefault(line.hash, []).append(number)

    if not parsed:
        return fail(1, "the trail is empty: it has no open record")
    prev = GENESIS_HASH
    final_hash: str | None = None
    for n, item in enumerate(parsed, start=1):
        if isinstance(item, str):
            return fail(n, item)
        if final_hash is not None:
            twins = [m for m in lines_by_hash.get(item.hash, []) if m != n]
            if twins:
                return fail(n, f"record {n} is a copy of record {twins[0]}: a record was inserted")
            return fail(n, f"record {n} comes after the close record: it was appended after the run ended")
        if not item.hash_ok:
            return fail(n, f"record {n} was altered: its hash does not match its content")
        if not item.canonical:
            return fail(n, f"record {n} was altered: its text is not the canonical JSON the trail writes")
        if item.seq != n - 1:  # every record before this one had seq == its line - 1
            return fail(n, _misplaced(item, n - 1, lines_by_seq, lines_by_hash))
        if item.prev != prev:
            if n == 1:
                return fail(n, "record 1 does not start the chain: its prev is not 64 zeros")
            return fail(
                n,
                f"record {n} does not chain to record {n - 1} (prev differs from its hash): a record was "
                f"inserted there, or record {n - 1} was altered and re-hashed",
            )
        if n == 1 and item.kind != OPEN:
            return fail(n, f"record 1 is {item.kind!r}, not the open record")
        if n > 1 and item.kind == OPEN:
            return fail(n, f"record {n} is a second open record")
        if item.kind == CLOSE:
            counted, closing_hash = item.data.get("records"), item.data.get("final_hash")
            if counted != n or isinstance(counted, bool):
                return fail(n, f"the close record counts {counted!r} records but it is record {n}")
            if closing_hash != prev:
                return fail(
                    n, f"the close record's final_hash {closing_hash!r} is not the hash of record {n - 1}"
                )
            final_hash = prev
        prev = item.hash

    if final_hash is None:
        return fail(
            count + 1,
            f"the trail ends at record {count} without a close record: "
            "it was truncated, or the run never finished",
        )
    if expected_final_hash is not None and final_hash != expected_final_hash.strip().lower():
        return fail(
            None,
            f"the final hash {final_hash} differs from the expected {expected_final_hash.strip()}: "
            "the trail was rewritten, or belongs to another run",
        )
    return VerifyResult(ok=True, records=count, final_hash=final_hash)


def _misplaced(
    item: _Line,
    expected_seq: int,
    lines_by_seq: Mapping[int, list[int]],
    lines_by_hash: Mapping[str, list[int]],
) -> str:
    """Name what a record with an unexpected ``seq`` means: a copy, a move or a removal."""
    n = item.number
    twins = [m for m in lines_by_hash.get(item.hash, []) if m != n]
    if twins:
        return f"record {n} is a copy of record {twins[0]}: a record was inserted"
    later = [m for m in lines_by_seq.get(expected_seq, []) if m > n]
    if item.seq < expected_seq or later:
        where = f" (seq {expected_seq} is at record {later[0]})" if later else ""
        return (
            f"record {n} is out of order: it has seq {item.seq} where seq {expected_seq} "
            f"was expected{where}; records were moved or inserted"
        )
    first, last = expected_seq + 1, item.seq  # 1-based positions of the missing records
    if first == last:
        return f"record {first} (seq {expected_seq}) was removed: the record on line {n} has seq {item.seq}"
    return (
        f"records {first}-{last} (seq {expected_seq}-{item.seq - 1}) were removed: "
        f"the record on line {n} has seq {item.seq}"
    )
