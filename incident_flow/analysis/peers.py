"""Which dependency a log message names, under the component name the report rules give it.

DESIGN.md's rule: a dependency named only inside messages (a host, a host and port, a URL) is named
by the component it matches (its first DNS label or its host, against the names known to the run:
``redis.internal:6379`` is ``redis``); an unknown internal host by its first label; an external
host by its full name (``api.paymentprovider.example``).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Collection

import attrs

__all__ = ["AddressBook", "component_for_host", "container_in", "endpoints_in", "hosts_in", "named_addresses"]

_URL = re.compile(
    r"\b[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
)
_HOST_PORT = re.compile(
    r"(?<![\w.@/-])(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*):(?P<port>\d{2,5})\b"
)
_TO_HOST = re.compile(
    r"\b(?:to|from|host|server(?:\s+at)?|upstream|resolve|resolving|lookup|connect(?:ing)?(?: to)?)\s+"
    r"[\"'(`]?(?P<host>[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)"
    # not a stack frame's function ("connect\n    at PaymentService.handle (/usr/src/...)")
    r"(?![\w.-]|\s*\((?!\d))",
    re.IGNORECASE,
)
# ``host='api.example'`` (urllib3's pool), ``host=db.internal`` (a libpq or pgx connection string).
_HOST_ASSIGN = re.compile(
    r"\bhost\s*=\s*[\"'`]?(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*)"
)
_IPV4 = r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_NAME = r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"
# A name and its address stated together, as clients print them when they connect or fail to:
# Java's InetSocketAddress ``cache.internal/10.0.3.7:6379``; libpq, curl and ping's
# ``"db.internal" (10.0.3.12)``; mail servers' ``mx.example[192.0.2.1]``; a DNS answer's
# ``db.internal. 30 IN A 10.0.3.12``; pgx's ``host=db.internal ...: dial error (dial tcp 10.0.3.12:5432``.
_NAMED_ADDRESS = (
    re.compile(rf"(?<![\w.-])(?P<name>{_NAME})/(?P<ip>{_IPV4})\b"),
    re.compile(rf"(?<![\w.-])[\"']?(?P<name>{_NAME})[\"']?\s?[(\[](?P<ip>{_IPV4})[)\]]"),
    re.compile(rf"(?<![\w.-])(?P<name>{_NAME})\.?\s+\d+\s+IN\s+A\s+(?P<ip>{_IPV4})\b"),
    re.compile(rf"\bhost=(?P<name>{_NAME})\b[^()]{{0,120}}\(dial tcp (?P<ip>{_IPV4}):\d+"),
)
# The longest name looked for before an address (a DNS name has at most 253 characters, plus quotes).
_NAME_WINDOW = 260
# kubelet names the container it probes and the address it probed: ``containerName="pricing"``
# with ``Get "http://10.244.0.12:8080/healthz"``.
_CONTAINER = re.compile(r"\bcontainer(?:Name)?=\\?\"?(?P<name>[A-Za-z][\w.-]*)")
_URL_IP = re.compile(rf"://(?P<ip>{_IPV4}):\d+")
_ANY_IPV4 = re.compile(r"(?=\d)" + _IPV4)  # the cheap digit test first: a third faster on long lines
# Java's InetSocketAddress prints the name it was given and the address it resolved to.
_JAVA_ADDRESS = re.compile(rf"(?<![\w.-])(?P<host>{_NAME})/{_IPV4}:(?P<port>\d{{2,5}})\b")
# Keys that logs print as ``key:number`` and that are never host names.
_FIELD_NAMES = frozenset(
    {"pid", "tid", "uid", "gid", "line", "lineno", "col", "column", "port", "code", "errno", "status", "id"}
    | {"thread", "worker", "attempt", "retry", "retries", "count", "size", "offset", "pos", "time", "seq"}
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


def endpoints_in(message: str) -> list[tuple[str, int | None]]:
    """The hosts a message names with the port it gives them (or None), the most telling first.

    A host with a port or after "connect to"/"host" is what the caller was talking to; a URL may
    be a link to documentation (SQLAlchemy's ``sqlalche.me``), so URLs come last.
    """
    found: dict[str, int | None] = {}
    for pattern in (_JAVA_ADDRESS, _HOST_PORT, _TO_HOST, _HOST_ASSIGN, _URL):
        for match in pattern.finditer(message):
            host = match.group("host").strip("[]").rstrip(".").lower()
            if not host or _FILE_LIKE.search(host) or _DATE_LIKE.match(host):
                continue
            if pattern is _URL and _HELP_LINK.search(message, max(match.start() - 40, 0), match.start()):
                continue  # "see https://..." is a link to documentation, not a peer
            if host.replace(".", "").isdigit() and host.count(".") != 3:  # digits only, and not an IPv4
                continue
            if host in _FIELD_NAMES:  # gunicorn's "WORKER TIMEOUT (pid:54)" is no host and port
                continue
            port = int(match.group("port")) if match.groupdict().get("port") else None
            if host not in found or (found[host] is None and port is not None):
                found[host] = port
    return list(found.items())


def hosts_in(message: str) -> list[str]:
    """The hosts a message names, the most telling first, without duplicates."""
    return [host for host, _ in endpoints_in(message)]


def container_in(message: str) -> str | None:
    """The container a message is about, as kubelet names it (``containerName="pricing"``,
    ``restarting failed container=coredns``): the component whose failure the node reports."""
    match = _CONTAINER.search(message)
    return match.group("name").lower() if match is not None else None


def named_addresses(message: str) -> list[tuple[str, str]]:
    """The (name, IPv4 address) pairs a message states together, as clients print them."""
    addresses = [(m.start(), m.end()) for m in _ANY_IPV4.finditer(message)]
    if not addresses:
        return []
    # Searching the whole line for a name before every address costs more than the rest of the
    # ops investigator (HDFS prints ``/10.251.42.84:50010`` on every line): each pattern is tried
    # only in the window that ends at an address it can precede, or when its keyword is present.
    matches: list[re.Match[str]] = []
    java, quoted, dns, pgx = _NAMED_ADDRESS
    for start, end in addresses:
        before = message[start - 1 : start]
        pattern = java if before == "/" else quoted if before in ("(", "[") else None
        if pattern is not None:
            window = pattern.finditer(message, max(0, start - _NAME_WINDOW), end + 1)
            matches.extend(m for m in window if m.start("ip") == start)
    if " IN " in message:
        matches.extend(dns.finditer(message))
    if "dial tcp" in message:
        matches.extend(pgx.finditer(message))
    pairs: list[tuple[str, str]] = []
    for match in matches:
        name = match.group("name").rstrip(".").lower()
        if not _FILE_LIKE.search(name) and (name, match.group("ip")) not in pairs:
            pairs.append((name, match.group("ip")))
    container = _CONTAINER.search(message)
    if container is not None:
        probed = {m.group("ip") for m in _URL_IP.finditer(message)}
        if len(probed) == 1:
            pairs.append((container.group("name").lower(), probed.pop()))
    return pairs


#: Well-known ports and the server that listens on them: the last, weakest clue to which
#: component an address is, used only when exactly one component of the run is that server.
_WELL_KNOWN_PORTS = {
    5432: ("postgres",),
    3306: ("mysql", "mariadb"),
    6379: ("redis",),
    11211: ("memcached",),
    27017: ("mongo",),
    9200: ("elasticsearch", "opensearch"),
    5672: ("rabbitmq",),
    9092: ("kafka",),
}


@attrs.define
class AddressBook:
    """What the run's own logs say about addresses: which names were printed with which IP, and
    which programs each component's records come from (syslog's ``app``).

    Clients such as ioredis, node-postgres and go-redis name a dependency only by its address; other
    lines of the same run (another client's ``host/10.0.3.7:6379``, a DNS answer, kubelet's probe of
    a container) often state the name with it.
    """

    names: dict[str, Counter[str]] = attrs.field(factory=dict)
    programs: dict[str, set[str]] = attrs.field(factory=dict)

    def learn(self, message: str) -> None:
        """Note every name stated together with an address in ``message``."""
        for name, ip in named_addresses(message):
            self.names.setdefault(ip, Counter())[name] += 1

    def program(self, component: str, program: str) -> None:
        """Note that ``component``'s records are written by ``program``."""
        self.programs.setdefault(component, set()).add(program.lower())

    def resolve(self, host: str, port: int | None, known: Collection[str]) -> tuple[str, str | None]:
        """The component for ``host`` and, when its address was resolved, how (else None)."""
        component = component_for_host(host, known)
        if not _is_ip(host):
            return component, None
        known_lower = {k.lower() for k in known}
        # A host name (with a dot) or a component's own name: "from client (10.0.0.9)" is no alias.
        for name, count in self.names.get(host, Counter()).most_common():
            if "." in name or name in known_lower:
                return (
                    component_for_host(name, known),
                    f"{host} is {name}, as {count} line(s) of the logs state with the address",
                )
        servers = _WELL_KNOWN_PORTS.get(port or 0, ())
        runs = sorted(
            {
                c
                for c in known
                if any(s in c.lower() or any(s in p for p in self.programs.get(c, ())) for s in servers)
            }
        )
        if len(runs) == 1:
            return runs[0], (
                f"{host}:{port} taken for {runs[0]} only by its port: {port} is {servers[0]}'s, "
                f"and {runs[0]} is the only {servers[0]} the run knows"
            )
        return component, None


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
