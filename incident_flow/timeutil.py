"""Durations, instants and time zones as users write them: in the config, on the command line, in logs.

One module parses them all so that ``--at``, ``lookback = "2h"``, a CSV's time column and an audit
record agree on what a time is. The rules (DESIGN.md, "Command line"): times are RFC 3339; a time
without an offset takes the configured zone, UTC by default; every datetime that leaves this module
is aware, so later arithmetic never mixes naive and aware values. Every parse error is a
:class:`ValueError` whose message says what was expected, ready for a one-line CLI error.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

__all__ = ["format_duration", "format_time", "parse_duration", "parse_time", "parse_timezone"]

# Microseconds per unit. "d" is 24 hours and "w" 7 days: durations here are elapsed time, not
# calendar arithmetic, so a day across a DST change is still 24 hours.
_UNIT_US: dict[str, int] = {
    "us": 1,
    "µs": 1,
    "ms": 1_000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 604_800_000_000,
}
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
# Longer units first so that "ms" is not read as "m" followed by garbage.
_PART = re.compile(rf"\s*({_NUMBER})\s*(us|µs|ms|s|m|h|d|w)")
_PLAIN_NUMBER = re.compile(rf"[+-]?{_NUMBER}")
_DURATION_HELP = (
    "expected a number of seconds (90, 1.5) or numbers with units us, ms, s, m, h, d, w, "
    "alone or combined: '90s', '5m', '1.5h', '1h30m', '250ms'"
)

_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?"
    r" ?(?P<offset>[Zz]|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_UNIX_SECONDS = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?")
_TIME_HELP = (
    "expected an RFC 3339 time such as '2024-01-02T03:04:05Z' or '2024-01-02 03:04:05+02:00' "
    "(fractional seconds allowed; without an offset the configured time zone applies), "
    "or unix seconds such as 1704164645"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _show(text: str, limit: int = 60) -> str:
    """Quote user text for an error message, short and on one line whatever it contains."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_duration(text: str | float) -> timedelta:
    """Read a duration: ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``, ``"1.5h"``, or seconds.

    A plain number (in a string, or an int/float as TOML gives ``investigator_timeout = 60``) is
    seconds. Units may be combined in any order (``"1h30m"``, ``"1h 30m"``) as Go's
    ``time.ParseDuration`` allows. The sum is computed in decimal and rounded to the microsecond,
    so ``"0.1s"`` is exactly 100 ms. A leading sign is allowed; callers that need a positive
    duration (the config) check it themselves, because "-5m" is meaningful for offsets.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"invalid duration of type {type(text).__name__}: {_DURATION_HELP}")
    if not isinstance(text, str):
        return _to_timedelta(lambda: Decimal(text) * _UNIT_US["s"], str(text))
    raw = text.strip()
    if not raw:
        raise ValueError(f"empty duration: {_DURATION_HELP}")
    if _PLAIN_NUMBER.fullmatch(raw):
        return _to_timedelta(lambda: Decimal(raw) * _UNIT_US["s"], text)
    sign = 1
    body = raw
    if body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    parts: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            hint = " (units are lower case)" if body != body.lower() else ""
            raise ValueError(f"invalid duration {_show(text)}: {_DURATION_HELP}{hint}")
        parts.append((match.group(1), match.group(2)))
        pos = match.end()
        # Trailing white space is allowed; "1h 30m" separates parts with it.
        while pos < len(body) and body[pos].isspace():
            pos += 1
    if not parts:
        raise ValueError(f"invalid duration {_show(text)}: {_DURATION_HELP}")
    return _to_timedelta(lambda: sign * sum((Decimal(n) * _UNIT_US[u] for n, u in parts), Decimal(0)), text)


def _to_timedelta(compute: Callable[[], Decimal], text: str) -> timedelta:
    """Run the decimal arithmetic and make a timedelta; every overflow becomes a ValueError."""
    try:
        microseconds = compute()
        if not microseconds.is_finite():
            raise ValueError(f"invalid duration {_show(text)}: not a finite number; {_DURATION_HELP}")
        return timedelta(microseconds=int(microseconds.to_integral_value()))
    except ArithmeticError:  # OverflowError, decimal.Overflow, decimal.InvalidOperation
        raise ValueError(f"duration {_show(text)} is out of range (at most 999999999 days)") from None


def format_duration(delta: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back to the same timedelta (``"1h30m"``)."""
    us = delta // timedelta(microseconds=1)
    if us == 0:
        return "0s"
    sign = "-" if us < 0 else ""
    us = abs(us)
    parts = []
    for unit in ("d", "h", "m", "s", "ms", "us"):
        size = _UNIT_US[unit]
        count, us = divmod(us, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def parse_time(text: str, default_tz: tzinfo | None = None) -> datetime:
    """Read an instant: RFC 3339 / ISO 8601, or unix seconds. Always returns an aware datetime.

    Accepted: ``2024-01-02T03:04:05Z``, ``2024-01-02T03:04:05.123+02:00``, a space (or ``t``)
    instead of ``T``, a ``,`` decimal mark, offsets ``+02``, ``+0200``, ``+02:00``, ``Z`` or
    ``UTC``, a bare date (midnight), and minutes without seconds. Fractional seconds beyond
    microseconds (nanosecond log stamps) are truncated; a leap second ``:60`` becomes
    ``:59.999999`` rather than losing the record. A time without an offset is in ``default_tz``
    (UTC when None), as the CLI contract says. A plain number is unix seconds, which is what
    metric exports write.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid time of type {type(text).__name__}: {_TIME_HELP}")
    raw = text.strip()
    if not raw:
        raise ValueError(f"empty time: {_TIME_HELP}")
    if _UNIX_SECONDS.fullmatch(raw):
        return _from_unix(raw)
    match = _DATE_TIME.fullmatch(raw)
    if match is None:
        raise ValueError(f"invalid time {_show(text)}: {_TIME_HELP}")
    g = match.groupdict()
    second = int(g["second"] or 0)
    micro = int((g["fraction"] or "")[:6].ljust(6, "0"))
    if second == 60:
        second, micro = 59, 999_999
    zone: tzinfo = default_tz if default_tz is not None else UTC
    try:
        if g["offset"] is not None:
            zone = _parse_offset(g["offset"])
        result = datetime(
            int(g["year"]),
            int(g["month"]),
            int(g["day"]),
            int(g["hour"] or 0),
            int(g["minute"] or 0),
            second,
            micro,
            tzinfo=zone,
        )
    except ValueError as exc:  # month 13, February 30, hour 24, offset +25:00...
        raise ValueError(f"invalid time {_show(text)}: {exc}") from None
    if result.utcoffset() is None:
        # A tzinfo that declines to give an offset would make an "aware" value that is not.
        raise ValueError(f"time zone {default_tz!r} gives no UTC offset for {_show(text)}")
    return result


def _from_unix(raw: str) -> datetime:
    try:
        micro = int((Decimal(raw) * 1_000_000).to_integral_value())
        return _EPOCH + timedelta(microseconds=micro)
    except ArithmeticError:  # OverflowError and decimal's signals
        hint = " (in milliseconds? unix seconds are expected)" if len(raw.lstrip("+-")) >= 13 else ""
        raise ValueError(f"unix time {_show(raw)} is out of range{hint}") from None


def _parse_offset(text: str) -> tzinfo:
    if text in ("Z", "z", "UTC"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f"UTC offset {_show(text)} is not of the form +02:00")
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {_show(text)} is out of range (at most +/-23:59)")
    delta = timedelta(hours=hours, minutes=minutes)
    if not delta:
        return UTC
    return timezone(-delta if sign == "-" else delta)


def format_time(dt: datetime) -> str:
    """RFC 3339: ``2024-01-02T03:04:05Z``; ``.123`` or ``.123456`` only when there is a fraction.

    UTC is written ``Z``; another offset is kept as ``+02:00`` because it tells the reader the
    local time the source saw. A naive datetime is taken as UTC (the project's rule for times
    without an offset) instead of raising, because this feeds reports and audit records that must
    not fail on a plugin's sloppy value. An offset with seconds (historic local mean times), which
    RFC 3339 cannot write, is converted to UTC.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    offset = dt.utcoffset() or timedelta(0)
    if offset % timedelta(minutes=1):
        dt = dt.astimezone(UTC)
        offset = timedelta(0)
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if dt.microsecond:
        text += f".{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f".{dt.microsecond:06d}"
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_timezone(name: str) -> tzinfo:
    """A time zone: ``"UTC"``, an IANA name (``"Europe/Paris"``, via zoneinfo), or ``"+02:00"``.

    Offsets may also be written ``+2``, ``+0200`` or ``UTC+02:00`` (ISO sign: east of Greenwich is
    positive, unlike POSIX ``Etc/GMT-2``). An unknown name suggests the closest IANA names.
    """
    if not isinstance(name, str):
        raise ValueError(f"invalid time zone of type {type(name).__name__}: {_TZ_HELP}")
    raw = name.strip()
    if not raw:
        raise ValueError(f"empty time zone: {_TZ_HELP}")
    if raw.upper() in ("UTC", "Z"):
        return UTC
    match = _OFFSET.fullmatch(raw)
    if match is not None:
        try:
            return _parse_offset(raw.removeprefix("UTC").removeprefix("GMT"))
        except ValueError as exc:
            raise ValueError(f"invalid time zone {_show(name)}: {exc}") from None
    try:
        return zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    close = difflib.get_close_matches(raw, _zone_names(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown time zone {_show(name)}: {_TZ_HELP}{hint}")


_TZ_HELP = "expected 'UTC', an IANA name such as 'Europe/Paris', or a UTC offset such as '+02:00'"


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    # Scanning the zone database takes a few milliseconds: only on the error path, and once.
    return tuple(sorted(zoneinfo.available_timezones()))
