"""One pass over the window's log records: errors per minute, stack-trace groups, races, bad input.

Nothing is kept per record but counts and a few samples, so memory stays flat however long the logs
are. Stack traces are parsed only from records that can hold one (a cheap test first), and grouped
by their fingerprint (exception types and code locations, not messages or line numbers).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

import attrs

from incident_flow.analysis.stacktraces import (
    ErrorClass,
    StackTrace,
    classify_error,
    fingerprint,
    looks_like_trace,
    parse_traces,
)
from incident_flow.sources import LogRecord

__all__ = ["ErrorGroup", "LogScan", "TraceGroup", "endpoint_of", "is_error", "minute", "scan_records"]

SAMPLES = 3
_ERROR_LEVELS = frozenset({"error", "critical"})
_QUIET_LEVELS = frozenset({"trace", "debug", "info", "notice"})
_ERROR_WORDS = re.compile(
    r"\b(error|exception|failed|failure|fatal|panic|traceback|refused|unavailable)\b", re.IGNORECASE
)
_ENDPOINT_FIELDS = (
    "route",
    "endpoint",
    "http.route",
    "path",
    "http.path",
    "uri",
    "request_uri",
    "url",
    "http.url",
    "http.target",
    "request",
)
# How a service names the build it runs when it starts or reports its health: ``version=d14f68c``,
# ``"revision": "d14f68c3b861..."``, ``commit d14f68c``.
_VERSION = re.compile(
    r"\b(?:version|revision|rev|commit|git_?sha|sha|build)\b[\"']?\s*[=:]?\s*[\"']?(?P<sha>[0-9a-f]{7,40})\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(r"\b(?P<method>GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(?P<path>/[^\s\"'?#]*)")
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})$"
)


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def is_error(record: LogRecord) -> bool:
    """An error record: by its level, by its HTTP status, or (with no level) by its words."""
    status = record.fields.get("status")
    if status is not None and str(status).isdigit():
        return int(str(status)) >= 500
    if record.level:
        return record.level in _ERROR_LEVELS
    return _ERROR_WORDS.search(record.message) is not None


def error_level(record: LogRecord) -> bool:
    """A record whose level says it reports an error (no level: not one)."""
    return bool(record.level) and record.level in _ERROR_LEVELS


def _route(path: str) -> str:
    parts = [("{id}" if _ID_SEGMENT.match(p) else p) for p in path.split("/")]
    return "/".join(parts) or "/"


def endpoint_of(record: LogRecord) -> str | None:
    """``POST /orders/{id}``: the request a record is about, from its fields or its text."""
    method = (
        record.fields.get("method") or record.fields.get("http.method") or record.fields.get("request_method")
    )
    for name in _ENDPOINT_FIELDS:
        value = record.fields.get(name)
        if not value:
            continue
        text = str(value)
        match = _REQUEST.search(text)
        if match is not None:
            return f"{match.group('method')} {_route(match.group('path'))}"
        path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]+", "", text).split("?", 1)[0].split(" ", 1)[0]
        if path.startswith("/"):
            return f"{method} {_route(path)}" if method else _route(path)
    match = _REQUEST.search(record.message) or _REQUEST.search(record.text[:2000] if record.text else "")
    if match is not None:
        return f"{match.group('method')} {_route(match.group('path'))}"
    return None


@attrs.define
class TraceGroup:
    """Identical traces (one fingerprint): when and where they were seen, and a sample trace."""

    key: str
    trace: StackTrace
    per_minute: Counter[datetime] = attrs.field(factory=Counter)
    components: Counter[str] = attrs.field(factory=Counter)
    samples: list[LogRecord] = attrs.field(factory=list)
    untimed: int = 0
    source: str = ""

    def add(self, record: LogRecord, component: str) -> None:
        self.components[component] += 1
        self.source = self.source or record.source
        if record.at is None:
            self.untimed += 1
        else:
            self.per_minute[minute(record.at)] += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(record)

    @property
    def component(self) -> str:
        return self.components.most_common(1)[0][0]


@attrs.define
class ErrorGroup:
    """Errors of one kind (a race, bad input) on one field and endpoint of one component."""

    kind: str
    reason: str
    field: str | None
    endpoint: str | None
    component: str
    per_minute: Counter[datetime] = attrs.field(factory=Counter)
    samples: list[LogRecord] = attrs.field(factory=list)
    trace_keys: Counter[str] = attrs.field(factory=Counter)
    source: str = ""

    def add(self, record: LogRecord, trace_key: str | None) -> None:
        self.source = self.source or record.source
        if record.at is not None:
            self.per_minute[minute(record.at)] += 1
        if trace_key:
            self.trace_keys[trace_key] += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(record)


@attrs.define
class LogScan:
    """What one pass gathered; ``requests`` counts every record per component and minute (the load)."""

    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    errors: Counter[datetime] = attrs.field(factory=Counter)
    first_error: dict[datetime, datetime] = attrs.field(factory=dict)
    component_errors: defaultdict[str, Counter[datetime]] = attrs.field(factory=lambda: defaultdict(Counter))
    requests: defaultdict[str, Counter[datetime]] = attrs.field(factory=lambda: defaultdict(Counter))
    access_requests: defaultdict[str, Counter[datetime]] = attrs.field(factory=lambda: defaultdict(Counter))
    traces: dict[str, TraceGroup] = attrs.field(factory=dict)
    classified: dict[tuple[str, str, str | None, str | None, str], ErrorGroup] = attrs.field(factory=dict)
    components: set[str] = attrs.field(factory=set)
    error_samples: defaultdict[str, list[LogRecord]] = attrs.field(factory=lambda: defaultdict(list))
    #: When a build id (a commit's hex prefix) was first named by a component's own lines: the
    #: earliest the code of that commit can have run.
    versions: dict[str, datetime] = attrs.field(factory=dict)

    def first_running(self, change_id: str) -> datetime | None:
        """The first time a log line named ``change_id`` (or a prefix of it) as the running build."""
        seen = [at for sha, at in self.versions.items() if change_id.lower().startswith(sha)]
        return min(seen, default=None)

    def load(self, component: str) -> Counter[datetime]:
        """Requests per minute: the access log's when the component has one, else all its records."""
        return self.access_requests.get(component) or self.requests.get(component) or Counter()


_CACHE_SIZE = 4096


class _Memo:
    """Parsing and classification by the text after a record's first line.

    During an incident the same trace is logged thousands of times; only its first line (the log
    line with its time) differs. Remembering the last few thousand traces keeps the scan fast.
    """

    def __init__(self) -> None:
        self.traces: dict[str, list[tuple[str, StackTrace]]] = {}
        self.classes: dict[str, ErrorClass | None] = {}

    def parse(self, text: str) -> list[tuple[str, StackTrace]]:
        first, _, rest = text.partition("\n")
        found = self.traces.get(rest) if rest else None
        if found is None:
            found = [(fingerprint(t), t) for t in parse_traces(text)]
            # A trace that starts on the first line depends on it: only the rest is a safe key.
            if rest and not looks_like_trace(first):
                if len(self.traces) >= _CACHE_SIZE:
                    self.traces.clear()
                self.traces[rest] = found
        return found

    def classify(self, text: str) -> ErrorClass | None:
        first, _, rest = text.partition("\n")
        if rest:
            if rest not in self.classes:
                if len(self.classes) >= _CACHE_SIZE:
                    self.classes.clear()
                self.classes[rest] = classify_error(rest)
            found = self.classes[rest]
            if found is not None:
                return found
        return classify_error(first)


def scan_records(records: Iterable[LogRecord]) -> LogScan:
    """Stream the records once, keeping only counts, groups and samples."""
    scan = LogScan()
    memo = _Memo()
    for record in records:
        scan.records += 1
        component = record.component or record.source
        scan.components.add(component)
        at = record.at
        bucket = minute(at) if at is not None else None
        if at is not None and bucket is not None:
            scan.first = at if scan.first is None or at < scan.first else scan.first
            scan.last = at if scan.last is None or at > scan.last else scan.last
            scan.requests[component][bucket] += 1
            if "status" in record.fields:
                scan.access_requests[component][bucket] += 1
        if at is not None and not error_level(record):
            # The raw line: logfmt and JSON keep the version in a field, not in the message.
            for match in _VERSION.finditer(record.text[:1000] if record.text else record.message):
                sha = match.group("sha").lower()
                if sha not in scan.versions or at < scan.versions[sha]:
                    scan.versions[sha] = at
        error = is_error(record)
        trace_key: str | None = None
        text = record.text or record.message
        if (error or record.level not in _QUIET_LEVELS) and looks_like_trace(text):
            for key, trace in memo.parse(text):
                group = scan.traces.get(key)
                if group is None:
                    group = scan.traces[key] = TraceGroup(key=key, trace=trace)
                group.add(record, component)
                trace_key = trace_key or key
        if not error:
            continue
        if at is not None and bucket is not None:
            scan.errors[bucket] += 1
            scan.component_errors[component][bucket] += 1
            if bucket not in scan.first_error or at < scan.first_error[bucket]:
                scan.first_error[bucket] = at
        if len(scan.error_samples[component]) < SAMPLES:
            scan.error_samples[component].append(record)
        kind = memo.classify(text)
        if kind is not None:
            endpoint = endpoint_of(record)
            group_key = (kind.kind, kind.reason, kind.field, endpoint, component)
            entry = scan.classified.get(group_key)
            if entry is None:
                entry = scan.classified[group_key] = ErrorGroup(
                    kind=kind.kind,
                    reason=kind.reason,
                    field=kind.field,
                    endpoint=endpoint,
                    component=component,
                )
            entry.add(record, trace_key)
    return scan
