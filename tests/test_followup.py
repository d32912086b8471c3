"""Phase 4's follow-ups: owners from real CODEOWNERS files, alerts computed from the figures and
replayed over the series (and checked by Prometheus's own ``promtool``), items that never claim
more than the report's evidence holds."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.config import ComponentSpec
from incident_flow.followup import (
    MIN_LITERAL_CHARS,
    action_items,
    alert_threshold,
    lessons,
    monitoring_improvements,
    owners_for,
    replay_alert,
    root_cause_identified,
    with_followups,
)
from incident_flow.model import (
    Assessment,
    Category,
    Change,
    Evidence,
    Execution,
    Finding,
    Incident,
    InvestigatorRun,
    Mitigation,
    Report,
    RootCause,
    SourceProblem,
)
from incident_flow.report import report_to_dict
from incident_flow.sources import MetricSeries, SourceError
from incident_flow.sources.git import CodeOwners, GitSource
from incident_flow.testing import StaticMetrics

DETECTED = datetime(2026, 2, 4, 14, 43, 3, tzinfo=UTC)
STEP = 30.0
#: The series jumps at this point; the settled onset is the same instant.
ONSET = DETECTED - timedelta(minutes=5, seconds=30)
SHA = "c234f1c0912666eac56f7a4b65532fc41f666a93"
SERIES = "catalog_http_requests_errors_total"
CODEOWNERS_TEXT = """\
# Owners: the last matching rule wins.
*                     @shop/everyone
/services/            @shop/platform
/services/catalog/    @shop/catalog
/services/payments/   @shop/payments
*.md                  @shop/docs
/services/catalog/vendored/
"""
COMPONENTS = {
    "catalog": ComponentSpec("catalog", ("services/catalog/**",)),
    "payments": ComponentSpec("payments", ("services/payments/**",)),
}


# --- real git repositories ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git_repo(path: Path, files: dict[str, str]) -> GitSource:
    """A repository with one commit holding ``files``, read through the real git source."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2026-02-04T14:25:37Z",
        "GIT_COMMITTER_DATE": "2026-02-04T14:25:37Z",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=Noor Haddad",
                "-c",
                "user.email=n@example.com",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=path,
            env=env,
            check=True,
            capture_output=True,
        )
    return GitSource("repo", path)


def repo_with_codeowners(tmp_path: Path) -> GitSource:
    return git_repo(
        tmp_path / "repo",
        {
            ".github/CODEOWNERS": CODEOWNERS_TEXT,
            "services/catalog/pricing.py": "def shipping_fee(order):\n    return order['region']\n",
            "services/payments/charge.py": "def charge():\n    pass\n",
        },
    )


# --- reports -----------------------------------------------------------------------------------------


def the_change(files: tuple[str, ...] = ("services/catalog/pricing.py",)) -> Change:
    return Change(
        id=SHA,
        summary="Refactor fee lookup",
        at=ONSET - timedelta(minutes=12),
        author="Noor Haddad",
        component="catalog",
        files=files,
    )


def change_evidence(blamed: tuple[str, ...] = ("services/catalog/pricing.py:30",)) -> Evidence:
    return Evidence(
        source="repo",
        kind="change",
        summary=f"commit {SHA[:12]} last changed the failing line",
        figures={"change_id": SHA, "blamed_lines": list(blamed)},
    )


def trace_evidence() -> Evidence:
    return Evidence(
        source="catalog-logs",
        kind="stack_trace",
        summary="KeyError: 'region' at services/catalog/pricing.py:30 in shipping_fee: 0 before, 45 after",
        at_from=ONSET,
        query="stack-trace group 84d0b3565faf44e2",
        figures={
            "exception": "KeyError",
            "message": "'region'",
            "before": 0,
            "after": 45,
            "top_frame": {"file": "services/catalog/pricing.py", "function": "shipping_fee", "line": 30},
        },
    )


def metric_evidence(baseline: float = 0.1, after: float = 80.0, scale: float = 0.09) -> Evidence:
    return Evidence(
        source="metrics",
        kind="metric_anomaly",
        summary=f"{SERIES}: median {baseline} /s before the onset, {after} /s after",
        at_from=ONSET,
        query=f"column {SERIES!r} of all.csv",
        figures={
            "series": SERIES,
            "baseline": baseline,
            "after": after,
            "scale": scale,
            "score": 900.0,
            "direction": "up" if after > baseline else "down",
            "transform": "rate",
            "unit": "/s",
        },
    )


def log_evidence(template: str = "Exception in ASGI application", before: float = 0.0) -> Evidence:
    return Evidence(
        source="catalog-logs",
        kind="log_pattern",
        summary="catalog: log pattern new: 0 before the onset, 45 after",
        at_from=ONSET,
        query=f"template T0037 = {template!r}",
        figures={"before": 0, "after": 45, "rate_before_per_min": before, "rate_after_per_min": 1.5},
    )


REVERT = Mitigation(
    action=f"Revert commit {SHA[:12]} (Refactor fee lookup) on a new branch",
    target="catalog",
    rationale="rank 1 cause",
    risk="medium",
    command=["git", "revert", "--no-edit", SHA],
)


def make_report(
    evidence: tuple[Evidence, ...] = (change_evidence(), trace_evidence(), metric_evidence(), log_evidence()),
    change: Change | None = None,
    **overrides: Any,
) -> Report:
    cause = RootCause(
        rank=1,
        component="catalog",
        category=Category.CODE,
        summary="catalog fails since the change",
        confidence=0.9,
        evidence=evidence,
        indicator=SHA,
        change=the_change() if change is None else change,
    )
    values: dict[str, Any] = {
        "incident": Incident(
            id="inc-1", description="Catalog: error budget burning fast", detected_at=DETECTED
        ),
        "assessment": Assessment(severity="high", category="code", user_impact={"data_loss": "no"}),
        "root_causes": [cause],
        "mitigations": [REVERT],
        "onset": ONSET,
        "generated_at": DETECTED + timedelta(minutes=3),
    }
    values.update(overrides)
    return Report(**values)


def counter(spike: tuple[datetime, datetime] | None = None) -> MetricSeries:
    """An error counter at 30 s steps: 0.1/s for two hours, 80/s from the onset on."""
    times, values, total = [], [], 1000.0
    at = ONSET - timedelta(hours=2)
    while at <= DETECTED + timedelta(minutes=10):
        high = at > ONSET or (spike is not None and spike[0] < at <= spike[1])
        total += (80.0 if high else 0.1) * STEP
        times.append(at.timestamp())
        values.append(total)
        at += timedelta(seconds=STEP)
    return MetricSeries(
        name=SERIES, component="catalog", metric="http_requests_errors_total", times=tuple(times),
        values=tuple(values), source="metrics",
    )  # fmt: skip


def resolve(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at ``pointer`` (KeyError/IndexError when it is not there)."""
    value = document
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def followed(report: Report, series: MetricSeries | None = None, sources: list[Any] | None = None) -> Report:
    metrics = [StaticMetrics("metrics", [series or counter()])]
    return with_followups(report, [*metrics, *(sources or [])], COMPONENTS)


# --- owners ------------------------------------------------------------------------------------------


def test_owners_come_from_the_last_matching_codeowners_rule(tmp_path: Path) -> None:
    codeowners = repo_with_codeowners(tmp_path).codeowners()
    assert codeowners.path == ".github/CODEOWNERS"
    catalog = owners_for(["services/catalog/pricing.py"], [codeowners])
    assert catalog.owners == ("@shop/catalog",)
    assert (
        catalog.source == ".github/CODEOWNERS rule `/services/catalog/` matches services/catalog/pricing.py"
    )
    assert owners_for(["services/catalog/README.md"], [codeowners]).owners == ("@shop/docs",)
    assert owners_for(["deploy/nginx.conf"], [codeowners]).owners == ("@shop/everyone",)
    assert owners_for(["services/search/app.py"], [codeowners]).owners == ("@shop/platform",)
    unowned = owners_for(["services/catalog/vendored/lib.py"], [codeowners])  # a rule naming nobody
    assert unowned.owners == ()
    assert unowned.source == "unassigned (no CODEOWNERS rule matches services/catalog/vendored/lib.py)"


def test_a_change_touching_files_of_two_owners_names_both(tmp_path: Path) -> None:
    codeowners = repo_with_codeowners(tmp_path).codeowners()
    both = owners_for(["services/catalog/pricing.py", "services/payments/charge.py"], [codeowners])
    assert both.owners == ("@shop/catalog", "@shop/payments")
    assert "rule `/services/catalog/` matches services/catalog/pricing.py" in both.source
    assert "rule `/services/payments/` matches services/payments/charge.py" in both.source
    change = the_change(files=("services/catalog/pricing.py", "services/payments/charge.py"))
    report = make_report(evidence=(change_evidence(blamed=()),), change=change)
    items = action_items(report, [codeowners], COMPONENTS)
    fix = next(item for item in items if item.text.startswith(f"Fix what {SHA[:12]} changed"))
    assert fix.owners == ("@shop/catalog", "@shop/payments")


def test_without_codeowners_items_are_unassigned_and_the_author_is_context_not_blame(tmp_path: Path) -> None:
    source = git_repo(tmp_path / "repo", {"services/catalog/pricing.py": "x = 1\n"})
    report = followed(make_report(), sources=[source])
    about_change = [item for item in report.action_items if item.kind in ("mitigate", "prevent")]
    assert about_change
    for item in about_change:
        assert item.owners == ()
        assert item.owner_source.startswith(
            "unassigned (no CODEOWNERS rule matches services/catalog/pricing.py)"
        ), item.owner_source
        assert item.owner_source.endswith("the repository has no CODEOWNERS file")
        assert item.contact == f"Noor Haddad (author of {SHA[:12]})"
    markdown = report.to_markdown()
    prose = markdown.split("### Action Items")[1].split("### Findings")[0]
    prose = prose.replace(f"contact: Noor Haddad (author of {SHA[:12]})", "")
    assert "Noor" not in prose and "Haddad" not in prose  # systems, not people


def test_the_component_paths_find_the_owner_when_no_change_is_guilty(tmp_path: Path) -> None:
    codeowners = repo_with_codeowners(tmp_path).codeowners()
    cause = RootCause(
        rank=1, component="catalog", category=Category.PERFORMANCE, summary="pool exhausted", confidence=0.7,
        evidence=[metric_evidence()], indicator=SERIES,
    )  # fmt: skip
    fix = Mitigation(
        action="Raise the pool size of catalog", target="catalog", rationale="r", risk="low", kind="fix"
    )
    report = make_report(root_causes=[cause], mitigations=[fix])
    items = action_items(report, [codeowners], COMPONENTS)
    assert [(i.kind, i.text) for i in items] == [("prevent", "Raise the pool size of catalog.")]
    assert items[0].owners == ("@shop/catalog",)
    assert items[0].owner_source == ".github/CODEOWNERS rule `/services/catalog/` matches services/catalog/"
    assert items[0].contact is None


def test_an_unreadable_codeowners_is_a_note_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = repo_with_codeowners(tmp_path)

    def broken() -> CodeOwners:
        raise SourceError("git cat-file timed out after 30s")

    monkeypatch.setattr(source, "codeowners", broken)
    report = followed(make_report(), sources=[source])
    assert any("CODEOWNERS of repo could not be read" in note for note in report.notes)
    assert all(item.owners == () for item in report.action_items)


# --- alerts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "level", "scale", "expected"),
    [
        (0.0933, 83.54, 0.0899, 2.8),  # the bad deploy's error rate: geometric mean on a ratio of 895
        (0.2, 2.0, 0.01, 0.63),  # latency 200 ms -> 2 s
        (10.0, 12.0, 0.1, 11.0),  # a small step: the midpoint
        (1.0, 3.0, 0.5, 2.5),  # the midpoint would sit within 3 noise units of the baseline
        (100.0, 10.0, 1.0, 32.0),  # a drop (throughput): between, below the baseline
        (0.0, 50.0, 0.0, 5.0),  # nothing before: a tenth of the level
    ],
)
def test_the_threshold_is_computed_from_the_figures(
    baseline: float, level: float, scale: float, expected: float
) -> None:
    assert alert_threshold(baseline, level, scale) == pytest.approx(expected)


@pytest.mark.parametrize("figures", [(1.0, 1.0, 0.0), (math.nan, 2.0, 0.0), (1.0, math.inf, 0.0)])
def test_no_threshold_without_a_difference_to_alert_on(figures: tuple[float, float, float]) -> None:
    assert alert_threshold(*figures) is None


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, st.floats(min_value=0, max_value=1e4, allow_nan=False))
def test_any_threshold_lies_strictly_between_baseline_and_level(
    baseline: float, level: float, scale: float
) -> None:
    threshold = alert_threshold(baseline, level, scale)
    if threshold is not None:
        assert min(baseline, level) < threshold < max(baseline, level)


def test_the_metric_rule_is_replayed_to_when_it_would_have_fired() -> None:
    report = followed(make_report())
    rule = next(r for r in report.monitoring if r.kind == "metric")
    assert rule.expr == f"rate({SERIES}[2m]) > 2.8"
    assert (rule.threshold, rule.baseline, rule.level, rule.window_s, rule.for_s) == (2.8, 0.1, 80.0, 120, 60)
    # The first 80/s step ends at the onset + 30 s; a 2m rate holds 3 quiet steps and it:
    # (3 x 3 + 2400) / 120 = 20/s > 2.8, so the rule is pending then and fires a minute later.
    first_high = ONSET + timedelta(seconds=STEP)
    assert rule.would_fire_at == first_high + timedelta(seconds=60)
    assert rule.fired_before_onset == 0
    # The 2m rate reaches 90% of 80/s once its window holds only high steps: 90 s after it crossed.
    assert rule.ramp_s == 90.0 and rule.peak == pytest.approx(80.0)
    data = report_to_dict(report)
    assert data["monitoring"][0]["lead_s"] == (DETECTED - rule.would_fire_at).total_seconds()
    assert resolve(data, rule.basis[0])["figures"]["series"] == SERIES


def test_a_noisy_baseline_shows_as_false_alarms() -> None:
    spike = (ONSET - timedelta(hours=1), ONSET - timedelta(hours=1) + timedelta(minutes=3))
    report = followed(make_report(), series=counter(spike=spike))
    rule = report.monitoring[0]
    assert rule.fired_before_onset == 1
    assert any("would also have fired 1 time(s)" in lesson.text for lesson in lessons(report))


def test_without_the_series_the_rule_is_given_but_not_replayed() -> None:
    report = with_followups(make_report(), [], COMPONENTS)
    rule = report.monitoring[0]
    assert rule.would_fire_at is None and rule.fired_before_onset is None and rule.ramp_s is None
    assert not any("Page on-call" in item.text or "in stages" in item.text for item in report.action_items)
    assert "It was not replayed" in report.to_markdown()


def gauge() -> MetricSeries:
    """An error-rate gauge at 30 s steps: 0.2 for two hours, 40 from the onset on."""
    counts = counter()
    values = tuple(40.0 if t > ONSET.timestamp() else 0.2 for t in counts.times)
    return attrs.evolve(counts, values=values)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus) is not installed")
@pytest.mark.parametrize("kind", ["counter", "gauge"])
def test_prometheus_agrees_with_the_replay(tmp_path: Path, kind: str) -> None:
    """The rule is valid Prometheus, and Prometheus's own rule evaluation fires it when we said."""
    series = counter() if kind == "counter" else gauge()
    evidence = (
        metric_evidence() if kind == "counter" else metric_evidence(baseline=0.2, after=40.0, scale=0.05)
    )
    if kind == "gauge":
        evidence = attrs.evolve(evidence, figures={**evidence.figures, "transform": "level"})
    report = followed(make_report(evidence=(change_evidence(), evidence)), series=series)
    rule = report.monitoring[0]
    assert rule.expr.startswith("rate(" if kind == "counter" else "avg_over_time(")
    assert rule.would_fire_at is not None
    (tmp_path / "rules.yml").write_text(rule.rule + "\n", encoding="utf-8")
    check = subprocess.run(
        ["promtool", "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    start = series.times[0]
    summary = re.search(r"summary: (\".*\")", rule.rule)
    assert summary is not None
    fires = int(rule.would_fire_at.timestamp() - start)
    name = _alert_name(rule.rule)
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "30s",
                "input_series": [{"series": SERIES, "values": " ".join(f"{v:g}" for v in series.values)}],
                "alert_rule_test": [
                    {
                        "eval_time": f"{fires}s",
                        "alertname": name,
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "page", "component": "catalog"},
                                "exp_annotations": {"summary": json.loads(summary.group(1))},
                            }
                        ],
                    },
                    {"eval_time": f"{fires - 30}s", "alertname": name, "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(json.dumps(test), encoding="utf-8")  # JSON is YAML
    done = subprocess.run(
        ["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _alert_name(rule: str) -> str:
    match = re.search(r"- alert: (\w+)", rule)
    assert match is not None
    return match.group(1)


def test_a_template_that_is_mostly_wildcards_gets_no_alert() -> None:
    report = make_report(evidence=(log_evidence(template='<*> - "POST <*> <*>" <*>'),))
    assert monitoring_improvements(report, {}) == ()


def test_a_new_log_template_alerts_on_its_first_line() -> None:
    report = followed(make_report())
    rule = next(r for r in report.monitoring if r.kind == "log")
    assert (rule.threshold, rule.baseline, rule.level, rule.window_s) == (0.0, 0.0, 7.5, 300)
    assert re.search(rule.expr, "[ERROR] Exception in ASGI application")
    assert rule.would_fire_at is None  # the report keeps no per-minute counts: no time is claimed
    assert "When it would have fired is not computed" in report.to_markdown()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4))
def test_a_log_rule_matches_any_line_of_its_template(words: list[str]) -> None:
    template = " <*> ".join(words)
    report = make_report(evidence=(log_evidence(template=template),))
    rules = monitoring_improvements(report, {})
    if sum(ch.isalnum() for ch in template.replace("<*>", "")) < MIN_LITERAL_CHARS:
        assert rules == ()  # too little literal text: it would match far more than the failure
        return
    (rule,) = rules
    assert rule.signal == template
    assert re.search(rule.expr, "prefix " + template.replace("<*>", "value-42") + " suffix", re.S)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=60),
    st.floats(min_value=1, max_value=99, allow_nan=False),
    st.sampled_from([0, 30, 60, 120]),
    st.integers(min_value=0, max_value=59),
)
def test_a_replay_fires_only_after_its_condition_held_for_long_enough(
    values: list[float], threshold: float, for_s: int, onset_index: int
) -> None:
    start = ONSET.timestamp() - onset_index * STEP
    points = [(start + i * STEP, v) for i, v in enumerate(values)]
    replay = replay_alert(points, ">", threshold, for_s, ONSET, level=max(values))
    if replay.fire_at is not None:
        fired = replay.fire_at.timestamp()
        held = [v for t, v in points if fired - for_s <= t <= fired]
        assert held and all(v > threshold for v in held)
    assert 0 <= replay.fired_before_onset <= len(values)


# --- action items ------------------------------------------------------------------------------------


def test_a_bad_deploy_gets_typed_items_each_resting_on_the_report(tmp_path: Path) -> None:
    report = followed(make_report(), sources=[repo_with_codeowners(tmp_path)])
    kinds = [item.kind for item in report.action_items]
    assert kinds == sorted(kinds, key=["mitigate", "prevent", "process"].index)
    texts = [item.text for item in report.action_items]
    assert texts[0].startswith(f"Revert commit {SHA[:12]}") and "not executed; needs approval" in texts[0]
    assert (
        "Fix `shipping_fee` in `services/catalog/pricing.py:30`: it raised KeyError: 'region' 45 times after "
        f"the onset (0 before); {SHA[:12]} last changed that line." in texts
    )
    assert any(text.startswith("Add a test that runs `shipping_fee`") for text in texts)
    assert any("in stages (a canary first)" in text for text in texts)
    assert any(text.startswith(f"Page on-call from the `{SERIES}` alert") for text in texts)
    assert all(item.owners == ("@shop/catalog",) for item in report.action_items)
    data = report_to_dict(report)
    for item in data["action_items"] + data["monitoring"]:
        for pointer in item["basis"]:
            resolve(data, pointer)  # every item rests on something the JSON holds


def test_an_item_never_claims_what_the_evidence_lacks() -> None:
    bare = followed(make_report(evidence=(change_evidence(blamed=()),)))
    texts = " ".join(item.text for item in bare.action_items)
    assert bare.monitoring == ()  # no metric or log figures: no alert
    assert f"Fix what {SHA[:12]} changed in `services/catalog/pricing.py`" in texts
    for claim in ("Fix `", "canary", "Page on-call", "last changed that line", "integrity"):
        assert claim not in texts
    no_onset = with_followups(make_report(onset=None), [StaticMetrics("metrics", [counter()])], COMPONENTS)
    assert no_onset.monitoring == ()
    assert "MTTD) is not known" in lessons(no_onset)[0].text
    no_cause = followed(make_report(root_causes=(), mitigations=()))
    assert no_cause.action_items == () and no_cause.monitoring == ()
    done = attrs.evolve(REVERT, execution=Execution(status="executed", approved_by="sre"))
    executed = followed(make_report(mitigations=[done]))
    assert not any(item.kind == "mitigate" for item in executed.action_items)


def test_blind_spots_and_data_loss_become_items_only_when_the_report_has_them() -> None:
    report = followed(
        make_report(
            assessment=Assessment(severity="high", category="code", user_impact={"data_loss": "possible"}),
            source_problems=[SourceProblem("prom", "connection refused")],
            investigators=[InvestigatorRun(name="security", status="failed", error="KeyError: 'ip'")],
        )
    )
    by_basis = {item.basis[0]: item for item in report.action_items}
    assert by_basis["/assessment/user_impact/data_loss"].kind == "mitigate"
    assert "`prom` (connection refused)" in by_basis["/sources_missing/0"].text
    assert "`security` failed (KeyError: 'ip')" in by_basis["/investigators/0"].text
    assert (
        by_basis["/sources_missing/0"].owner_source == "unassigned (no repository path is tied to this item)"
    )


def test_findings_of_the_cause_component_count_for_its_alerts() -> None:
    finding = Finding(
        investigator="ops", component="catalog", title="errors anomaly", summary="", confidence=0.8,
        evidence=[metric_evidence()], symptom=True,
    )  # fmt: skip
    report = make_report(evidence=(change_evidence(),), findings=[finding])
    (rule,) = monitoring_improvements(report, {SERIES: counter()})
    assert rule.basis == ("/findings/0/evidence/0",)


def test_root_cause_identified_joins_the_timeline() -> None:
    report = followed(make_report())
    event = report.timeline[-1]
    assert event.source == "incident-flow" and event.at == DETECTED + timedelta(minutes=3)
    assert event.event == f"Root cause identified: catalog (code, confidence 0.90), change {SHA[:12]}"
    replay = root_cause_identified(make_report(generated_at=DETECTED + timedelta(days=30)))
    assert replay is None  # a replay's own clock says nothing about the incident
    assert root_cause_identified(make_report(root_causes=())) is None


def test_a_secret_in_a_log_template_never_reaches_the_alert() -> None:
    template = "login failed for <*> with password=Hunter2Hunter2 from <*>"
    report = followed(make_report(evidence=(log_evidence(template=template),)))
    (rule,) = [r for r in report.monitoring if r.kind == "log"]
    assert "Hunter2Hunter2" not in rule.expr + rule.rule
    assert re.search(rule.expr, "login failed for bob with password=Hunter2Hunter2 from 10.0.0.1")
    assert "Hunter2Hunter2" not in report.to_markdown() + report.to_json()
    assert rule.expr in report.to_markdown()  # the pattern is shown as it is, ready to paste
