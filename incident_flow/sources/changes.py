"""The ``changes`` source type: deploys, config changes, flag flips, migrations, infrastructure changes.

Most teams can export these from their CI/CD system or flag service as JSON lines or CSV, one event a
line, with the fields ``at``, ``component``, ``kind``, ``id``, ``summary``, ``author``, ``version``
(and optionally ``previous_version`` and ``files``). Common alternative names are read too
(``timestamp``, ``service``, ``type``, ``sha``, ``description``, ``user``, ``ref``...), so an
export rarely needs reshaping.

A deploy's ``previous_version``, when the file does not give it, is the version of the same
component's deploy before it in the file: that is what a rollback returns to.

A team with a deploy API, Argo CD or a flag service writes a plugin with its own
:class:`~incident_flow.sources.ChangeSource` instead; :func:`event_from_mapping` turns one record of
such an API into the same :class:`ChangeEvent`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import attrs

from incident_flow.analysis.changes import normalize_kind
from incident_flow.config import ConfigError
from incident_flow.logs.reader import expand_paths
from incident_flow.model import Change
from incident_flow.sources import ChangeSource, Option, SourceError, SourceSpec, SourceType
from incident_flow.timeutil import parse_time

__all__ = [
    "CHANGES_SOURCE_TYPE",
    "FIELD_ALIASES",
    "ChangeEvent",
    "ChangesSource",
    "create_changes_source",
    "event_from_mapping",
    "read_events",
]

FORMATS = ("auto", "jsonl", "csv")

#: The names each field is read from, first match wins (keys compared in lower case).
FIELD_ALIASES: Mapping[str, tuple[str, ...]] = {
    "at": (
        "at",
        "time",
        "timestamp",
        "@timestamp",
        "ts",
        "date",
        "datetime",
        "deployed_at",
        "created_at",
        "finished_at",
        "started_at",
    ),
    "id": ("id", "change_id", "event_id", "deploy_id", "deployment_id", "sha", "commit", "uid"),
    "summary": ("summary", "description", "message", "title", "text", "subject", "name"),
    "kind": ("kind", "type", "event", "event_type", "change_type", "category", "action"),
    "component": ("component", "service", "app", "application", "system", "target", "project"),
    "author": ("author", "user", "actor", "by", "triggered_by", "owner", "email", "username"),
    "version": ("version", "ref", "tag", "release", "image_tag", "image", "revision", "to_version"),
    "previous_version": ("previous_version", "from_version", "previous", "old_version", "rollback_to"),
    "files": ("files", "paths", "changed_files"),
}

_MAX_WARNINGS_PER_FILE = 5


@attrs.frozen
class ChangeEvent:
    """A change event and what the :class:`Change` contract has no field for.

    ``version`` is what the event shipped or set; ``previous_version`` what was there before (what a
    rollback returns to); ``where`` is ``file:line``; ``fields`` the record as read.
    """

    change: Change
    version: str | None = None
    previous_version: str | None = None
    where: str | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict)


def _pick(record: Mapping[str, Any], field: str) -> Any:
    for name in FIELD_ALIASES[field]:
        value = record.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("name") or value.get("email") or value.get("login") or json.dumps(value)
    text = " ".join(str(value).split())
    return text or None


def _time(value: Any, zone: tzinfo | None) -> datetime:
    if isinstance(value, bool):
        raise ValueError(f"invalid time {value!r}")
    try:
        if isinstance(value, int | float):
            seconds = float(value) / 1000.0 if abs(value) > 1e11 else float(value)  # milliseconds
            return datetime.fromtimestamp(seconds, UTC)
        text = str(value).strip()
        if re.fullmatch(r"\d{13}(?:\.\d+)?", text):
            return datetime.fromtimestamp(float(text) / 1000.0, UTC)
    except (OverflowError, OSError):  # 1e308 seconds: beyond any date; one bad event, not the file
        raise ValueError(f"invalid time {value!r}: out of range") from None
    return parse_time(text, zone)


def _files(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if str(v).strip())
    return tuple(p for p in re.split(r"[,\s;]+", str(value)) if p)


def event_from_mapping(
    record: Mapping[str, Any],
    *,
    default_component: str | None = None,
    default_kind: str | None = None,
    timezone: tzinfo | None = None,
    where: str | None = None,
) -> ChangeEvent:
    """One change event from a record with the usual field names (see :data:`FIELD_ALIASES`).

    A record without an id gets one made of its kind, component and version (or time), so it stays
    the same across runs. Raises ``ValueError`` (one line) when the time is missing or unreadable.
    """
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    raw_at = _pick(lowered, "at")
    if raw_at is None:
        raise ValueError("no time (expected one of: " + ", ".join(FIELD_ALIASES["at"][:5]) + ")")
    at = _time(raw_at, timezone)
    kind = normalize_kind(_text(_pick(lowered, "kind")) or default_kind or "unknown")
    component = _text(_pick(lowered, "component")) or default_component
    version = _text(_pick(lowered, "version"))
    previous = _text(_pick(lowered, "previous_version"))
    summary = _text(_pick(lowered, "summary"))
    if summary is None:
        summary = " ".join(
            p for p in (kind.replace("_", " "), component, f"to {version}" if version else None) if p
        )
    change_id = _text(_pick(lowered, "id"))
    if change_id is None:
        change_id = f"{kind}:{component or '-'}:{version or at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return ChangeEvent(
        change=Change(
            id=change_id,
            summary=summary,
            at=at,
            author=_text(_pick(lowered, "author")),
            kind=kind,
            component=component,
            files=_files(_pick(lowered, "files")),
        ),
        version=version,
        previous_version=previous,
        where=where,
        fields=dict(record),
    )


def _detect(path: Path, head: str) -> str:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".csv", ".tsv")):
        return "csv"
    if suffixes.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    stripped = head.lstrip("\ufeff \t\r\n")
    return "jsonl" if stripped.startswith(("{", "[")) else "csv"


def _records(text: str, fmt: str) -> Iterator[tuple[int, Mapping[str, Any] | None, str | None]]:
    """(line, record or None, problem) for each record of a file's text."""
    if fmt == "csv":
        # The header line decides the delimiter: a sniffer guesses wrong on summaries full of commas.
        header = text.lstrip("\ufeff").split("\n", 1)[0]
        delimiter = max(",;\t|", key=header.count)
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            yield reader.line_num, {k: v for k, v in row.items() if k is not None}, None
        return
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield exc.lineno, None, f"not valid JSON: {exc.msg}"
            return
        for index, item in enumerate(items if isinstance(items, list) else [items], start=1):
            if isinstance(item, Mapping):
                yield index, item, None
            else:
                yield index, None, "not a JSON object"
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"not a JSON object ({exc.msg})"
            continue
        if isinstance(item, Mapping):
            yield number, item, None
        else:
            yield number, None, "not a JSON object"


def read_events(
    paths: Sequence[Path | str],
    *,
    format: str = "auto",
    component: str | None = None,
    kind: str | None = None,
    timezone: tzinfo | None = None,
    warn: Any = None,
) -> list[ChangeEvent]:
    """Every event of the files, oldest first, with each deploy's previous version filled in."""

    def note(message: str) -> None:
        if warn is not None:
            warn(message)

    events: list[ChangeEvent] = []
    for path in expand_paths(list(paths), note):
        try:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            note(f"{path}: cannot read the file: {exc.strerror or exc}")
            continue
        fmt = _detect(path, text[:200]) if format == "auto" else format
        problems = 0
        for line, record, problem in _records(text, fmt):
            where = f"{path}:{line}"
            if record is None:
                problems += 1
                if problems <= _MAX_WARNINGS_PER_FILE:
                    note(f"{where}: skipped: {problem}")
                continue
            try:
                events.append(
                    event_from_mapping(
                        record, default_component=component, default_kind=kind, timezone=timezone, where=where
                    )
                )
            except ValueError as exc:
                problems += 1
                if problems <= _MAX_WARNINGS_PER_FILE:
                    note(f"{where}: skipped: {exc}")
        if problems > _MAX_WARNINGS_PER_FILE:
            note(f"{path}: {problems} records skipped in all")
    events.sort(key=lambda e: (e.change.at, e.change.id))
    return _with_previous_versions(events)


def _with_previous_versions(events: Iterable[ChangeEvent]) -> list[ChangeEvent]:
    last: dict[tuple[str | None, str], str] = {}
    out = []
    for event in events:
        key = (event.change.component, event.change.kind)
        if event.previous_version is None and event.version is not None and key in last:
            event = attrs.evolve(event, previous_version=last[key])
        if event.version is not None:
            last[key] = event.version
        out.append(event)
    return out


class ChangesSource(ChangeSource):
    """Change events from JSON-lines or CSV files (a CI/CD or flag-service export)."""

    def __init__(
        self,
        name: str,
        paths: Sequence[Path | str],
        *,
        format: str = "auto",
        component: str | None = None,
        kind: str | None = None,
        timezone: tzinfo | None = None,
    ) -> None:
        super().__init__(name)
        if format not in FORMATS:
            raise ConfigError(None, f"sources.{name}.format", f"one of {', '.join(FORMATS)} (got {format!r})")
        self.paths = tuple(paths)
        self.format = format
        self.component = component
        self.kind = kind
        self.timezone = timezone
        self._by_id: dict[str, ChangeEvent] = {}

    def events(self, since: datetime | None = None, until: datetime | None = None) -> list[ChangeEvent]:
        """The events in ``[since, until]``, oldest first."""
        everything = read_events(
            self.paths,
            format=self.format,
            component=self.component,
            kind=self.kind,
            timezone=self.timezone,
            warn=self.warn,
        )
        if not everything and all(not Path(p).exists() for p in self.paths if "*" not in str(p)):
            shown = ", ".join(str(p) for p in self.paths[:3])
            raise SourceError(f"changes source {self.name}: no such file: {shown}")
        self._by_id.update({e.change.id: e for e in everything})
        return [
            e
            for e in everything
            if (since is None or e.change.at >= since) and (until is None or e.change.at <= until)
        ]

    def changes(self, since: datetime, until: datetime) -> Iterator[Change]:
        for event in self.events(since, until):
            yield event.change

    def event(self, change_id: str) -> ChangeEvent | None:
        """The event with this id, as last read (with its versions)."""
        if change_id not in self._by_id:
            self.events()
        return self._by_id.get(change_id)

    def describe(self) -> str:
        shown = ", ".join(str(p) for p in self.paths[:3]) + (" ..." if len(self.paths) > 3 else "")
        return f"changes {self.name}: {shown}"


def create_changes_source(spec: SourceSpec) -> ChangesSource:
    """The ``changes`` factory: paths resolve against the config file's folder, naive times in the
    config's time zone."""
    raw = spec.options.get("paths")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw or not all(isinstance(p, str) and p.strip() for p in raw):
        raise ConfigError(None, f"sources.{spec.name}.paths", "a non-empty list of file paths or globs")
    for key in ("component", "kind"):
        value = spec.options.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(None, f"sources.{spec.name}.{key}", f"a non-empty string (got {value!r})")
    return ChangesSource(
        spec.name,
        [spec.path(p) for p in raw],
        format=spec.options.get("format") or "auto",
        component=spec.options.get("component"),
        kind=spec.options.get("kind"),
        timezone=spec.settings.timezone,
    )


#: ``type = "changes"`` in ``[[sources]]``.
CHANGES_SOURCE_TYPE = SourceType(
    name="changes",
    factory=create_changes_source,
    description="change events (deploys, config changes, feature-flag flips, migrations, infrastructure) "
    "from JSON-lines or CSV exports of a CI/CD system or flag service",
    options={
        "paths": Option(
            (list[str],),
            "JSON-lines, JSON-array or CSV files or globs, relative to the config file",
            required=True,
        ),
        "format": Option((str,), "auto (by extension, then content), jsonl or csv", default="auto"),
        "component": Option((str,), "the component of events that name none"),
        "kind": Option(
            (str,),
            "the kind of events that name none: deploy, config, feature_flag, migration, infra...",
        ),
    },
)
