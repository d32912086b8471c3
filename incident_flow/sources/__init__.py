"""What an investigator can ask a source for, and how plugins add source types.

An investigator never opens a file or a URL: it asks the run's context for the sources that offer
log records, metric series or changes. A source type is registered by a plugin (the
``register_source_types`` hook) with the options its ``[[sources]]`` table accepts, so the config
loader can name an unknown or mistyped key before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from incident_flow.model import Change

if TYPE_CHECKING:
    from incident_flow.config import Settings

__all__ = [
    "ChangeSource",
    "LogRecord",
    "LogSource",
    "MetricSeries",
    "MetricSource",
    "Option",
    "Source",
    "SourceError",
    "SourceSpec",
    "SourceType",
    "within",
]


class SourceError(Exception):
    """A source that cannot be read. The message is one line naming the source and the fix."""


@attrs.frozen(slots=True)
class LogRecord:
    """One log record: a line, or a line and its continuation lines (a stack trace stays whole).

    ``line`` is the 1-based line number where the record starts in its file; ``text`` is the raw
    record (all its lines); ``fields`` holds what the format names (``host``, ``status``...).
    ``at`` is ``None`` when the record carries no time the parser could read.
    """

    message: str
    source: str
    line: int
    text: str
    at: datetime | None = None
    level: str | None = None
    component: str | None = None
    path: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class MetricSeries:
    """One numeric series: ``times`` are unix seconds, ascending; NaN marks a gap."""

    name: str
    component: str
    metric: str
    times: tuple[float, ...]
    values: tuple[float, ...]
    source: str
    labels: Mapping[str, str] = attrs.field(factory=dict)
    query: str | None = None

    def __attrs_post_init__(self) -> None:
        if len(self.times) != len(self.values):
            raise ValueError(f"series {self.name}: {len(self.times)} times but {len(self.values)} values")


@attrs.frozen
class Option:
    """One key a source type accepts in its ``[[sources]]`` table."""

    types: tuple[type, ...]
    doc: str
    required: bool = False
    default: Any = None


@attrs.frozen
class SourceSpec:
    """A ``[[sources]]`` table after validation: what a source type's factory receives."""

    name: str
    type: str
    options: Mapping[str, Any]
    base_dir: Path
    settings: Settings

    def path(self, value: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@attrs.frozen
class SourceType:
    """A kind of source a plugin offers: ``type = "<name>"`` in the config builds it with ``factory``."""

    name: str
    factory: Callable[[SourceSpec], Source]
    options: Mapping[str, Option] = attrs.field(factory=dict)
    description: str = ""
    plugin: str | None = None


class Source:
    """The base of every source; a source may offer several kinds of data.

    The capability classes below are plain bases rather than ABCs so that
    ``ctx.sources(LogSource)`` type-checks; a subclass implements the method it offers.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        #: Non-fatal problems met while reading (a binary file skipped, a truncated gzip...):
        #: the run copies them into the report's list of what was missing.
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Record a problem that lost some data but not the source."""
        if message not in self.warnings:
            self.warnings.append(message)

    def describe(self) -> str:
        """One line for the report and the audit trail."""
        return f"{type(self).__name__} {self.name}"

    def close(self) -> None:
        """Release connections; called once when the run ends."""


class LogSource(Source):
    """Offers log records.

    ``shared_scan`` is a promise: ``records(since, until)`` gives exactly ``within(records(),
    since, until)``, so the cost of a read does not depend on the window (log files, parsed whole).
    The run then reads such a source once for all the investigators that read it at the same time
    and filters for each one's window, instead of parsing it once per investigator. A source that
    pushes the window down to a store (Loki, Elasticsearch) leaves it False.
    """

    shared_scan: ClassVar[bool] = False

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogRecord]:
        """Stream the records in ``[since, until)``; records without a time are kept."""
        raise NotImplementedError


class MetricSource(Source):
    """Offers numeric series."""

    def series(self, since: datetime, until: datetime) -> Iterator[MetricSeries]:
        """The series with points in ``[since, until]``."""
        raise NotImplementedError


class ChangeSource(Source):
    """Offers changes: commits, deploys, flag flips, migrations."""

    def changes(self, since: datetime, until: datetime) -> Iterator[Change]:
        """The changes made in ``[since, until]``, oldest first."""
        raise NotImplementedError


def within(
    records: Iterable[LogRecord], since: datetime | None = None, until: datetime | None = None
) -> Iterator[LogRecord]:
    """The records timed in ``[since, until)``, and every record without a time, in their order.

    What :meth:`LogSource.records` gives for a window; ``since`` and ``until`` without an offset are
    UTC.
    """
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if since is None and until is None:
        yield from records
        return
    for record in records:
        at = record.at
        if at is None or ((since is None or at >= since) and (until is None or at < until)):
            yield record
