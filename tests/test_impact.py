"""Impact in numbers, measured from the logs since the onset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident_flow.impact import measure_impact
from incident_flow.sources import LogRecord

ONSET = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)


def _request(minute: int, status: int, path: str, client: str) -> LogRecord:
    return LogRecord(
        message=f"GET {path} {status}",
        source="gateway",
        line=minute + 1,
        text=f"GET {path} {status}",
        at=ONSET + timedelta(minutes=minute),
        level="error" if status >= 500 else "info",
        fields={"status": str(status), "path": path, "remote_addr": client},
    )


def _error(minute: int, message: str) -> LogRecord:
    return LogRecord(
        message=message,
        source="db",
        line=minute + 1,
        text=message,
        at=ONSET + timedelta(minutes=minute),
        level="error",
    )


def test_failed_requests_clients_and_journeys_are_counted_after_the_onset() -> None:
    records = [
        _request(-5, 502, "/api/checkout/1", "10.0.0.9"),  # before the onset: not counted
        _request(1, 502, "/api/checkout/123", "10.0.0.1"),
        _request(2, 502, "/api/checkout/456", "10.0.0.2"),
        _request(3, 503, "/api/cart?id=7", "10.0.0.1"),
        _request(4, 200, "/api/search", "10.0.0.3"),
    ]
    impact = measure_impact(records, ONSET)
    assert impact["users_affected"] == "2 client address(es) received server errors"
    assert impact["failed_requests"] == "3 of 4 (75%) since the onset"
    assert impact["journeys_affected"] == "/api/checkout (2), /api/cart (1)"
    assert impact["data_loss"] == "no"


def test_a_failed_write_makes_data_loss_possible_with_its_line() -> None:
    records = [_error(2, 'could not write to file "pg_wal/0001": No space left on device')]
    impact = measure_impact(records, ONSET)
    assert impact["data_loss"] == "possible"
    assert "No space left on device" in impact["data_loss_reason"]


def test_a_write_to_a_client_that_went_away_loses_no_data() -> None:
    records = [
        _error(
            2, "ClientAbortException: java.io.IOException: ServletOutputStream failed to flush: Broken pipe"
        ),
        _error(
            3, "failed to write response: write tcp 10.0.0.5:8080->10.0.0.9:51234: connection reset by peer"
        ),
    ]
    impact = measure_impact(records, ONSET)
    assert impact["data_loss"] == "no"


def test_without_an_onset_nothing_is_claimed() -> None:
    assert measure_impact([_error(2, "disk full")], None) == {}
