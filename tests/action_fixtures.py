"""Shared by the action and verification tests: a live incident in a real git repository.

``make_incident`` builds, under a temporary folder, a git repository whose last-but-one commit
(``bad``) is the cause, a bare remote it was pushed to, a metrics CSV whose series
``orders_latency_ms`` sits near 100 ms for two hours and near 900 ms since the onset ten minutes
before detection (now), and a config file with those sources and the runbook entries given. The
``Fixture`` investigator turns what the sources hold into one finding naming the commit, with the
series as its indicator, so the ranking puts the commit at rank 1 without the built-in analyzers.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from git_helpers import commit, git

from incident_flow import Change, Evidence, Finding, Investigator, hookimpl
from incident_flow.context import InvestigationContext

SERIES = "orders_latency_ms"
PYTHON = sys.executable


def repo_state(repo: Path) -> dict[str, str]:
    """Everything a revert must leave alone: refs, HEAD, the index, the working tree, worktrees."""
    files = sorted(p for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts)
    tree = hashlib.sha256()
    for path in files:
        tree.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    return {
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "head": git(repo, "symbolic-ref", "HEAD") + " " + git(repo, "rev-parse", "HEAD"),
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "tree": tree.hexdigest(),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
    }


@attrs.define
class Incident:
    root: Path
    repo: Path
    remote: Path
    config: Path
    metrics: Path
    detected_at: datetime
    onset: datetime
    shas: dict[str, str]


def write_metrics(path: Path, detected: datetime, onset: datetime, *, until: datetime | None = None) -> None:
    """A wide CSV: one point a minute from two hours before detection to ``until`` (detection)."""
    end = until or detected
    rows = ["time," + SERIES]
    at = detected - timedelta(hours=2)
    n = 0
    while at <= end:
        value = (100.0 + (n % 5)) if at < onset else (900.0 + (n % 7))
        rows.append(f"{int(at.timestamp())},{value}")
        at += timedelta(minutes=1)
        n += 1
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def make_incident(
    root: Path,
    *,
    runbook: str = "",
    detected_at: datetime | None = None,
    conflicting: bool = False,
    verify: str = "2s",
    extra_sources: str = "",
) -> Incident:
    detected = (detected_at or datetime.now(UTC)).replace(microsecond=0)
    onset = detected - timedelta(minutes=10)
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shas = {
        "base": commit(
            repo,
            {"services/orders/pool.yaml": "size: 50\ntimeout: 5\n", "README.md": "orders\n"},
            "Initial",
            detected - timedelta(days=3),
        ),
        "bad": commit(
            repo,
            {"services/orders/pool.yaml": "size: 5\ntimeout: 5\n"},
            "Shrink the pool",
            onset - timedelta(minutes=3),
        ),
    }
    later = (
        {"services/orders/pool.yaml": "size: 6\ntimeout: 5\n"}
        if conflicting
        else {"docs/notes.md": "notes\n"}
    )
    shas["later"] = commit(repo, later, "Later change", onset - timedelta(minutes=1))
    remote = root / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(remote)], check=True, capture_output=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "fetch", "-q", "origin")
    metrics = root / "metrics.csv"
    write_metrics(metrics, detected, onset)
    config = root / "incident-flow.toml"
    config.write_text(
        f"""[settings]
audit_dir = "audit"
phase_budgets = {{ mitigate = "60s", verify = "{verify}" }}

[[sources]]
name = "code"
type = "git"
path = "repo"

[[sources]]
name = "metrics"
type = "metrics-csv"
paths = ["metrics.csv"]
{extra_sources}
{runbook}
""",
        encoding="utf-8",
    )
    return Incident(root, repo, remote, config, metrics, detected, onset, shas)


def fixture_findings(ctx: InvestigationContext) -> list[Finding]:
    """One causal finding per commit message 'Shrink the pool', measured on the latency series."""
    changes = list(ctx.changes())
    guilty = [c for c in changes if c.summary == "Shrink the pool"]
    series = [s for s in ctx.metric_series() if s.name == SERIES]
    if not guilty or not series:
        return []
    change: Change = guilty[0]
    return [
        Finding(
            investigator="fixture",
            component="orders",
            title="latency rose after a pool change",
            summary=f"{SERIES} rose from about 100 to about 900 after {change.id[:12]}",
            confidence=0.9,
            evidence=[
                Evidence(
                    source="metrics",
                    kind="metric_change",
                    summary="latency rose",
                    figures={"before": 100, "after": 900},
                )
            ],
            category="code",
            indicator=SERIES,
            onset=change.at + timedelta(minutes=3),
            change=attrs.evolve(change, component="orders"),
        )
    ]


class Fixture:
    """A plugin with the fixture investigator (and, optionally, more hook implementations)."""

    def __init__(
        self, investigate: Callable[[InvestigationContext], list[Finding]] = fixture_findings
    ) -> None:
        self._investigate = investigate

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        register(Investigator(name="fixture", investigate=self._investigate))


def runbook_entry(name: str, command: Sequence[str], **keys: Any) -> str:
    """A ``[[runbook]]`` table as TOML text (values written as JSON, which TOML reads the same)."""
    import json

    lines = ["[[runbook]]", f"name = {json.dumps(name)}", f"command = {json.dumps(list(command))}"]
    for key, value in keys.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def audit_records(report: Any) -> list[dict[str, Any]]:
    import json

    path = Path(report.audit["path"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
