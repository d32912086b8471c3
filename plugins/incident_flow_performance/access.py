"""Access-log analysis for the performance investigator: which endpoints slowed, and why the load changed.

One pass over the window's access-log records
(:func:`incident_flow.analysis.endpoints.collect_endpoint_stats`) gives per-endpoint, per-minute
counts and latency histograms. Then:

1. **Which endpoints degraded, and when.** Each busy endpoint's latency is searched for the split
   of its minutes that best separates fast-before from slow-after (a Mann-Whitney scan); a split
   that passes the thresholds (significant, p95 up by half and by 50 ms, 20 requests each side) is
   that endpoint's onset. The earliest is the incident's onset; the order says which degraded first.
2. **Surge or slowdown.** The request rate before and after the onset (a G-test): a surge is more
   requests (latency may follow); a slowdown is slower requests at an equal (or lower) rate, whose
   cause lies behind the endpoint (a database, a dependency, a saturated host).
3. **Who brought the surge.** The increase in requests is attributed to client addresses and user
   agents: if one to three of them account for most of it, it is one source or a few (abuse, a
   runaway job, an attack: the finding says so and is handed to the security investigator through
   an event); otherwise it is organic growth.
4. **Load distribution.** Per serving instance (``$upstream_addr``, or a ``pod``/``instance`` field):
   one instance much slower than its peers, or one taking most of the traffic.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs

from incident_flow import Category, Evidence, Finding, Mitigation, Severity
from incident_flow.analysis.endpoints import (
    AccessLogStats,
    EndpointComparison,
    Histogram,
    LatencyShift,
    LoadPattern,
    Thresholds,
    classify_load,
    collect_endpoint_stats,
    compare_endpoint,
    latency_shift,
    mann_whitney,
    minute_of,
)
from incident_flow.analysis.routes import RouteMap
from incident_flow.analysis.stats import RateChange, change_point, rate_change
from incident_flow.context import InvestigationContext
from incident_flow.sources import LogRecord

__all__ = [
    "AccessAnalysis",
    "Concentration",
    "analyse_access_logs",
    "analyse_access_stats",
    "concentration",
]

INVESTIGATOR = "performance"
#: Endpoints searched for a latency shift (the busiest): bounds the time on a log with many.
MAX_SHIFT_ENDPOINTS = 200
#: Degraded endpoints shown as evidence.
MAX_EVIDENCE = 5
#: A traffic change point must be this sure (it is the best of many splits).
TRAFFIC_P = 1e-6
#: Keys (clients, agents) that may share a surge for it to come from "a few".
FEW = 3
#: The share of the increase those few must account for.
FEW_SHARE = 0.6
_SURGES = (LoadPattern.SURGE, LoadPattern.SURGE_WITH_SLOWDOWN)
#: The share of a surge's added requests answered 4xx from which it is refused traffic, not demand.
REFUSED_SHARE = 0.5
#: Data after detection is read up to this long (or the look-back, if longer) when the run has no end.
AFTER = timedelta(hours=1)
#: How much slower than its peers an instance must be, and how much of the traffic is "most".
SLOW_INSTANCE_RATIO = 2.0
MIN_SAMPLE_LINES = 3
_OVERFLOW = {"client": "clients", "user agent": "agents"}


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms"


def _line(record: LogRecord) -> str:
    first = record.text.splitlines()[0] if record.text else record.message
    if len(first) > 400:
        first = first[:400] + "…"
    return f"{record.path or record.source}:{record.line}: {first}"


@attrs.frozen
class Concentration:
    """How much of a traffic increase the top few keys (client addresses, user agents) account for.

    ``share`` is their part of the increase in requests per minute (0..1; more than 1 is clipped);
    ``few`` is True when at most :data:`FEW` keys account for :data:`FEW_SHARE` of it.
    """

    kind: str
    top: tuple[tuple[str, float, float], ...]
    share: float
    keys: int
    few: bool
    distinct_before: int
    distinct_after: int


def concentration(
    kind: str,
    before: Counter[str],
    after: Counter[str],
    minutes_before: float,
    minutes_after: float,
    increase: float,
) -> Concentration:
    """Attribute a rate increase (requests/min) to the keys whose own rate rose most.

    ``top`` lists (key, rate before, rate after) per minute for the keys that grew most; ``keys``
    is how many of them it takes to explain :data:`FEW_SHARE` of ``increase`` (0 if more than
    :data:`FEW`).
    """
    growth = []
    for key, count in after.most_common(50):
        rate_after = count / max(minutes_after, 1e-9)
        rate_before = before.get(key, 0) / max(minutes_before, 1e-9)
        growth.append((rate_after - rate_before, key, rate_before, rate_after))
    growth.sort(reverse=True)
    top = tuple((key, round(b, 2), round(a, 2)) for _, key, b, a in growth[:FEW])
    explained = 0.0
    keys = 0
    for index, (delta, *_rest) in enumerate(growth[:FEW], start=1):
        explained += max(delta, 0.0)
        if increase > 0 and explained >= FEW_SHARE * increase:
            keys = index
            break
    share = min(sum(max(d, 0.0) for d, *_ in growth[:FEW]) / increase, 1.0) if increase > 0 else 0.0
    return Concentration(
        kind=kind,
        top=top,
        share=round(share, 3),
        keys=keys,
        few=keys > 0,
        distinct_before=len(before),
        distinct_after=len(after),
    )


@attrs.frozen
class AccessAnalysis:
    """What the access logs showed: the findings, the onset, how the load changed, and the data."""

    findings: tuple[Finding, ...] = ()
    onset: datetime | None = None
    pattern: LoadPattern | None = None
    degraded: tuple[EndpointComparison, ...] = ()
    stats: AccessLogStats | None = None


def _feeding(
    records: Iterable[LogRecord], observers: Sequence[Callable[[LogRecord], None]]
) -> Iterator[LogRecord]:
    for record in records:
        for observe in observers:
            observe(record)
        yield record


def analyse_access_logs(
    ctx: InvestigationContext,
    thresholds: Thresholds | None = None,
    observe: Callable[[LogRecord], None] | None = None,
) -> AccessAnalysis:
    """Read the window's records once and analyse them (see the module's doc).

    The same pass learns which service behind a gateway serves which route (from the services' own
    request lines), so that a surge is named after the service that received it; ``observe`` sees
    every record too, so other checks share the pass.
    """
    until = ctx.window_end or ctx.detected_at + max(ctx.settings.lookback, AFTER)
    routes = RouteMap()
    observers = [routes.add] if observe is None else [routes.add, observe]
    stats = collect_endpoint_stats(_feeding(ctx.log_records(ctx.window_start, until), observers))
    return analyse_access_stats(ctx, stats, thresholds, routes, known=set(ctx.components))


def _traffic_onset(stats: AccessLogStats, lo: int, hi: int, thresholds: Thresholds) -> int | None:
    counts = [stats.per_minute[m].requests if m in stats.per_minute else 0 for m in range(lo, hi)]
    point = change_point(counts, min_segment=3)
    if point is None or point.p_value > TRAFFIC_P:
        return None
    if point.rate_after < thresholds.rate_ratio * max(point.rate_before, 1e-9):
        return None
    return lo + point.index


def _endpoint_evidence(
    item: EndpointComparison, shift: LatencyShift, field: str | None, end: datetime
) -> Evidence:
    before, after, endpoint = item.before, item.after, item.endpoint
    ratio = item.p95_ratio or 0.0
    rate = f"{before.rate_per_min:.1f} → {after.rate_per_min:.1f} requests/min"
    errors = f"5xx {before.error_rate:.1%} → {after.error_rate:.1%}"
    figures: dict[str, Any] = {"endpoint": endpoint.name, "component": endpoint.component}
    for side, window in (("before", before), ("after", after)):
        for key, value in window.figures().items():
            figures[f"{key}_{side}"] = value
    figures.update(
        {
            "p95_ratio": round(ratio, 2),
            "mann_whitney_p": float(f"{item.latency_test.p_value:.3g}"),
            "slower_share": round(item.latency_test.effect, 3),
            "degraded_at": shift.at.isoformat(),
            "latency_field": field,
            "pattern": item.pattern.value,
        }
    )
    return Evidence(
        source=endpoint.source or endpoint.component,
        kind="endpoint_latency",
        summary=(
            f"{endpoint.name}: p95 {_ms(before.p95)} before {shift.at:%H:%M} UTC, "
            f"{_ms(after.p95)} after ({ratio:.1f}x; p50 {_ms(before.p50)} → {_ms(after.p50)}, "
            f"p99 {_ms(before.p99)} → {_ms(after.p99)}); {rate}; {errors}"
        ),
        at_from=shift.at,
        at_to=end,
        query=(
            f'access log: endpoint "{endpoint.name}" of {endpoint.component}, '
            f"latency from ${field or 'request_time'}"
        ),
        lines=[_line(r) for r in endpoint.samples(shift.minute)[:MIN_SAMPLE_LINES]],
        figures=figures,
    )


def _healthy_evidence(
    healthy: Sequence[EndpointComparison], onset: int, component: str, source: str, end: datetime
) -> Evidence | None:
    if not healthy:
        return None
    ratios = [c.p95_ratio for c in healthy if c.p95_ratio is not None]
    median = statistics.median(ratios) if ratios else 1.0
    names = [c.endpoint.name for c in healthy[:10]]
    return Evidence(
        source=source,
        kind="endpoint_latency",
        summary=(
            f"{len(healthy)} other endpoint(s) of {component} kept their latency: "
            f"median p95 ratio {median:.2f} after {_at(onset):%H:%M} UTC"
        ),
        at_from=_at(onset),
        at_to=end,
        query=f"access log: every other endpoint of {component}",
        figures={"endpoints": names, "median_p95_ratio": round(median, 3), "count": len(healthy)},
    )


def _rate_text(rate: RateChange) -> str:
    return f"{rate.rate_before:.1f} → {rate.rate_after:.1f} requests/min"


def analyse_access_stats(
    ctx: InvestigationContext,
    stats: AccessLogStats,
    thresholds: Thresholds | None = None,
    routes: RouteMap | None = None,
    known: Collection[str] = (),
) -> AccessAnalysis:
    """The findings from statistics already collected (:func:`analyse_access_logs` collects them).

    ``routes`` (and the ``known`` component names) say which service serves a gateway's route.
    """
    thresholds = thresholds or Thresholds()
    if not stats.access_records or stats.first is None or stats.last is None:
        return AccessAnalysis(stats=stats)
    lo = minute_of(max(ctx.window_start, stats.first))
    hi = minute_of(stats.last) + 1
    end = _at(hi)
    busy = sorted(stats.endpoints.values(), key=lambda e: -e.requests)[:MAX_SHIFT_ENDPOINTS]
    shifts: dict[tuple[str, str], LatencyShift] = {}
    for endpoint in busy:
        if endpoint.requests < 2 * thresholds.min_requests:
            continue
        shift = latency_shift(endpoint.per_minute, start=lo, end=hi, thresholds=thresholds)
        if shift is not None:
            shifts[(endpoint.component, endpoint.name)] = shift
    traffic = _traffic_onset(stats, lo, hi, thresholds)
    candidates = [s.minute for s in shifts.values()] + ([traffic] if traffic is not None else [])
    ctx.audit(
        "performance.access_logs",
        records=stats.records,
        access_records=stats.access_records,
        endpoints=len(stats.endpoints),
        latency_field=stats.latency_field,
        degraded=len(shifts),
        traffic_onset=_at(traffic) if traffic is not None else None,
    )
    if not candidates:
        return AccessAnalysis(stats=stats)
    onset = min(candidates)
    before, after = stats.window(lo, onset), stats.window(onset, hi)
    overall = rate_change(before.requests, before.minutes, after.requests, after.minutes)
    pattern = classify_load(overall, bool(shifts), thresholds)
    if traffic is not None and traffic > onset and pattern not in _SURGES:
        # A latency shift earlier than the traffic's change point (an unrelated slow spell, a
        # slowdown the surge then deepened) must not dilute the surge: judge it at its own onset.
        at_traffic = rate_change(*_split_counts(stats, lo, traffic, hi))
        at_pattern = classify_load(at_traffic, bool(shifts), thresholds)
        if at_pattern in _SURGES:
            onset, overall, pattern = traffic, at_traffic, at_pattern
    findings: list[Finding] = []
    degraded: list[tuple[LatencyShift, EndpointComparison]] = []
    for key, shift in shifts.items():
        degraded.append((shift, compare_endpoint(stats.endpoints[key], shift.minute, lo, hi, thresholds)))
    degraded.sort(key=lambda item: (item[0].minute, -(item[1].p95_ratio or 0.0)))
    by_component: dict[str, list[tuple[LatencyShift, EndpointComparison]]] = {}
    for shift, item in degraded:
        by_component.setdefault(item.endpoint.component, []).append((shift, item))
    for component, items in by_component.items():
        findings.append(_latency_finding(component, items, stats, onset, lo, hi, end, thresholds, overall))
    if pattern in _SURGES:
        receiver = _receiver(stats, onset, lo, hi, routes or RouteMap(), known)
        findings.append(_surge_finding(ctx, stats, onset, lo, hi, end, overall, pattern, degraded, receiver))
    findings.extend(_instance_findings(stats, onset, lo, hi, end, thresholds))
    return AccessAnalysis(
        findings=tuple(findings),
        onset=_at(onset),
        pattern=pattern,
        degraded=tuple(item for _, item in degraded),
        stats=stats,
    )


def _latency_finding(
    component: str,
    items: list[tuple[LatencyShift, EndpointComparison]],
    stats: AccessLogStats,
    onset: int,
    lo: int,
    hi: int,
    end: datetime,
    thresholds: Thresholds,
    overall: RateChange,
) -> Finding:
    first_shift, first = items[0]
    names = {item.endpoint.name for _, item in items}
    others = [
        compare_endpoint(e, onset, lo, hi, thresholds)
        for e in stats.endpoints.values()
        if e.component == component and e.name not in names and e.requests >= thresholds.min_requests
    ]
    healthy = [c for c in others if not c.latency_up]
    evidence = [
        _endpoint_evidence(item, shift, stats.latency_field, end) for shift, item in items[:MAX_EVIDENCE]
    ]
    extra = _healthy_evidence(healthy, onset, component, first.endpoint.source or component, end)
    if extra is not None:
        evidence.append(extra)
    ratio = first.p95_ratio or 1.0
    worst = max((item.p95_ratio or 1.0) for _, item in items)
    same_rate = first.pattern is LoadPattern.SLOWDOWN
    how = (
        "at an unchanged request rate: a slowdown behind the endpoint, not more load"
        if same_rate
        else f"while its traffic changed ({_rate_text(first.rate)})"
    )
    order = ", ".join(f"{item.endpoint.name} at {shift.at:%H:%M}" for shift, item in items[:MAX_EVIDENCE])
    summary = (
        f"{component}: {len(items)} endpoint(s) slowed down, {first.endpoint.name} first at "
        f"{first_shift.at:%H:%M} UTC (p95 {_ms(first.before.p95)} → {_ms(first.after.p95)}) {how}; "
        f"order: {order}; "
        f"{len(healthy)} other endpoint(s) kept their latency; overall traffic {_rate_text(overall)}"
    )
    confidence = 0.5 + 0.35 * (1.0 - math.exp(-(worst - 1.0)))
    mitigations = []
    if not same_rate:
        mitigations.append(
            Mitigation(
                action=f"Cache or rate-limit {first.endpoint.name} on {component}",
                target=component,
                rationale="the endpoint slowed as its traffic rose: shed or absorb the load",
                risk="low",
                requires_approval=True,
            )
        )
    return Finding(
        investigator=INVESTIGATOR,
        component=component,
        title=(
            f"latency degradation: {first.endpoint.name} p95 {_ms(first.before.p95)} → {_ms(first.after.p95)}"
            + (f" and {len(items) - 1} more endpoint(s)" if len(items) > 1 else "")
        ),
        summary=summary,
        confidence=round(min(confidence, 0.85), 3),
        evidence=cast(Any, tuple(evidence)),
        category=Category.PERFORMANCE,
        severity=Severity.HIGH if ratio >= 2.0 else Severity.MEDIUM,
        symptom=True,
        indicator=f"p95 latency of {first.endpoint.name} (${stats.latency_field or 'request_time'})",
        onset=first_shift.at,
        mitigations=cast(Any, tuple(mitigations)),
    )


def _split_counts(stats: AccessLogStats, lo: int, split: int, hi: int) -> tuple[int, float, int, float]:
    before, after = stats.window(lo, split), stats.window(split, hi)
    return before.requests, before.minutes, after.requests, after.minutes


@attrs.frozen
class Receiver:
    """The component a surge went to: its name, the endpoints it gained on, and the gain.

    ``seen_at`` is the gateway whose log showed the requests when they route to a service behind
    it (None when the component's own log showed them); ``refused`` is the share of the gained
    requests that were answered 4xx.
    """

    component: str
    seen_at: str | None
    endpoints: tuple[str, ...]
    gained_per_min: float
    before_per_min: float
    refused: float
    source: str


def _path_of(endpoint_name: str) -> str:
    return endpoint_name.rsplit(" ", 1)[-1].split("?", 1)[0]


def _receiver(
    stats: AccessLogStats, onset: int, lo: int, hi: int, routes: RouteMap, known: Collection[str]
) -> Receiver:
    """Which component took the surge: the one whose endpoints gained the most requests, each
    endpoint counted for the service behind the gateway that serves it when that is known."""
    gained: dict[str, float] = {}
    base: dict[str, float] = {}
    refused: dict[str, float] = {}
    hottest: dict[str, list[tuple[float, str]]] = {}
    seen_at: dict[str, str] = {}
    source: dict[str, str] = {}
    for endpoint in stats.endpoints.values():
        b, a = endpoint.window(lo, onset), endpoint.window(onset, hi)
        delta = a.rate_per_min - b.rate_per_min
        owner = routes.owner(endpoint.component, _path_of(endpoint.name), known) or endpoint.component
        if owner != endpoint.component:
            seen_at[owner] = endpoint.component
        source.setdefault(owner, endpoint.source or endpoint.component)
        gained[owner] = gained.get(owner, 0.0) + delta
        base[owner] = base.get(owner, 0.0) + b.rate_per_min
        refused[owner] = refused.get(owner, 0.0) + (a.client_errors / a.minutes - b.client_errors / b.minutes)
        hottest.setdefault(owner, []).append((delta, endpoint.name))
    if not gained:
        return Receiver("access-log", None, (), 0.0, 0.0, 0.0, "access-log")
    component = max(gained, key=lambda c: (gained[c], c))
    ranked = sorted(hottest[component], reverse=True)
    return Receiver(
        component=component,
        seen_at=seen_at.get(component),
        endpoints=tuple(name for delta, name in ranked[:3] if delta > 0) or (ranked[0][1],),
        gained_per_min=gained[component],
        before_per_min=base[component],
        refused=max(min(refused[component] / gained[component], 1.0), 0.0) if gained[component] > 0 else 0.0,
        source=source[component],
    )


def _surge_finding(
    ctx: InvestigationContext,
    stats: AccessLogStats,
    onset: int,
    lo: int,
    hi: int,
    end: datetime,
    overall: RateChange,
    pattern: LoadPattern,
    degraded: Sequence[tuple[LatencyShift, EndpointComparison]],
    receiver: Receiver,
) -> Finding:
    minutes_before, minutes_after = float(max(onset - lo, 1)), float(max(hi - onset, 1))
    increase = overall.rate_after - overall.rate_before
    clients = concentration(
        "client",
        stats.counts(stats.clients, lo, onset),
        stats.counts(stats.clients, onset, hi),
        minutes_before,
        minutes_after,
        increase,
    )
    agents = concentration(
        "user agent",
        stats.counts(stats.agents, lo, onset),
        stats.counts(stats.agents, onset, hi),
        minutes_before,
        minutes_after,
        increase,
    )
    component = receiver.component
    hot_endpoint = receiver.endpoints[0] if receiver.endpoints else "?"
    few = clients if clients.few else agents if agents.few else None
    source_name = receiver.source
    evidence = [
        Evidence(
            source=source_name,
            kind="traffic",
            summary=(
                f"{component}: {_rate_text(overall)} from {_at(onset):%H:%M} UTC "
                f"({overall.rate_after / max(overall.rate_before, 1e-9):.1f}x; {overall.before} requests "
                f"before, {overall.after} after); busiest gain: {hot_endpoint}"
            ),
            at_from=_at(onset),
            at_to=end,
            query="access log: requests per minute, all endpoints",
            figures={
                "requests_before": overall.before,
                "requests_after": overall.after,
                "rate_before_per_min": round(overall.rate_before, 2),
                "rate_after_per_min": round(overall.rate_after, 2),
                "p_value": float(f"{overall.p_value:.3g}"),
                "pattern": pattern.value,
                "hottest_endpoint": hot_endpoint,
            },
        )
    ]
    for found in (clients, agents):
        evidence.append(
            Evidence(
                source=source_name,
                kind=f"traffic_by_{found.kind.replace(' ', '_')}",
                summary=(
                    f"the top {len(found.top)} {found.kind}s account for {found.share:.0%} of the increase "
                    f"({'one source or a few' if found.few else 'spread over many: organic'}); "
                    f"{found.distinct_before} distinct before, {found.distinct_after} after"
                    + (
                        f"; {uncounted} request(s) from {found.kind}s beyond the per-minute cap "
                        "were not told apart (many distinct senders)"
                        if (uncounted := stats.overflow.get(_OVERFLOW[found.kind], 0))
                        else ""
                    )
                ),
                at_from=_at(onset),
                at_to=end,
                query=f"access log: requests per {found.kind}, before and after {_at(onset):%H:%M} UTC",
                figures={
                    "top": [
                        {"key": k, "rate_before_per_min": b, "rate_after_per_min": a} for k, b, a in found.top
                    ],
                    "share_of_increase": found.share,
                    "keys_for_60_percent": found.keys,
                    "distinct_before": found.distinct_before,
                    "distinct_after": found.distinct_after,
                },
            )
        )
    slowed = pattern is LoadPattern.SURGE_WITH_SLOWDOWN
    mitigations = []
    if few is not None:
        keys = [k for k, _, _ in few.top[: few.keys]]
        shown = ", ".join(keys)
        handoff = {"to": "security", "key_kind": few.kind, "keys": keys, "component": component}
        ctx.emit("performance.handoff", **handoff)
        ctx.audit("performance.handoff", **handoff)
        mitigations.append(
            Mitigation(
                action=f"Rate-limit or block {few.kind} {shown} at the edge of {component}",
                target=component,
                rationale=f"{few.share:.0%} of the traffic increase comes from {few.keys} {few.kind}(s)",
                risk="low",
                requires_approval=True,
            )
        )
        title = f"traffic surge from {few.keys} {few.kind}(s): {shown}"
        indicator = f"{few.kind} {few.top[0][0]}"
        category = Category.SECURITY
        how = (
            f"one source or a few ({few.kind} {shown}: {few.share:.0%} of the increase); "
            "handed to the security investigator"
        )
    elif receiver.refused >= REFUSED_SHARE:
        # Users' demand is answered; most of this was refused (401/403/429...): hundreds of clients
        # sending what the service rejects is abuse (credential stuffing, enumeration, a scraper
        # with stolen tokens) or a broken client, not load to scale for.
        handoff = {"to": "security", "key_kind": "refused requests", "keys": [], "component": component}
        ctx.emit("performance.handoff", **handoff)
        ctx.audit("performance.handoff", **handoff)
        mitigations.append(
            Mitigation(
                action=f"Rate-limit {hot_endpoint} per client at the edge of {receiver.seen_at or component}",
                target=receiver.seen_at or component,
                rationale=f"{receiver.refused:.0%} of the added requests were refused (4xx)",
                risk="low",
                requires_approval=True,
            )
        )
        title = f"traffic surge of refused requests: {receiver.refused:.0%} of the added ones answered 4xx"
        indicator = f"4xx answers of {hot_endpoint}"
        category = Category.SECURITY
        how = (
            f"from many clients ({clients.distinct_after} distinct after the onset), but "
            f"{receiver.refused:.0%} of the added requests were refused: abuse or a broken client, "
            "handed to the security investigator"
        )
    else:
        mitigations.append(
            Mitigation(
                action=f"Scale out {component} (instances, upstream pool); rate-limit per client at the edge",
                target=component,
                rationale="organic growth from many clients: add capacity, shed the excess fairly",
                risk="low",
                requires_approval=True,
            )
        )
        title = "traffic surge: organic growth from many clients"
        indicator = "requests per minute"
        category = Category.PERFORMANCE
        how = f"organic growth: many clients ({clients.distinct_after} distinct after the onset)"
    mitigations.append(
        Mitigation(
            action=f"Cache {hot_endpoint} and redistribute load across instances of {component}",
            target=component,
            rationale="the endpoint that gained most traffic; cached answers cost nothing under a surge",
            risk="low",
            requires_approval=False,
            kind="fix",
        )
    )
    if receiver.seen_at is not None:
        evidence.append(_routing_evidence(receiver, onset, end))
    # The receiver's own gain: a surge on one service of four is diluted in the gateway's total.
    ratio = max(
        overall.rate_after / max(overall.rate_before, 1e-9),
        (receiver.before_per_min + receiver.gained_per_min) / max(receiver.before_per_min, 1e-9),
    )
    where = f" (seen at {receiver.seen_at})" if receiver.seen_at else ""
    summary = (
        f"{component}{where}: requests rose {ratio:.1f}x at {_at(onset):%H:%M} UTC "
        f"(all endpoints: {_rate_text(overall)}), {how}"
        + ("; latency rose with it" if slowed else "; latency held")
        + (f" ({len(degraded)} endpoint(s) slowed)" if degraded else "")
    )
    confidence = (
        0.45 + 0.2 * (1.0 - math.exp(-(ratio - 1.0))) + (0.15 if slowed else 0.0) + (0.1 if few else 0.0)
    )
    return Finding(
        investigator=INVESTIGATOR,
        component=component,
        title=title,
        summary=summary,
        confidence=round(min(confidence, 0.85), 3),
        evidence=cast(Any, tuple(evidence)),
        category=category,
        severity=Severity.HIGH if slowed else Severity.MEDIUM,
        indicator=indicator,
        onset=_at(onset),
        mitigations=cast(Any, tuple(mitigations)),
    )


def _routing_evidence(receiver: Receiver, onset: int, end: datetime) -> Evidence:
    before, gained = receiver.before_per_min, receiver.gained_per_min
    shown = ", ".join(receiver.endpoints)
    return Evidence(
        source=receiver.source,
        kind="traffic_by_service",
        summary=(
            f"{shown} at {receiver.seen_at} are served by {receiver.component} (its own log records "
            f"serving them): {before:.1f} → {before + gained:.1f} requests/min to it from "
            f"{_at(onset):%H:%M} UTC"
        ),
        at_from=_at(onset),
        at_to=end,
        query=(
            f"access log of {receiver.seen_at}: requests per minute per route, each route counted for "
            "the one service whose log shows it served"
        ),
        figures={
            "service": receiver.component,
            "gateway": receiver.seen_at,
            "endpoints": list(receiver.endpoints),
            "rate_before_per_min": round(before, 2),
            "rate_after_per_min": round(before + gained, 2),
            "refused_share_of_increase": round(receiver.refused, 3),
        },
    )


def _instance_findings(
    stats: AccessLogStats, onset: int, lo: int, hi: int, end: datetime, thresholds: Thresholds
) -> list[Finding]:
    """One instance much slower than its peers, or taking most of the traffic, after the onset."""
    after = stats.instance_windows(onset, hi)
    before = stats.instance_windows(lo, onset)
    busy = {name: s for name, s in after.items() if s.requests >= thresholds.min_requests}
    if len(busy) < 2:
        return []
    component = next(iter(stats.endpoints.values())).component if stats.endpoints else "access-log"
    source = next((e.source for e in stats.endpoints.values() if e.source), component)
    findings = []
    p95 = {name: s.latency.quantile(0.95) for name, s in busy.items()}
    total_after = sum(s.requests for s in after.values())
    total_before = sum(s.requests for s in before.values())
    for name, stats_after in busy.items():
        mine = p95[name]
        peers = [v for n, v in p95.items() if n != name and v is not None]
        if mine is None or not peers:
            continue
        peer_p95 = statistics.median(peers)
        rest = Histogram()
        for other, s in busy.items():
            if other != name:
                rest.merge(s.latency)
        test = mann_whitney(rest, stats_after.latency)
        if (
            mine >= SLOW_INSTANCE_RATIO * max(peer_p95, 0.001)
            and mine - peer_p95 >= thresholds.latency_floor_s
            and test.p_value <= thresholds.p_value
        ):
            findings.append(
                Finding(
                    investigator=INVESTIGATOR,
                    component=component,
                    title=(
                        f"one instance slow: {name} p95 {_ms(mine)} against {_ms(peer_p95)} "
                        f"for its {len(peers)} peer(s)"
                    ),
                    summary=(
                        f"{component}: instance {name} answers at p95 {_ms(mine)} since {_at(onset):%H:%M} "
                        f"UTC while its peers answer at {_ms(peer_p95)} "
                        f"({stats_after.requests} of {total_after} requests)"
                    ),
                    confidence=0.6,
                    evidence=(
                        Evidence(
                            source=source,
                            kind="instance_latency",
                            summary=(
                                f"{name}: p95 {_ms(mine)}; peers' median p95 {_ms(peer_p95)}; "
                                f"Mann-Whitney p {test.p_value:.2g}"
                            ),
                            at_from=_at(onset),
                            at_to=end,
                            query="access log: latency per $upstream_addr",
                            figures={
                                "instance": name,
                                "p95_ms": round(mine * 1000, 1),
                                "peers_p95_ms": round(peer_p95 * 1000, 1),
                                "requests": stats_after.requests,
                                "peers": len(peers),
                                "mann_whitney_p": float(f"{test.p_value:.3g}"),
                            },
                        ),
                    ),
                    category=Category.PERFORMANCE,
                    indicator=f"instance {name}",
                    onset=_at(onset),
                    mitigations=(
                        Mitigation(
                            action=f"Take {name} out of the upstream pool (or restart it); its peers serve",
                            target=component,
                            rationale=f"{name} is {mine / max(peer_p95, 0.001):.1f}x slower than its peers",
                            risk="medium",
                            requires_approval=True,
                        ),
                    ),
                )
            )
    n = len(after)
    limit = min(0.8, max(0.5, 2.0 / n))
    for name, s in after.items():
        share = s.requests / total_after if total_after else 0.0
        share_before = before[name].requests / total_before if total_before and name in before else 0.0
        if share >= limit and s.requests >= thresholds.min_requests and share >= share_before + 0.15:
            findings.append(
                Finding(
                    investigator=INVESTIGATOR,
                    component=component,
                    title=f"load imbalance: {name} takes {share:.0%} of the requests across {n} instances",
                    summary=(
                        f"{component}: instance {name} served {share:.0%} of the requests after "
                        f"{_at(onset):%H:%M} UTC ({share_before:.0%} before), of {n} instances"
                    ),
                    confidence=0.5,
                    evidence=(
                        Evidence(
                            source=source,
                            kind="instance_share",
                            summary=(
                                f"{name}: {s.requests} of {total_after} requests "
                                f"({share:.0%}; {share_before:.0%} before)"
                            ),
                            at_from=_at(onset),
                            at_to=end,
                            query="access log: requests per $upstream_addr",
                            figures={
                                "instance": name,
                                "share_after": round(share, 3),
                                "share_before": round(share_before, 3),
                                "instances": n,
                                "requests_after": s.requests,
                            },
                        ),
                    ),
                    category=Category.PERFORMANCE,
                    indicator=f"instance {name}",
                    onset=_at(onset),
                    mitigations=(
                        Mitigation(
                            action=(
                                f"Redistribute load away from {name}: check the balancer's weights, "
                                "hashing and health checks"
                            ),
                            target=component,
                            rationale="one instance takes most of the traffic while its peers idle",
                            risk="low",
                            requires_approval=True,
                        ),
                    ),
                )
            )
    return findings
