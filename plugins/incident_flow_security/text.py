"""Untrusted text from logs, made safe to quote: one line, no terminal escapes, no secrets.

Every value an attacker can write ends up in a log: a user name, a path, a user agent, even the
"address" field of a forged line. Before any of it goes into a finding it loses its ANSI escape
sequences and control characters (which could rewrite a terminal or hide text), its bidirectional
overrides (which could make a line read differently than it is), its secrets (through
:func:`incident_flow.analysis.redact.redact`), and its length beyond a cap. Addresses are only ever
used as addresses after :func:`valid_ip` said they are one.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from incident_flow.analysis.redact import Redactor

__all__ = ["clean", "evidence_line", "network_of", "safe_account", "valid_ip"]

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and any other two-byte escape.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")

# A POSIX or application account name that is safe as a single command argument: it cannot start
# with "-" (an option) and holds no shell or path syntax.
_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+\-]{0,63}")


def clean(text: str, limit: int = 300, redactor: Redactor | None = None) -> str:
    """``text`` on one line, without escapes or control characters, redacted, at most ``limit`` long."""
    text = _ANSI.sub("", text)
    text = _CONTROLS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    text = (redactor or Redactor()).redact(text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def evidence_line(where: str, line: int, text: str, redactor: Redactor | None = None) -> str:
    """A log record as an evidence line: ``file:line: text``, cleaned and redacted."""
    return f"{clean(where, 120, redactor)}:{line}: {clean(text, 300, redactor)}"


@functools.lru_cache(maxsize=65536)
def _canonical_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def valid_ip(value: str | None) -> str | None:
    """The address in canonical form when ``value`` is exactly an IP address, else None.

    Only a value that passes here may ever go into a block rule: a forged "address" such as
    ``1.2.3.4;rm -rf /`` or ``$(id)`` is reported as text and never used.
    """
    if not value or len(value) > 64:
        return None
    return _canonical_ip(value)  # cached: a busy log repeats the same few thousand addresses


def network_of(ip: str) -> str:
    """The address's usual network (an IPv4 /24, an IPv6 /64): "the same network" for baselines."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def safe_account(value: str | None) -> str | None:
    """The account name when it is safe to use as one argument of a command, else None."""
    if value is None:
        return None
    value = value.strip()
    return value if _ACCOUNT.fullmatch(value) else None
