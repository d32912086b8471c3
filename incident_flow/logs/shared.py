"""One read of a log source shared by every investigator that reads it at the same time.

Investigators start together and each streams every log record: read privately, a 1M-line log is
parsed once per investigator, on the same cores (and under one GIL). A :class:`SharedScan` parses
the source once, in a thread of its own, and hands the same batches to every subscriber.

Memory stays flat: the scan keeps at most ``depth`` batches, and drops a batch only once every
subscriber has taken it, so the fastest subscriber can be at most ``depth`` batches ahead of the
slowest. A subscriber must not hold the others for long, whether it stopped pulling (an
investigator abandoned at its timeout, a generator left half-read) or is much slower than they
are (its own work per record is heavier): under one GIL, tying every investigator to the slowest
would make them all finish, or all time out, with it. So a subscriber is detached when the scan
has waited on it for ``lag_s`` without it taking a batch, or for ``lag_s`` in all while another
subscriber was waiting for records. Its next pull raises :class:`Detached` with the number of
records it already had, so it can go on with a private read of its own from there: a laggard
costs one more parse of the rest of the source, never a lost record.

A subscriber that comes while the scan is still reading, but past its first batch (an
investigator that finished another source later than the others), joins at the oldest batch the
scan still holds: :attr:`Subscription.missed` says how many records came before it, which it reads
on its own first. That costs a parse of those records, not of the whole source. Once the read is
over (or nobody reads it any more) a newcomer starts a new scan, which sees lines appended since.

A source that gives nothing for ``stall`` seconds raises :class:`ScanStalled` in each waiting
subscriber, as a private read would; time the scan spends waiting for a slow subscriber does not
count, since the source is not to blame for it. The source's own exception reaches every
subscriber after the records read before it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator
from typing import Any

__all__ = ["Detached", "ScanStalled", "SharedScan", "SharedScans", "Subscription"]


class ScanStalled(Exception):
    """The source gave nothing for the stall timeout; ``reader`` is the thread still waiting on it."""

    def __init__(self, reader: threading.Thread | None) -> None:
        super().__init__("the source gave nothing for the stall timeout")
        self.reader = reader


class Detached(Exception):
    """The subscriber fell behind and was dropped; ``consumed`` records had been handed to it."""

    def __init__(self, consumed: int) -> None:
        super().__init__(f"dropped from the shared scan after {consumed} records")
        self.consumed = consumed


class Subscription:
    """One subscriber's place in a :class:`SharedScan`: iterate :meth:`batches` once."""

    def __init__(self, scan: SharedScan) -> None:
        self._scan = scan
        self.seq = scan._base  # the next batch to take
        #: The records the scan had already dropped when this subscriber came: read them first.
        self.missed = scan._dropped
        self.consumed = self.missed  # the records before the next batch
        self.pulled = time.monotonic()  # when it last took a batch (or joined)
        self.held = 0.0  # seconds it held the scan back while another subscriber waited for records
        self.detached = False

    def batches(self, stall: float) -> Generator[list[Any], None, None]:
        """The source's items in batches; raises :class:`ScanStalled`, :class:`Detached` or the
        source's exception. Closing the iterator (or finishing it) leaves the scan."""
        try:
            while True:
                batch = self._scan._next(self, stall)
                if batch is None:
                    return
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        """Leave the scan (again is harmless): it no longer waits for this subscriber."""
        self._scan._leave(self)


class SharedScan:
    """Reads ``read()`` once in a daemon thread and hands every batch to each subscriber.

    ``batch`` items make a batch, or fewer when the oldest is ``flush_s`` old (a slow source still
    flows); ``depth`` batches are kept at most; a subscriber the scan has waited on for ``lag_s``
    without it pulling is detached.
    """

    def __init__(
        self,
        read: Callable[[], Iterable[Any]],
        name: str,
        *,
        batch: int,
        flush_s: float,
        depth: int,
        lag_s: float,
    ) -> None:
        self._read = read
        self._name = name
        self._batch = batch
        self._flush_s = flush_s
        self._depth = max(depth, 1)
        self._lag_s = lag_s
        self._cond = threading.Condition()
        self._ring: deque[tuple[float, list[Any]]] = deque()  # (when it was published, the batch)
        self._base = 0  # the sequence number of _ring[0]
        self._dropped = 0  # the items of the batches before _ring[0]
        self._subscribers: list[Subscription] = []
        self._ended = False  # the read is over: the ring holds what is left to hand over
        self._error: BaseException | None = None  # what ended the read, when it failed
        self._thread: threading.Thread | None = None
        self._closed = False  # no subscriber may join any more
        self._waiting_for_room = False
        self._full_since: float | None = None  # since when the scan has been waiting for room
        self._hungry = 0  # subscribers waiting for a batch the scan has not read yet
        self._hungry_since: float | None = None  # since when one has been
        self._quiet_since = time.monotonic()  # since when the scan has been waiting on the source

    # -- subscribers -------------------------------------------------------------------------------

    def join(self) -> Subscription | None:
        """A subscription from the oldest batch held (see :attr:`Subscription.missed`), or None
        when nobody reads the scan any more, or when it has ended and dropped its first batch."""
        with self._cond:
            if self._closed or (self._ended and self._base > 0):
                return None
            return self._add()

    def _add(self) -> Subscription:
        with self._cond:
            subscription = Subscription(self)
            self._subscribers.append(subscription)
            if self._thread is None:
                self._quiet_since = time.monotonic()
                self._thread = threading.Thread(
                    target=self._produce, name=f"incident-flow-scan-{self._name}", daemon=True
                )
                self._thread.start()
            return subscription

    def _next(self, sub: Subscription, stall: float) -> list[Any] | None:
        """The subscriber's next batch, None at the end of the read."""
        waited_from = time.monotonic()
        hungry = False
        with self._cond:
            try:
                while True:
                    if sub.detached:
                        raise Detached(sub.consumed)
                    index = sub.seq - self._base
                    if index < len(self._ring):
                        now = time.monotonic()
                        if index == 0:
                            sub.held += self._blame(sub, now)
                        batch = self._ring[index][1]
                        sub.seq += 1
                        sub.consumed += len(batch)
                        sub.pulled = now
                        self._cond.notify_all()  # the scan may be waiting for this batch to be taken
                        return batch
                    if self._ended:
                        if self._error is not None:
                            raise self._error
                        return None
                    if not hungry:
                        hungry = True
                        self._hungry += 1
                        if self._hungry == 1:
                            self._hungry_since = time.monotonic()
                            self._cond.notify_all()  # the scan may now blame who holds it back
                    quiet = time.monotonic() - max(waited_from, self._quiet_since)
                    if self._waiting_for_room:
                        self._cond.wait(stall)  # a slower subscriber holds the scan, not the source
                    elif quiet >= stall:
                        raise ScanStalled(self._thread)
                    else:
                        self._cond.wait(stall - quiet)
            finally:
                if hungry:
                    self._hungry -= 1
                    if self._hungry == 0:
                        self._hungry_since = None

    def _blame(self, sub: Subscription, now: float) -> float:
        """How long, in the scan's current wait for room, ``sub`` has held the oldest batch untaken
        while another subscriber waited for records (from when it could have taken it)."""
        if self._full_since is None or self._hungry_since is None or not self._ring:
            return 0.0
        since = max(self._full_since, self._hungry_since, sub.pulled, self._ring[0][0])
        return max(now - since, 0.0)

    def _leave(self, sub: Subscription) -> None:
        with self._cond:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
            if not self._subscribers:
                self._closed = True  # nobody reads: the scan stops at its next batch
                self._ring.clear()
            self._cond.notify_all()

    # -- the reading thread ------------------------------------------------------------------------

    def _produce(self) -> None:
        batch: list[Any] = []
        iterator: Iterator[Any] = iter(())
        try:
            iterator = iter(self._read())  # the call itself may fail or block
            flushed = time.monotonic()
            for item in iterator:
                batch.append(item)
                now = time.monotonic()
                if len(batch) >= self._batch or now - flushed >= self._flush_s:
                    if not self._publish(batch):
                        return
                    batch, flushed = [], time.monotonic()
            self._finish(batch, None)
        except BaseException as exc:  # handed to the subscribers, which decide what it means
            self._finish(batch, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing must not hide what the read found
                    close()

    def _publish(self, batch: list[Any]) -> bool:
        """Append a batch once there is room; False when nobody reads any more."""
        with self._cond:
            self._waiting_for_room = True
            try:
                while self._subscribers and len(self._ring) >= self._depth:
                    if self._trim():
                        continue
                    if self._full_since is None:
                        self._full_since = time.monotonic()
                    wait = self._detach_laggards()
                    if wait > 0:
                        self._cond.wait(wait)
            finally:
                self._waiting_for_room = False
                self._full_since = None
                self._quiet_since = time.monotonic()
            if not self._subscribers:
                self._closed = True
                self._ring.clear()
                return False
            self._ring.append((time.monotonic(), batch))
            self._cond.notify_all()
            return True

    def _trim(self) -> bool:
        """Drop the batches every subscriber has taken; whether any was dropped."""
        oldest = min(sub.seq for sub in self._subscribers)
        dropped = False
        while self._base < oldest and self._ring:
            self._dropped += len(self._ring.popleft()[1])
            self._base += 1
            dropped = True
        return dropped

    def _detach_laggards(self) -> float:
        """Detach the subscribers holding the oldest batch that have left it untaken for ``lag_s``,
        or have held the scan back for ``lag_s`` in all while others waited for records; otherwise
        how long to wait before one of them could be.

        The idle clock starts when a subscriber could have taken the batch: when it took the one
        before, or when the batch came if it was waiting for it (held back by another subscriber,
        it is not to blame).
        """
        now = time.monotonic()
        published = self._ring[0][0]
        left: list[float] = []
        late: list[Subscription] = []
        for sub in self._subscribers:
            if sub.seq != self._base:
                continue
            idle = now - max(sub.pulled, published)
            held = sub.held + self._blame(sub, now)
            if idle >= self._lag_s or held >= self._lag_s:
                late.append(sub)
            left.append(self._lag_s - idle)
            if self._hungry_since is not None:
                left.append(self._lag_s - held)
        for sub in late:
            sub.detached = True
            self._subscribers.remove(sub)
        if late:
            self._cond.notify_all()
            return 0.0
        return max(min(left), 0.001)

    def _finish(self, batch: list[Any], error: BaseException | None) -> None:
        with self._cond:
            if batch and self._subscribers:
                self._ring.append((time.monotonic(), batch))  # one over the depth at most: the end
            self._ended, self._error = True, error
            if not self._subscribers:
                self._closed = True
                self._ring.clear()
            self._cond.notify_all()


class SharedScans:
    """The shared scans of one run, one current scan per source.

    :meth:`subscribe` joins the source's current scan while it can be joined, and otherwise starts
    a new one that later subscribers may join.
    """

    def __init__(self, *, batch: int, flush_s: float, depth: int) -> None:
        self._batch = batch
        self._flush_s = flush_s
        self._depth = depth
        self._lock = threading.Lock()
        self._current: dict[Hashable, SharedScan] = {}

    def subscribe(
        self, key: Hashable, read: Callable[[], Iterable[Any]], name: str, *, lag_s: float
    ) -> Subscription:
        """A subscription to ``key``'s current scan; ``read`` starts a new one when there is none."""
        with self._lock:
            scan = self._current.get(key)
            subscription = scan.join() if scan is not None else None
            if subscription is not None:
                return subscription
            scan = SharedScan(
                read, name, batch=self._batch, flush_s=self._flush_s, depth=self._depth, lag_s=lag_s
            )
            self._current[key] = scan
            return scan._add()
