"""An access-log record seen as an HTTP request: who asked what, and what they got back.

nginx (and Apache) records carry ``remote_addr``, ``request``, ``method``, ``path``, ``status``,
``body_bytes_sent``, ``http_user_agent``; a record from another format is not a request and yields
None. The source address is kept twice: as written (for the evidence) and, only when it really is
an IP address, in canonical form (for baselines and block rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from incident_flow.analysis.redact import Redactor
from incident_flow.sources import LogRecord
from incident_flow_security.text import evidence_line, valid_ip

__all__ = ["AccessRequest", "as_request", "component_of", "record_line", "record_text"]


def component_of(record: LogRecord) -> str:
    """The component a record belongs to: the one its source names, else the source itself."""
    return record.component or record.source


def record_text(record: LogRecord) -> str:
    """The record's first line as written (the evidence quotes the log, not a re-rendering)."""
    if record.text:
        return record.text.split("\n", 1)[0]
    return record.message


def record_line(record: LogRecord, redactor: Redactor) -> str:
    """The record as an evidence line (``file:line: text``), cleaned and redacted.

    Built only for the few records a finding quotes: redaction is the costly part of a line.
    """
    return evidence_line(record.path or record.source, record.line, record_text(record), redactor)


@attrs.frozen
class AccessRequest:
    """One request from an access log."""

    record: LogRecord
    component: str
    at: datetime | None
    source: str | None  # a valid IP address, canonical; None when the field is not one
    raw_source: str
    method: str
    target: str  # path and query string, as requested
    status: int
    body_bytes: int
    user_agent: str
    remote_user: str | None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


#: Where a structured access line keeps the client's address (nginx's name first, then the keys
#: of the common JSON and logfmt request loggers: zap/logrus ``remote``, ECS ``client.ip``...).
_ADDRESS_KEYS = (
    "remote_addr",
    "remote",
    "client_ip",
    "client.ip",
    "source.ip",
    "remote_ip",
    "clientip",
    "ip",
)


def _address(fields: Mapping[str, str]) -> str:
    for key in _ADDRESS_KEYS:
        value = fields.get(key)
        if value:
            return value
    return ""


def _int(value: str | None) -> int:
    if value is None or not value.isdigit():
        return 0
    return int(value)


def as_request(record: LogRecord) -> AccessRequest | None:
    """The request in an access-log record, or None for any other record."""
    fields = record.fields
    status_text = fields.get("status")
    if status_text is None or not status_text.isdigit():
        return None
    target = fields.get("path")
    method = fields.get("method", "")
    if target is None:
        request = fields.get("request") or fields.get("request_uri")
        if request is None:
            return None
        parts = request.split(" ")
        if len(parts) >= 2 and parts[0].isalpha():
            method, target = parts[0], " ".join(parts[1:-1]) if len(parts) > 2 else parts[1]
        else:
            target = request
    raw_source = _address(fields)
    user = fields.get("remote_user")
    return AccessRequest(
        record=record,
        component=component_of(record),
        at=record.at,
        source=valid_ip(raw_source),
        raw_source=raw_source,
        method=method.upper(),
        target=target,
        status=int(status_text),
        body_bytes=_int(fields.get("body_bytes_sent") or fields.get("bytes_sent")),
        user_agent=fields.get("http_user_agent", ""),
        remote_user=None if user in (None, "", "-") else user,
    )
