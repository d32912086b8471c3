"""Turning the timestamps logs write into timezone-aware datetimes, cheaply.

Every record's time goes through here, so this is on the hot path of a million-line read. Three
things keep it fast: ISO 8601 (by far the commonest) goes straight to ``datetime.fromisoformat``
with the default offset appended as text, which is several times cheaper than attaching a tzinfo
afterwards; the other layouts are cached by their text, and logs repeat the same second many times;
the layout that matched last is tried first.

Timestamps without an offset take the configured time zone (UTC when none is set). Timestamps without
a year (syslog's ``Mar  1 10:00:00``, klog's ``E0301``) take the year that puts them nearest to a
reference time, the run's detection time, so a December log replayed in January lands in December.
Time-of-day-only stamps (logback's default ``03:04:05.123``) take the nearest day the same way.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = ["MONTHS", "TimeParser", "aware_reference"]

#: English month abbreviations, as syslog, nginx and Apache write them.
MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}

# Zone abbreviations that name one offset without ambiguity in practice (PostgreSQL writes its
# `log_timezone` this way). Anything else is treated as "no offset" and takes the configured zone.
_ZONE_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 60,
    "BST": 60,
    "CET": 60,
    "CEST": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "JST": 540,
    "KST": 540,
    "AEST": 600,
    "AEDT": 660,
    "NZST": 720,
    "NZDT": 780,
    "EST": -300,
    "EDT": -240,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
}

_CACHE_LIMIT = 8192

_ISO = re.compile(
    r"(\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?)"
    r"\s*(Z|[+-]\d\d(?::?\d\d)?|[A-Z]{3,5})?"
)
_SLASHED = re.compile(r"(\d{4})/(\d\d)/(\d\d)[ T](\d\d:\d\d:\d\d(?:[.,]\d+)?)")
_SYSLOG = re.compile(r"([A-Z][a-z]{2})\s+(\d{1,2})\s+(?:(\d{4})\s+)?(\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")
_APACHE = re.compile(r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\s*([+-])(\d\d):?(\d\d))?")
_EPOCH = re.compile(r"(\d{9,19})(?:\.(\d+))?")
_COMPACT = re.compile(r"(\d\d)(\d\d)(\d\d)\s+(\d\d)(\d\d)(\d\d)")  # HDFS: 081109 203615
_SHORT_SLASHED = re.compile(r"(\d\d)/(\d\d)/(\d\d)\s+(\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")  # Spark: 17/06/09
_DOTTED = re.compile(r"(\d{4})-(\d\d)-(\d\d)-(\d\d)\.(\d\d)\.(\d\d)(?:\.(\d+))?")  # BGL
_TIME_ONLY = re.compile(r"(\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")
_RFC2822 = re.compile(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(?: [+-]\d{4}| [A-Z]{2,4})?")


def aware_reference(moment: datetime | None) -> datetime:
    """The reference time as an aware datetime: now when None, UTC when it carries no offset."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _micros(fraction: str | None) -> int:
    """Digits after the decimal point as microseconds (``"5"`` is 500000, nanoseconds are cut)."""
    if not fraction:
        return 0
    return int((fraction + "00000")[:6])


def _offset_suffix(zone: tzinfo) -> str | None:
    """``"+02:00"`` for a fixed-offset zone, None for a zone with rules (its offset varies)."""
    if not isinstance(zone, timezone):
        return None
    offset = zone.utcoffset(None)
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


class TimeParser:
    """Parses log timestamps for one read: one zone for naive stamps, one reference for year-less ones.

    One instance is shared by every file of a read, so its caches warm up once.
    """

    def __init__(self, zone: tzinfo | None = None, reference: datetime | None = None) -> None:
        self.zone: tzinfo = zone if zone is not None else UTC
        self.reference = aware_reference(reference)
        self._suffix = _offset_suffix(self.zone)
        self._cache: dict[str, datetime | None] = {}
        self._strategies: list[Callable[[str], datetime | None]] = [
            self._iso_match,
            self._slashed,
            self._syslog,
            self._apache,
            self._epoch_text,
            self._compact,
            self._short_slashed,
            self._dotted,
            self._rfc2822,
            self._time_only,
        ]

    # -- building blocks -------------------------------------------------------------------------

    def attach(self, naive: datetime) -> datetime:
        """A naive datetime read in the configured zone."""
        # combine() is about three times cheaper than replace(tzinfo=...) on CPython 3.11.
        return datetime.combine(naive.date(), naive.time(), self.zone)

    def with_zone_name(self, naive: datetime, name: str | None) -> datetime:
        """Attach a zone written as an abbreviation (``UTC``, ``CEST``) or an offset (``+02``)."""
        if not name:
            return self.attach(naive)
        if name[0] in "+-":
            digits = name[1:].replace(":", "")
            minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
            sign = -1 if name[0] == "-" else 1
            return naive.replace(tzinfo=timezone(timedelta(minutes=sign * minutes)))
        offset = _ZONE_ABBREVIATIONS.get(name.upper())
        if offset is None:
            return self.attach(naive)
        return naive.replace(tzinfo=timezone(timedelta(minutes=offset)) if offset else UTC)

    def iso(self, text: str) -> datetime | None:
        """ISO 8601 and its usual log variants (space for ``T``, comma before the fraction, ``Z``).

        The hot path: no regex when the text is plain ISO with or without an offset.
        """
        tail = text[19:]
        try:
            if tail and (tail[-1] == "Z" or "+" in tail or "-" in tail):
                return datetime.fromisoformat(text)
            if self._suffix is not None:
                return datetime.fromisoformat(text + self._suffix)
            naive = datetime.fromisoformat(text)
            return datetime.combine(naive.date(), naive.time(), self.zone)
        except ValueError:
            return self.parse(text)

    def yearless(
        self, month: int, day: int, hour: int, minute: int, second: int, micros: int = 0
    ) -> datetime:
        """A month-day-time stamp in the year that puts it nearest to the reference time.

        Raises ValueError for an impossible date (29 February is tried in the neighbouring years).
        """
        ref = self.reference
        best: datetime | None = None
        for year in (ref.year - 1, ref.year, ref.year + 1):
            try:
                candidate = datetime(year, month, day, hour, minute, second, micros, self.zone)
            except ValueError:
                continue
            if best is None or abs(candidate - ref) < abs(best - ref):
                best = candidate
        if best is None:
            raise ValueError(f"no year has {month:02d}-{day:02d}")
        return best

    def dayless(self, hour: int, minute: int, second: int, micros: int = 0) -> datetime:
        """A time of day on the day that puts it nearest to the reference time."""
        ref = self.reference.astimezone(self.zone)
        base = ref.date()
        best: datetime | None = None
        for shift in (-1, 0, 1):
            day = base + timedelta(days=shift)
            candidate = datetime(day.year, day.month, day.day, hour, minute, second, micros, self.zone)
            if best is None or abs(candidate - ref) < abs(best - ref):
                best = candidate
        assert best is not None
        return best

    def epoch(self, value: float) -> datetime | None:
        """Unix time in seconds, milliseconds, microseconds or nanoseconds, told apart by size."""
        magnitude = abs(value)
        if magnitude >= 1e17:
            value /= 1e9
        elif magnitude >= 1e14:
            value /= 1e6
        elif magnitude >= 1e11:
            value /= 1e3
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None

    # -- the generic parser ----------------------------------------------------------------------

    def parse(self, text: str) -> datetime | None:
        """Any timestamp layout this module knows, or None. Cached by text."""
        cache = self._cache
        if text in cache:
            return cache[text]
        result: datetime | None = None
        stripped = text.strip()
        if stripped:
            strategies = self._strategies
            for index, strategy in enumerate(strategies):
                try:
                    result = strategy(stripped)
                except (ValueError, OverflowError, OSError):
                    result = None
                if result is not None:
                    if index:  # move the winner to the front: logs keep one layout
                        strategies.insert(0, strategies.pop(index))
                    break
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = result
        return result

    def _iso_match(self, text: str) -> datetime | None:
        m = _ISO.fullmatch(text)
        if m is None:
            return None
        main, zone = m.groups()
        main = main.replace(",", ".")
        if zone is None:
            if self._suffix is not None and len(main) > 10:
                return datetime.fromisoformat(main + self._suffix)
            return self.attach(datetime.fromisoformat(main))
        naive = datetime.fromisoformat(main)
        if zone == "Z":
            return naive.replace(tzinfo=UTC)
        return self.with_zone_name(naive, zone)

    def _slashed(self, text: str) -> datetime | None:
        m = _SLASHED.fullmatch(text)
        if m is None:
            return None
        year, month, day, clock = m.groups()
        return self.attach(datetime.fromisoformat(f"{year}-{month}-{day} {clock.replace(',', '.')}"))

    def _syslog(self, text: str) -> datetime | None:
        m = _SYSLOG.fullmatch(text)
        if m is None or m.group(1) not in MONTHS:
            return None
        mon, day, year, hh, mm, ss, frac = m.groups()
        args = (MONTHS[mon], int(day), int(hh), int(mm), int(ss), _micros(frac))
        if year:
            return datetime(int(year), *args, tzinfo=self.zone)
        return self.yearless(*args)

    def _apache(self, text: str) -> datetime | None:
        m = _APACHE.fullmatch(text)
        if m is None or m.group(2) not in MONTHS:
            return None
        day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
        naive = datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss))
        if sign is None:
            return self.attach(naive)
        minutes = int(oh) * 60 + int(om)
        return naive.replace(tzinfo=timezone(timedelta(minutes=-minutes if sign == "-" else minutes)))

    def _epoch_text(self, text: str) -> datetime | None:
        if _EPOCH.fullmatch(text) is None:
            return None
        return self.epoch(float(text))

    def _compact(self, text: str) -> datetime | None:
        m = _COMPACT.fullmatch(text)
        if m is None:
            return None
        yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups())
        return datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=self.zone)

    def _short_slashed(self, text: str) -> datetime | None:
        m = _SHORT_SLASHED.fullmatch(text)
        if m is None:
            return None
        yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups()[:6])
        return datetime(2000 + yy, mo, dd, hh, mi, ss, _micros(m.group(7)), tzinfo=self.zone)

    def _dotted(self, text: str) -> datetime | None:
        m = _DOTTED.fullmatch(text)
        if m is None:
            return None
        year, mo, dd, hh, mi, ss = (int(g) for g in m.groups()[:6])
        return datetime(year, mo, dd, hh, mi, ss, _micros(m.group(7)), tzinfo=self.zone)

    def _rfc2822(self, text: str) -> datetime | None:
        if _RFC2822.fullmatch(text) is None:
            return None
        parsed = email.utils.parsedate_to_datetime(text)
        return parsed if parsed.tzinfo is not None else self.attach(parsed)

    def _time_only(self, text: str) -> datetime | None:
        m = _TIME_ONLY.fullmatch(text)
        if m is None:
            return None
        hh, mi, ss = (int(g) for g in m.groups()[:3])
        return self.dayless(hh, mi, ss, _micros(m.group(4)))
