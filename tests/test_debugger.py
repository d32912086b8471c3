"""The debugger investigator end to end: real repositories, real logs, the whole pipeline.

The scenario (detection at 14:10, errors from 14:00): a config change in the orders service at
13:50 breaks discount lookups. Around it sit the decoys that fool a "closest in time" ranking: a
docs-only commit one minute before the onset in the same component, a tests-only commit, a harmless
commit in another component, a feature branch merged 40 minutes before, and a commit after the
onset that touches the failing file. The guilty change must rank first, with its evidence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from git_helpers import commit, git

from incident_flow import Category, Change, hookimpl
from incident_flow.api import run_incident
from incident_flow.config import ComponentSpec, Settings
from incident_flow.sources import SourceType
from incident_flow.sources.changes import CHANGES_SOURCE_TYPE
from incident_flow.sources.git import GIT_SOURCE_TYPE, GitSource
from incident_flow.testing import StaticChanges, StaticLogs, run_investigator

# Until the package is reinstalled with its `debugger` entry point, the plugin folder is not on the
# path of an editable install made before it existed.
PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))

import incident_flow_debugger  # noqa: E402
from incident_flow_debugger.investigate import investigate  # noqa: E402

DETECTED = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
ONSET = datetime(2026, 3, 14, 14, 0, 5, tzinfo=UTC)


class SourceTypes:
    """The wiring builtin.py will do: registers the git and changes source types."""

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        register(GIT_SOURCE_TYPE)
        register(CHANGES_SOURCE_TYPE)


@pytest.fixture(autouse=True)
def _git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


LIMITS_BEFORE = '''"""Order limits and discount tiers."""

RATES = {"standard": 0.10, "member": 0.15}
MAX_ITEMS = 50


def rate_for(tier):
    return RATES[tier]
'''

LIMITS_GUILTY = '''"""Order limits and discount tiers."""

RATES = {"basic": 0.10, "member": 0.15}
MAX_ITEMS = 50


def rate_for(tier):
    return RATES[tier.strip().lower()]
'''

PRICING = '''"""Prices an order."""

from services.orders.config import limits


def compute(order):
    subtotal = sum(item["price"] for item in order["items"])
    rate = limits.rate_for(order["tier"])
    return subtotal * (1 - rate)
'''

API = '''"""HTTP handlers of the orders service."""

from services.orders import pricing


def place_order(request):
    order = request.json
    total = pricing.compute(order)
    return {"total": total}
'''

API_WITH_LOGGING = API.replace(
    '"""HTTP handlers of the orders service."""\n',
    '"""HTTP handlers of the orders service."""\n\nimport logging\n\nlog = logging.getLogger(__name__)\n',
)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


class Scenario:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.shas: dict[str, str] = {}


def build_repository(root: Path) -> Scenario:
    """The repository with the guilty change and its decoys; the shas by role."""
    s = Scenario(root)
    repo = s.repo
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    day_before = DETECTED - timedelta(days=2)
    s.shas["initial"] = commit(
        repo,
        {
            "services/orders/config/limits.py": LIMITS_BEFORE,
            "services/orders/pricing.py": PRICING,
            "services/orders/api.py": API,
            "services/orders/README.md": "# Orders\n",
            "services/payments/charge.py": "def charge(amount):\n    return amount\n",
            "tests/test_pricing.py": "def test_compute():\n    assert True\n",
            "docs/runbook.md": "# Runbook\n",
            ".github/CODEOWNERS": "* @acme/platform\n/services/orders/ @acme/orders-team\n",
        },
        "Initial import",
        day_before,
    )
    # A feature branch, merged 40 minutes before the onset: it touches a failing frame's file.
    git(repo, "switch", "-q", "-c", "feature/logging")
    s.shas["branch"] = commit(
        repo, {"services/orders/api.py": API_WITH_LOGGING}, "Log order placement", ONSET - timedelta(hours=3)
    )
    git(repo, "switch", "-q", "main")
    s.shas["early"] = commit(
        repo,
        {"services/payments/charge.py": "def charge(amount):\n    return round(amount, 2)\n"},
        "Round charges",
        ONSET - timedelta(hours=2),
    )
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'feature/logging'",
        "feature/logging",
        at=ONSET - timedelta(minutes=40),
    )
    s.shas["merge"] = git(repo, "rev-parse", "HEAD")
    s.shas["guilty"] = commit(
        repo,
        {"services/orders/config/limits.py": LIMITS_GUILTY},
        "Rename discount tiers in orders config",
        ONSET - timedelta(minutes=10),
        author="Alice",
    )
    s.shas["payments"] = commit(
        repo,
        {"services/payments/charge.py": "def charge(amount):\n    # cents\n    return round(amount, 2)\n"},
        "Comment the rounding",
        ONSET - timedelta(minutes=3),
    )
    s.shas["tests"] = commit(
        repo,
        {"tests/test_pricing.py": "def test_compute():\n    assert 1 + 1 == 2\n"},
        "Tighten the pricing test",
        ONSET - timedelta(minutes=2),
    )
    s.shas["docs"] = commit(
        repo,
        {"services/orders/README.md": "# Orders\n\nDiscount tiers live in config/limits.py.\n"},
        "Document discount tiers",
        ONSET - timedelta(minutes=1),
    )
    s.shas["after"] = commit(
        repo,
        {"services/orders/config/limits.py": LIMITS_GUILTY.replace("MAX_ITEMS = 50", "MAX_ITEMS = 60")},
        "Raise the item limit",
        ONSET + timedelta(minutes=4),
    )
    return s


def traceback_text(at: datetime) -> str:
    api_line = line_of(API_WITH_LOGGING, "pricing.compute(order)")
    pricing_line = line_of(PRICING, "limits.rate_for")
    limits_line = line_of(LIMITS_GUILTY, "return RATES[")
    return (
        f"{at:%Y-%m-%d %H:%M:%S},123 ERROR [orders] Unhandled error on POST /orders\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/flask/app.py", line 1484, in full_dispatch_request\n'
        "    rv = self.dispatch_request()\n"
        f'  File "/srv/app/services/orders/api.py", line {api_line}, in place_order\n'
        "    total = pricing.compute(order)\n"
        f'  File "/srv/app/services/orders/pricing.py", line {pricing_line}, in compute\n'
        '    rate = limits.rate_for(order["tier"])\n'
        f'  File "/srv/app/services/orders/config/limits.py", line {limits_line}, in rate_for\n'
        "    return RATES[tier.strip().lower()]\n"
        "KeyError: 'standard'\n"
    )


def orders_log(start: datetime = DETECTED - timedelta(hours=1, minutes=10), end: datetime = DETECTED) -> str:
    lines = []
    at = start
    while at < end:
        if at >= ONSET and int(at.timestamp()) % 20 == 5:
            lines.append(traceback_text(at).rstrip("\n"))
        else:
            lines.append(f"{at:%Y-%m-%d %H:%M:%S},000 INFO [orders] POST /orders 200 in 12ms")
        if at.minute == 30 and at.second == 0:
            lines.append(f"{at:%Y-%m-%d %H:%M:%S},500 ERROR [orders] upstream payments timed out after 2s")
        at += timedelta(seconds=5)
    return "\n".join(lines) + "\n"


def write_case(s: Scenario, repo: Path | None = None, extra: str = "") -> Path:
    (s.root / "logs").mkdir(exist_ok=True)
    (s.root / "logs" / "orders.log").write_text(orders_log(), encoding="utf-8")
    config = s.root / "incident-flow.toml"
    config.write_text(
        f"""
[settings]
lookback = "2h"
change_lookback = "24h"
audit_dir = "audit"

[components]
orders = {{ paths = ["services/orders/**"] }}
payments = {{ paths = ["services/payments/**"] }}

[[sources]]
name = "orders-logs"
type = "logs"
paths = ["logs/orders.log"]
component = "orders"

[[sources]]
name = "code"
type = "git"
path = "{(repo or s.repo).as_posix()}"
{extra}""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return build_repository(tmp_path / "case")


def _run(config: Path, **kwargs: Any) -> Any:
    return run_incident(
        "Orders returning 500 errors",
        config=config,
        at=DETECTED,
        plugins=[SourceTypes(), incident_flow_debugger],
        **kwargs,
    )


def test_the_guilty_config_change_ranks_first_through_the_whole_pipeline(scenario: Scenario) -> None:
    report = _run(write_case(scenario))
    top = report.root_causes[0]
    assert top.component == "orders"
    assert top.category is Category.CODE
    assert top.change is not None and top.change.id == scenario.shas["guilty"]
    assert len(top.change.id) == 40
    assert top.indicator == scenario.shas["guilty"]
    data = report.to_dict()
    assert data["root_causes"][0]["change"]["id"] == scenario.shas["guilty"]

    suspected = next(f for f in report.findings if f.investigator == "debugger" and f.change is not None)
    change_evidence = next(e for e in suspected.evidence if e.kind == "change")
    figures = change_evidence.figures
    assert figures["change_id"] == scenario.shas["guilty"]
    assert figures["author"] == "Alice"
    assert figures["files"] == ["services/orders/config/limits.py"]
    assert 590 <= figures["seconds_before_onset"] <= 610
    assert figures["blamed_lines"] == [
        f"services/orders/config/limits.py:{line_of(LIMITS_GUILTY, 'return RATES[')}"
    ]
    assert any("limits.py" in frame for frame in figures["matched_frames"])
    assert figures["errors_before"] <= 2 and figures["errors_after"] >= 20
    assert figures["owners"] == ["@acme/orders-team"]
    assert figures["revert_commands"][0][-2:] == ["--create", f"revert-{scenario.shas['guilty'][:12]}"]
    assert figures["revert_commands"][1][-3:] == ["revert", "--no-edit", scenario.shas["guilty"]]
    assert change_evidence.query is not None and "--since=" in change_evidence.query
    # The decoys are scored below it, and the change after the onset is not a candidate at all.
    runner_ids = [r["change_id"] for r in figures["runners_up"]]
    assert scenario.shas["after"] not in runner_ids[:1]
    mitigation = next(m for m in report.mitigations if m.command)
    assert scenario.shas["guilty"] in mitigation.command
    assert mitigation.requires_approval


def test_the_exact_code_location_is_reported(scenario: Scenario) -> None:
    report = _run(write_case(scenario))
    traces = next(f for f in report.findings if f.investigator == "debugger" and "stack trace" in f.title)
    evidence = traces.evidence[0]
    top_frame = evidence.figures["top_frame"]
    assert top_frame == {
        "file": "services/orders/config/limits.py",
        "line": line_of(LIMITS_GUILTY, "return RATES["),
        "function": "rate_for",
    }
    assert evidence.figures["exception"] == "KeyError"
    assert evidence.figures["before"] == 0 and evidence.figures["after"] >= 20
    assert traces.symptom is False and traces.change is not None  # tied to the change that wrote it
    assert "services/orders/config/limits.py" in traces.title


def test_docs_and_tests_commits_near_the_onset_score_below_the_cause(scenario: Scenario) -> None:
    audit: list[dict[str, Any]] = []
    source = GitSource(
        "code",
        scenario.repo,
        components={
            "orders": ComponentSpec("orders", ("services/orders/**",)),
            "payments": ComponentSpec("payments", ("services/payments/**",)),
        },
    )
    logs = StaticLogs.from_text("orders", orders_log(), component="orders")
    findings = run_investigator(
        investigate,
        sources=[source, logs],
        detected_at=DETECTED,
        audit=audit,
        settings=Settings(lookback=timedelta(hours=2)),
    )
    ranking = next(a for a in audit if a["kind"] == "debugger.ranking")["changes"]
    order = [c["id"] for c in ranking]
    assert order[0] == scenario.shas["guilty"]
    for decoy in ("docs", "tests", "payments", "merge"):
        assert order.index(scenario.shas[decoy]) > 0
    # The commit after the onset touches the failing file, yet it is not a candidate.
    after = next(c for c in ranking if c["id"] == scenario.shas["after"])
    assert after["eligible"] is False and after["score"] == 0
    assert any(f.change is not None and f.change.id == scenario.shas["guilty"] for f in findings)


def test_a_change_after_the_onset_is_never_blamed() -> None:
    """A deploy of the failing component a minute after the onset: the traces, but no culprit."""
    logs = StaticLogs.from_text("orders", orders_log(), component="orders")
    deploy = Change(
        id="deploy-after",
        summary="deploy orders v2",
        at=ONSET + timedelta(minutes=1),
        kind="deploy",
        component="orders",
    )
    findings = run_investigator(
        investigate, sources=[StaticChanges("deploys", [deploy]), logs], detected_at=DETECTED
    )
    assert all(f.change is None for f in findings)
    assert any("stack trace" in f.title for f in findings)  # the traces are still reported


def _metrics_commit_case(tmp_path: Path, banner_at: datetime | None) -> list[Any]:
    """An orders config commit two minutes before the onset, which the traces do not touch; the
    orders log may announce its build starting at ``banner_at``."""
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {
            "services/orders/config/limits.py": LIMITS_GUILTY,
            "services/orders/config/metrics.toml": "on = 0\n",
        },
        "import",
        DETECTED - timedelta(days=3),
    )
    sha = commit(
        repo,
        {"services/orders/config/metrics.toml": "on = 1\n"},
        "orders: enable request metrics",
        ONSET - timedelta(minutes=2),
    )
    source = GitSource("code", repo, components={"orders": ComponentSpec("orders", ("services/orders/**",))})
    text = orders_log()
    if banner_at is not None:
        banner = (
            f"{banner_at:%Y-%m-%d %H:%M:%S},000 INFO [orders] starting server version={sha[:12]} addr=:8080"
        )
        lines = text.splitlines()
        lines.insert(next(i for i, line in enumerate(lines) if line >= banner), banner)
        text = "\n".join(lines) + "\n"
    logs = StaticLogs.from_text("orders", text, component="orders")
    findings = run_investigator(investigate, sources=[source, logs], detected_at=DETECTED)
    return [f.change.id for f in findings if f.change is not None]


def test_a_commit_whose_build_starts_after_the_onset_is_not_blamed(tmp_path: Path) -> None:
    """The service announces the commit's build six minutes after the failure began: not the cause."""
    assert _metrics_commit_case(tmp_path / "before", None)  # without the banner it is suspected
    assert _metrics_commit_case(tmp_path / "after", ONSET + timedelta(minutes=6)) == []


def test_a_commit_whose_build_started_before_the_onset_stays_a_suspect(tmp_path: Path) -> None:
    assert _metrics_commit_case(tmp_path, ONSET - timedelta(minutes=1))


def test_no_change_is_blamed_without_evidence(tmp_path: Path) -> None:
    """Only a docs commit and a harmless commit elsewhere: report the traces, blame nothing."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {"services/orders/config/limits.py": LIMITS_GUILTY, "docs/a.md": "a\n"},
        "import",
        DETECTED - timedelta(days=3),
    )
    commit(repo, {"docs/a.md": "b\n"}, "Docs", ONSET - timedelta(minutes=1))
    commit(repo, {"services/payments/x.py": "x = 1\n"}, "Payments tweak", ONSET - timedelta(minutes=5))
    source = GitSource(
        "code", repo, components={"payments": ComponentSpec("payments", ("services/payments/**",))}
    )
    logs = StaticLogs.from_text("orders", orders_log(), component="orders")
    findings = run_investigator(investigate, sources=[source, logs], detected_at=DETECTED)
    assert findings and all(f.change is None for f in findings)
    traces = next(f for f in findings if "stack trace" in f.title)
    assert traces.symptom is True


def test_a_shallow_clone_on_a_detached_head_still_finds_the_guilty_change(scenario: Scenario) -> None:
    shallow = scenario.root / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "6", "--no-single-branch", scenario.repo.as_uri(), str(shallow)],
        check=True,
        capture_output=True,
    )
    git(shallow, "checkout", "-q", "--detach", "HEAD")
    report = _run(write_case(scenario, repo=shallow))
    top = report.root_causes[0]
    assert top.change is not None and top.change.id == scenario.shas["guilty"]
    assert any("shallow clone" in p.error for p in report.source_problems)


def test_a_deploy_event_is_blamed_with_its_rollback_version(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "orders.log").write_text(orders_log(), encoding="utf-8")
    events: list[dict[str, Any]] = [
        {
            "at": ONSET - timedelta(days=1, hours=2),
            "component": "orders",
            "version": "v41",
            "summary": "orders v41",
        },
        {
            "at": ONSET - timedelta(minutes=7),
            "component": "orders",
            "version": "v42",
            "id": "dep-42",
            "author": "ci",
        },
        {
            "at": ONSET - timedelta(minutes=1),
            "component": "search",
            "version": "v9",
            "summary": "deploy search v9",
        },
    ]
    (tmp_path / "deploys.jsonl").write_text(
        "".join(json.dumps({**e, "kind": "deploy", "at": e["at"].isoformat()}) + "\n" for e in events),
        encoding="utf-8",
    )
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        """
[settings]
audit_dir = "audit"

[[sources]]
name = "orders-logs"
type = "logs"
paths = ["logs/orders.log"]
component = "orders"

[[sources]]
name = "deploys"
type = "changes"
paths = ["deploys.jsonl"]
""",
        encoding="utf-8",
    )
    report = _run(config)
    top = report.root_causes[0]
    assert top.change is not None and top.change.id == "dep-42"
    assert top.category is Category.CODE
    evidence = next(
        e for f in report.findings if f.change is not None for e in f.evidence if e.kind == "change"
    )
    assert evidence.figures["version"] == "v42"
    assert evidence.figures["rollback_to"] == "v41"


def test_race_conditions_are_set_against_the_request_rate() -> None:
    lines = []
    at = DETECTED - timedelta(minutes=40)
    while at < DETECTED:
        busy = at >= ONSET
        for i in range(6 if busy else 2):
            lines.append(
                f"{at + timedelta(seconds=i):%Y-%m-%d %H:%M:%S},000 INFO [orders] POST /orders/{i}7 200"
            )
        if busy and at.second % 10 == 0:
            lines.append(
                f"{at:%Y-%m-%d %H:%M:%S},900 ERROR [orders] psycopg2.errors.DeadlockDetected: "
                "deadlock detected on POST /orders/17"
            )
        at += timedelta(seconds=10)
    findings = run_investigator(investigate, logs={"orders": "\n".join(lines) + "\n"}, detected_at=DETECTED)
    race = next(f for f in findings if f.title.startswith("race or contention"))
    assert race.category is Category.PERFORMANCE  # no change tied to it: load, not a defect
    figures = race.evidence[0].figures
    assert figures["reason"] == "deadlock"
    assert figures["endpoint"] == "POST /orders/{id}"
    assert figures["before"] == 0 and figures["after"] >= 10
    assert figures["requests_after"] > figures["requests_before"] / 3


def test_validation_errors_are_grouped_by_field_and_tied_to_the_change_that_altered_it(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    handler = 'def handle(payload):\n    return payload["email"].lower()\n'
    commit(
        repo,
        {"services/users/handler.py": "def handle(payload):\n    return payload['mail'].lower()\n"},
        "import",
        DETECTED - timedelta(days=3),
    )
    guilty = commit(
        repo,
        {"services/users/handler.py": handler},
        "Read the new email field",
        ONSET - timedelta(minutes=20),
    )
    commit(repo, {"services/users/README.md": "users\n"}, "Docs", ONSET - timedelta(minutes=1))
    lines = []
    at = DETECTED - timedelta(minutes=50)
    while at < DETECTED:
        if at >= ONSET and at.second % 15 == 0:
            lines.append(
                f"{at:%Y-%m-%d %H:%M:%S},000 ERROR [users] request failed on POST /users\n"
                "Traceback (most recent call last):\n"
                '  File "/app/handlers/dispatch.py", line 10, in dispatch\n'
                "    return handle(payload)\n"
                "KeyError: 'email'"
            )
        else:
            lines.append(f"{at:%Y-%m-%d %H:%M:%S},000 INFO [users] POST /users 201")
        at += timedelta(seconds=5)
    source = GitSource("code", repo, components={"users": ComponentSpec("users", ("services/users/**",))})
    logs = StaticLogs.from_text("users", "\n".join(lines) + "\n", component="users")
    findings = run_investigator(investigate, sources=[source, logs], detected_at=DETECTED)
    validation = next(f for f in findings if f.title.startswith("data validation"))
    assert validation.evidence[0].figures["field"] == "email"
    assert validation.evidence[0].figures["endpoint"] == "POST /users"
    assert validation.change is not None and validation.change.id == guilty
    suspected = next(f for f in findings if f.title.startswith("suspected change"))
    assert suspected.change is not None and suspected.change.id == guilty
    change_evidence = next(e for e in suspected.evidence if e.kind == "change")
    assert change_evidence.figures["fields_in_diff"] == ["email"]


def test_without_logs_or_onset_the_debugger_stays_silent(scenario: Scenario) -> None:
    assert (
        run_investigator(investigate, sources=[GitSource("code", scenario.repo)], detected_at=DETECTED) == []
    )
    quiet = "\n".join(
        f"{DETECTED - timedelta(minutes=m):%Y-%m-%d %H:%M:%S},000 INFO [orders] fine"
        for m in range(60, 0, -1)
    )
    assert run_investigator(investigate, logs={"orders": quiet + "\n"}, detected_at=DETECTED) == []


def test_the_plugin_registers_the_debugger_investigator() -> None:
    from incident_flow.plugins import make_plugin_host

    host = make_plugin_host([incident_flow_debugger])
    assert "debugger" in host.investigators()


def _redis_trace_log(exception: str) -> str:
    """The orders log, whose errors after the onset are a redis-py exception raised in a client."""
    lines = []
    at = DETECTED - timedelta(hours=1, minutes=10)
    while at < DETECTED:
        if at >= ONSET and int(at.timestamp()) % 20 == 5:
            lines.append(
                f"{at:%Y-%m-%d %H:%M:%S},123 ERROR [orders] Unhandled error on POST /orders\n"
                "Traceback (most recent call last):\n"
                '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 707, in connect\n'
                "    sock = self.retry.call_with_retry(\n"
                f"{exception}"
            )
        else:
            lines.append(f"{at:%Y-%m-%d %H:%M:%S},000 INFO [orders] POST /orders 200 in 12ms")
        at += timedelta(seconds=5)
    return "\n".join(lines) + "\n"


def test_traces_that_name_the_failed_dependency_point_at_it() -> None:
    refused = (
        "redis.exceptions.ConnectionError: Error 111 connecting to cache.internal:6379. Connection refused."
    )
    findings = run_investigator(investigate, logs={"orders": _redis_trace_log(refused)}, detected_at=DETECTED)
    traces = next(f for f in findings if "stack trace" in f.title)
    assert traces.depends_on == "cache"
    assert traces.symptom is False and traces.category is Category.INFRASTRUCTURE


def test_a_timeout_blames_no_dependency() -> None:
    """A saturated caller times out on healthy dependencies: the trace stays a symptom."""
    timeout = "redis.exceptions.TimeoutError: Timeout reading from cache.internal:6379"
    findings = run_investigator(investigate, logs={"orders": _redis_trace_log(timeout)}, detected_at=DETECTED)
    traces = next(f for f in findings if "stack trace" in f.title)
    assert traces.depends_on is None and traces.symptom is True
