"""The ``prometheus`` source type: series from a live Prometheus over its HTTP API, queried in place.

Evidence stays where it lives (DESIGN.md, "Scale"): the source never copies the TSDB. It asks
Prometheus which series match the configured selectors in the window (``/api/v1/series``), keeps at
most ``max_series`` of them, and fetches only those, one range query per metric name (the selector
narrowed to that name, so Prometheus does the filtering) at a step coarse enough that no series has
more than 11,000 points (Prometheus' own limit per query).

Counters come back raw; the scorer turns them into rates itself (it handles resets the way
``rate()`` does), so one query shape serves every metric and no rate window has to be guessed.

Failures are one line: an unreachable, slow or erroring Prometheus raises :class:`SourceError`
naming the URL and what went wrong, which the run records before it goes on without the source.
Everything HTTP goes through one ``httpx.Client``; tests hand it an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import math
import re
import ssl
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx

from incident_flow.sources import MetricSeries, MetricSource, Option, SourceError, SourceSpec, SourceType

__all__ = [
    "DEFAULT_COMPONENT_LABELS",
    "DEFAULT_MATCHERS",
    "MAX_POINTS",
    "MAX_RESPONSE_BYTES",
    "PROMETHEUS_SOURCE_TYPE",
    "PromSeries",
    "PrometheusClient",
    "PrometheusSource",
    "component_of",
    "parse_matrix",
    "parse_series_list",
    "selector",
    "source_from_spec",
]

#: Every series but histogram buckets (dozens per histogram, and their sums and counts say it all).
DEFAULT_MATCHERS: tuple[str, ...] = ('{__name__=~".+",__name__!~".+_bucket"}',)
#: The labels that usually name a service, tried in this order.
DEFAULT_COMPONENT_LABELS: tuple[str, ...] = ("service", "job", "app", "container", "pod", "instance")
DEFAULT_MAX_SERIES = 1000
DEFAULT_STEP_S = 15.0
DEFAULT_TIMEOUT_S = 10.0
#: Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11_000
#: The largest answer read (256 MiB): beyond it the source fails rather than fill the memory.
MAX_RESPONSE_BYTES = 256 << 20

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SELECTOR = re.compile(r"\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?P<braces>\{.*\})?\s*", re.DOTALL)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- parsing the API's answers --------------------------------------------------------------------


@attrs.frozen
class PromSeries:
    """One series of a range query: its labels (``__name__`` included) and points, NaN for non-finite."""

    labels: Mapping[str, str]
    times: tuple[float, ...]
    values: tuple[float, ...]


def _data(payload: Any, what: str) -> Any:
    """The ``data`` of a successful API answer; an error answer or a wrong shape is a SourceError."""
    if not isinstance(payload, dict):
        raise SourceError(f"{what}: not a Prometheus API response (expected a JSON object)")
    status = payload.get("status")
    if status != "success":
        kind = payload.get("errorType")
        error = payload.get("error")
        detail = f"{kind}: {error}" if kind and error else error or kind or f"status {status!r}"
        raise SourceError(f"{what}: Prometheus answered with an error ({_one_line(str(detail))})")
    return payload.get("data")


def _labels(item: Any) -> dict[str, str] | None:
    if not isinstance(item, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in item.items()):
        return None
    return dict(item)


def parse_series_list(payload: Any) -> list[dict[str, str]]:
    """The label sets of an ``/api/v1/series`` answer; malformed entries are skipped."""
    data = _data(payload, "series discovery")
    if not isinstance(data, list):
        raise SourceError("series discovery: the answer's data is not a list")
    out = []
    for item in data:
        labels = _labels(item)
        if labels is not None:
            out.append(labels)
    return out


def _point(item: Any) -> tuple[float, float] | None:
    if not isinstance(item, list | tuple) or len(item) != 2:
        return None
    t, v = item
    if isinstance(t, bool) or not isinstance(t, int | float | str):
        return None
    try:
        ts = float(t)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(ts):
        return None
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        return None
    try:
        value = float(v)
    except (ValueError, OverflowError):
        return None
    return ts, value if math.isfinite(value) else math.nan


def parse_matrix(payload: Any) -> list[PromSeries]:
    """The series of a ``/api/v1/query_range`` answer (a matrix).

    A series without valid labels is skipped, and so is a point that is not ``[time, "value"]``;
    ``"NaN"`` and infinities become NaN (a gap). Points are ordered by time.
    """
    data = _data(payload, "range query")
    if not isinstance(data, dict):
        raise SourceError("range query: the answer's data is not an object")
    if data.get("resultType") != "matrix":
        raise SourceError(f"range query: expected a matrix, got {_one_line(str(data.get('resultType')))}")
    result = data.get("result")
    if not isinstance(result, list):
        raise SourceError("range query: the answer's result is not a list")
    out: list[PromSeries] = []
    for item in result:
        if not isinstance(item, dict):
            continue
        labels = _labels(item.get("metric", {}))
        values = item.get("values")
        if labels is None or not isinstance(values, list):
            continue
        points: dict[float, float] = {}
        for raw in values:
            point = _point(raw)
            if point is not None:
                points[point[0]] = point[1]
        ordered = sorted(points.items())
        out.append(PromSeries(labels, tuple(t for t, _ in ordered), tuple(v for _, v in ordered)))
    return out


# -- selectors ------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(labels: Mapping[str, str]) -> str:
    """The exact selector of one series: ``{__name__="x",job="api"}``, values escaped."""
    parts = [
        f"{k}={_quote(v)}" for k, v in sorted(labels.items(), key=lambda kv: (kv[0] != "__name__", kv[0]))
    ]
    return "{" + ",".join(parts) + "}"


def display_name(labels: Mapping[str, str]) -> str:
    """``name{label="value",...}``, the way Prometheus shows a series."""
    name = labels.get("__name__", "")
    rest = {k: v for k, v in labels.items() if k != "__name__"}
    if not rest:
        return name or "{}"
    return name + "{" + ",".join(f"{k}={_quote(v)}" for k, v in sorted(rest.items())) + "}"


def _narrow(matcher: str, name: str) -> str | None:
    """``matcher`` restricted to metric ``name``, or None when the matcher is not a plain selector."""
    match = _SELECTOR.fullmatch(matcher)
    if match is None or not (match.group("name") or match.group("braces")):
        return None
    if match.group("name"):
        return matcher if match.group("name") == name else None
    inner = match.group("braces")[1:-1].strip()
    return "{" + f"__name__={_quote(name)}" + (f",{inner}" if inner else "") + "}"


def component_of(labels: Mapping[str, str], component_labels: Sequence[str]) -> str:
    """The component a series belongs to: the first of ``component_labels`` it carries.

    ``instance`` loses its port (``cache-1:9100`` is ``cache-1``); a series with none of the
    labels falls back to its metric name's prefix, the rule of the CSV layout.
    """
    for label in component_labels:
        value = labels.get(label, "").strip()
        if not value:
            continue
        if label == "instance":
            host = value.rsplit(":", 1)[0] if value.count(":") == 1 or value.startswith("[") else value
            value = host.strip("[]") or value
        return value
    name = labels.get("__name__", "")
    prefix, sep, rest = name.partition("_")
    return prefix if sep and prefix and rest else name or "prometheus"


# -- the client -----------------------------------------------------------------------------------


class PrometheusClient:
    """A small synchronous client for the two endpoints the source needs.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); every failure is a
    :class:`SourceError` with one line naming the URL.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        verify: bool | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            verify=verify,
            transport=transport,
            follow_redirects=True,
        )

    def _timed_out(self, what: str) -> SourceError:
        return SourceError(
            f"prometheus {self.url}: {what} timed out after {self.timeout:g}s "
            "(raise the source's `timeout` or narrow its `matchers`)"
        )

    def _post(self, path: str, data: Mapping[str, Any], what: str) -> Any:
        url = f"{self.url}{path}"
        # httpx's timeout bounds each socket read, not the answer: a server that drips a byte a
        # second, or streams without end, would hold the source forever. So the body is read in
        # chunks against a deadline for the whole answer, and its size is capped.
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream("POST", url, data=dict(data)) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise SourceError(
                            f"prometheus {self.url}: {what}: the answer is larger than "
                            f"{MAX_RESPONSE_BYTES >> 20} MiB "
                            "(narrow the source's `matchers` or lower `max_series`)"
                        )
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise self._timed_out(what)
                body = b"".join(chunks)
        except httpx.TimeoutException:
            raise self._timed_out(what) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"prometheus {self.url}: cannot reach it for {what} "
                f"({type(exc).__name__}: {_one_line(str(exc))}); check the source's `url` and that it is up"
            ) from None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python can
            payload = None
        if response.status_code >= 400:
            detail = ""
            if isinstance(payload, dict) and payload.get("error"):
                detail = f": {_one_line(str(payload['error']))}"
            hint = ""
            if response.status_code in (401, 403):
                hint = " (check the source's `headers` or `bearer_token_file`)"
            raise SourceError(
                f"prometheus {self.url}: {what} failed with HTTP {response.status_code}{detail}{hint}"
            )
        if payload is None:
            raise SourceError(
                f"prometheus {self.url}: {what}: the answer is not JSON (is `url` the Prometheus base URL?)"
            )
        return payload

    def series(self, matcher: str, start: float, end: float) -> tuple[list[dict[str, str]], list[str]]:
        """The label sets matching ``matcher`` in ``[start, end]``, and Prometheus' warnings."""
        payload = self._post(
            "/api/v1/series",
            {"match[]": matcher, "start": f"{start:.3f}", "end": f"{end:.3f}"},
            "series discovery",
        )
        try:
            return parse_series_list(payload), _warnings(payload)
        except SourceError as exc:
            raise SourceError(f"prometheus {self.url}: {exc}") from None

    def query_range(
        self, query: str, start: float, end: float, step: float
    ) -> tuple[list[PromSeries], list[str]]:
        """A range query's series, and Prometheus' warnings."""
        payload = self._post(
            "/api/v1/query_range",
            {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"},
            "range query",
        )
        try:
            return parse_matrix(payload), _warnings(payload)
        except SourceError as exc:
            raise SourceError(f"prometheus {self.url}: {exc}") from None

    def close(self) -> None:
        self._client.close()


def _warnings(payload: Any) -> list[str]:
    warnings = payload.get("warnings") if isinstance(payload, dict) else None
    if not isinstance(warnings, list):
        return []
    return [_one_line(str(w)) for w in warnings if w]


def _round_robin(found: Sequence[dict[str, str]], limit: int) -> list[dict[str, str]]:
    """At most ``limit`` series, taken in turn from each metric name so every kind is represented."""
    by_name: dict[str, list[dict[str, str]]] = defaultdict(list)
    for labels in found:
        by_name[labels.get("__name__", "")].append(labels)
    queues = [sorted(v, key=selector) for _, v in sorted(by_name.items())]
    chosen: list[dict[str, str]] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < limit:
                chosen.append(queue[depth])
        depth += 1
    return chosen


class PrometheusSource(MetricSource):
    """Series from a Prometheus server (see the module's docstring)."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        matchers: Sequence[str] = DEFAULT_MATCHERS,
        max_series: int = DEFAULT_MAX_SERIES,
        step: float | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
        verify: bool | ssl.SSLContext = True,
        component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name)
        self.url = url.rstrip("/")
        self.matchers = tuple(matchers) or DEFAULT_MATCHERS
        self.max_series = max(1, int(max_series))
        self.step = step
        self.component_labels = tuple(component_labels) or DEFAULT_COMPONENT_LABELS
        self._clock = clock
        self.client = PrometheusClient(
            url, headers=headers, timeout=timeout, verify=verify, transport=transport
        )

    def describe(self) -> str:
        return f"prometheus {self.name} ({self.url})"

    def close(self) -> None:
        self.client.close()

    def step_for(self, start: float, end: float) -> float:
        """The query step: the configured one (15 s by default), coarsened to stay under 11,000 points."""
        wanted = self.step if self.step and self.step > 0 else DEFAULT_STEP_S
        return max(wanted, math.ceil((end - start) / (MAX_POINTS - 1)))

    def discover(
        self, start: float, end: float
    ) -> tuple[list[tuple[str, dict[str, str]]], Counter[tuple[str, str]]]:
        """The series to fetch, as (matcher, labels), each once and at most ``max_series`` of them;
        and how many series each (matcher, metric name) matched before the cap."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for matcher in self.matchers:
            labels_list, warnings = self.client.series(matcher, start, end)
            for warning in warnings:
                self.warn(f"series discovery: {warning}")
            for labels in labels_list:
                found.setdefault(selector(labels), (matcher, labels))
        if len(found) > self.max_series:
            self.warn(
                f"{len(found)} series match {', '.join(self.matchers)}; only {self.max_series} are read "
                "(narrow `matchers` or raise `max_series`)"
            )
        matched: Counter[tuple[str, str]] = Counter(
            (matcher, labels.get("__name__", "")) for matcher, labels in found.values()
        )
        chosen = _round_robin([labels for _, labels in found.values()], self.max_series)
        return [found[selector(labels)] for labels in chosen], matched

    def series(self, since: datetime, until: datetime) -> Iterator[MetricSeries]:
        """The selected series over ``[since, until]`` (``until`` no later than now).

        One range query per metric name (the matcher narrowed to it) when every series of that
        name was selected; when the cap left some out, one query per selected series instead, so
        the cap bounds what is fetched, not only what is kept.
        """
        start = since.timestamp()
        end = min(until.timestamp(), self._clock())
        if end <= start:
            return
        step = self.step_for(start, end)
        wanted, matched = self.discover(start, end)
        groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
        for matcher, labels in wanted:
            groups[(matcher, labels.get("__name__", ""))].append(labels)
        for (matcher, name), members in groups.items():
            keys = {selector(labels) for labels in members}
            whole = matched[(matcher, name)] == len(members)
            narrowed = _narrow(matcher, name) if whole and name and _NAME.fullmatch(name) else None
            queries = [narrowed] if narrowed else [selector(labels) for labels in members]
            for query in queries:
                result, warnings = self.client.query_range(query, start, end, step)
                for warning in warnings:
                    self.warn(f"range query {query}: {warning}")
                for item in result:
                    key = selector(item.labels)
                    if key not in keys or not item.times:
                        continue
                    keys.discard(key)
                    yield self._series(item, query, step)

    def _series(self, item: PromSeries, query: str, step: float) -> MetricSeries:
        labels = dict(item.labels)
        metric = labels.get("__name__", "")
        return MetricSeries(
            name=display_name(labels),
            component=component_of(labels, self.component_labels),
            metric=metric,
            times=item.times,
            values=item.values,
            source=self.name,
            labels=labels,
            query=f"query_range({query}, step={step:g}s)",
        )


# -- the source type ------------------------------------------------------------------------------


def _seconds(value: Any, default: float) -> float:
    if value is None:
        return default
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    return float(value)


def _ssl_context(spec: SourceSpec) -> bool | ssl.SSLContext:
    options = spec.options
    verify = options.get("tls_verify")
    verify = True if verify is None else bool(verify)
    ca_file, cert_file, key_file = options.get("ca_file"), options.get("cert_file"), options.get("key_file")
    if not ca_file and not cert_file:
        return verify
    try:
        context = ssl.create_default_context(cafile=str(spec.path(ca_file)) if ca_file else None)
        if cert_file:
            context.load_cert_chain(str(spec.path(cert_file)), str(spec.path(key_file)) if key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise SourceError(
            f"prometheus source {spec.name!r}: cannot load the TLS files ({_one_line(str(exc))})"
        ) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _headers(spec: SourceSpec) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (spec.options.get("headers") or {}).items()}
    token_file = spec.options.get("bearer_token_file")
    if token_file:
        path: Path = spec.path(str(token_file))
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SourceError(
                f"prometheus source {spec.name!r}: cannot read bearer_token_file {str(path)!r} "
                f"({exc.strerror or exc})"
            ) from None
        headers["Authorization"] = f"Bearer {token}"
    return headers


def source_from_spec(spec: SourceSpec, *, transport: httpx.BaseTransport | None = None) -> PrometheusSource:
    """Build the source from its ``[[sources]]`` table; ``transport`` replaces the network in tests."""
    options = spec.options
    labels = options.get("component_label")
    component_labels = (labels,) if isinstance(labels, str) else tuple(labels or DEFAULT_COMPONENT_LABELS)
    return PrometheusSource(
        spec.name,
        str(options["url"]),
        matchers=tuple(options.get("matchers") or DEFAULT_MATCHERS),
        max_series=int(options.get("max_series") or DEFAULT_MAX_SERIES),
        step=_seconds(options.get("step"), 0.0) or None,
        timeout=_seconds(options.get("timeout"), DEFAULT_TIMEOUT_S),
        headers=_headers(spec),
        verify=_ssl_context(spec),
        component_labels=component_labels,
        transport=transport,
    )


def _from_spec(spec: SourceSpec) -> PrometheusSource:
    return source_from_spec(spec)


PROMETHEUS_SOURCE_TYPE = SourceType(
    name="prometheus",
    factory=_from_spec,
    description="Series from a Prometheus HTTP API, queried in place (series discovery, then range queries)",
    options={
        "url": Option((str,), "the Prometheus base URL, e.g. http://127.0.0.1:9090", required=True),
        "matchers": Option(
            (list[str],),
            "series selectors to discover (default: every series but histogram buckets)",
            default=list(DEFAULT_MATCHERS),
        ),
        "max_series": Option(
            (int,),
            "at most this many series are fetched (a warning says when more matched)",
            default=DEFAULT_MAX_SERIES,
        ),
        "step": Option((timedelta,), "range-query step (default 15s; coarsened to stay under 11,000 points)"),
        "timeout": Option((timedelta,), "per-request timeout (default 10s)"),
        "headers": Option((dict,), 'extra HTTP headers, e.g. { Authorization = "Basic ..." }'),
        "bearer_token_file": Option((Path,), "a file holding a bearer token sent as Authorization: Bearer"),
        "tls_verify": Option((bool,), "verify the server's TLS certificate", default=True),
        "ca_file": Option((Path,), "a CA bundle (PEM) to verify the server with"),
        "cert_file": Option((Path,), "a client certificate (PEM) for mutual TLS"),
        "key_file": Option((Path,), "the client certificate's key (PEM)"),
        "component_label": Option(
            (str, list[str]),
            "the label(s) naming the component (default: service, job, app, container, pod, instance)",
        ),
    },
)
