"""What an investigator sees of the run: the incident, the time windows and the sources.

Investigators ask for data by what it is (log records, metric series, changes), never by file or
URL. Reading goes through the context so that a source that fails is recorded once, named in the
report, and the investigator simply gets less data instead of an exception.

A source that hangs is treated the same way: each read runs in a daemon thread of its own
(:class:`_Prefetch`), and when a source gives nothing for half the investigator timeout, the
investigator stops waiting for it, the report names it, and the investigation goes on with the
other sources. Without that, one log file on a hung NFS mount (or a FIFO) would hold every
investigator that reads logs until its timeout, and all their findings would be lost.

A log source whose window is only a filter (``LogSource.shared_scan``, the ``logs`` files) is read
once for all the investigators that read it at the same time (:mod:`incident_flow.logs.shared`),
each filtering for its own window: on a 1M-line log, four investigators parsing it four times on
two cores was most of the run. One that falls behind goes on with a private read from where it was.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from incident_flow.config import ComponentSpec, Settings
from incident_flow.logger import get_logger
from incident_flow.logs.shared import Detached, ScanStalled, SharedScans
from incident_flow.model import Change, Event, Incident, SourceProblem
from incident_flow.sources import (
    ChangeSource,
    LogRecord,
    LogSource,
    MetricSeries,
    MetricSource,
    Source,
    within,
)

__all__ = ["InvestigationContext", "RunState"]

S = TypeVar("S", bound=Source)

#: Items handed from a source's reading thread to the investigator at a time, at most.
_BATCH = 512
#: A batch is handed over once it is this old (seconds), full or not, so a slow source still flows:
#: an item that comes more than this after the last hand-over goes at once.
_FLUSH_S = 0.05
#: Batches read ahead of the investigator, at most: memory stays bounded whatever the source's size.
_DEPTH = 4
#: Batches a shared log scan keeps, at most (8k records, about 9 MiB of parsed records): how far its
#: fastest reader may run ahead of its slowest, and the head start a late reader may still join.
_SHARED_DEPTH = 16
#: A reader that has not taken a batch for this long (seconds) while a shared scan waits on it, or
#: that has held the others back this long in all, is dropped to a read of its own; at most a
#: quarter of the stall timeout.
_LAG_S = 5.0


class _Prefetch:
    """Reads an iterator in a daemon thread and hands its items over in batches.

    The consumer waits at most ``stall`` seconds for each batch (:class:`ScanStalled`), so a read that
    blocks forever (a hung mount, a FIFO, a server that never answers) is abandoned instead of
    holding the investigator: the blocked thread is a daemon and never keeps the process alive.
    The source's own exception is raised in the consumer, after the items read before it. Items
    are handed over when a batch is full or :data:`_FLUSH_S` old, so a source that stalls right
    after a burst loses at most the last 50 ms of the burst with the rest of the read.
    """

    def __init__(self, read: Callable[[], Iterable[Any]], name: str) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(read,), name=f"incident-flow-source-{name}", daemon=True
        )
        self._thread.start()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, read: Callable[[], Iterable[Any]]) -> None:
        batch: list[Any] = []
        iterator: Iterator[Any] = iter(())
        try:
            iterator = iter(read())  # the call itself may fail or block: a list-returning source
            flushed = time.monotonic()
            for item in iterator:
                batch.append(item)
                now = time.monotonic()
                if len(batch) >= _BATCH or now - flushed >= _FLUSH_S:
                    if not self._put(("items", batch)):
                        return
                    batch, flushed = [], now
            if self._put(("items", batch)):
                self._put(("done", None))
        except BaseException as exc:  # handed to the consumer, which decides what it means
            if self._put(("items", batch)):
                self._put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing must not hide what the read found
                    close()

    def batches(self, stall: float) -> Iterator[list[Any]]:
        """The items in batches; raises :class:`ScanStalled`, or the source's exception."""
        try:
            while True:
                try:
                    kind, value = self._queue.get(timeout=stall)
                except queue.Empty:
                    raise ScanStalled(self._thread) from None
                if kind == "items":
                    if value:
                        yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self._stop.set()  # the investigator stopped reading, or the source failed or hung


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
        shared_depth: int = _SHARED_DEPTH,
    ) -> None:
        self.sources = sources
        self._audit = audit
        self._emit = emit
        self._lock = threading.Lock()
        self._problems: dict[tuple[str, str], SourceProblem] = {}
        #: The sources whose read stalled, with the thread still blocked in it.
        self._hung: dict[int, threading.Thread] = {}
        #: One read of each shared-scan log source for the investigators reading it together.
        self.scans = SharedScans(batch=_BATCH, flush_s=_FLUSH_S, depth=shared_depth)

    def problem(self, source: str, error: str) -> None:
        with self._lock:
            key = (source, error)
            if key not in self._problems:
                self._problems[key] = SourceProblem(source=source, error=error)
                self._audit("source.problem", source=source, error=error)

    def stalled(self, source: Source, reader: threading.Thread | None) -> None:
        """Remember that ``reader`` is blocked in ``source``: later reads need not wait on it again."""
        if reader is not None:
            with self._lock:
                self._hung[id(source)] = reader

    def hung(self, source: Source) -> bool:
        """Whether a read of ``source`` stalled and its thread is still blocked in the source."""
        with self._lock:
            reader = self._hung.get(id(source))
            if reader is not None and not reader.is_alive():  # the source answered in the end
                del self._hung[id(source)]
                reader = None
            return reader is not None

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
        #: How long a source may give nothing before the investigator stops waiting for it: half
        #: the investigator timeout (or of the investigate budget when that is shorter), so the
        #: investigator still has time to finish with the other sources.
        self._stall_timeout: float = _stall_timeout_for(settings)
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
        ctx = InvestigationContext(
            self.incident,
            self.settings,
            self._state,
            components=self.components,
            investigator=name,
            window_end=self.window_end,
        )
        ctx._stall_timeout = self._stall_timeout
        return ctx

    # -- sources ---------------------------------------------------------------------------------

    def sources(self, kind: type[S]) -> list[S]:
        """The configured sources that offer ``kind`` (``LogSource``, ``MetricSource``...)."""
        return [s for s in self._state.sources if isinstance(s, kind)]

    def log_records(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """Stream every log source's records in ``[since, until)`` (default: the run's window).

        Records come source by source, each in file order, and records without a time are kept.
        """
        since = self.window_start if since is None else since
        until = self.window_end if until is None else until
        for source in self.sources(LogSource):
            self.audit("source.query", source=source.name, what="log records", since=since, until=until)
            if self._still_hung(source):
                continue
            if source.shared_scan:
                for batch in self._guarded(source, self._shared_batches(source)):
                    yield from within(batch, since, until)
            else:
                yield from self._private(source, functools.partial(source.records, since, until))

    def metric_series(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[MetricSeries]:
        """Every metric source's series over the window."""
        since = self.window_start if since is None else since
        until = (self.window_end or self.incident.detected_at + timedelta(days=1)) if until is None else until
        for source in self.sources(MetricSource):
            self.audit("source.query", source=source.name, what="metric series", since=since, until=until)
            yield from self._private(source, functools.partial(source.series, since, until))

    def changes(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[Change]:
        """Every change source's changes since ``change_since`` (default)."""
        since = self.change_since if since is None else since
        until = (self.window_end or self.incident.detected_at + timedelta(days=1)) if until is None else until
        for source in self.sources(ChangeSource):
            self.audit("source.query", source=source.name, what="changes", since=since, until=until)
            yield from self._private(source, functools.partial(source.changes, since, until))

    def _private(self, source: Source, read: Callable[[], Iterable[Any]]) -> Iterator[Any]:
        """Yield the items of a read of this investigator's own, guarded."""
        if self._still_hung(source):
            return
        for batch in self._guarded(source, _Prefetch(read, source.name).batches(self._stall_timeout)):
            yield from batch

    def _shared_batches(self, source: LogSource) -> Iterator[list[LogRecord]]:
        """All of a log source's records, in batches, from the run's shared scan of it.

        A reader that joins the scan late reads the records it missed on its own first. When the
        scan dropped this reader for falling behind, a private read goes on after the records it
        already had.
        """
        lag = min(_LAG_S, self._stall_timeout / 4)
        subscription = self._state.scans.subscribe(id(source), source.records, source.name, lag_s=lag)
        shared = subscription.batches(self._stall_timeout)
        try:
            if subscription.missed:
                missed = subscription.missed
                head = _Prefetch(lambda: itertools.islice(source.records(), missed), source.name)
                yield from head.batches(self._stall_timeout)
            yield from shared
            return
        except Detached as dropped:
            skip = dropped.consumed
        finally:
            subscription.close()  # leaves the scan, also when the head read failed
        self.log.info("fell behind the shared log scan: reading on alone", source=source.name, skip=skip)
        self.audit(
            "source.query", source=source.name, what="log records, alone after the shared scan", skip=skip
        )
        rest = _Prefetch(lambda: itertools.islice(source.records(), skip, None), source.name)
        yield from rest.batches(self._stall_timeout)

    def _guarded(self, source: Source, batches: Iterator[list[Any]]) -> Iterator[list[Any]]:
        """Pass a source's batches on; a failure or a hang becomes a recorded problem, not an exception.

        The source is read in a thread of its own (see :class:`_Prefetch` and
        :mod:`incident_flow.logs.shared`): when it gives nothing for half the investigator timeout,
        the read is abandoned and the problem says so.
        """
        try:
            yield from batches
        except ScanStalled as stalled:
            self._state.stalled(source, stalled.reader)
            self.problem(source.name, self._stall_message())
        except Exception as exc:  # a broken source must not take the investigator down
            self.problem(source.name, f"{type(exc).__name__}: {exc}")

    def _still_hung(self, source: Source) -> bool:
        """A source whose earlier read is still blocked is not waited on again: the problem is
        already recorded, and one log file on a dead mount must not cost each investigator (or
        each of its reads) the stall timeout anew."""
        if not self._state.hung(source):
            return False
        self.problem(source.name, self._stall_message())
        return True

    def _stall_message(self) -> str:
        return (
            f"no answer for {self._stall_timeout:g}s: the source hangs or is very slow; "
            "the investigation went on without the rest of it"
        )

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


def _stall_timeout_for(settings: Settings) -> float:
    """How long a source may give nothing before an investigator stops waiting for it (seconds)."""
    budget = settings.phase_budgets.get("investigate", math.inf)
    limit = min(settings.investigator_timeout, budget)
    return max(limit / 2, 0.05) if math.isfinite(limit) and limit > 0 else 30.0
