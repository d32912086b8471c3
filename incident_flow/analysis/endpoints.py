"""Per-endpoint request rate, error rate and latency from access logs, before and after an onset.

The seed's Performance Analysis asks for "response time degradation" and "API call latencies
compared with baseline". An access log answers both if requests are grouped by endpoint, and
endpoints only group if their paths do: ``/api/orders/81723`` and ``/api/orders/81724`` are one
endpoint, ``GET /api/orders/{id}``. :func:`template_path` masks ids, hashes, dates and query values.

One streaming pass (:func:`collect_endpoint_stats`) keeps, per endpoint and per minute, a request
count, an error count and a latency histogram; it keeps no request. The onset need not be known
during the pass: any split of the minutes can be compared afterwards, which is what finding the
onset needs. Memory is bounded by endpoints x minutes x histogram buckets, and each is capped.

Latency distributions are log-bucketed histograms with 1 % relative accuracy (the DDSketch idea)
rather than reservoir samples: they merge exactly, so a before/after split at any minute is a sum,
they are deterministic (the same log gives the same report), and a quantile is never more than 1 %
off whatever the sample size. Whether latency rose is decided by a one-sided Mann-Whitney U test
computed on those histograms (pure Python, tie-corrected; requests within 1 % of each other count
as ties, which only makes the test more conservative) together with a minimum effect (the p95 ratio
and an absolute floor) and a minimum request count, so a large log cannot make a 2 % wobble
"significant" and a handful of slow requests cannot make an endpoint "degraded".
"""

from __future__ import annotations

import enum
import functools
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from incident_flow.analysis.stats import RateChange, rate_change
from incident_flow.sources import LogRecord

__all__ = [
    "ID",
    "INSTANCE_FIELDS",
    "AccessLogStats",
    "EndpointComparison",
    "EndpointStats",
    "Histogram",
    "LatencyShift",
    "LoadPattern",
    "MannWhitney",
    "MinuteStats",
    "Thresholds",
    "WindowSummary",
    "bucket_of",
    "classify_load",
    "collect_endpoint_stats",
    "compare_endpoint",
    "endpoint_name",
    "latency_shift",
    "mann_whitney",
    "minute_of",
    "request_latency",
    "template_path",
    "top_shares",
]

#: What an id-like path segment (or part of one) becomes.
ID = "{id}"
#: What a query-string value becomes (the keys are kept, sorted, so parameter order does not split).
QUERY_VALUE = "*"
_SLASH_ID = "/" + ID
#: Fields that name the instance that served a request, in order of preference.
INSTANCE_FIELDS = ("upstream_addr", "upstream", "pod", "instance", "node")

_MAX_TEMPLATE = 200
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}")
_TOKEN = re.compile(r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}")
_DIGITS = re.compile(r"\d+")
_HAS_DIGIT = re.compile(r"\d")
# Separators inside a segment: ``order-12345``, ``app.3f2a9c1b.js``, ``2024-01-02``.
_PARTS = re.compile(r"([-._~:,;@+=])")
# A whole segment that is certainly an id (what ``_id_like`` says of a number, a UUID, a hex string
# with a digit, a long token with a digit), with the slash before it. The lookaheads let the
# engine give up early on ordinary words.
_WHOLE_ID = re.compile(
    r"/(?:\d+(?=/|$)"
    r"|(?=[0-9a-fA-F-]{8,}(?:/|$))(?:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
    r"[0-9a-fA-F]{12}|(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,})(?=/|$)"
    r"|(?=[A-Za-z0-9_-]{20})(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}(?=/|$))"
)
_QUERY_KEYS = re.compile(r"(?:^|&)([^&=]*)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*")


def _id_like(token: str) -> bool:
    return bool(
        token.isdigit()
        or _UUID.fullmatch(token)
        or _HEX.fullmatch(token)
        or _TOKEN.fullmatch(token)
        or ("@" in token and "." in token)
    )


def _segment(segment: str) -> str:
    if not segment or segment == ID:
        return segment
    if segment.isdigit():
        return ID
    if "@" not in segment and _HAS_DIGIT.search(segment) is None:
        return segment  # the common case: a word (``api``, ``orders``): nothing to mask
    return _mixed_segment(segment)


@functools.lru_cache(maxsize=16384)
def _mixed_segment(segment: str) -> str:
    """A segment with digits: cached, since ``resource7`` or ``v2`` repeats on every request."""
    if _id_like(segment):
        return ID
    parts = _PARTS.split(segment)
    masked = [ID if i % 2 == 0 and part and _id_like(part) else part for i, part in enumerate(parts)]
    words = [part for i, part in enumerate(masked) if i % 2 == 0 and part]
    if words and all(part == ID for part in words):
        return ID  # a date, a version number, an address: one id, not ``{id}-{id}-{id}``
    return "".join(masked)


def template_path(path: str) -> str:
    """The endpoint a request path belongs to: ids, hashes, tokens and query values masked.

    ``/api/orders/81723?expand=items&b=2`` becomes ``/api/orders/{id}?b=*&expand=*``. A segment (or
    a part of one between ``-``, ``.``, ``_``...) is an id when it is a number, a UUID, a hex string
    of 8 or more with a digit, an opaque token of 20 or more with a digit, or an e-mail address;
    ``v1`` and ``h2`` stay. An absolute URL (a proxy request line) loses its scheme and host; the
    fragment goes. The result is idempotent: a template is its own template.
    """
    text = path if path[:1] == "/" else _SCHEME.sub("", path.strip(), count=1) or "/"
    if "#" in text:
        text = text.split("#", 1)[0]
    raw_path, _, query = text.partition("?")
    # Whole-segment ids go in one regex pass (in C); what is left has few distinct values, so the
    # segment-by-segment rest is cached: a busy log repeats the same few hundred templates.
    template = _path_template(_WHOLE_ID.sub(_SLASH_ID, raw_path))
    if query:
        template += _query_template(tuple(k for k in _QUERY_KEYS.findall(query) if k))
    if len(template) > _MAX_TEMPLATE:
        template = template[: _MAX_TEMPLATE - 1] + "…"
    return template


@functools.lru_cache(maxsize=16384)
def _path_template(path: str) -> str:
    return "/".join([_segment(s) for s in path.split("/")])


@functools.lru_cache(maxsize=4096)
def _query_template(keys: tuple[str, ...]) -> str:
    shown = [f"{key}={QUERY_VALUE}" for key in sorted({_segment(k) for k in keys}) if key]
    return "?" + "&".join(shown) if shown else ""


def endpoint_name(method: str | None, path: str) -> str:
    """``GET /api/orders/{id}``: the method and the templated path, the name findings use."""
    template = template_path(path)
    return f"{method} {template}" if method else template


def _seconds(text: str | None) -> float | None:
    """nginx's ``0.012``, or the last of ``0.012, 0.004`` (retries: the answer came from the last)."""
    if not text or text == "-":
        return None
    if "," in text or ":" in text:
        text = re.split(r"\s*[,:]\s*", text.strip())[-1]
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


def request_latency(fields: Mapping[str, str]) -> tuple[float | None, str | None]:
    """The request's latency in seconds and the field it came from.

    ``request_time`` is what the client waited (nginx's whole handling); without it,
    ``upstream_response_time`` (the backend's part). ``None`` when the format carries neither.
    """
    text = fields.get("request_time")
    if text and text[0].isdigit() and "," not in text:  # the common case, without the general parser
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                return seconds, "request_time"
    for name in ("request_time", "upstream_response_time"):
        value = _seconds(fields.get(name))
        if value is not None:
            return value, name
    return None, None


def minute_of(at: datetime) -> int:
    """The minute (unix minutes) a time falls in: the bucket the per-minute statistics use."""
    return int(at.timestamp()) // 60


def _minute_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


# -- histograms --------------------------------------------------------------------------------------

_ALPHA = 0.01  # relative accuracy of a quantile
_GAMMA = (1 + _ALPHA) / (1 - _ALPHA)
_LOG_GAMMA = math.log(_GAMMA)
_ZERO = 1e-6  # below this a latency is 0: nginx writes milliseconds
_ZERO_KEY = -(10**9)


def bucket_of(value: float) -> int:
    """The histogram bucket of a latency in seconds."""
    return _key(value)


def _key(value: float) -> int:
    if value < _ZERO:
        return _ZERO_KEY
    return math.ceil(math.log(value) / _LOG_GAMMA)


def _value(key: int) -> float:
    if key == _ZERO_KEY:
        return 0.0
    return 2.0 * _GAMMA**key / (_GAMMA + 1.0)


@attrs.define
class Histogram:
    """A latency distribution in log buckets: quantiles within 1 % of the truth, merged exactly."""

    buckets: Counter[int] = attrs.field(factory=Counter)
    count: int = 0
    total: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Histogram:
        histogram = cls()
        for value in values:
            histogram.add(value)
        return histogram

    def add(self, value: float, times: int = 1) -> None:
        self.buckets[_key(value)] += times
        self.count += times
        self.total += value * times

    def add_keyed(self, key: int, value: float) -> None:
        """``add`` with the bucket already computed (:func:`bucket_of`): one log per request, not three."""
        self.buckets[key] += 1
        self.count += 1
        self.total += value

    def merge(self, other: Histogram) -> None:
        self.buckets.update(other.buckets)
        self.count += other.count
        self.total += other.total

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1), within 1 % relative error; None when empty."""
        if not self.count:
            return None
        rank = min(max(q, 0.0), 1.0) * (self.count - 1)
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen > rank:
                return _value(key)
        return _value(max(self.buckets))

    def items(self) -> list[tuple[int, int]]:
        """(bucket, count) pairs in increasing order of latency."""
        return sorted(self.buckets.items())


@attrs.frozen
class MannWhitney:
    """One-sided Mann-Whitney U: is the second sample stochastically larger than the first?

    ``effect`` is the probability that a request after is slower than one before (ties count half):
    0.5 means no shift, 1.0 means every request after was slower.
    """

    u: float
    z: float
    p_value: float
    effect: float
    n_before: int
    n_after: int


def mann_whitney(before: Histogram, after: Histogram) -> MannWhitney:
    """Test whether ``after`` is larger than ``before``, with the normal approximation and ties."""
    n1, n2 = before.count, after.count
    if n1 == 0 or n2 == 0:
        return MannWhitney(u=0.0, z=0.0, p_value=1.0, effect=0.5, n_before=n1, n_after=n2)
    keys = sorted(set(before.buckets) | set(after.buckets))
    below = 0
    u = 0.0
    ties = 0.0
    for key in keys:
        b = before.buckets.get(key, 0)
        a = after.buckets.get(key, 0)
        u += a * (below + 0.5 * b)
        below += b
        t = a + b
        ties += t * t * t - t
    n = n1 + n2
    mean = n1 * n2 / 2.0
    variance = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    # 0.5: the continuity correction of the normal approximation.
    z = 0.0 if variance <= 0 else (u - mean - 0.5) / math.sqrt(variance)
    p = 0.5 * math.erfc(z / math.sqrt(2.0))
    return MannWhitney(u=u, z=z, p_value=min(max(p, 0.0), 1.0), effect=u / (n1 * n2), n_before=n1, n_after=n2)


# -- per-endpoint statistics -------------------------------------------------------------------------


@attrs.define
class MinuteStats:
    """One endpoint (or one instance) in one minute."""

    requests: int = 0
    server_errors: int = 0
    client_errors: int = 0
    latency: Histogram = attrs.field(factory=Histogram)

    def merge(self, other: MinuteStats) -> None:
        self.requests += other.requests
        self.server_errors += other.server_errors
        self.client_errors += other.client_errors
        self.latency.merge(other.latency)


@attrs.frozen
class WindowSummary:
    """An endpoint over a time window: what a before/after table shows."""

    requests: int
    minutes: float
    server_errors: int
    client_errors: int
    latency: Histogram

    @property
    def rate_per_min(self) -> float:
        return self.requests / self.minutes if self.minutes > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """The share of requests answered 5xx."""
        return self.server_errors / self.requests if self.requests else 0.0

    @property
    def p50(self) -> float | None:
        return self.latency.quantile(0.50)

    @property
    def p95(self) -> float | None:
        return self.latency.quantile(0.95)

    @property
    def p99(self) -> float | None:
        return self.latency.quantile(0.99)

    def figures(self) -> dict[str, float | int | None]:
        """The window as evidence figures: counts, rates and percentiles in milliseconds."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000.0, 1)

        return {
            "requests": self.requests,
            "rate_per_min": round(self.rate_per_min, 2),
            "error_rate": round(self.error_rate, 4),
            "p50_ms": ms(self.p50),
            "p95_ms": ms(self.p95),
            "p99_ms": ms(self.p99),
        }


def _summarise(per_minute: Mapping[int, MinuteStats], start: int, end: int) -> WindowSummary:
    """Minutes ``start <= m < end`` (unix minutes) summed."""
    total = MinuteStats()
    for minute, stats in per_minute.items():
        if start <= minute < end:
            total.merge(stats)
    return WindowSummary(
        requests=total.requests,
        minutes=float(max(end - start, 1)),
        server_errors=total.server_errors,
        client_errors=total.client_errors,
        latency=total.latency,
    )


@attrs.define
class EndpointStats:
    """One endpoint (component, method, templated path): per-minute statistics and a few samples.

    ``slowest`` holds the slowest requests seen (latency, record), the evidence a reader opens.
    """

    component: str
    name: str
    per_minute: dict[int, MinuteStats] = attrs.field(factory=dict)
    slowest: list[tuple[float, int, LogRecord]] = attrs.field(factory=list)
    source: str = ""
    seen: int = 0

    @property
    def requests(self) -> int:
        return self.seen

    def add(
        self, minute: int, status: int, latency: float | None, record: LogRecord, keep: int, key: int = 0
    ) -> None:
        stats = self.per_minute.get(minute)
        if stats is None:
            stats = self.per_minute[minute] = MinuteStats()
        stats.requests += 1
        self.seen += 1
        if status >= 500:
            stats.server_errors += 1
        elif status >= 400:
            stats.client_errors += 1
        if latency is not None:
            stats.latency.add_keyed(key, latency)
            # The sequence number breaks ties: the earlier of two equally slow requests is kept.
            item = (latency, -self.seen, record)
            if len(self.slowest) < keep:
                heapq.heappush(self.slowest, item)
            elif latency > self.slowest[0][0]:
                heapq.heapreplace(self.slowest, item)

    def window(self, start: int, end: int) -> WindowSummary:
        """The endpoint over minutes ``[start, end)``."""
        return _summarise(self.per_minute, start, end)

    def samples(self, since: int | None = None) -> list[LogRecord]:
        """The slowest requests kept, slowest first (those from minute ``since`` on, if any)."""
        ordered = [r for _, _, r in sorted(self.slowest, key=lambda item: (-item[0], item[1]))]
        if since is not None:
            after = [r for r in ordered if r.at is not None and minute_of(r.at) >= since]
            return after or ordered
        return ordered


@attrs.define
class AccessLogStats:
    """What one pass over access-log records gathered.

    ``clients``, ``agents`` and ``instances`` hold per-minute counts per client address, user agent
    and serving instance, capped per minute (``overflow`` counts what did not fit: many distinct
    keys in a minute is itself the sign of organic traffic). ``latency_field`` says which field the
    latencies came from (``request_time``, ``upstream_response_time`` or None).
    """

    endpoints: dict[tuple[str, str], EndpointStats] = attrs.field(factory=dict)
    per_minute: dict[int, MinuteStats] = attrs.field(factory=dict)
    clients: dict[int, Counter[str]] = attrs.field(factory=dict)
    agents: dict[int, Counter[str]] = attrs.field(factory=dict)
    instances: dict[int, dict[str, MinuteStats]] = attrs.field(factory=dict)
    overflow: Counter[str] = attrs.field(factory=Counter)
    records: int = 0
    access_records: int = 0
    untimed: int = 0
    latency_fields: Counter[str] = attrs.field(factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    dropped_endpoints: int = 0

    @property
    def latency_field(self) -> str | None:
        return self.latency_fields.most_common(1)[0][0] if self.latency_fields else None

    @property
    def minutes(self) -> list[int]:
        """Every minute from the first record to the last (empty minutes included)."""
        if not self.per_minute:
            return []
        return list(range(min(self.per_minute), max(self.per_minute) + 1))

    def window(self, start: int, end: int) -> WindowSummary:
        """All endpoints together over minutes ``[start, end)``."""
        return _summarise(self.per_minute, start, end)

    def counts(self, table: Mapping[int, Counter[str]], start: int, end: int) -> Counter[str]:
        """``clients`` or ``agents`` summed over minutes ``[start, end)``."""
        total: Counter[str] = Counter()
        for minute, counter in table.items():
            if start <= minute < end:
                total.update(counter)
        return total

    def instance_windows(self, start: int, end: int) -> dict[str, MinuteStats]:
        """Each instance's requests and latency over minutes ``[start, end)``."""
        out: dict[str, MinuteStats] = {}
        for minute, table in self.instances.items():
            if start <= minute < end:
                for name, stats in table.items():
                    out.setdefault(name, MinuteStats()).merge(stats)
        return out


_RETRIES = re.compile(r"\s*,\s*|\s+:\s+")


def _client(fields: Mapping[str, str]) -> str | None:
    forwarded = fields.get("http_x_forwarded_for")
    if forwarded and forwarded != "-":
        return forwarded.split(",", 1)[0].strip() or None
    return fields.get("remote_addr")


def _instance(fields: Mapping[str, str]) -> str | None:
    for name in INSTANCE_FIELDS:
        value = fields.get(name)
        if value and value != "-":
            # ``10.0.0.1:8080, 10.0.0.2:8080``: the request was retried and the last one answered;
            # `` : `` separates the servers of an internal redirect.
            return _RETRIES.split(value.strip())[-1] if "," in value or " : " in value else value
    return None


def collect_endpoint_stats(
    records: Iterable[LogRecord],
    *,
    max_endpoints: int = 2000,
    max_keys_per_minute: int = 1000,
    max_instances: int = 200,
    slowest: int = 3,
) -> AccessLogStats:
    """One pass over records; those with an HTTP ``status`` field (access logs) are counted.

    Endpoints beyond ``max_endpoints`` share one ``(other)`` entry per component, so an attacker
    requesting random paths cannot grow memory without bound. The loop is written for speed (it
    runs once per request): locals instead of attributes, the minute's tables looked up once per
    minute, the latency's histogram bucket computed once.
    """
    stats = AccessLogStats()
    endpoints = stats.endpoints
    per_minute = stats.per_minute
    overflow = stats.overflow
    latency_fields = stats.latency_fields
    current = -1
    total = MinuteStats()
    clients: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    instances: dict[str, MinuteStats] = {}
    count = access = untimed = 0
    first: datetime | None = None
    last: datetime | None = None
    for record in records:
        count += 1
        fields = record.fields
        status_text = fields.get("status")
        if status_text is None or not status_text.isdigit():
            continue
        at = record.at
        if at is None:
            untimed += 1
            continue
        access += 1
        if first is None or at < first:
            first = at
        if last is None or at > last:
            last = at
        component = record.component or record.source
        method = fields.get("method") or fields.get("request_method")
        raw = fields.get("path") or fields.get("request_uri") or fields.get("uri") or "-"
        key = (component, f"{method} {template_path(raw)}" if method else template_path(raw))
        endpoint = endpoints.get(key)
        if endpoint is None:
            if len(endpoints) >= max_endpoints:
                stats.dropped_endpoints += 1
                key = (component, "(other)")
                endpoint = endpoints.get(key)
            if endpoint is None:
                endpoint = endpoints[key] = EndpointStats(
                    component=component, name=key[1], source=record.source
                )
        minute = int(at.timestamp()) // 60
        if minute != current:
            # Records come in time order (mostly): look the minute's tables up once per minute.
            current = minute
            total = (
                per_minute.setdefault(minute, MinuteStats())
                if minute not in per_minute
                else per_minute[minute]
            )
            clients = stats.clients.setdefault(minute, Counter())
            agents = stats.agents.setdefault(minute, Counter())
            instances = stats.instances.setdefault(minute, {})
        status = int(status_text)
        latency, field = request_latency(fields)
        bucket = 0
        if latency is not None:
            latency_fields[field or ""] += 1
            bucket = _key(latency)
        endpoint.add(minute, status, latency, record, slowest, bucket)
        total.requests += 1
        if status >= 500:
            total.server_errors += 1
        elif status >= 400:
            total.client_errors += 1
        if latency is not None:
            total.latency.add_keyed(bucket, latency)
        client = _client(fields)
        if client:
            if client in clients or len(clients) < max_keys_per_minute:
                clients[client] += 1
            else:
                overflow["clients"] += 1
        agent = fields.get("http_user_agent")
        if agent:
            if agent in agents or len(agents) < max_keys_per_minute:
                agents[agent] += 1
            else:
                overflow["agents"] += 1
        instance = _instance(fields)
        if instance:
            entry = instances.get(instance)
            if entry is None and len(instances) < max_instances:
                entry = instances[instance] = MinuteStats()
            if entry is None:
                overflow["instances"] += 1
            else:
                entry.requests += 1
                if status >= 500:
                    entry.server_errors += 1
                # The instance's own time: the upstream's, when the client's time is the latency.
                upstream = _seconds(fields.get("upstream_response_time")) if field == "request_time" else None
                if upstream is not None:
                    entry.latency.add(upstream)
                elif latency is not None:
                    entry.latency.add_keyed(bucket, latency)
    stats.records, stats.access_records, stats.untimed = count, access, untimed
    stats.first, stats.last = first, last
    return stats


# -- comparing windows -------------------------------------------------------------------------------


@attrs.frozen
class Thresholds:
    """When a change counts: both significant and large enough to matter to a user.

    ``latency_ratio``: p95 after over p95 before; ``latency_floor_s``: the p95 must also rise by this
    much (10 ms to 20 ms doubles but hurts nobody); ``min_requests``: on each side of the split;
    ``p_value``: for the Mann-Whitney and G tests; ``rate_ratio``: a traffic change worth naming.
    """

    latency_ratio: float = 1.5
    latency_floor_s: float = 0.05
    min_requests: int = 20
    p_value: float = 1e-4
    rate_ratio: float = 1.5
    error_ratio: float = 3.0
    error_floor: float = 0.02
    min_errors: int = 10


class LoadPattern(enum.StrEnum):
    """How the load changed: a surge is more requests, a slowdown is slower requests at equal rate."""

    STEADY = "steady"
    SURGE = "surge"
    SURGE_WITH_SLOWDOWN = "surge_with_slowdown"
    SLOWDOWN = "slowdown"
    DROP = "drop"


def classify_load(
    rate: RateChange | None, latency_up: bool, thresholds: Thresholds = Thresholds()
) -> LoadPattern:
    """Tell a traffic surge from a slowdown: rate up versus latency up at an equal rate.

    A slowdown with fewer requests is still a slowdown (slow answers often lower the rate); a drop
    in traffic with flat latency is ``DROP`` (users gone, or an upstream no longer sending).
    """
    surged = (
        rate is not None
        and rate.p_value <= thresholds.p_value
        and rate.rate_after >= thresholds.rate_ratio * max(rate.rate_before, 1e-9)
    )
    dropped = (
        rate is not None
        and rate.p_value <= thresholds.p_value
        and rate.rate_after * thresholds.rate_ratio <= rate.rate_before
    )
    if surged:
        return LoadPattern.SURGE_WITH_SLOWDOWN if latency_up else LoadPattern.SURGE
    if latency_up:
        return LoadPattern.SLOWDOWN
    return LoadPattern.DROP if dropped else LoadPattern.STEADY


@attrs.frozen
class EndpointComparison:
    """One endpoint before and after a split: the figures, the tests, and the verdicts."""

    endpoint: EndpointStats
    before: WindowSummary
    after: WindowSummary
    latency_test: MannWhitney
    rate: RateChange
    latency_up: bool
    errors_up: bool
    pattern: LoadPattern

    @property
    def p95_ratio(self) -> float | None:
        b, a = self.before.p95, self.after.p95
        if a is None or b is None:
            return None
        return a / max(b, 0.001)


def _latency_up(before: WindowSummary, after: WindowSummary, test: MannWhitney, t: Thresholds) -> bool:
    b, a = before.p95, after.p95
    if a is None or b is None:
        return False
    return (
        before.latency.count >= t.min_requests
        and after.latency.count >= t.min_requests
        and test.p_value <= t.p_value
        and a >= t.latency_ratio * max(b, 0.001)
        and a - b >= t.latency_floor_s
    )


def _errors_up(before: WindowSummary, after: WindowSummary, t: Thresholds) -> bool:
    return (
        after.server_errors >= t.min_errors
        and after.error_rate >= t.error_floor
        and after.error_rate >= t.error_ratio * before.error_rate
    )


def compare_endpoint(
    endpoint: EndpointStats, onset: int, start: int, end: int, thresholds: Thresholds = Thresholds()
) -> EndpointComparison:
    """The endpoint over minutes ``[start, onset)`` against ``[onset, end)``."""
    before = endpoint.window(start, onset)
    after = endpoint.window(onset, end)
    test = mann_whitney(before.latency, after.latency)
    rate = rate_change(before.requests, before.minutes, after.requests, after.minutes)
    up = _latency_up(before, after, test, thresholds)
    return EndpointComparison(
        endpoint=endpoint,
        before=before,
        after=after,
        latency_test=test,
        rate=rate,
        latency_up=up,
        errors_up=_errors_up(before, after, thresholds),
        pattern=classify_load(rate, up, thresholds),
    )


@attrs.frozen
class LatencyShift:
    """Where an endpoint's latency distribution moved up: the first slow minute and the test there."""

    minute: int
    test: MannWhitney
    p95_before: float
    p95_after: float

    @property
    def at(self) -> datetime:
        return _minute_time(self.minute)


def latency_shift(
    per_minute: Mapping[int, MinuteStats],
    *,
    start: int | None = None,
    end: int | None = None,
    thresholds: Thresholds = Thresholds(),
    min_minutes: int = 3,
) -> LatencyShift | None:
    """The split of the minutes that best separates faster-before from slower-after latencies.

    Every split with ``min_minutes`` and ``thresholds.min_requests`` on each side is tested
    (Mann-Whitney, on running sums of the histograms); the one with the largest z wins, and is
    returned only when it passes the thresholds, so a flat endpoint gives None.
    """
    minutes = sorted(m for m in per_minute if (start is None or m >= start) and (end is None or m < end))
    if len(minutes) < 2:
        return None
    lo, hi = minutes[0], minutes[-1] + 1
    span = hi - lo
    if span < 2 * min_minutes:
        return None
    # Coarser steps on long windows: at most ~240 candidate splits.
    step = max(1, span // 240)
    keys = sorted({k for m in minutes for k in per_minute[m].latency.buckets})
    index = {k: i for i, k in enumerate(keys)}
    total = [0] * len(keys)
    for m in minutes:
        for k, c in per_minute[m].latency.buckets.items():
            total[index[k]] += c
    n_total = sum(total)
    if n_total < 2 * thresholds.min_requests:
        return None
    prefix = [0] * len(keys)
    n_prefix = 0
    best: tuple[float, int] | None = None
    pos = 0
    for split in range(lo + min_minutes, hi - min_minutes + 1, step):
        while pos < len(minutes) and minutes[pos] < split:
            for k, c in per_minute[minutes[pos]].latency.buckets.items():
                prefix[index[k]] += c
            n_prefix += per_minute[minutes[pos]].latency.count
            pos += 1
        n_after = n_total - n_prefix
        if n_prefix < thresholds.min_requests or n_after < thresholds.min_requests:
            continue
        z = _z(prefix, total, n_prefix, n_after)
        if best is None or z > best[0]:
            best = (z, split)
    if best is None:
        return None
    split = best[1]
    before = _summarise(per_minute, lo, split)
    after = _summarise(per_minute, split, hi)
    test = mann_whitney(before.latency, after.latency)
    if not _latency_up(before, after, test, thresholds):
        return None
    b, a = before.p95, after.p95
    assert a is not None and b is not None
    return LatencyShift(minute=split, test=test, p95_before=b, p95_after=a)


def _z(prefix: Sequence[int], total: Sequence[int], n1: int, n2: int) -> float:
    """The Mann-Whitney z of suffix-over-prefix counts aligned on the same buckets."""
    below = 0
    u = 0.0
    ties = 0.0
    for b, t in zip(prefix, total, strict=True):
        a = t - b
        u += a * (below + 0.5 * b)
        below += b
        ties += t * t * t - t
    n = n1 + n2
    variance = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 0.0
    return (u - n1 * n2 / 2.0) / math.sqrt(variance)


def top_shares(counts: Counter[str], n: int = 3) -> list[tuple[str, int, float]]:
    """The ``n`` largest keys with their count and share of the total."""
    total = sum(counts.values())
    if not total:
        return []
    return [(key, count, count / total) for key, count in counts.most_common(n)]
