"""Which dependency a log message names, under the component name the report rules give it.

DESIGN.md's rule: a dependency named only inside messages (a host, a host and port, a URL) is named
by the component it matches (its first DNS label or its host, against the names known to the run:
``redis.internal:6379`` is ``redis``); an unknown internal host by its first label; an external
host by its full name (``api.paymentprovider.example``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection

__all__ = ["component_for_host", "hosts_in"]

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::\d+)?")
_HOST_PORT = re.compile(
    r"(?<![\w.@/-])(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*):(?P<port>\d{2,5})\b"
)
_TO_HOST = re.compile(
    r"\b(?:to|from|host|server|upstream|resolve|resolving|lookup|connect(?:ing)?(?: to)?)\s+"
    r"[\"'(]?(?P<host>[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)
# Suffixes that mark a name as internal to a network, whatever the organisation.
_INTERNAL_SUFFIXES = (".internal", ".local", ".lan", ".corp", ".svc", ".cluster.local", ".intranet", ".home")
_HELP_LINK = re.compile(
    r"\b(see|visit|docs?|documentation|information|details|background|help)\b[^/]{0,20}$", re.I
)
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")  # a timestamp's date, as in 2026-02-07t21:03
_FILE_LIKE = re.compile(
    r"\.(py|pyc|java|kt|scala|go|rs|c|cc|cpp|h|hpp|cs|js|cjs|mjs|jsx|ts|tsx|rb|php|ex|exs|erl|swift|"
    r"log|txt|conf|cfg|ini|json|yaml|yml|toml|xml|html|sql|sh|jar|class|so|dll)$",
    re.IGNORECASE,
)


def hosts_in(message: str) -> list[str]:
    """The hosts a message names, the most telling first, without duplicates.

    A host with a port or after "connect to"/"host" is what the caller was talking to; a URL may
    be a link to documentation (SQLAlchemy's ``sqlalche.me``), so URLs come last.
    """
    found: list[str] = []
    for pattern in (_HOST_PORT, _TO_HOST, _URL):
        for match in pattern.finditer(message):
            host = match.group("host").strip("[]").rstrip(".").lower()
            if not host or _FILE_LIKE.search(host) or _DATE_LIKE.match(host):
                continue
            if pattern is _URL and _HELP_LINK.search(message, max(match.start() - 40, 0), match.start()):
                continue  # "see https://..." is a link to documentation, not a peer
            if host.replace(".", "").isdigit() and host.count(".") != 3:  # digits only, and not an IPv4
                continue
            if host not in found:
                found.append(host)
    return found


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def component_for_host(host: str, known: Collection[str] = ()) -> str:
    """The component name for a host, by DESIGN.md's rule."""
    host = host.lower().rstrip(".")
    if _is_ip(host):
        return host
    known_lower = {k.lower(): k for k in known}
    if host in known_lower:
        return known_lower[host]
    first = host.split(".", 1)[0]
    if first in known_lower:
        return known_lower[first]
    if "." not in host or host.endswith(_INTERNAL_SUFFIXES) or host == "localhost":
        return first
    return host
