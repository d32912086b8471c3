"""The Claude layer's parts, each alone: settings, redaction, citations, caps, costs, loops."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from incident_flow.llm import LlmConfigError, LlmSettings, availability
from incident_flow.llm.agent import LoopGuard
from incident_flow.llm.citations import Shown, check_findings
from incident_flow.llm.cost import TokenBudget, TokenUsage, estimate_cost, price_for
from incident_flow.llm.redaction import SafeText
from incident_flow.llm.synthesis import parse_answer
from incident_flow.llm.tools import cap_payload
from incident_flow.model import Change

ROOT = Path(__file__).resolve().parents[1]


# -- settings ---------------------------------------------------------------------------------------


def test_settings_from_the_config_file() -> None:
    llm = LlmSettings.from_config(
        "anthropic", {"model": "claude-haiku-4-5", "agent_timeout": "90s", "max_steps": 4, "redact_ips": True}
    )
    assert (llm.mode, llm.model, llm.agent_timeout, llm.max_steps, llm.redact_ips) == (
        "anthropic",
        "claude-haiku-4-5",
        90.0,
        4,
        True,
    )
    assert LlmSettings.from_config(None, None).mode == "auto"


@pytest.mark.parametrize(
    ("mode", "table", "key"),
    [
        ("auto", {"api_key": "sk-ant-x"}, "api_key"),
        ("auto", {"max_stepz": 3}, "max_stepz"),
        ("sometimes", {}, "llm"),
        ("auto", {"max_steps": 0}, "max_steps"),
        ("auto", {"agent_timeout": "soon"}, "agent_timeout"),
        ("auto", {"investigations": ["system", "astrology"]}, "investigations"),
        ("auto", {"redact_ips": "yes"}, "redact_ips"),
        ("auto", {"max_retries": -1}, "max_retries"),
    ],
)
def test_a_bad_llm_setting_names_its_key(mode: str, table: dict[str, Any], key: str) -> None:
    with pytest.raises(LlmConfigError) as caught:
        LlmSettings.from_config(mode, table)
    assert caught.value.key == key


def test_the_key_is_never_read_from_the_config() -> None:
    with pytest.raises(LlmConfigError, match="ANTHROPIC_API_KEY"):
        LlmSettings.from_config("auto", {"api_key": "sk-ant-api03-secret"})


def test_availability_needs_a_key_and_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    key = {"ANTHROPIC_API_KEY": "sk-ant-x"}
    assert not availability(LlmSettings(mode="off"), key).enabled
    quiet = availability(LlmSettings(mode="auto"), {})
    assert not quiet.enabled and not quiet.problem
    loud = availability(LlmSettings(mode="anthropic"), {"ANTHROPIC_API_KEY": "  "})
    assert not loud.enabled and loud.problem and "ANTHROPIC_API_KEY" in loud.reason
    assert availability(LlmSettings(mode="auto"), key).enabled
    monkeypatch.setattr("incident_flow.llm.settings._sdk_installed", lambda: False)
    missing = availability(LlmSettings(mode="anthropic"), key)
    assert not missing.enabled and missing.problem and "incident-flow[claude]" in missing.reason


def test_the_default_model_is_one_the_installed_sdk_lists() -> None:
    typing = pytest.importorskip("typing")
    types = pytest.importorskip("anthropic.types")
    literal = typing.get_args(types.Model)[0]
    assert LlmSettings().model in typing.get_args(literal)
    assert price_for(LlmSettings().model) is not None


# -- redaction --------------------------------------------------------------------------------------


def test_safe_text_is_stable_reversible_and_leaves_times_alone() -> None:
    safe = SafeText(redact_ips=True)
    line = "14:02:12,755 v1.2.3 10.0.0.5:6379 fe80::1 bob@example.com aa:bb:cc:dd:ee:ff"
    once = safe.redact(line)
    assert once == safe.redact(line)  # stable
    assert "10.0.0.5" not in once and "fe80::1" not in once and "bob@example.com" not in once
    assert "14:02:12,755" in once and "v1.2.3" in once and "aa:bb:cc:dd:ee:ff" in once
    assert safe.restore(once) == line
    assert safe.counts == {"EMAIL": 2, "IP_ADDRESS": 4}
    assert SafeText().redact("10.0.0.5") == "10.0.0.5"  # addresses only when asked


def test_redact_value_redacts_strings_before_serialising() -> None:
    safe = SafeText()
    value = {"lines": ['password="hunter2" and "quoted"', 'token: "abc123456789"'], "n": 3}
    out = safe.redact_value(value)
    text = json.dumps(out)
    assert "hunter2" not in text and "abc123456789" not in text
    assert json.loads(text)["n"] == 3


# -- citations --------------------------------------------------------------------------------------


def test_shown_data_checks_lines_and_figures() -> None:
    shown = Shown()
    shown.add(
        {
            "request": {"text": "words the model searched for"},
            "note": "Result cut: narrow your query",
            "records": [
                {"ref": "app.log:42", "text": "2026-03-14 14:02:12 ERROR  connection   refused by redis"}
            ],
            "rate": 6.593,
            "count": 168,
        }
    )
    assert shown.has_line("ERROR connection refused by redis")  # white space aside
    assert shown.has_line("app.log:42: 2026-03-14 14:02:12 ERROR connection refused")
    assert shown.has_line("2026-03-14 14:02:12 ERROR connection…")
    assert not shown.has_line("refused")  # too short to check
    assert not shown.has_line("words the model searched for")  # its own query is not evidence
    assert not shown.has_line("Result cut: narrow your query")
    assert shown.has_figure(6.593) and shown.has_figure(6.59) and shown.has_figure(168)
    assert not shown.has_figure(6.7) and not shown.has_figure(37.4) and not shown.has_figure(True)
    assert shown.has_figure("refused by redis") and not shown.has_figure("refused by postgres")


def _claim(**overrides: Any) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "component": "redis",
        "title": "redis killed",
        "summary": "oom",
        "confidence": 0.9,
        "evidence": [{"source": "redis", "summary": "kill", "lines": ["Out of memory: Killed process 2345"]}],
    }
    claim.update(overrides)
    return claim


def test_check_findings_validates_the_finding_model() -> None:
    shown = Shown()
    shown.add({"text": "Out of memory: Killed process 2345 (redis-server)"})
    change = Change(
        id="a" * 40, summary="bump", at=__import__("datetime").datetime.now(__import__("datetime").UTC)
    )
    shown.changes[change.id] = change
    raw = {
        "findings": [
            _claim(change_id="aaaaaaa", category="code", onset="2026-03-14T14:01:54Z"),
            _claim(confidence=1.5),
            _claim(category="weather"),
            _claim(evidence=[]),
            _claim(evidence=[{"source": "redis", "summary": "no lines"}]),
            "not an object",
            _claim(change_id="bbbbbbbbbb"),
        ]
    }
    checked = check_findings(
        raw,
        investigation="code",
        investigator="claude-code",
        shown=shown,
        safe=SafeText(),
        source_names={"redis"},
    )
    [kept] = checked.findings
    assert kept.change == change and kept.category is not None and kept.onset is not None
    assert kept.confidence == 0.75 and kept.investigator == "claude-code"
    reasons = [d.reason for d in checked.dropped]
    assert reasons == ["invalid", "invalid", "invalid", "invalid", "invalid", "uncited"]
    assert "change_id" in checked.dropped[-1].missing[0]
    assert check_findings(
        {"no": 1}, investigation="x", investigator="y", shown=shown, safe=SafeText(), source_names=()
    ).error


def test_check_findings_limits_and_duplicates() -> None:
    shown = Shown()
    shown.add({"text": "Out of memory: Killed process 2345 (redis-server)"})
    many = {"findings": [_claim(title=f"claim {i}") for i in range(7)]}
    checked = check_findings(
        many, investigation="x", investigator="claude-x", shown=shown, safe=SafeText(), source_names=()
    )
    assert len(checked.findings) == 5 and [d.reason for d in checked.dropped] == ["over_limit"] * 2
    known = {"redis": {"Out of memory: Killed process 2345"}}
    dup = check_findings(
        {"findings": [_claim()]},
        investigation="x",
        investigator="claude-x",
        shown=shown,
        safe=SafeText(),
        source_names=(),
        known_lines=known,
    )
    assert dup.findings == () and dup.dropped[0].reason == "duplicate"


# -- caps, loops, costs -----------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [500, 900, 2000])
def test_cap_payload_never_exceeds_and_stays_json(limit: int) -> None:
    payload = {
        "request": {"text": "x"},
        "matched": 300,
        "shown": 300,
        "records": [{"ref": f"a.log:{i}", "text": 'é"\\\\' * 40 + str(i)} for i in range(300)],
    }
    cut, truncated = cap_payload(payload, "records", limit)
    text = json.dumps(cut, ensure_ascii=False, separators=(",", ":"))
    assert truncated and len(text) <= limit
    assert "narrow your query" in cut["note"] and cut["shown"] == len(cut["records"])
    one_huge = {"diff": ["+" + "x" * 10_000]}
    cut, _ = cap_payload(one_huge, "diff", limit)
    assert len(json.dumps(cut, ensure_ascii=False, separators=(",", ":"))) <= limit


def test_loop_guard_refuses_repeats_and_stops_alternation() -> None:
    guard = LoopGuard()
    assert guard.check("search_logs", {"text": "a"}) is None
    assert "already answered" in (guard.check("search_logs", {"text": "a"}) or "")
    assert guard.check("search_logs", {"text": "b"}) is None
    assert guard.check("search_logs", {"text": "a"}) is not None
    assert "alternating" in (guard.check("search_logs", {"text": "b"}) or "")
    assert guard.stopped
    other = LoopGuard()
    for _ in range(4):  # one answered, then three refusals
        other.check("list_changes", {})
    assert other.stopped


def test_costs_are_estimated_from_the_price_table() -> None:
    usage = TokenUsage(1, 1_000_000, 100_000, 200_000, 2_000_000)
    # claude-sonnet-5-5: $2 in, $10 out, $2.50 cache write, $0.10 cache read (per million)
    assert estimate_cost(usage, "claude-sonnet-5-5") == pytest.approx(2.0 + 1.0 + 0.5 + 0.2)
    assert price_for("claude-sonnet-4-5-20250929") == price_for("claude-sonnet-4-5")
    assert estimate_cost(usage, "claude-unknown-9") is None
    total = usage + TokenUsage.from_response({"input_tokens": 5, "output_tokens": 7})
    assert total.requests == 2 and total.total_tokens == usage.total_tokens + 12


def test_the_token_budget_reserves_then_settles() -> None:
    budget = TokenBudget(1000)
    assert budget.reserve(600) and not budget.reserve(500)
    budget.settle(600, TokenUsage(1, 300, 50))
    assert budget.spent == 350 and budget.remaining == 650
    budget.settle(0)
    assert budget.reserve(650) and budget.remaining == 0


def test_parse_answer_finds_the_json_object() -> None:
    assert parse_answer('Here it is:\n```json\n{"a": {"b": 1}}\n```') == {"a": {"b": 1}}
    with pytest.raises(ValueError):
        parse_answer("no json at all {oops")


# -- the optional dependency ------------------------------------------------------------------------


def test_an_offline_run_never_imports_anthropic(tmp_path: Path) -> None:
    """``anthropic`` stays an optional extra: importing and running offline must not load it."""
    script = textwrap.dedent(
        """
        import asyncio, os, sys
        os.environ.pop("ANTHROPIC_API_KEY", None)
        import incident_flow, incident_flow.llm
        from incident_flow.demo import run_demo
        from incident_flow.llm import LlmSettings, run_llm_stage
        from incident_flow.testing import make_context
        report = asyncio.run(run_demo())
        assert report.root_causes, "the example found nothing"
        ctx = make_context()
        outcome = asyncio.run(
            run_llm_stage(ctx.incident, ctx, report.findings, report.assessment, report.root_causes,
                          LlmSettings(mode="auto"))
        )
        assert outcome.status == "off", outcome
        print("anthropic" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(tmp_path), "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
