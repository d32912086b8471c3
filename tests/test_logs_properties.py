"""Property-based tests: during an outage, logs are whatever the failing system wrote.

No parser raises on any text; no read raises on any bytes (plain or gzip, whole or cut); and every
line of a file belongs to exactly one record: records start at increasing line numbers, a record's
text is exactly the file's lines from its start, and only blank lines between records are left out.
"""

from __future__ import annotations

import contextlib
import gzip
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_flow.logs import FORMATS, read_records
from incident_flow.logs.formats import FormatOptions, make_format
from incident_flow.logs.levels import LEVELS, normalize_level
from incident_flow.logs.nginx import compile_log_format
from incident_flow.logs.pattern import compile_pattern
from incident_flow.logs.timestamps import TimeParser
from incident_flow.sources import LogRecord

LAYOUT = "<Date> <Time> <Level> <Content>"
OPTIONS = FormatOptions(
    pattern=compile_pattern(LAYOUT),
    log_format=compile_log_format('$remote_addr [$time_local] "$request" $status $request_time'),
)
ALL_FORMATS = [name for name in FORMATS if name != "auto"]
READ_OPTIONS: list[dict[str, str]] = [{"format": name} for name in FORMATS if name != "pattern"] + [
    {"pattern": LAYOUT},
    {"pattern": r"(?P<level>[A-Z]+) (?P<message>.*)"},
    {"log_format": '$remote_addr [$time_local] "$request" $status'},
]

# Lines of every format, stack-trace lines and noise: the mixes that decide where records start.
SAMPLES = [
    '{"ts": "2024-01-02T03:04:05Z", "level": "error", "msg": "boom", "service": "orders"}',
    '{"time": 1704164645, "lvl": 50, "message": {"nested": [1, 2]}}',
    "{not json",
    'time=2024-01-02T03:04:05Z level=warn msg="slow \\"query\\"" dur=3s',
    '10.0.0.1 - - [02/Jan/2024:03:04:05 +0000] "GET /x HTTP/1.1" 502 12 "-" "curl" 0.1 0.2',
    '2024/01/02 03:04:05 [error] 1#1: *2 upstream timed out, client: 1.2.3.4, upstream: "http://a"',
    "Mar  1 10:00:00 host app[12]: message",
    "<13>1 2024-01-02T03:04:05Z host app - - - msg",
    "2024-01-02 03:04:05.123 UTC [1] ERROR:  boom",
    "2024-01-02 03:04:05.123 UTC [1] DETAIL:  more",
    "2024-01-02 03:04:05,123 ERROR [orders] failed",
    "2024-01-02 03:04:05.123 [main] INFO com.x.Y - ok",
    "2024/01/02 03:04:05 listening",
    "E0102 03:04:05.123456   1 x.go:1] bad",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "ValueError: bad value",
    "\tat com.x.Y.z(Y.java:1)",
    "Caused by: java.io.IOException: x",
    "\t... 12 more",
    "goroutine 1 [running]:",
    "main.main()",
    "panic: oops",
    "",
    "   ",
    "\x1b[31mERROR\x1b[0m coloured",
    "Feb 30 10:00:00 host app: an impossible date",
    "9999-99-99 99:99:99,999 ERROR [x] impossible time",
]

_no_newline = st.characters(exclude_categories=["Cs"], exclude_characters="\n")
line_text = st.one_of(st.sampled_from(SAMPLES), st.text(_no_newline, max_size=60))
line_bytes = st.one_of(
    line_text.map(lambda s: s.encode("utf-8")), st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))
)


@st.composite
def log_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(line_bytes, max_size=30))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    trailing = draw(st.booleans())
    return ending.join(lines) + (ending if trailing and lines else b"")


def expected_lines(data: bytes) -> list[str]:
    """The file's lines as the reader must see them: UTF-8 with replacement, CRLF and BOM removed."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    decoded = [line.decode("utf-8", "replace") for line in lines]
    return [line[:-1] if line.endswith("\r") else line for line in decoded]


def assert_every_line_in_one_record(data: bytes, records: list[LogRecord]) -> None:
    lines = expected_lines(data)
    covered: set[int] = set()
    previous = 0
    for record in records:
        assert record.line > previous, "records must start at increasing lines"
        span = record.text.split("\n")
        assert span == lines[record.line - 1 : record.line - 1 + len(span)], "text must be the file's lines"
        numbers = set(range(record.line, record.line + len(span)))
        assert not numbers & covered, "a line in two records"
        covered |= numbers
        previous = record.line + len(span) - 1
        assert record.at is None or record.at.tzinfo is not None
        assert record.level is None or record.level in LEVELS
    left_out = [n for n in range(1, len(lines) + 1) if n not in covered]
    assert all(not lines[n - 1] or lines[n - 1].isspace() for n in left_out), "a non-blank line in no record"


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def read(path: Path, data: bytes, options: dict[str, str]) -> list[LogRecord]:
    path.write_bytes(data)
    return list(
        read_records(
            [path],
            reference_time=datetime(2024, 1, 2, tzinfo=UTC),
            timezone=timezone(timedelta(hours=3)),
            warn=lambda _: None,
            **options,
        )
    )


@pytest.mark.parametrize("options", READ_OPTIONS, ids=lambda o: next(iter(o.values())))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=log_files())
def test_every_line_belongs_to_exactly_one_record(folder: Path, options: dict[str, str], data: bytes) -> None:
    data = data.replace(b"\x00", b"")  # NUL means binary: skipped, as its own test shows
    if data.startswith(b"\x1f\x8b"):
        data = b" " + data  # gzip's magic: read as gzip, as the next tests show
    assert_every_line_in_one_record(data, read(folder / "mixed.log", data, options))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), name=st.sampled_from(["auto", "json", "syslog", "plain", "pattern"]))
def test_arbitrary_bytes_never_raise(folder: Path, data: bytes, name: str) -> None:
    options = {"pattern": LAYOUT} if name == "pattern" else {"format": name}
    records = read(folder / "noise.log", data, options)
    if b"\x00" in data[:8192]:
        assert records == []
    elif not data.startswith(b"\x1f\x8b"):
        assert_every_line_in_one_record(data, records)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=log_files(), cut=st.floats(min_value=0, max_value=1))
def test_cut_or_damaged_gzip_never_raises(folder: Path, data: bytes, cut: float) -> None:
    packed = gzip.compress(data)
    damaged = packed[: max(2, int(len(packed) * cut))]
    for blob in (damaged, packed[:10] + bytes(reversed(packed[10:]))):
        records = read(folder / "cut.gz", blob, {"format": "auto"})
        assert len(records) <= max(1, len(expected_lines(data)))


@pytest.mark.parametrize("name", ALL_FORMATS)
@settings(max_examples=80, deadline=None)
@given(text=st.one_of(st.text(), st.sampled_from(SAMPLES)))
def test_no_parser_raises_on_any_text(name: str, text: str) -> None:
    fmt = make_format(name, TimeParser(reference=datetime(2024, 1, 2, tzinfo=UTC)), OPTIONS)
    parsed = fmt.parse(text)
    fmt.recognizes(text)
    if parsed is not None:
        message, at, level, _, fields, _ = parsed
        assert isinstance(message, str)
        assert at is None or at.tzinfo is not None
        assert level is None or level in LEVELS
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=40), st.from_regex(r"\d{1,20}(\.\d{1,9})?", fullmatch=True)))
def test_timestamps_and_levels_never_raise(text: str) -> None:
    at = TimeParser(reference=datetime(2024, 1, 2, tzinfo=UTC)).parse(text)
    assert at is None or at.tzinfo is not None
    assert normalize_level(text) in (None, *LEVELS)


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=60))
def test_pattern_and_log_format_compilers_fail_only_with_value_error(value: str) -> None:
    for compiler in (compile_pattern, compile_log_format):
        with contextlib.suppress(ValueError):
            compiler(value)
