"""Phase 4's impact in numbers: failed requests, affected clients, user journeys, data loss.

Measured from the run's log records after the onset, never guessed: access-log records (those
with an HTTP ``status``) give the failed requests, the clients that saw them and the endpoints
(the user journeys) that failed; error records that report failed writes, full disks or
replication errors make data loss "possible", with the line that says so. Without records, each
figure stays "not measured".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from incident_flow.sources import LogRecord

__all__ = ["measure_impact"]

# Facts of how data gets lost, true of systems in general.
_DATA_LOSS = re.compile(
    r"no space left on device|disk (is )?full|enospc|failed to (write|persist|save|commit|flush)|"
    r"(write|fsync|commit) (failed|error)|could not (write|extend|fsync)|"
    r"replication (error|failed|broken|lag)|"
    r"data (loss|lost|corrupt\w*)|corrupt(ed|ion)|lost (writes?|updates?|messages?|events?)|"
    r"transaction (was )?rolled back|dropp(ed|ing) (messages?|events?|writes?)",
    re.IGNORECASE,
)
# A write that failed because the client went away loses nothing of ours: the response was undeliverable.
_CLIENT_GONE = re.compile(
    r"broken pipe|epipe|connection reset by peer|client ?abort|client (closed|disconnected|went away)|"
    r"context canceled",
    re.IGNORECASE,
)
_ERROR_LEVELS = {"error", "critical", "fatal", "emergency", "alert"}
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-f]{8,}|[0-9a-f-]{32,36})$", re.IGNORECASE)
MAX_JOURNEYS = 5


def _journey(path: str) -> str:
    """``/api/checkout/123?x=1`` -> ``/api/checkout``: the first two meaningful segments."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s and not _ID_SEGMENT.match(s)]
    return "/" + "/".join(segments[:2])


def _status(record: LogRecord) -> int | None:
    value = record.fields.get("status")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def measure_impact(records: Iterable[LogRecord], onset: datetime | None) -> dict[str, Any]:
    """The impact figures the report's "Impact" section shows, from records at or after the onset."""
    if onset is None:
        return {}
    requests = failed = errors = 0
    clients: set[str] = set()
    journeys: Counter[str] = Counter()
    loss_line: str | None = None
    for record in records:
        if record.at is None or record.at < onset:
            continue
        status = _status(record)
        if status is not None:
            requests += 1
            if status >= 500:
                failed += 1
                clients.add(record.fields.get("remote_addr", "?"))
                journeys[_journey(record.fields.get("path") or record.fields.get("request", "/"))] += 1
            continue
        if (record.level or "").lower() in _ERROR_LEVELS:
            errors += 1
            text = record.text[:4000] if record.text else record.message
            if loss_line is None and _DATA_LOSS.search(text) and not _CLIENT_GONE.search(text):
                loss_line = f"{record.path or record.source}:{record.line}: {record.message[:300]}"
    impact: dict[str, Any] = {}
    if requests:
        share = failed / requests
        impact["users_affected"] = (
            f"{len(clients)} client address(es) received server errors"
            if failed
            else "no server errors in the access logs since the onset"
        )
        impact["failed_requests"] = f"{failed} of {requests} ({share:.0%}) since the onset"
        if journeys:
            top = ", ".join(f"{name} ({count})" for name, count in journeys.most_common(MAX_JOURNEYS))
            impact["journeys_affected"] = top
    if loss_line is not None:
        impact["data_loss"] = "possible"
        impact["data_loss_reason"] = f"a failed write or storage error after the onset: {loss_line}"
    elif errors or requests:
        impact["data_loss"] = "no"
        impact["data_loss_reason"] = (
            f"no failed writes, full disks or replication errors among {errors} error record(s) "
            "since the onset"
        )
    return impact
