"""Durations, times and time zones as users type them (incident_flow.timeutil)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_flow.timeutil import format_duration, format_time, parse_duration, parse_time, parse_timezone

# -- parse_duration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("30m1h", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("15us", timedelta(microseconds=15)),
        ("1.5h", timedelta(minutes=90)),
        ("0.1s", timedelta(milliseconds=100)),
        (".5s", timedelta(milliseconds=500)),
        ("60", timedelta(seconds=60)),
        ("1.25", timedelta(seconds=1.25)),
        ("  2h  ", timedelta(hours=2)),
        ("-5m", timedelta(minutes=-5)),
        (60, timedelta(seconds=60)),
        (1.5, timedelta(seconds=1.5)),
    ],
)
def test_parse_duration_accepts(text: str | float, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "h", "1x", "1h30", "5M", "1e3", "1 h x", "--5m", "1.2.3s", "s5"])
def test_parse_duration_rejects_with_a_message_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number of seconds") as info:
        parse_duration(text)
    assert "\n" not in str(info.value)


def test_parse_duration_hints_at_lower_case_units() -> None:
    with pytest.raises(ValueError, match="lower case"):
        parse_duration("5M")


@pytest.mark.parametrize("value", [True, None, float("nan"), float("inf"), "9" * 40 + "d", 1e300])
def test_parse_duration_rejects_odd_values_with_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)  # type: ignore[arg-type]


@given(st.timedeltas())
def test_format_duration_round_trips(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta)) == delta


@given(st.text())
def test_parse_duration_raises_only_value_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, timedelta)


@given(st.text(alphabet="0123456789.smhdwu µ+-", max_size=20))
def test_parse_duration_raises_only_value_error_on_near_misses(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_duration(text)


# -- parse_time / format_time ----------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02t03:04:05z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05-0530", datetime(2024, 1, 2, 8, 34, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05+02", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.25Z", datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2024-01-02T03:04:05,25Z", datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04Z", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("2024-01-02T03:04:05 UTC", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1704164645", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1704164645.5", datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_parse_time_accepts(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_time_without_offset_takes_the_default_zone() -> None:
    parsed = parse_time("2024-07-01 12:00:00", PARIS)
    assert parsed == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)  # CEST, UTC+2
    assert parsed.tzinfo is PARIS
    # An explicit offset wins over the default zone.
    assert parse_time("2024-07-01T12:00:00Z", PARIS) == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2024-13-01T00:00:00Z", "2024-02-30", "2024-01-02T25:00:00Z", "2024-01-02X03:04:05Z",
     "2024-01-02T03:04:05+24:00", "24-01-02", "1e9", "1704164645000000"],
)  # fmt: skip
def test_parse_time_rejects_with_a_clear_value_error(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time(text)
    message = str(info.value)
    assert "\n" not in message
    assert "time" in message


def test_parse_time_suspects_milliseconds() -> None:
    with pytest.raises(ValueError, match="milliseconds"):
        parse_time("1704164645000000")


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), "2024-01-02T03:04:05.120Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "2024-01-02T03:04:05.123456Z"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2024-01-02T03:04:05+02:00"),
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            "2024-01-02T03:04:05-05:30",
        ),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0))), "2024-01-02T03:04:05Z"),
        (datetime(2024, 7, 1, 12, 0, tzinfo=PARIS), "2024-07-01T12:00:00+02:00"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),  # naive: UTC by the project's rule
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        # An offset with seconds cannot be written in RFC 3339: converted to UTC.
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(seconds=561))), "2024-01-02T02:54:44Z"),
    ],
)
def test_format_time(dt: datetime, expected: str) -> None:
    assert format_time(dt) == expected


aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.one_of(
        st.just(UTC),
        st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60 - 59, 23 * 60 + 59)),
        st.timezones(),
    ),
)


@given(aware_datetimes)
def test_format_time_round_trips(dt: datetime) -> None:
    text = format_time(dt)
    back = parse_time(text)
    # Compare instants: datetime equality across zones is False for a time in a DST fold.
    assert back.astimezone(UTC) == dt.astimezone(UTC)
    assert format_time(back) == text or dt.utcoffset() != back.utcoffset()


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)))
def test_unix_seconds_round_trip(naive: datetime) -> None:
    dt = naive.replace(tzinfo=UTC)
    micros = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    text = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
    assert parse_time(text) == dt


@given(st.text(), st.sampled_from([None, UTC, PARIS]))
def test_parse_time_raises_only_value_error(text: str, zone: timezone | ZoneInfo | None) -> None:
    try:
        result = parse_time(text, zone)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert result.utcoffset() is not None


@given(
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
        r"(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
    )
)
def test_parse_time_on_near_valid_stamps_raises_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert parse_time(text).tzinfo is not None


# -- parse_timezone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "offset_in_january"),
    [
        ("UTC", timedelta(0)),
        ("utc", timedelta(0)),
        ("Z", timedelta(0)),
        ("Europe/Paris", timedelta(hours=1)),
        ("America/New_York", timedelta(hours=-5)),
        ("+02:00", timedelta(hours=2)),
        ("-0530", timedelta(hours=-5, minutes=-30)),
        ("+2", timedelta(hours=2)),
        ("UTC+02:00", timedelta(hours=2)),
        ("+00:00", timedelta(0)),
    ],
)
def test_parse_timezone(name: str, offset_in_january: timedelta) -> None:
    zone = parse_timezone(name)
    assert datetime(2024, 1, 15, 12, tzinfo=zone).utcoffset() == offset_in_january


def test_parse_timezone_returns_zoneinfo_for_iana_names() -> None:
    assert parse_timezone("Europe/Paris") == ZoneInfo("Europe/Paris")
    assert parse_timezone("UTC") is UTC


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "Europe/Pari", "+25:00", "../etc/passwd", "/etc/localtime", "Europe"]
)
def test_parse_timezone_rejects_with_a_clear_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=r"time zone|UTC offset"):
        parse_timezone(name)


def test_parse_timezone_suggests_a_close_name() -> None:
    with pytest.raises(ValueError, match="did you mean 'Europe/Paris'"):
        parse_timezone("Europe/Pari")


@given(st.text(max_size=40))
def test_parse_timezone_raises_only_value_error(name: str) -> None:
    try:
        zone = parse_timezone(name)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert datetime(2024, 1, 1, tzinfo=zone).utcoffset() is not None
