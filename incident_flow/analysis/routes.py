"""Which service behind a gateway serves a route, learnt from the services' own request lines.

DESIGN.md names a cause after what failed: for an attack the service attacked, for a surge the
service overloaded, not the gateway whose access log showed it. A gateway's log rarely says which
upstream answered (``$upstream_addr`` is an address), but the services log their own requests:
nginx and Apache access lines, structured fields (``method``/``path``, pino's ``req.url``, ECS
``url.path``), and request lines in the message, which is how Spring filters, uvicorn, gunicorn,
Rails, Express and Go routers word them (``"POST /api/login HTTP/1.1" 200``, ``Completed GET /api/me
with 200``, ``request completed method=GET path=/api/me``). A route that one other component
serves, seen at a component that fronts several (a gateway routes to many services), belongs to
that component.

Routes are compared as templated paths without their query
(:func:`~incident_flow.analysis.endpoints.template_path`), so ``/api/orders/81723`` at the gateway
and ``/api/orders/{id}`` in the service are one route, and a method is not required: some services
do not log it. A route every service answers (``/healthz``) has no single owner and names nobody.
Without request lines, a path that names a known component (``/api/shipping/quote`` and a
``shipping`` service) routes to it, as gateways commonly route ``/<prefix>/<service>/...``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping

import attrs

from incident_flow.analysis.endpoints import template_path
from incident_flow.sources import LogRecord

__all__ = ["RouteMap", "request_path"]

#: A route is served by a component that logged it at least this often (one line may be a fluke).
MIN_SERVED = 2
#: Routes remembered: a scanner requesting random paths cannot grow memory without bound.
MAX_ROUTES = 20_000

_METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS"
# An origin-form request target right after an upper-case method, as request lines print it; a
# client's call to a full URL (``POST http://pricing/quote``, Go's ``Post "http://..."``) is not
# a request this component served, and does not match.
_REQUEST_LINE = re.compile(rf"(?<![\w/.-])(?:{_METHODS}) (/[^\s\"'?#]*)")
# key=value pairs left in the message by a text logger (Go's ``log`` with logfmt-style pairs,
# logrus' text formatter): ``request completed method=POST path=/api/login status=200``.
_PATH_PAIR = re.compile(r"(?<![\w.])(?:path|uri|url|route|request_uri)=[\"']?(/[^\s\"'?#]*)")
_PATH_KEYS = (
    "path",
    "request_uri",
    "uri",
    "url",
    "req.url",
    "req.path",
    "url.path",
    "url.original",
    "http.target",
    "http.path",
    "http.url",
    "request.path",
    "request.url",
)
_REQUEST_KEYS = ("request", "http.request")
_FIELD_KEYS = frozenset(_PATH_KEYS + _REQUEST_KEYS)


def _origin_path(value: str) -> str | None:
    """The path of an origin-form request target (``/a/b?x=1``), or None.

    A full URL (``http://pricing/quote``) in a structured log is what a client called, not what
    this component served.
    """
    value = value.strip()
    if value[:1] != "/":
        return None
    return value.split("?", 1)[0].split("#", 1)[0]


def request_path(record: LogRecord) -> str | None:
    """The path of the request a record logs as served (not as called), or None.

    Fields first (an access log's ``path`` or ``request``, a structured log's ``req.url``...), then
    a request line in the message.
    """
    fields = record.fields
    if fields and not _FIELD_KEYS.isdisjoint(fields):  # one C-level test for the common miss
        for key in _PATH_KEYS:
            value = fields.get(key)
            if value:
                path = _origin_path(value)
                if path is not None:
                    return path
        for key in _REQUEST_KEYS:
            value = fields.get(key)
            if value:
                parts = value.split(" ")
                if len(parts) >= 2 and parts[0].isalpha():
                    return _origin_path(parts[1])
    message = record.message
    if " /" in message:  # the common case (no path at all) is decided without a regex
        match = _REQUEST_LINE.search(message)
        if match is not None:
            return match.group(1)
    if "=/" in message or '="/' in message:
        match = _PATH_PAIR.search(message)
        if match is not None:
            return match.group(1)
    return None


@functools.lru_cache(maxsize=65536)
def _route(path: str) -> str:
    """The route of a path: a busy log repeats the same paths, so it is cached."""
    return template_path(path.split("?", 1)[0]) or "/"


@attrs.define
class RouteMap:
    """Routes and the components that logged serving them; fed record by record in one pass."""

    served: dict[str, Counter[str]] = attrs.field(factory=dict)
    dropped: int = 0
    _fronts: dict[str, bool] = attrs.field(factory=dict, init=False, repr=False)

    def add(self, record: LogRecord) -> None:
        """Count the route ``record`` logs as served by its component, if it logs one."""
        component = record.component or record.source
        path = request_path(record)
        if path is None or not component:
            return
        self.add_route(component, path)

    def add_route(self, component: str, path: str) -> None:
        """Count one request for ``path`` served (logged) by ``component``."""
        route = _route(path)
        counts = self.served.get(route)
        if counts is None:
            if len(self.served) >= MAX_ROUTES:
                self.dropped += 1
                return
            counts = self.served[route] = Counter()
        counts[component] += 1
        if self._fronts:
            self._fronts.clear()

    def _sole_server(self, component: str, route: str) -> str | None:
        counts = self.served.get(route)
        if not counts:
            return None
        others = [c for c, n in counts.items() if c != component and n >= MIN_SERVED]
        return others[0] if len(others) == 1 else None

    def fronts(self, component: str) -> bool:
        """Whether ``component`` routes to several others: routes it logged have at least two
        different sole servers, as a gateway's have and a service's (called only by it) do not."""
        known = self._fronts.get(component)
        if known is None:
            owners = {
                self._sole_server(component, route)
                for route, counts in self.served.items()
                if component in counts
            }
            owners.discard(None)
            known = self._fronts[component] = len(owners) >= 2
        return known

    def owner(self, component: str, path: str, known: Collection[str] = ()) -> str | None:
        """The component behind ``component`` that serves ``path``, or None when it is not known.

        The sole other server of the route when ``component`` fronts several; else a path segment
        that names a component in ``known`` other than ``component`` itself.
        """
        if self.fronts(component):
            owner = self._sole_server(component, _route(path))
            if owner is not None:
                return owner
        for segment in path.split("?", 1)[0].split("/"):
            if segment and segment != component and segment in known:
                return segment
        return None

    def target(
        self, component: str, paths: Iterable[str] | Mapping[str, int], known: Collection[str] = ()
    ) -> str | None:
        """The one component most of ``paths`` (requests seen at ``component``) route to, or None.

        ``paths`` may map each path to its request count. The target must take more than half of
        the requests, so a gateway whose attacked paths spread over several services stays named.
        """
        weights = paths if isinstance(paths, Mapping) else Counter(paths)
        total = sum(weights.values())
        if total <= 0:
            return None
        owners: Counter[str | None] = Counter()
        for path, weight in weights.items():
            owners[self.owner(component, path, known)] += weight
        best, weight = max(owners.items(), key=lambda item: (item[1], item[0] is not None))
        return best if best is not None and weight * 2 > total else None
