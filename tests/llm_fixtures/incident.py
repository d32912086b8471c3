"""A small incident for the Claude layer's tests: logs, a metric, changes with a diff, findings.

The checkout service fails to load sessions once its redis runs out of memory (the bundled
example's story, in miniature). The findings are real :class:`~incident_flow.model.Finding` values
in the shape the deterministic investigators give them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from incident_flow.context import InvestigationContext
from incident_flow.model import Assessment, Change, Evidence, Finding, RootCause
from incident_flow.sources import ChangeSource, MetricSeries, Source
from incident_flow.testing import StaticMetrics, make_context

DETECTED = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
ONSET = datetime(2026, 3, 14, 14, 2, tzinfo=UTC)
SHA = "3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c"

ERROR_LINE = (
    "ERROR [checkout] Failed to load session for user=u6350: redis.exceptions.ConnectionError: "
    "Error 111 connecting to redis.internal:6379. Connection refused."
)
OOM_LINE = "ERROR [redis] Out of memory: Killed process 2345 (redis-server) total-vm:8123456kB"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S,") + f"{at.microsecond // 1000:03d}"


def checkout_log(extra: Sequence[tuple[datetime, str]] = ()) -> str:
    """Healthy traffic every 30 s from 13:30, session errors every 20 s from the onset."""
    lines: list[tuple[datetime, str]] = []
    at = DETECTED - timedelta(minutes=40)
    i = 0
    while at < DETECTED + timedelta(minutes=5):
        lines.append((at, f"INFO [checkout] /api/cart 200 in {30 + i % 50}ms user=u{4000 + i}"))
        at += timedelta(seconds=30)
        i += 1
    at = ONSET + timedelta(seconds=12)
    while at < DETECTED + timedelta(minutes=5):
        lines.append((at, ERROR_LINE))
        at += timedelta(seconds=20)
    lines.extend(extra)
    lines.sort(key=lambda x: x[0])
    return "\n".join(f"{_stamp(t)} {msg}" for t, msg in lines) + "\n"


def redis_log() -> str:
    rows = [
        (DETECTED - timedelta(minutes=30), "INFO [redis] Background saving started by pid 2301"),
        (DETECTED - timedelta(minutes=20), "INFO [redis] Background saving terminated with success"),
        (ONSET - timedelta(seconds=6), OOM_LINE),
        (ONSET - timedelta(seconds=5), "WARN [redis] redis-server.service: Main process exited, code=killed"),
    ]
    return "\n".join(f"{_stamp(t)} {m}" for t, m in rows) + "\n"


class RepoChanges(ChangeSource):
    """A change source that also gives diffs, as the ``git`` source does."""

    def __init__(self, name: str, changes: Sequence[Change], diffs: dict[str, str]) -> None:
        super().__init__(name)
        self._changes = list(changes)
        self._diffs = diffs

    def changes(self, since: datetime, until: datetime) -> Iterator[Change]:
        yield from (c for c in self._changes if since <= c.at <= until)

    def diff(self, change_id: str, max_bytes: int | None = None) -> str:
        for sha, text in self._diffs.items():
            if sha.startswith(change_id):
                return text
        raise ValueError(f"unknown commit {change_id}")


def default_changes(summary: str = "Raise redis maxmemory-policy to noeviction") -> RepoChanges:
    change = Change(
        id=SHA,
        summary=summary,
        at=ONSET - timedelta(hours=3),
        author="Dana Ops",
        component="redis",
        files=("deploy/redis/redis.conf",),
    )
    diff = (
        "diff --git a/deploy/redis/redis.conf b/deploy/redis/redis.conf\n"
        "--- a/deploy/redis/redis.conf\n+++ b/deploy/redis/redis.conf\n"
        "@@ -10,2 +10,2 @@\n-maxmemory-policy allkeys-lru\n+maxmemory-policy noeviction\n"
    )
    return RepoChanges("repo", [change], {SHA: diff})


def memory_series() -> StaticMetrics:
    start = (DETECTED - timedelta(minutes=40)).timestamp()
    times = tuple(start + 60 * i for i in range(45))
    values = tuple(
        2.0e9 + (i * 1.3e8 if start + 60 * i >= ONSET.timestamp() - 600 else i * 1e6) for i in range(45)
    )
    series = MetricSeries(
        name="redis_memory_bytes",
        component="redis",
        metric="memory_bytes",
        times=times,
        values=values,
        source="metrics",
    )
    return StaticMetrics("metrics", [series])


def context(
    *,
    description: str = "Checkout returning 502 errors for all users",
    checkout: str | None = None,
    extra_sources: Sequence[Source] = (),
    changes: RepoChanges | None = None,
    audit: list[dict[str, Any]] | None = None,
) -> InvestigationContext:
    sources: list[Source] = [memory_series(), changes or default_changes(), *extra_sources]
    return make_context(
        description=description,
        detected_at=DETECTED,
        logs={"checkout": checkout if checkout is not None else checkout_log(), "redis": redis_log()},
        sources=sources,
        audit=audit,
    )


def findings() -> list[Finding]:
    """What the deterministic investigators say about this incident."""
    return [
        Finding(
            investigator="ops",
            component="checkout",
            title="connection failure calling redis: 1 new or surging pattern(s)",
            summary="checkout: log pattern (connection failure) new: 0 before the onset, 24 after",
            confidence=0.85,
            category="infrastructure",
            depends_on="redis",
            onset=ONSET + timedelta(seconds=12),
            evidence=[
                Evidence(
                    source="checkout",
                    kind="log_pattern",
                    summary="checkout: log pattern (connection failure) new: 0 before the onset, 24 after",
                    query="template T0002 = 'Failed to load session for user=<*>: <*>'",
                    lines=[
                        f"/srv/logs/checkout.log:95: {_stamp(ONSET + timedelta(seconds=12))} {ERROR_LINE}"
                    ],
                    figures={"before": 0, "after": 24, "rate_after_per_min": 2.4},
                )
            ],
        ),
        Finding(
            investigator="ops",
            component="redis",
            title="redis out of memory",
            summary="redis: log pattern (out of memory) new: 0 before the onset, 1 after",
            confidence=0.8,
            category="infrastructure",
            onset=ONSET - timedelta(seconds=6),
            evidence=[
                Evidence(
                    source="redis",
                    kind="log_pattern",
                    summary="redis: out of memory",
                    lines=[f"/srv/logs/redis.log:3: {_stamp(ONSET - timedelta(seconds=6))} {OOM_LINE}"],
                    figures={"before": 0, "after": 1},
                )
            ],
        ),
    ]


def causes() -> list[RootCause]:
    from incident_flow.correlate import correlate

    return correlate(findings())


def assessment() -> Assessment:
    return Assessment(
        severity="critical",
        category="infrastructure",
        reasons=['the description says "all users": service down or unavailable for all users'],
        affected_components=["redis", "checkout"],
        user_impact={"scope": "all users (from the description)"},
        priority_actions=["Focus on redis", "Check the health of hosts, disks, memory and dependencies"],
    )
