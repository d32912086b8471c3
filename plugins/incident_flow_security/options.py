"""The security investigator's thresholds, each with the reason for its default.

The defaults follow the tools SREs already trust: fail2ban's ``maxretry = 5`` within
``findtime = 10m`` for brute force, and the OWASP Core Rule Set's anomaly scoring (critical 5,
error 4, warning 3, notice 2; a request is an attack at 5) for web requests. Build your own
investigator with other values through :func:`incident_flow_security.make_investigator`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import attrs

__all__ = ["DEFAULT_ADMIN_PATHS", "DEFAULT_LOGIN_PATHS", "SecurityOptions"]

DEFAULT_LOGIN_PATHS = (
    r"(?:^|/)(?:login|log-in|log_in|signin|sign-in|sign_in|logon|auth|authenticate|authentication"
    r"|session|sessions|token|oauth2?/token|wp-login\.php|xmlrpc\.php|j_security_check)(?:[./;?]|$)"
)
"""Paths whose 401/403 answers are failed logins (matched against the path, case-insensitive)."""

DEFAULT_ADMIN_PATHS = (
    r"(?:^|/)(?:admin|administrator|wp-admin|internal|_internal|manage|management|manager|console"
    r"|actuator|debug|_debug|phpmyadmin|server-status|server-info|jmx-console|admin-console|_admin"
    r"|graphql/admin|api/admin|api/internal)(?:[./;?]|$)"
)
"""Admin and internal endpoints: reaching one from a source never seen before is an anomaly."""


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _duration(_inst: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive duration, got {value!r}")


def _networks(value: Iterable[str]) -> tuple[str, ...]:
    """CIDR networks, checked now so that a typo fails when the options are built, not mid-run."""
    networks = (value,) if isinstance(value, str) else tuple(value)
    for network in networks:
        ipaddress.ip_network(network, strict=False)
    return networks


@attrs.frozen
class SecurityOptions:
    """Thresholds of the security investigator (see ``docs/security.md`` for each one)."""

    # -- authentication ---------------------------------------------------------------------------
    #: Failures from one source within ``find_time`` that make a brute force (fail2ban's maxretry).
    max_failures: int = attrs.field(default=5, validator=_positive)
    #: The sliding window for ``max_failures`` (fail2ban's findtime).
    find_time: timedelta = attrs.field(default=timedelta(minutes=10), validator=_duration)
    #: Distinct accounts failed from one source within ``spread_time``: credential stuffing.
    stuffing_accounts: int = attrs.field(default=5, validator=_positive)
    #: Distinct sources failing on one account within ``spread_time``: a distributed attack.
    distributed_sources: int = attrs.field(default=5, validator=_positive)
    #: The window for stuffing and distributed attempts, which are slower than brute force.
    spread_time: timedelta = attrs.field(default=timedelta(hours=1), validator=_duration)
    #: How far back a success looks for the same source's failures (likely compromise).
    compromise_time: timedelta = attrs.field(default=timedelta(hours=1), validator=_duration)
    #: A success after failures on at least this many accounts from its source is a compromise
    #: even below ``max_failures`` (a user who mistypes their own name once has two, not three).
    compromise_accounts: int = attrs.field(default=3, validator=_positive)
    #: Paths whose 401/403 answers are failed logins (regex, case-insensitive).
    login_paths: str = DEFAULT_LOGIN_PATHS

    # -- web attacks --------------------------------------------------------------------------------
    #: A request whose anomaly score reaches this is an attack (the CRS's inbound threshold).
    score_threshold: int = attrs.field(default=5, validator=_positive)
    #: A body at least this large, and at least ``large_body_factor`` times the component's
    #: typical 2xx body, means the attack probably got data out.
    large_body_bytes: int = attrs.field(default=4096, validator=_positive)
    large_body_factor: float = attrs.field(default=3.0, validator=_positive)
    #: A scanner: this many 404s on at least ``scan_paths`` distinct paths within ``scan_time``.
    scan_404s: int = attrs.field(default=20, validator=_positive)
    scan_paths: int = attrs.field(default=10, validator=_positive)
    scan_time: timedelta = attrs.field(default=timedelta(minutes=5), validator=_duration)

    # -- access anomalies --------------------------------------------------------------------------
    #: The tail of the window compared with the rest of it (the baseline), ending at detection.
    recent: timedelta = attrs.field(default=timedelta(minutes=30), validator=_duration)
    #: Admin and internal endpoints (regex, case-insensitive).
    admin_paths: str = DEFAULT_ADMIN_PATHS
    #: Networks whose admin access is never an anomaly (CIDR), on top of those seen in the baseline.
    trusted_networks: tuple[str, ...] = attrs.field(default=(), converter=_networks)
    #: A client's recent download volume that is worth a look at all, in bytes.
    exfiltration_bytes: int = attrs.field(default=50_000_000, validator=_positive)
    #: ...and how many times its baseline rate (or the typical client's, for a new client) it must be.
    exfiltration_factor: float = attrs.field(default=10.0, validator=_positive)
    #: A user agent never seen in the baseline that sends at least this many recent requests.
    new_agent_requests: int = attrs.field(default=200, validator=_positive)

    # -- reporting ---------------------------------------------------------------------------------
    #: Evidence lines quoted per finding.
    sample_lines: int = attrs.field(default=6, validator=_positive)

    def __attrs_post_init__(self) -> None:
        for name in ("login_paths", "admin_paths"):
            try:
                re.compile(getattr(self, name))
            except re.error as exc:
                raise ValueError(f"{name} is not a valid regular expression: {exc}") from exc
