"""Turn a staged world into an ``incident-flow eval`` case folder.

The steps, in an order that keeps every seed's output identical from run to run:

1. build the world (:func:`~.world.build_world`) and its baseline metrics;
2. stage the incident (:mod:`.incidents`): faults, the failing part's own log lines, metric changes,
   the guilty commit or change event, the expected answer;
3. add the harmless commits of the window, build the git repository (commit ids now known), and let
   every code commit deploy (restarts, deploy events);
4. run the background (housekeeping, steady errors), the traffic, fold the traffic into metrics, add
   the unrelated bump;
5. write ``logs/``, ``metrics/``, ``changes/`` (when the world has a change log), ``repo/``,
   ``incident-flow.toml`` and ``case.toml``.

A case folder is self-contained: relative paths in its config resolve against it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

from .emit import Context, config_format, render
from .incidents import INCIDENTS
from .repo import build_repository
from .world import (
    World,
    add_window_commits,
    background,
    baseline_metrics,
    build_world,
    deploy_commits,
    simulate_traffic,
    traffic_metrics,
    unrelated_bump,
)

__all__ = ["TYPES", "build_case", "generate"]

#: Every incident type, in the order the docs and reports list them.
TYPES: tuple[str, ...] = tuple(INCIDENTS)

# Metric column names per naming style: (suffix, conversion, is_counter).
_STYLES: dict[str, dict[str, tuple[str, str, bool]]] = {
    "short": {
        "cpu": ("cpu", "", False),
        "mem": ("mem", "", False),
        "rps": ("rps", "", False),
        "p99": ("lat_99", "", False),
        "err": ("errors", "", False),
        "pool": ("pool_active", "", False),
        "conn": ("connections", "", False),
        "disk": ("disk_used", "", False),
        "tps": ("tps", "", False),
        "locks": ("locks_waiting", "", False),
        "clients": ("clients", "", False),
        "ops": ("ops", "", False),
        "qps": ("qps", "", False),
        "servfail": ("servfail", "", False),
        "load": ("load1", "", False),
        "mempct": ("mem_used", "", False),
    },
    "prom": {
        "cpu": ("cpu_usage_seconds_total", "cpu_seconds", True),
        "mem": ("memory_working_set_bytes", "mb_bytes", False),
        "rps": ("http_requests_total", "", True),
        "p99": ("http_request_duration_seconds_p99", "ms_s", False),
        "err": ("http_requests_errors_total", "", True),
        "pool": ("db_pool_connections_active", "", False),
        "conn": ("pg_stat_activity_count", "", False),
        "disk": ("filesystem_used_ratio", "pct_ratio", False),
        "tps": ("pg_xact_commit_total", "", True),
        "locks": ("pg_locks_waiting", "", False),
        "clients": ("redis_connected_clients", "", False),
        "ops": ("redis_commands_processed_total", "", True),
        "qps": ("coredns_dns_requests_total", "", True),
        "servfail": ("coredns_dns_responses_servfail_total", "", True),
        "load": ("node_load1", "", False),
        "mempct": ("node_memory_used_ratio", "pct_ratio", False),
    },
    "dd": {
        "cpu": ("cpu_pct", "", False),
        "mem": ("mem_rss_mb", "", False),
        "rps": ("req_per_s", "", False),
        "p99": ("latency_p99_ms", "", False),
        "err": ("errors_per_s", "", False),
        "pool": ("db_pool_in_use", "", False),
        "conn": ("connections", "", False),
        "disk": ("disk_used_pct", "", False),
        "tps": ("commits_per_s", "", False),
        "locks": ("lock_waits", "", False),
        "clients": ("connected_clients", "", False),
        "ops": ("ops_per_s", "", False),
        "qps": ("queries_per_s", "", False),
        "servfail": ("servfail_per_s", "", False),
        "load": ("load_1m", "", False),
        "mempct": ("mem_used_pct", "", False),
    },
}


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def build_case(kind: str, seed: int, out_dir: Path) -> Path:
    """Generate one case of ``kind`` for ``seed`` into ``out_dir/<kind>-s<seed>``; returns the folder."""
    incident = INCIDENTS[kind]
    rng = random.Random(f"incident-flow-scenario:{kind}:{seed}")
    world = build_world(rng, seed, kind, needs=incident.needs)
    baseline_metrics(world)
    avoid = incident.stage(world)
    add_window_commits(world, avoid=avoid)
    case = out_dir / f"{kind}-s{seed:02d}"
    if case.exists():
        raise FileExistsError(f"{case} exists; generate into an empty folder")
    build_repository(case / "repo", world.commits)
    guilty = [c for c in world.commits if c.tag == "guilty"]
    if guilty:
        world.expected_change = guilty[0].sha
    deploy_commits(world)
    background(world)
    simulate_traffic(world, rate=rng.uniform(0.06, 0.09))
    traffic_metrics(world)
    unrelated_bump(world, avoid=avoid | set(world.expected_component))
    _write(world, case)
    return case


def _write(world: World, case: Path) -> None:
    rng = world.rng
    logs = case / "logs"
    logs.mkdir(parents=True)
    sources: list[dict[str, object]] = []

    def add_log(
        name: str,
        rel: str,
        writer: str,
        component: str | None,
        items: list,
        *,
        auto_ok: bool = True,
        component_field: str | None = None,
    ) -> None:
        comp = world.components.get(component or "")
        ctx = Context(component or name, comp.host if comp else name, comp.pid if comp else 1)
        path = case / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(writer, items, ctx), encoding="utf-8")
        fmt, extra = config_format(writer)
        source: dict[str, object] = {"name": name, "type": "logs", "paths": [rel]}
        source["format"] = "auto" if auto_ok and rng.random() < 0.5 else fmt
        if component_field:
            source["component_field"] = component_field
        elif component:
            source["component"] = component
        source.update(extra)
        sources.append(source)

    gw = world.components[world.gateway]
    add_log(f"{gw.name}-access", f"logs/{gw.name}/access.log", "nginx", gw.name, gw.access)
    add_log(f"{gw.name}-error", f"logs/{gw.name}/error.log", "nginx-error", gw.name, gw.errors)
    for name in world.apps:
        comp = world.components[name]
        add_log(f"{name}-logs", f"logs/{name}.log", comp.writer, name, comp.records)
    db = world.components[world.db]
    add_log(f"{db.name}-logs", f"logs/{db.name}/postgresql.log", "postgres", db.name, db.records)
    if world.redis:
        red = world.components[world.redis]
        add_log(f"{red.name}-logs", f"logs/{red.name}.log", "syslog", red.name, red.records)
    if world.coredns:
        dns = world.components[world.coredns]
        add_log("coredns-logs", "logs/coredns.log", "docker", dns.name, dns.records)
    if rng.random() < 0.5:
        records = [r for h in world.hosts for r in world.components[h].records]
        add_log("syslog", "logs/syslog/messages.log", "syslog", None, records, component_field="host")
    else:
        for h in world.hosts:
            comp = world.components[h]
            add_log(f"{h}-syslog", f"logs/syslog/{h}.log", comp.writer, h, comp.records)
    metric_paths = _write_metrics(world, case)
    sources.append({"name": "metrics", "type": "metrics-csv", "paths": metric_paths})
    sources.append({"name": "repo", "type": "git", "path": "repo"})
    if world.use_changes_source:
        sources.append({"name": "changes", "type": "changes", "paths": [_write_changes(world, case)]})
    _write_config(world, case, sources)
    _write_case(world, case)


def _write_metrics(world: World, case: Path) -> list[str]:
    rng = world.rng
    style = _STYLES[world.metric_style]
    grid = world.grid
    iso = rng.random() < 0.5
    columns: dict[str, list[str]] = {}
    order: list[tuple[str, str]] = []
    for name, comp in world.components.items():
        # A counter counts since its process started: days of uptime before the window, and back to
        # zero whenever the process restarts (a deploy, an OOM kill), as Prometheus counters do.
        uptime = rng.uniform(1, 9) * 86400
        resets = sorted(world.restarts.get(name, []))
        for metric, values in comp.metrics.items():
            suffix, conv, counter = style[metric]
            column = f"{name}_{suffix}"
            finite = [v for v in values if not math.isnan(v)] or [0.0]
            total = sum(finite) / len(finite) * uptime * (2 / 100 if conv == "cpu_seconds" else 1)
            pending = list(resets)
            out = []
            for t, v in zip(grid, values, strict=True):
                while pending and pending[0] <= t:
                    pending.pop(0)
                    total = 0.0
                if math.isnan(v):
                    out.append("")
                    continue
                if conv == "mb_bytes":
                    v = v * 1024 * 1024
                elif conv == "ms_s":
                    v = v / 1000
                elif conv == "pct_ratio":
                    v = v / 100
                elif conv == "cpu_seconds":
                    v = v / 100 * 2  # a two-core limit, seconds of CPU per second
                if counter:
                    total += v * 30
                    out.append(f"{total:.1f}")
                else:
                    out.append(f"{v:.6g}" if conv in ("mb_bytes",) else f"{v:.4g}")
            columns[column] = out
            order.append((name, column))
    times = [(_rfc3339(t) if iso else str(int(t.timestamp()))) for t in grid]
    folder = case / "metrics"
    folder.mkdir()
    split = rng.random() < 0.4
    groups: dict[str, list[str]] = {}
    for name, column in order:
        groups.setdefault(name if split else "all", []).append(column)
    paths = []
    for group, cols in groups.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["time", *cols])
        for i, stamp in enumerate(times):
            writer.writerow([stamp, *(columns[c][i] for c in cols)])
        rel = f"metrics/{group}.csv"
        (case / rel).write_text(buf.getvalue(), encoding="utf-8")
        paths.append(rel)
    return ["metrics/*.csv"] if split else paths


def _write_changes(world: World, case: Path) -> str:
    rng = world.rng
    events = sorted(world.change_events, key=lambda e: e.at)
    rows = [
        {
            "at": _rfc3339(e.at),
            "component": e.component,
            "kind": e.kind,
            "id": e.id,
            "summary": e.summary,
            "author": e.author,
            "version": e.version,
        }
        for e in events
    ]
    folder = case / "changes"
    folder.mkdir()
    if rng.random() < 0.7:
        rel = "changes/changes.jsonl"
        (case / rel).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        rel = "changes/changes.csv"
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf,
            fieldnames=["at", "component", "kind", "id", "summary", "author", "version"],
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(rows)
        (case / rel).write_text(buf.getvalue(), encoding="utf-8")
    return rel


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_str(str(value))


def _write_config(world: World, case: Path, sources: list[dict[str, object]]) -> None:
    lines = [
        f"# Scenario {world.kind}, seed {world.seed}: generated by tests/scenarios; do not edit.",
        "",
        "[settings]",
        'lookback = "2h"',
        'timezone = "UTC"',
        "",
        "[components]",
        f'{world.gateway} = {{ paths = ["deploy/nginx/**"] }}',
    ]
    for name in world.apps:
        lines.append(f'{_key(name)} = {{ paths = ["services/{name}/**"] }}')
    for source in sources:
        lines += ["", "[[sources]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in source.items()]
    (case / "incident-flow.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else _toml_str(name)


def _write_case(world: World, case: Path) -> None:
    expected = world.expected_component
    component = _toml_str(expected[0]) if len(expected) == 1 else _toml_value(expected)
    lines = [
        f"# {world.kind} (seed {world.seed}): {world.story}.",
        f"description = {_toml_str(world.description)}",
        f'detected_at = "{_rfc3339(world.detected)}"',
    ]
    if world.severity:
        lines.append(f'severity = "{world.severity}"')
    if world.system:
        lines.append(f"system = {_toml_str(world.system)}")
    lines += ["", "[expected]", f"component = {component}", f'category = "{world.expected_category}"']
    if world.expected_change:
        lines.append(f'change = "{world.expected_change}"')
    (case / "case.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate(
    out_dir: Path, seeds: range | list[int], types: list[str] | tuple[str, ...] | None = None
) -> list[Path]:
    """Every type in ``types`` (default all) for every seed; returns the case folders."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [build_case(kind, seed, out_dir) for seed in seeds for kind in (types or TYPES)]
