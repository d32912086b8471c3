"""Change scoring: what kind of change it is, and how it ranks against an incident."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from git_helpers import git
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow import Change
from incident_flow.analysis.changes import (
    BLAME_THRESHOLD,
    FailingFrame,
    IncidentSignature,
    change_nature,
    component_for_files,
    deploy_times,
    file_nature,
    link_deploys,
    normalize_kind,
    path_matches,
    rank_changes,
    score_change,
)
from incident_flow.config import ComponentSpec
from incident_flow.sources.changes import ChangesSource
from incident_flow.sources.git import GitSource
from incident_flow.testing import StaticChanges, StaticLogs, run_investigator

ONSET = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)


def _change(
    id: str, minutes_before: float, files: tuple[str, ...] = (), component: str | None = "orders", **kw: str
) -> Change:
    return Change(
        id=id,
        summary=kw.pop("summary", id),
        at=ONSET - timedelta(minutes=minutes_before),
        component=component,
        files=files,
        **kw,
    )


@pytest.mark.parametrize(
    ("path", "nature"),
    [
        ("README.md", "docs"),
        ("docs/guide/setup.rst", "docs"),
        ("services/orders/CHANGELOG", "docs"),
        ("tests/test_api.py", "tests"),
        ("services/orders/test_pricing.py", "tests"),
        ("pkg/orders/handler_test.go", "tests"),
        ("src/test/java/com/acme/OrderTest.java", "tests"),
        ("web/src/cart.spec.ts", "tests"),
        ("web/src/__tests__/cart.js", "tests"),
        ("tests/fixtures/config.yaml", "tests"),
        (".github/workflows/ci.yml", "ci"),
        (".gitlab-ci.yml", "ci"),
        ("Jenkinsfile", "ci"),
        ("requirements.txt", "dependency"),
        ("requirements-dev.txt", "dependency"),
        ("web/package.json", "dependency"),
        ("web/package-lock.json", "dependency"),
        ("go.mod", "dependency"),
        ("services/billing/pom.xml", "dependency"),
        ("Cargo.lock", "dependency"),
        ("db/migrate/20260314_add_tier.rb", "migration"),
        ("services/orders/migrations/0042_tier.py", "migration"),
        ("alembic/versions/abc_add.py", "migration"),
        ("schema/001_init.sql", "migration"),
        ("infra/main.tf", "infra"),
        ("k8s/orders/deployment.yaml", "infra"),
        ("helm/orders/values.yaml", "infra"),
        ("services/orders/Dockerfile", "infra"),
        ("docker-compose.yml", "infra"),
        ("config/flags/checkout.json", "feature_flag"),
        ("services/orders/config.yaml", "config"),
        ("services/orders/settings.toml", "config"),
        ("services/orders/config/limits.py", "config"),
        (".env.production", "config"),
        ("services/orders/app.properties", "config"),
        ("services/orders/api.py", "code"),
        ("src/main/java/com/acme/Order.java", "code"),
    ],
)
def test_file_natures_follow_conventions_common_to_repositories(path: str, nature: str) -> None:
    assert file_nature(path) == nature


def test_a_change_is_as_risky_as_its_riskiest_runtime_file() -> None:
    assert change_nature(_change("a", 1, ("api.py", "tests/test_api.py"))) == "code"
    assert change_nature(_change("a", 1, ("api.py", "config.yaml", "README.md"))) == "config"
    assert change_nature(_change("a", 1, ("README.md", "tests/test_x.py"))) == "tests"
    assert change_nature(_change("a", 1, ("docs/a.md",))) == "docs"
    assert change_nature(_change("a", 1, summary="docs: explain tiers")) == "docs"
    assert change_nature(_change("a", 1, summary="chore(deps): bump requests")) == "dependency"
    assert change_nature(_change("a", 1, summary="something")) == "unknown"
    assert change_nature(_change("a", 1, kind="Deployment")) == "deploy"
    assert change_nature(_change("a", 1, kind="feature-flag")) == "feature_flag"
    assert normalize_kind("Release") == "deploy" and normalize_kind("custom") == "custom"


def test_components_from_globs_then_from_folder_names() -> None:
    components = {
        "orders": ComponentSpec("orders", ("services/orders/**",)),
        "gateway": ComponentSpec("gateway", ("deploy/nginx",)),
    }
    assert (
        component_for_files(["services/orders/a.py", "services/orders/b.py", "x.py"], components) == "orders"
    )
    assert component_for_files(["deploy/nginx/nginx.conf"], components) == "gateway"
    assert component_for_files(["apps/payments/pay.py"], components, known=["payments"]) == "payments"
    # Docs and tests only decide when nothing else does.
    assert component_for_files(
        ["services/orders/README.md", "apps/payments/pay.py"], components, ["payments"]
    ) == ("payments")
    assert component_for_files(["services/orders/README.md"], components) == "orders"
    assert component_for_files(["lib/util.py"], components) is None
    assert path_matches("services/*/api.py", "services/orders/api.py")
    assert not path_matches("services/*/api.py", "services/orders/v1/api.py")
    assert path_matches("**/config/*.yaml", "a/b/config/x.yaml")


def test_a_docs_commit_a_minute_before_ranks_below_the_config_change_ten_minutes_before() -> None:
    signature = IncidentSignature(onset=ONSET, components={"orders"})
    docs = _change("docs", 1, ("services/orders/README.md",))
    tests = _change("tests", 1.5, ("tests/test_orders.py",))
    config = _change("config", 10, ("services/orders/config.yaml",))
    ranked = rank_changes([docs, tests, config], signature)
    assert [s.change.id for s in ranked] == ["config", "tests", "docs"]
    assert ranked[0].blameable and not ranked[1].blameable and not ranked[2].blameable


def test_a_change_after_the_onset_cannot_be_blamed() -> None:
    signature = IncidentSignature(onset=ONSET, components={"orders"})
    later = _change("later", -2, ("services/orders/config.yaml",))
    scored = score_change(later, signature)
    assert scored.score == 0 and not scored.eligible and not scored.blameable
    assert "after the onset" in scored.reasons[0]
    assert rank_changes([later, _change("docs", 1, ("README.md",))], signature)[-1].change.id == "later"


def test_failing_frames_and_blamed_lines_decide_between_code_changes() -> None:
    frames = (
        FailingFrame("services/orders/pricing.py", 42, "compute", weight=1.0, count=30),
        FailingFrame("services/orders/api.py", 17, "place_order", weight=0.6, count=30),
    )
    signature = IncidentSignature(
        onset=ONSET,
        components={"orders"},
        frames=frames,
        blamed={"writer": frozenset({("services/orders/pricing.py", 42)})},
    )
    caller = _change("caller", 5, ("services/orders/api.py",))
    writer = _change("writer", 30, ("services/orders/pricing.py",))
    elsewhere = _change("elsewhere", 2, ("services/orders/models.py",))
    ranked = rank_changes([caller, writer, elsewhere], signature)
    assert [s.change.id for s in ranked] == ["writer", "caller", "elsewhere"]
    assert ranked[0].blamed_lines == (("services/orders/pricing.py", 42),)
    assert ranked[0].matched_frames == (frames[0],)


def test_another_component_without_shared_code_is_not_blamed() -> None:
    signature = IncidentSignature(onset=ONSET, components={"orders"})
    other = _change("payments", 2, ("services/payments/charge.py",), component="payments")
    scored = score_change(other, signature)
    assert scored.component_match is False and not scored.blameable


def test_a_merge_lands_its_branch_and_the_commit_that_wrote_the_code_wins() -> None:
    frames = (FailingFrame("svc/a.py", 3, "f"),)
    landed = ONSET - timedelta(minutes=10)
    signature = IncidentSignature(
        onset=ONSET,
        components={"orders"},
        frames=frames,
        blamed={"branch": frozenset({("svc/a.py", 3)})},
        landed={"branch": landed},
    )
    branch = _change("branch", 300, ("svc/a.py",))
    merge = _change("merge", 10, ("svc/a.py",), kind="merge")
    scored = {s.change.id: s for s in rank_changes([branch, merge], signature)}
    assert scored["branch"].score > scored["merge"].score
    assert scored["branch"].before_onset == timedelta(minutes=10)
    assert "merged then" in scored["branch"].reasons[1]


def test_a_diff_that_changes_a_failing_field_ties_the_change() -> None:
    signature = IncidentSignature(
        onset=ONSET, components={"users"}, fields_changed={"c": frozenset({"email"})}
    )
    change = _change("c", 20, ("lib/handler.py",), component=None)
    scored = score_change(change, signature)
    assert scored.tied and scored.fields_changed == ("email",) and scored.blameable


def test_a_flag_flipped_just_before_the_failure_is_blamed_and_one_flipped_long_before_is_not() -> None:
    # A flag acts the moment it flips: failures half an hour later point elsewhere. A commit waits
    # for its deploy, so the same half hour says little against it.
    frames = (FailingFrame("services/orders/pricing_v2.py", 11, "total"),)
    signature = IncidentSignature(onset=ONSET, components={"orders"}, frames=frames)
    just_before = score_change(_change("ff-1", 3, kind="feature_flag"), signature)
    long_before = score_change(_change("ff-2", 35, kind="feature_flag"), signature)
    commit = score_change(_change("c", 35, ("services/orders/pricing_v2.py",), kind="commit"), signature)
    assert just_before.blameable and not long_before.blameable
    assert commit.blameable and commit.score > long_before.score
    # A flag names no files: it is neither tied to the failing code nor shown to miss it.
    assert just_before.factors["code_location"] == 0.8
    assert "names no files" in just_before.reasons[-1]


def test_a_deploy_event_names_its_commit_by_full_or_abbreviated_sha() -> None:
    commit = _change("3ceefb60cf46aa11bb22cc33dd44ee55ff667788", 20, ("svc/a.py",), kind="commit")
    twin = _change("3ceefb6999999999999999999999999999999999", 25, ("svc/b.py",), kind="commit")
    deploy = _change("deploy-1", 12, kind="deploy")
    image = _change("deploy-2", 5, kind="deploy")
    early = _change("deploy-3", 30, kind="deploy")
    versions = {
        "deploy-1": "3ceefb60cf46",
        "deploy-2": "registry.example/orders:3CEEFB60CF46",
        "deploy-3": "3ceefb60",
    }
    ships = link_deploys([commit, twin, deploy, image, early], versions)
    # deploy-3 predates the commit; "3ceefb6" alone would name two commits.
    assert ships == {"deploy-1": commit.id, "deploy-2": commit.id}
    assert link_deploys([commit, twin, _change("d", 1, kind="deploy")], {"d": "3ceefb6"}) == {}
    assert deploy_times([commit, deploy, image], ships) == {commit.id: deploy.at}


def test_a_commit_counts_from_its_deploy_and_its_deploy_event_is_scored_as_it() -> None:
    commit = _change(
        "c0ffee1234567890c0ffee1234567890c0ffee12", 40, ("services/orders/config.yaml",), kind="commit"
    )
    deploy = _change("deploy-9", 6, kind="deploy")
    ships = {"deploy-9": commit.id}
    signature = IncidentSignature(
        onset=ONSET, components={"orders"}, ships=ships, deployed=deploy_times([deploy], ships)
    )
    scored = {s.change.id: s for s in rank_changes([commit, deploy], signature)}
    assert scored[commit.id].blameable and scored[commit.id].deployed_at == deploy.at
    assert "deployed then; committed 40 min before" in scored[commit.id].reasons[1]
    assert not scored["deploy-9"].eligible and "scored in its place" in scored["deploy-9"].reasons[0]
    # Deployed after the onset, the commit cannot have caused it, however close its commit time.
    late = attrs.evolve(signature, deployed={commit.id: ONSET + timedelta(minutes=2)})
    after = score_change(commit, late)
    assert not after.eligible and after.reasons[0].startswith("deployed 2 min after the onset")


_hex = st.text(alphabet="0123456789abcdef", min_size=7, max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_hex, min_size=1, max_size=4, unique=True),
    st.lists(st.tuples(st.integers(-60, 60), st.text(max_size=60) | _hex), max_size=4),
)
def test_deploy_links_only_name_commits_made_before_the_deploy_by_their_sha(
    shas: list[str], deploys: list[tuple[int, str]]
) -> None:
    commits = [_change(sha.ljust(40, "0"), 30, ("svc/a.py",), kind="commit") for sha in shas]
    events = [_change(f"deploy-{i}", minutes, kind="deploy") for i, (minutes, _) in enumerate(deploys)]
    versions = {f"deploy-{i}": version for i, (_, version) in enumerate(deploys)}
    ships = link_deploys([*commits, *events], versions)
    by_id = {c.id: c for c in [*commits, *events]}
    for deploy_id, commit_id in ships.items():
        assert by_id[commit_id].at <= by_id[deploy_id].at
        assert any(
            commit_id.startswith(t) for t in re.findall(r"[0-9a-f]{7,40}", versions[deploy_id].lower())
        )
    for commit_id, at in deploy_times(events, ships).items():
        assert at >= by_id[commit_id].at


_seconds = st.integers(min_value=-36_000, max_value=86_400)
_paths = st.lists(
    st.sampled_from(["README.md", "tests/t.py", "svc/a.py", "svc/config.yaml", "go.mod", "db/migrate/1.sql"]),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    _seconds,
    _seconds,
    _paths,
    st.booleans(),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["commit", "feature_flag", "config", "deploy"]),
)
def test_ranking_invariants(
    first: int, second: int, files: list[str], matched: bool, size: int, kind: str
) -> None:
    frames = (FailingFrame("svc/a.py", 1, "f"),) if matched else ()
    signature = IncidentSignature(onset=ONSET, components={"orders"}, frames=frames)
    a = score_change(_change("a", first / 60, tuple(files), kind=kind), signature, size=size)
    b = score_change(_change("b", second / 60, tuple(files), kind=kind), signature, size=size)
    for scored, seconds in ((a, first), (b, second)):
        assert scored.score >= 0
        assert scored.eligible == (seconds >= 0)  # a change after the onset is never a candidate
        assert scored.eligible or scored.score == 0
        assert not scored.blameable or scored.score >= BLAME_THRESHOLD
    # The same change made earlier (further from the onset) never scores higher.
    if 0 <= first <= second:
        assert a.score >= b.score
    # Touching the failing code never lowers a score.
    others = tuple(f for f in files if f != "svc/a.py")
    with_frame = score_change(_change("c", abs(first) / 60, (*others, "svc/a.py")), signature, size=size)
    without = score_change(_change("c", abs(first) / 60, others), signature, size=size)
    assert with_frame.score >= without.score


# -- the debugger weighs each component's changes against that component's own failure ----------


def _service_log(service: str, start: datetime, end: datetime, failing_from: datetime | None) -> str:
    """A Python service's log: a request every 10 s, and from ``failing_from`` a KeyError each time."""
    lines = []
    at = start
    while at < end:
        stamp = f"{at:%Y-%m-%d %H:%M:%S},000"
        if failing_from is not None and at >= failing_from:
            lines += [
                f"{stamp} ERROR [{service}] Exception on POST /quote",
                "Traceback (most recent call last):",
                f'  File "/app/{service}/pricing_v2.py", line 11, in total',
                "    return rates[region]",
                "KeyError: 'region'",
            ]
        else:
            lines.append(f"{stamp} INFO [{service}] POST /quote 200 in 12ms")
        at += timedelta(seconds=10)
    return "\n".join(lines) + "\n"


def test_a_flag_flipped_after_a_background_error_elsewhere_still_precedes_its_own_failure() -> None:
    # The run's onset is the first error of the minute the error rate rose: here another service's
    # lone error at 14:00:00. The flag flips at 14:00:20 and pricing fails from 14:00:40; the flag
    # is judged against pricing's own first failure, so it is named.
    from incident_flow_debugger.investigate import investigate

    start, end = ONSET - timedelta(hours=1), ONSET + timedelta(minutes=10)
    pricing = StaticLogs.from_text(
        "pricing", _service_log("pricing", start, end, ONSET + timedelta(seconds=40)), component="pricing"
    )
    payments = StaticLogs.from_text(
        "payments",
        f"{ONSET:%Y-%m-%d %H:%M:%S},000 ERROR [payments] card declined: insufficient funds\n",
        component="payments",
    )
    flag = Change(
        id="ff-7",
        summary="new-pricing: enabled for 100% of users",
        at=ONSET + timedelta(seconds=20),
        kind="feature_flag",
        component="pricing",
    )
    findings = run_investigator(
        investigate,
        sources=[StaticChanges("flags", [flag]), pricing, payments],
        detected_at=ONSET + timedelta(minutes=10),
    )
    named = [f for f in findings if f.change is not None]
    assert [(f.component, f.change.id if f.change else None) for f in named] == [("pricing", "ff-7")]
    assert named[0].onset == ONSET + timedelta(seconds=40)
    assert "20s after feature_flag ff-7" in named[0].summary


def test_a_failure_on_a_few_requests_drowned_in_background_errors_is_dated_by_its_own_traces() -> None:
    # Background errors every minute from the start of the logs hide the run's rise (no baseline);
    # catalog's new trace, once every two minutes from 14:00, rose on its own: the flag flipped five
    # minutes before it is named, and nothing is blamed on the background.
    from incident_flow_debugger.investigate import investigate

    detected = ONSET + timedelta(minutes=20)
    start = detected - timedelta(hours=2)
    background = "".join(
        f"{start + timedelta(minutes=m, seconds=5):%Y-%m-%d %H:%M:%S},000 ERROR [orders] "
        "client disconnected before the response was sent\n"
        for m in range(140)
    )
    catalog = "".join(
        f"{ONSET + timedelta(minutes=m):%Y-%m-%d %H:%M:%S},000 ERROR [catalog] Exception on GET /search\n"
        "Traceback (most recent call last):\n"
        '  File "/app/catalog/pricing.py", line 11, in discount\n'
        "    return product.price * rate\n"
        "AttributeError: 'NoneType' object has no attribute 'price'\n"
        for m in range(0, 20, 2)
    )
    flag = Change(
        id="ff-3",
        summary="smart-discounts: on",
        at=ONSET - timedelta(minutes=5),
        kind="feature_flag",
        component="catalog",
    )
    findings = run_investigator(
        investigate,
        sources=[
            StaticChanges("flags", [flag]),
            StaticLogs.from_text("orders", background, component="orders"),
            StaticLogs.from_text("catalog", catalog, component="catalog"),
        ],
        detected_at=detected,
    )
    named = [f for f in findings if f.change is not None]
    assert [(f.component, f.change.id if f.change else None) for f in named] == [("catalog", "ff-3")]
    assert named[0].onset == ONSET


@pytest.mark.parametrize("deployed_minutes", [-6, 3])
def test_a_commit_is_judged_at_its_deploy_and_its_deploy_event_gives_way_to_it(
    tmp_path: Path, deployed_minutes: int
) -> None:
    # The guilty commit was made 20 minutes before pricing fails; a deploy event names it by its
    # short SHA. Deployed 6 minutes before the failure, the commit (not the event) is blamed and its
    # evidence says when it was deployed; deployed 3 minutes after, nothing is blamed.
    from incident_flow_debugger.investigate import investigate

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "pricing").mkdir()
    (repo / "pricing" / "pricing_v2.py").write_text("def total(rates, region):\n" * 11, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import", at=ONSET - timedelta(days=3))
    (repo / "pricing" / "pricing_v2.py").write_text("def total(rates, region):\n" * 12, encoding="utf-8")
    git(repo, "commit", "-q", "-am", "Inline region lookup", at=ONSET - timedelta(minutes=20))
    sha = git(repo, "rev-parse", "HEAD")
    deployed = ONSET + timedelta(minutes=deployed_minutes)
    (tmp_path / "deploys.jsonl").write_text(
        json.dumps(
            {
                "at": deployed.isoformat(),
                "component": "pricing",
                "kind": "deploy",
                "id": "dep-1",
                "version": f"registry.example/pricing:{sha[:12]}",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    log = _service_log("pricing", ONSET - timedelta(hours=1), ONSET + timedelta(minutes=10), ONSET)
    findings = run_investigator(
        investigate,
        sources=[
            GitSource("code", repo, components={"pricing": ComponentSpec("pricing", ("pricing/**",))}),
            ChangesSource("deploys", [tmp_path / "deploys.jsonl"]),
            StaticLogs.from_text("pricing", log, component="pricing"),
        ],
        detected_at=ONSET + timedelta(minutes=10),
    )
    named = [f for f in findings if f.change is not None and f.title.startswith("suspected change")]
    if deployed_minutes > 0:
        assert named == []
        return
    assert [f.change.id for f in named if f.change] == [sha]
    evidence = next(e for e in named[0].evidence if e.kind == "change")
    assert "deployed 6 min before it" in evidence.summary
    assert evidence.figures["deployed_at"] == deployed.isoformat()


def test_a_caller_failing_on_a_dependency_that_names_it_does_not_blame_its_own_flag() -> None:
    # accounts fails because inventory answers 500 (its errors name inventory.internal); its own
    # harmless flag flipped eight minutes before must not be named: inventory's flag, flipped just
    # before inventory began to fail, explains both, and inventory's own finding names it.
    from incident_flow_debugger.investigate import investigate

    start, end = ONSET - timedelta(hours=1), ONSET + timedelta(minutes=10)
    inventory = _service_log("inventory", start, end, ONSET)
    accounts = []
    at = start
    while at < end:
        stamp = f"{at + timedelta(seconds=1):%Y-%m-%d %H:%M:%S},000"
        if at >= ONSET:
            accounts += [
                f"{stamp} ERROR [accounts] Exception on GET /me",
                "Traceback (most recent call last):",
                '  File "/app/accounts/api.py", line 40, in me',
                "    stock = client.get_stock(sku)",
                '  File "/usr/local/lib/python3.11/site-packages/requests/models.py", line 1021, '
                "in raise_for_status",
                "    raise HTTPError(http_error_msg, response=self)",
                "requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url: "
                "http://inventory.internal:8080/internal/stock/SKU-1",
            ]
        else:
            accounts.append(f"{stamp} INFO [accounts] GET /me 200 in 9ms")
        at += timedelta(seconds=10)
    flags = [
        Change(
            id="ff-inv",
            summary="smart-discounts: on",
            at=ONSET - timedelta(seconds=30),
            kind="feature_flag",
            component="inventory",
        ),
        Change(
            id="ff-acc",
            summary="dark-mode: rollout 50%",
            at=ONSET - timedelta(minutes=8),
            kind="feature_flag",
            component="accounts",
        ),
    ]
    findings = run_investigator(
        investigate,
        sources=[
            StaticChanges("flags", flags),
            StaticLogs.from_text("inventory", inventory, component="inventory"),
            StaticLogs.from_text("accounts", "\n".join(accounts) + "\n", component="accounts"),
        ],
        detected_at=end,
    )
    named = {(f.component, f.change.id) for f in findings if f.change is not None}
    assert named == {("inventory", "ff-inv")}
    assert any(f.component == "accounts" and f.depends_on == "inventory" for f in findings)
