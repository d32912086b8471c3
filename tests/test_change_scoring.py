"""Change scoring: what kind of change it is, and how it ranks against an incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow import Change
from incident_flow.analysis.changes import (
    BLAME_THRESHOLD,
    FailingFrame,
    IncidentSignature,
    change_nature,
    component_for_files,
    file_nature,
    normalize_kind,
    path_matches,
    rank_changes,
    score_change,
)
from incident_flow.config import ComponentSpec

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


_seconds = st.integers(min_value=-36_000, max_value=86_400)
_paths = st.lists(
    st.sampled_from(["README.md", "tests/t.py", "svc/a.py", "svc/config.yaml", "go.mod", "db/migrate/1.sql"]),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(_seconds, _seconds, _paths, st.booleans(), st.integers(min_value=0, max_value=10_000))
def test_ranking_invariants(first: int, second: int, files: list[str], matched: bool, size: int) -> None:
    frames = (FailingFrame("svc/a.py", 1, "f"),) if matched else ()
    signature = IncidentSignature(onset=ONSET, components={"orders"}, frames=frames)
    a = score_change(_change("a", first / 60, tuple(files)), signature, size=size)
    b = score_change(_change("b", second / 60, tuple(files)), signature, size=size)
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
