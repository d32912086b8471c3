"""Helpers for plugin authors: run an investigator against fixture data in a few lines.

Also a pytest plugin (entry point ``pytest11``), giving the ``run_investigator`` fixture::

    def test_finds_the_bad_deploy(run_investigator):
        findings = run_investigator(my_investigator, logs={"orders": "2024-01-02 ... ERROR ..."})
        assert findings[0].component == "orders"

The built-in plugins' own tests use these helpers too.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incident_flow.config import Settings
from incident_flow.context import InvestigationContext, RunState
from incident_flow.investigators import Investigate, Investigator
from incident_flow.logs import read_records
from incident_flow.model import Change, Event, Finding, Incident
from incident_flow.pipeline import checked_findings
from incident_flow.sources import ChangeSource, LogRecord, LogSource, MetricSeries, MetricSource, Source

__all__ = [
    "StaticChanges",
    "StaticLogs",
    "StaticMetrics",
    "make_context",
    "run_investigator",
]


class StaticLogs(LogSource):
    """A log source over records you build in the test, or over log files you wrote."""

    def __init__(self, name: str, records: Iterable[LogRecord]) -> None:
        super().__init__(name)
        self._records = list(records)

    @classmethod
    def from_text(
        cls, name: str, text: str, *, format: str = "auto", component: str | None = None
    ) -> StaticLogs:
        """Parse ``text`` with the real log parsers (``format`` as in the config)."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.log"
            path.write_text(text, encoding="utf-8")
            return cls(name, read_records([path], format=format, component=component, source_name=name))

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogRecord]:
        for record in self._records:
            if record.at is None or (
                (since is None or record.at >= since) and (until is None or record.at < until)
            ):
                yield record


class StaticMetrics(MetricSource):
    """A metric source over series you build in the test."""

    def __init__(self, name: str, series: Iterable[MetricSeries]) -> None:
        super().__init__(name)
        self._series = list(series)

    def series(self, since: datetime, until: datetime) -> Iterator[MetricSeries]:
        yield from self._series


class StaticChanges(ChangeSource):
    """A change source over changes you build in the test."""

    def __init__(self, name: str, changes: Iterable[Change]) -> None:
        super().__init__(name)
        self._changes = list(changes)

    def changes(self, since: datetime, until: datetime) -> Iterator[Change]:
        yield from (c for c in self._changes if since <= c.at <= until)


def make_context(
    *,
    description: str = "test incident",
    detected_at: datetime | None = None,
    sources: Sequence[Source] = (),
    logs: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    system: str | None = None,
    events: list[Event] | None = None,
    audit: list[dict[str, Any]] | None = None,
) -> InvestigationContext:
    """An :class:`InvestigationContext` over fixture sources, with no audit file and no plugins.

    ``logs`` maps a component name to log text (parsed with ``format = "auto"``); ``events`` and
    ``audit``, when given, collect what the investigator emitted and recorded.
    """
    detected = detected_at or datetime.now(UTC)
    all_sources = list(sources)
    for component, text in (logs or {}).items():
        all_sources.append(StaticLogs.from_text(component, text, component=component))

    def record(kind: str, **data: Any) -> None:
        if audit is not None:
            audit.append({"kind": kind, **data})

    def emit(event: Event) -> None:
        if events is not None:
            events.append(event)

    state = RunState(all_sources, audit=record, emit=emit)
    incident = Incident(id="test-incident", description=description, detected_at=detected, system=system)
    return InvestigationContext(incident, settings or Settings(lookback=timedelta(hours=2)), state)


def run_investigator(investigator: Investigator | Investigate, **context: Any) -> list[Finding]:
    """Run one investigator (or its function) on fixture data and return its findings.

    Keyword arguments are those of :func:`make_context`.
    """
    func = investigator.investigate if isinstance(investigator, Investigator) else investigator
    name = investigator.name if isinstance(investigator, Investigator) else getattr(func, "__name__", "test")
    ctx = make_context(**context).for_investigator(name)
    result: Any = func(ctx)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    # The same validation as a real run: a wrong return type fails here, not in production.
    return checked_findings(result, name)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


try:  # the fixture is for pytest users; the helpers above work without pytest
    import pytest
except ImportError:  # pragma: no cover - pytest is absent
    pass
else:

    @pytest.fixture(name="run_investigator")
    def run_investigator_fixture() -> Callable[..., list[Finding]]:
        """The :func:`run_investigator` helper as a fixture."""
        return run_investigator
