"""What an investigator sees of the run: the incident, the time windows and the sources.

Investigators ask for data by what it is (log records, metric series, changes), never by file or
URL. Reading goes through the context so that a source that fails is recorded once, named in the
report, and the investigator simply gets less data instead of an exception.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from incident_flow.config import ComponentSpec, Settings
from incident_flow.logger import get_logger
from incident_flow.model import Change, Event, Incident, SourceProblem
from incident_flow.sources import ChangeSource, LogRecord, LogSource, MetricSeries, MetricSource, Source

__all__ = ["InvestigationContext", "RunState"]

S = TypeVar("S", bound=Source)


class RunState:
    """What the investigators of one run share: sources, problems, the audit and event sinks.

    Investigators run in threads, so everything that collects goes through one lock.
    """

    def __init__(
        self,
        sources: list[Source],
        *,
        audit: Any,
        emit: Any,
    ) -> None:
        self.sources = sources
        self._audit = audit
        self._emit = emit
        self._lock = threading.Lock()
        self._problems: dict[tuple[str, str], SourceProblem] = {}

    def problem(self, source: str, error: str) -> None:
        with self._lock:
            key = (source, error)
            if key not in self._problems:
                self._problems[key] = SourceProblem(source=source, error=error)
                self._audit("source.problem", source=source, error=error)

    def problems(self) -> list[SourceProblem]:
        """What went missing: the run's problems and each source's own warnings."""
        for source in self.sources:
            for warning in list(source.warnings):
                self.problem(source.name, warning)
        with self._lock:
            return list(self._problems.values())

    def audit(self, kind: str, **data: Any) -> None:
        self._audit(kind, **data)

    def emit(self, event: Event) -> None:
        self._emit(event)


class InvestigationContext:
    """The run as one investigator sees it.

    ``window_start`` is detection minus the look-back: the baseline and the onset are sought from
    there. ``window_end`` is where the data may end (None: up to now), since evidence after detection
    counts too. ``change_since`` bounds the changes considered (the seed's "last 24 hours").
    """

    def __init__(
        self,
        incident: Incident,
        settings: Settings,
        state: RunState,
        *,
        components: Mapping[str, ComponentSpec] | None = None,
        investigator: str = "core",
        window_end: datetime | None = None,
    ) -> None:
        self.incident = incident
        self.settings = settings
        self.components: Mapping[str, ComponentSpec] = dict(components or {})
        self.investigator = investigator
        self.window_start: datetime = incident.detected_at - settings.lookback
        self.window_end = window_end
        self.change_since: datetime = incident.detected_at - settings.change_lookback
        self._state = state
        self.log = get_logger(f"incident_flow.investigator.{investigator}").bind(
            incident=incident.id, investigator=investigator
        )

    @property
    def detected_at(self) -> datetime:
        return self.incident.detected_at

    @property
    def focus(self) -> str | None:
        """The component named by ``--system``: investigate it first and in more depth."""
        return self.incident.system

    def for_investigator(self, name: str) -> InvestigationContext:
        """A copy bound to one investigator, so audit records and events name it."""
        return InvestigationContext(
            self.incident,
            self.settings,
            self._state,
            components=self.components,
            investigator=name,
            window_end=self.window_end,
        )

    # -- sources ---------------------------------------------------------------------------------

    def sources(self, kind: type[S]) -> list[S]:
        """The configured sources that offer ``kind`` (``LogSource``, ``MetricSource``...)."""
        return [s for s in self._state.sources if isinstance(s, kind)]

    def log_records(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """Stream every log source's records in ``[since, until)`` (default: the run's window)."""
        since = self.window_start if since is None else since
        until = self.window_end if until is None else until
        for source in self.sources(LogSource):
            self.audit("source.query", source=source.name, what="log records", since=since, until=until)
            yield from self._guarded(source, source.records(since, until))

    def metric_series(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[MetricSeries]:
        """Every metric source's series over the window."""
        since = self.window_start if since is None else since
        until = (self.window_end or self.incident.detected_at + timedelta(days=1)) if until is None else until
        for source in self.sources(MetricSource):
            self.audit("source.query", source=source.name, what="metric series", since=since, until=until)
            yield from self._guarded(source, source.series(since, until))

    def changes(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[Change]:
        """Every change source's changes since ``change_since`` (default)."""
        since = self.change_since if since is None else since
        until = (self.window_end or self.incident.detected_at + timedelta(days=1)) if until is None else until
        for source in self.sources(ChangeSource):
            self.audit("source.query", source=source.name, what="changes", since=since, until=until)
            yield from self._guarded(source, source.changes(since, until))

    def _guarded(self, source: Source, items: Iterator[Any]) -> Iterator[Any]:
        """Yield from a source; a failure becomes a recorded problem, not an exception."""
        try:
            yield from items
        except Exception as exc:  # a broken source must not take the investigator down
            self.problem(source.name, f"{type(exc).__name__}: {exc}")

    # -- recording -------------------------------------------------------------------------------

    def problem(self, source: str, error: str) -> None:
        """Record that a source could not give what was asked: the report lists it."""
        self.log.warning("source problem", source=source, error=error)
        self._state.problem(source, error)

    def audit(self, kind: str, **data: Any) -> None:
        """Append a record to the run's audit trail, tagged with this investigator."""
        self._state.audit(kind, investigator=self.investigator, **data)

    def emit(self, kind: str, **data: Any) -> None:
        """Send a progress event to the run's listeners."""
        self._state.emit(
            Event(kind=kind, at=datetime.now(UTC), data={"investigator": self.investigator, **data})
        )
