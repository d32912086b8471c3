"""The report renderers: the JSON contract against its schema, and the seed's Markdown template.

The Markdown is checked with a real CommonMark parser (markdown-it-py, which ships with rich), not
with string searches: what matters is the structure a renderer sees (which headings, tables, HTML),
and only a parser can say whether hostile text changed it.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from incident_flow.followup import with_followups
from incident_flow.model import (
    ActionItem,
    AlertRule,
    Assessment,
    Category,
    Change,
    Evidence,
    Finding,
    Incident,
    InvestigatorRun,
    InvestigatorStatus,
    Mitigation,
    Report,
    RootCause,
    Severity,
    SourceProblem,
    TimelineEvent,
)
from incident_flow.report import (
    SCHEMA_RESOURCE,
    SCHEMA_VERSION,
    SEED_SECTIONS,
    load_schema,
    render_json,
    render_markdown,
    report_to_dict,
)

REPO = Path(__file__).resolve().parents[1]
DETECTED = datetime(2024, 5, 1, 14, 10, tzinfo=UTC)
SHA = "3f2a9c41d0b7e6a5c4b3a29180f7e6d5c4b3a291"
FIXED_SECTIONS = [*SEED_SECTIONS, "Prevention", "Findings", "Investigators"]
EVIL = (
    "```\x1b[31mboom\x1b[0m <script>alert(1)</script>\n# heading\n| a | b |\n"
    "### Summary\r\n[x](http://evil) *b* _i_ \x07"
)

MD = MarkdownIt("commonmark").enable("table")
VALIDATOR = jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker())


# --- helpers --------------------------------------------------------------------------------------


def headings(markdown: str, tag: str = "h3") -> list[str]:
    tokens = MD.parse(markdown)
    return [
        tokens[i + 1].content for i, tok in enumerate(tokens) if tok.type == "heading_open" and tok.tag == tag
    ]


def html_tokens(markdown: str) -> list[Token]:
    found: list[Token] = []
    for token in MD.parse(markdown):
        if token.type == "html_block":
            found.append(token)
        for child in token.children or []:
            if child.type == "html_inline":
                found.append(child)
    return found


def section(markdown: str, title: str) -> str:
    """The raw Markdown of one ``###`` section (up to the next one)."""
    match = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^### |\Z)", markdown, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def validate(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.to_json())
    VALIDATOR.validate(data)
    return data


def evidence(**overrides: Any) -> Evidence:
    values: dict[str, Any] = {
        "source": "orders-logs",
        "kind": "log",
        "summary": "ConnectionError to redis rose from 0 to 412 a minute",
        "at_from": DETECTED - timedelta(minutes=7),
        "at_to": DETECTED,
        "query": 'level=ERROR message~"redis"',
        "lines": ["2024-05-01T14:03:01Z ERROR [orders] ConnectionError: redis.internal:6379 refused"],
        "figures": {"errors_before": 0, "errors_after": 412, "p99_s": {"before": 0.12, "after": 3.4}},
    }
    values.update(overrides)
    return Evidence(**values)


def full_report(**overrides: Any) -> Report:
    """A report with everything: ranked causes with a change, a failed investigator, a missing
    source, a declared severity lower than the assessed one, proposed mitigations, an audit trail."""
    change = Change(
        id=SHA,
        summary="Lower the redis pool size",
        at=DETECTED - timedelta(minutes=12),
        author="alice",
        component="orders",
        files=["services/orders/config.yaml"],
    )
    finding = Finding(
        investigator="ops",
        component="redis",
        title="Connection errors to redis",
        summary="orders cannot reach redis",
        confidence=0.8,
        evidence=[evidence()],
        category=Category.INFRASTRUCTURE,
        severity=Severity.HIGH,
        onset=DETECTED - timedelta(minutes=7),
        depends_on="redis",
    )
    values: dict[str, Any] = {
        "incident": Incident(
            id="inc-42",
            description="Website returning 502 errors for all users",
            detected_at=DETECTED,
            severity_hint=Severity.HIGH,
            system="web",
        ),
        "assessment": Assessment(
            severity=Severity.CRITICAL,
            category=Category.CODE,
            reasons=["the description says all users"],
            affected_components=["web", "orders"],
            user_impact={"users_affected": "all", "error_rate": 0.41, "data_loss": "no"},
            priority_actions=["Roll back the last deploy"],
            declared_severity=Severity.HIGH,
        ),
        "root_causes": [
            RootCause(
                rank=2,
                component="web",
                category=Category.PERFORMANCE,
                summary="Upstream timeouts",
                confidence=0.3,
                evidence=[evidence(kind="metric", lines=(), figures={"p99_before": 0.1, "p99_after": 2.0})],
                indicator="web_latency_p99",
            ),
            RootCause(
                rank=1,
                component="orders",
                category=Category.CODE,
                summary="The pool size change exhausted connections to redis.",
                confidence=0.82,
                evidence=[evidence()],
                indicator="orders_redis_errors",
                change=change,
            ),
        ],
        "findings": [finding],
        "mitigations": [
            Mitigation(
                action="fix forward",
                target="orders",
                rationale="Size the pool for peak load",
                risk="medium",
                kind="fix",
            ),
            Mitigation(
                action="revert",
                target="orders",
                rationale="Undo the pool change",
                risk="low",
                command=["git", "revert", "--no-edit", SHA],
            ),
        ],
        "timeline": [
            TimelineEvent(at=DETECTED, event="Detection: incident reported", source="incident"),
            TimelineEvent(
                at=DETECTED - timedelta(minutes=7), event="Onset: first anomaly", source="correlate"
            ),
            TimelineEvent(at=DETECTED - timedelta(minutes=12), event=f"Change {SHA[:12]}", source="commit"),
        ],
        "investigators": [
            InvestigatorRun(name="ops", status=InvestigatorStatus.OK, duration_s=1.25, findings=1),
            InvestigatorRun(
                name="security", status=InvestigatorStatus.FAILED, duration_s=0.1, error="KeyError: 'ip'"
            ),
            InvestigatorRun(name="performance", status=InvestigatorStatus.TIMED_OUT, duration_s=60.0),
        ],
        "source_problems": [SourceProblem("prom", "connection refused")],
        "notes": ["The investigate phase ran out of its budget."],
        "onset": DETECTED - timedelta(minutes=7),
        "status": "ongoing",
        "audit": {"path": "/var/audit/inc-42.jsonl", "records": 17, "final_hash": "ab" * 32, "error": None},
        "generated_at": DETECTED + timedelta(minutes=5),
    }
    values.update(overrides)
    return Report(**values)


def bare_report(**overrides: Any) -> Report:
    """The least a run can produce: no cause, no finding, no onset, no audit, no generation time."""
    values: dict[str, Any] = {
        "incident": Incident(id="inc-1", description="Something is slow", detected_at=DETECTED),
        "assessment": Assessment(severity=Severity.MEDIUM, category=Category.PERFORMANCE),
    }
    values.update(overrides)
    return Report(**values)


def followed_report(**overrides: Any) -> Report:
    """:func:`full_report` with the follow-ups a run adds (no repository, no series to replay)."""
    return with_followups(full_report(**overrides), [], {})


REPORTS = {
    "full": full_report,
    "bare": bare_report,
    "resolved": lambda: full_report(status="resolved"),
    "audit-failed": lambda: bare_report(audit={"error": "permission denied: /var/audit"}),
    "followed": lambda: attrs.evolve(followed_report(), monitoring=[alert_rule()]),
    "same-severity": lambda: full_report(
        assessment=Assessment(severity=Severity.HIGH, category=Category.CODE, declared_severity=Severity.HIGH)
    ),
}


# --- the schema -----------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_in_package_equals_docs_copy() -> None:
    packaged = (REPO / "incident_flow" / SCHEMA_RESOURCE).read_bytes()
    assert packaged == (REPO / "docs" / "report-schema.json").read_bytes()
    assert load_schema() == json.loads(packaged)


def test_load_schema_returns_a_fresh_copy() -> None:
    load_schema()["properties"].clear()
    assert "incident" in load_schema()["properties"]


def test_schema_pins_the_version() -> None:
    assert SCHEMA_VERSION == "1.2"
    assert load_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_json_validates(name: str) -> None:
    validate(REPORTS[name]())


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("root_causes", 0, "rank"), 0),
        (("root_causes", 0, "confidence"), 1.5),
        (("root_causes", 0, "change"), []),
        (("timeline", 0, "offset"), "4 minutes"),
        (("assessment", "severity"), "Critical"),
        (("incident", "detected_at"), "2024-05-01 14:10"),
        (("investigators", 0, "status"), "crashed"),
        (("root_causes", 0, "surprise"), 1),
    ],
)
def test_schema_rejects_what_breaks_the_contract(path: tuple[Any, ...], bad: Any) -> None:
    data = report_to_dict(full_report())
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def _property_names(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        names = set(schema.get("properties", {}))
        return names.union(*(_property_names(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_property_names(value) for value in schema))
    return set()


def test_docs_page_documents_every_field() -> None:
    page = (REPO / "docs" / "report.md").read_text(encoding="utf-8")
    undocumented = sorted(name for name in _property_names(load_schema()) if f"`{name}`" not in page)
    assert undocumented == []
    for title in [*FIXED_SECTIONS, "What was missing", "Audit trail"]:
        assert f"`### {title}`" in page


# --- the JSON contract ----------------------------------------------------------------------------


def test_json_top_level_keys_in_contract_order() -> None:
    assert list(report_to_dict(full_report())) == [
        "schema_version",
        "incident",
        "assessment",
        "root_causes",
        "findings",
        "mitigations",
        "timeline",
        "investigators",
        "onset",
        "status",
        "verification",
        "sources_missing",
        "notes",
        "audit",
        "extensions",
        "action_items",
        "monitoring",
        "generated_at",
    ]


def test_json_values_follow_the_field_rules() -> None:
    data = validate(full_report())
    assert data["schema_version"] == "1.2"
    assert data["incident"] == {
        "id": "inc-42",
        "description": "Website returning 502 errors for all users",
        "severity_hint": "high",
        "system": "web",
        "detected_at": "2024-05-01T14:10:00Z",
    }
    assessment = data["assessment"]
    assert (assessment["severity"], assessment["declared_severity"], assessment["category"]) == (
        "critical",
        "high",
        "code",
    )
    first = data["root_causes"][0]
    assert [cause["rank"] for cause in data["root_causes"]] == [1, 2]
    assert first["change"]["id"] == SHA and first["change"]["at"] == "2024-05-01T13:58:00Z"
    assert data["root_causes"][1]["change"] is None
    assert first["evidence"][0]["figures"]["p99_s"] == {"before": 0.12, "after": 3.4}
    assert [event["offset"] for event in data["timeline"]] == ["T-12m", "T-7m", "T+0"]
    assert data["mitigations"][1]["command"] == ["git", "revert", "--no-edit", SHA]
    assert data["mitigations"][0]["command"] is None
    assert data["investigators"][1] == {
        "name": "security",
        "status": "failed",
        "duration_s": 0.1,
        "error": "KeyError: 'ip'",
        "findings": 0,
    }
    assert data["sources_missing"] == [{"source": "prom", "error": "connection refused"}]
    assert data["onset"] == "2024-05-01T14:03:00Z"
    assert data["findings"][0]["onset"] == "2024-05-01T14:03:00Z"
    assert data["findings"][0]["category"] == "infrastructure"


def test_json_times_are_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    report = bare_report(
        incident=Incident(
            id="i", description="d", detected_at=datetime(2024, 5, 1, 16, 10, 0, 250000, plus_two)
        )
    )
    assert report_to_dict(report)["incident"]["detected_at"] == "2024-05-01T14:10:00.250000Z"


def test_json_makes_free_form_values_safe() -> None:
    figures = {
        "nan": math.nan,
        "inf": -math.inf,
        "when": DETECTED,
        "tags": {"b", "a"},
        "severity": Severity.HIGH,
        "nested": {"x": [1, math.inf]},
    }
    report = bare_report(
        root_causes=[
            RootCause(
                rank=1,
                component="db",
                category=Category.PERFORMANCE,
                summary="",
                confidence=0.5,
                evidence=[evidence(figures=figures)],
            )
        ],
        investigators=[InvestigatorRun(name="x", status="ok", duration_s=math.nan)],
    )
    data = validate(report)
    assert data["root_causes"][0]["evidence"][0]["figures"] == {
        "nan": None,
        "inf": None,
        "when": "2024-05-01T14:10:00Z",
        "tags": ["a", "b"],
        "severity": "high",
        "nested": {"x": [1, None]},
    }
    assert data["investigators"][0]["duration_s"] is None
    assert "NaN" not in report.to_json()


def test_json_empty_audit_has_null_keys_and_declared_falls_back_to_hint() -> None:
    report = bare_report(
        incident=Incident(id="i", description="d", detected_at=DETECTED, severity_hint="critical"),
    )
    data = validate(report)
    assert data["audit"] == {"path": None, "records": None, "final_hash": None, "error": None}
    assert data["assessment"]["declared_severity"] == "critical"
    assert data["onset"] is None and data["generated_at"] is None


def test_render_json_is_deterministic_and_strict() -> None:
    first, second = render_json(full_report()), full_report().to_json()
    assert first == second
    assert json.loads(render_json(full_report(), indent=None)) == json.loads(first)

    def reject(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    json.loads(first, parse_constant=reject)


def test_to_dict_matches_to_json() -> None:
    report = full_report()
    assert report.to_dict() == json.loads(report.to_json())


# --- the Markdown template ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_markdown_follows_the_seed_template(name: str) -> None:
    report = REPORTS[name]()
    markdown = report.to_markdown()
    assert headings(markdown, "h2") == ["Incident Report"]
    titles = headings(markdown)
    assert titles[: len(FIXED_SECTIONS)] == FIXED_SECTIONS
    for label in ("**Time**:", "**Severity**:", "**Duration**:", "**Status**:"):
        assert sum(line.startswith(label) for line in markdown.splitlines()) == 1
    assert markdown.index("**Status**:") < markdown.index("### Summary")
    assert ("What was missing" in titles) == bool(report.source_problems or report.notes)
    assert titles[-1] == "Audit trail"


def test_markdown_severity_shows_declared_and_reasons_when_they_differ() -> None:
    line = next(line for line in full_report().to_markdown().splitlines() if line.startswith("**Severity**"))
    assert "Critical" in line and "declared High" in line and "the description says all users" in line
    same = REPORTS["same-severity"]().to_markdown()
    assert "**Severity**: High\n" in same


def test_markdown_duration_never_invents_an_end() -> None:
    ongoing = full_report().to_markdown()
    assert "**Duration**: still ongoing: 12 minutes since the onset 2024-05-01 14:03 UTC" in ongoing
    resolved = full_report(status="resolved").to_markdown()
    assert "**Duration**: at most 12 minutes" in resolved and "resolution time was not recorded" in resolved
    assert "**Status**: Resolved" in resolved
    unknown = bare_report().to_markdown()
    assert "**Duration**: not known: the onset could not be measured (still ongoing)" in unknown


def test_markdown_summary_says_what_broke_how_bad_why_and_what_to_do() -> None:
    summary = section(followed_report().to_markdown(), "Summary")
    assert "Website returning 502 errors for all users" in summary
    assert (
        "- **What broke**: `orders`, failing since 14:03 UTC (T-7m, 7 minutes before detection)." in summary
    )
    assert (
        "- **How bad**: severity **critical**; all (error rate: 0.41); data loss no (see Impact)." in summary
    )
    assert (
        f"- **Why**: change `{SHA[:12]}` “Lower the redis pool size” at 13:58 UTC, 5 minutes before the "
        "onset. Rank 1 of 2 hypotheses, confidence 0.82, category code." in summary
    )
    assert "- **Do now**: revert. Proposed by this run, not executed; needs approval." in summary
    assert "alice" not in summary  # the summary names systems, not people
    assert (
        "Incident `inc-42`, category **code**, focus `web`. "
        "Why this severity: the description says all users." in summary
    )
    assert "no root cause could be established" in section(bare_report().to_markdown(), "Summary")


def test_markdown_timeline_uses_offsets_and_clock_times() -> None:
    timeline = section(full_report().to_markdown(), "Timeline")
    assert timeline.strip().splitlines() == [
        f"- T-12m (13:58 UTC): Change {SHA[:12]} (source `commit`)",
        "- T-7m (14:03 UTC): Onset: first anomaly (source `correlate`)",
        "- T+0 (14:10 UTC): Detection: incident reported (source `incident`)",
    ]
    assert "- T+0 (14:10 UTC): Detection" in section(bare_report().to_markdown(), "Timeline")


def test_markdown_root_cause_shows_ranked_hypotheses_with_evidence() -> None:
    markdown = full_report().to_markdown()
    assert headings(markdown, "h4")[:2] == [
        "1. `orders` (code, confidence 0.82)",
        "2. `web` (performance, confidence 0.30)",
    ]
    root = section(markdown, "Root Cause")
    assert f"`{SHA[:12]}` “Lower the redis pool size” by alice at 13:58 UTC" in root
    assert '- Query: `level=ERROR message~"redis"`' in root
    assert "`errors: 0 → 412`" in root and "`p99_s: 0.12 → 3.4`" in root
    assert "```text\n2024-05-01T14:03:01Z ERROR [orders] ConnectionError" in root
    # Rank 2 and beyond in brief: one line per evidence item, the figures stay in the JSON.
    assert "- Evidence 1: ConnectionError to redis rose from 0 to 412 a minute (source `orders-logs`)" in root
    assert "`p99: 0.1 → 2`" not in root
    assert "No root-cause hypothesis" in section(bare_report().to_markdown(), "Root Cause")


def test_markdown_resolution_says_nothing_was_executed() -> None:
    resolution = section(full_report().to_markdown(), "Resolution")
    assert (
        "No action was executed by incident-flow; the steps below are proposed and need approval"
        in resolution
    )
    assert resolution.index("**Immediate mitigation**") < resolution.index("**Root-cause fix**")
    assert "Risk: low; approval needed: yes." in resolution
    assert f"- Command: `git revert --no-edit {SHA}`" in resolution


def test_markdown_command_is_shown_exactly_as_it_would_run() -> None:
    command = ["sh", "-c", "echo `id` | tee  /tmp/x; rm -rf '*'"]
    report = bare_report(
        mitigations=[Mitigation(action="run", target="h", rationale="r", risk="high", command=command)]
    )
    spans = [
        child.content
        for token in MD.parse(report.to_markdown())
        for child in token.children or []
        if child.type == "code_inline" and child.content.startswith("sh ")
    ]
    assert spans == [shlex.join(command)]
    assert shlex.split(spans[0]) == command
    hostile = bare_report(
        mitigations=[
            Mitigation(action="run", target="h", rationale="r", risk="high", command=["echo", "a\nb\x1b"])
        ]
    ).to_markdown()
    assert "`echo $'a\\x0ab\\x1b'`" in hostile


def test_markdown_impact_reads_user_impact() -> None:
    impact = section(full_report().to_markdown(), "Impact")
    assert "- Users affected: all (error rate: 0.41)" in impact
    assert "- Services impacted: `web`, `orders`" in impact
    assert "- Data loss: no" in impact
    bare = section(bare_report().to_markdown(), "Impact")
    assert "- Users affected: not measured" in bare
    assert "- Services impacted: not determined" in bare
    assert "- Data loss: not determined" in bare
    possible = bare_report(
        assessment=Assessment(
            severity="high",
            category="code",
            user_impact={"data_loss": {"value": "possible", "reason": "writes failed mid-transaction"}},
        )
    ).to_markdown()
    assert "- Data loss: possible (writes failed mid-transaction)" in possible


def test_markdown_action_items_are_typed_owned_and_rest_on_evidence() -> None:
    items = section(followed_report().to_markdown(), "Action Items").strip().splitlines()
    unassigned = (
        "Owner: unassigned (no CODEOWNERS rule matches services/orders/config.yaml); "
        "no git source to read a CODEOWNERS file from"
    )
    assert items[0] == (
        f"1. **Mitigate**: revert. Proposed by this run, not executed; needs approval. {unassigned}; "
        f"contact: alice (author of {SHA[:12]}). Rests on: Resolution; root cause 1."
    )
    assert items[1].startswith(
        f"2. **Prevent**: Fix what {SHA[:12]} changed in `services/orders/config.yaml` and add a test"
    )
    assert items[2].startswith(f"3. **Prevent**: {SHA[:12]} was a config change: validate configuration")
    assert items[3].startswith("4. **Prevent**: fix forward.")
    assert "Rests on: root cause 1 (change)." in items[1]
    assert items[4].startswith("5. **Process**: Restore access to the source `prom` (connection refused)")
    assert "the investigator `security` failed (KeyError: 'ip')" in items[5]
    assert "the investigator `performance` timed out" in items[6]
    assert len(items) == 7
    assert "No action item can be derived" in section(bare_report().to_markdown(), "Action Items")


def test_markdown_lessons_are_blameless_and_leave_the_rest_to_people() -> None:
    lessons = section(followed_report().to_markdown(), "Lessons Learned")
    assert "- Detection came 7 minutes after the onset (MTTD 7 minutes)." in lessons
    assert (
        f"- Change {SHA[:12]} was committed 5 minutes before the onset and reached production without a "
        "check that caught its effect." in lessons
    )
    assert "1 source(s) could not be read and 2 investigator(s) did not finish" in lessons
    assert "for the people involved" in lessons
    assert "alice" not in lessons
    assert "MTTD) is not known" in section(bare_report().to_markdown(), "Lessons Learned")


def alert_rule(**overrides: Any) -> AlertRule:
    values: dict[str, Any] = {
        "kind": "metric",
        "component": "orders",
        "signal": "orders_redis_errors",
        "source": "metrics",
        "expr": "rate(orders_redis_errors[2m]) > 2.8",
        "comparison": ">",
        "threshold": 2.8,
        "baseline": 0.1,
        "level": 80.0,
        "window_s": 120,
        "for_s": 60,
        "rule": 'groups:\n  - name: x\n    rules:\n      - alert: OrdersRedisErrorsHigh\n        expr: "x"',
        "basis": ["/root_causes/0/evidence/0"],
        "unit": "/s",
        "peak": 91.0,
        "would_fire_at": DETECTED - timedelta(minutes=6),
        "fired_before_onset": 0,
        "ramp_s": 30.0,
    }
    values.update(overrides)
    return AlertRule(**values)


def test_markdown_prevention_gives_the_alert_to_paste_and_when_it_would_have_fired() -> None:
    prevention = section(full_report(monitoring=[alert_rule()]).to_markdown(), "Prevention")
    assert (
        "1. **Metric alert on `orders_redis_errors`** in `orders`: `rate(orders_redis_errors[2m]) > 2.8` "
        "for 1m. Before the onset the series sat at 0.1 /s, after it at 80 /s (peak 91 /s); the threshold "
        "lies between. Replayed over the recorded series it fires at 14:04 UTC (T-6m), 6 minutes before "
        "detection, and never in the look-back before the onset." in prevention
    )
    assert "   ```yaml\n   groups:\n     - name: x\n" in prevention
    unreplayed = full_report(
        monitoring=[alert_rule(would_fire_at=None, fired_before_onset=None)]
    ).to_markdown()
    assert "It was not replayed" in section(unreplayed, "Prevention")
    assert "suggests no alert" in section(bare_report().to_markdown(), "Prevention")


def test_an_alert_threshold_must_lie_between_baseline_and_level() -> None:
    with pytest.raises(ValueError, match="between the baseline"):
        alert_rule(threshold=100.0)
    with pytest.raises(ValueError, match="JSON pointer"):
        alert_rule(basis=["root_causes/0"])
    with pytest.raises(ValueError, match="evidence it rests on"):
        ActionItem(kind="prevent", text="Add a test", basis=[])


def test_markdown_investigators_table_and_findings() -> None:
    markdown = full_report().to_markdown()
    table = section(markdown, "Investigators")
    assert "| security | failed | 0.1 s | 0 | KeyError: 'ip' |" in table
    assert "| performance | timed\\_out | 60.0 s | 0 |  |" not in table  # status values are not escaped
    assert "| performance | timed_out | 60.0 s | 0 |  |" in table
    findings = section(markdown, "Findings")
    assert "#### ops" in findings and "(confidence 0.80" in findings
    assert "No investigator ran." in section(bare_report().to_markdown(), "Investigators")


def test_markdown_missing_and_audit() -> None:
    markdown = full_report().to_markdown()
    missing = section(markdown, "What was missing")
    assert "- `prom`: connection refused" in missing and "ran out of its budget" in missing
    audit = section(markdown, "Audit trail")
    assert "- Path: `/var/audit/inc-42.jsonl`" in audit and "- Records: 17" in audit
    assert f"- Final hash: `{'ab' * 32}`" in audit
    failed = section(REPORTS["audit-failed"]().to_markdown(), "Audit trail")
    assert "could not be written: permission denied: /var/audit" in failed
    assert "No audit trail was recorded" in section(bare_report().to_markdown(), "Audit trail")


def test_markdown_extensions_nest_under_their_own_heading() -> None:
    report = bare_report(
        extensions=[
            {"title": "Feature flags", "markdown": "# Flags\n\n```sh\n# not a heading\n```\n\nflag `x` on"},
            {"title": "Summary", "markdown": "Title\n===\n<!-- unclosed\n```\nopen fence"},
            {"title": "Last", "markdown": ""},
        ]
    )
    markdown = report.to_markdown()
    titles = headings(markdown)
    assert titles[len(FIXED_SECTIONS) :] == ["Audit trail", "Feature flags", "Summary (extension)", "Last"]
    assert titles.count("Summary") == 1
    assert "#### Flags" in markdown and "```sh\n# not a heading\n```" in markdown


def test_markdown_is_deterministic() -> None:
    assert render_markdown(full_report()) == render_markdown(full_report())


# --- untrusted text -------------------------------------------------------------------------------


def hostile_report() -> Report:
    """Every text field that can come from logs, users or plugins holds Markdown, HTML and ANSI."""
    report = full_report()
    bad_evidence = evidence(
        summary=EVIL, source=EVIL, kind=EVIL, query=EVIL, lines=[EVIL, "````", EVIL], figures={EVIL: EVIL}
    )
    change = report.root_causes[1].change
    assert change is not None
    bad_change = attrs.evolve(change, summary=EVIL, author=EVIL, files=[EVIL])
    return attrs.evolve(
        report,
        incident=attrs.evolve(report.incident, description=EVIL, id=EVIL, system=EVIL),
        assessment=attrs.evolve(
            report.assessment,
            reasons=[EVIL],
            affected_components=[EVIL],
            user_impact={EVIL: EVIL, "data_loss": EVIL},
            priority_actions=[EVIL],
        ),
        root_causes=[
            attrs.evolve(
                cause,
                summary=EVIL,
                component=EVIL,
                indicator=EVIL,
                evidence=[bad_evidence],
                change=bad_change,
            )
            for cause in report.root_causes
        ],
        findings=[
            attrs.evolve(f, title=EVIL, summary=EVIL, investigator=EVIL, evidence=[bad_evidence])
            for f in report.findings
        ],
        mitigations=[
            attrs.evolve(m, action=EVIL, target=EVIL, rationale=EVIL, command=[EVIL])
            for m in report.mitigations
        ],
        timeline=[attrs.evolve(event, event=EVIL, source=EVIL) for event in report.timeline],
        investigators=[attrs.evolve(run, name=EVIL, error=EVIL) for run in report.investigators],
        source_problems=[SourceProblem(EVIL, EVIL)],
        notes=[EVIL],
        audit={"path": EVIL, "records": 3, "final_hash": EVIL, "error": EVIL},
    )


def test_hostile_text_cannot_change_the_structure() -> None:
    clean, hostile = full_report().to_markdown(), hostile_report().to_markdown()
    assert headings(hostile) == headings(clean)
    assert headings(hostile, "h2") == ["Incident Report"]
    assert len(headings(hostile, "h4")) == len(headings(clean, "h4"))
    assert html_tokens(hostile) == []
    assert "<script>" not in MD.render(hostile)
    assert "\x1b" not in hostile and "\x07" not in hostile and "\r" not in hostile
    for kind in ("link_open", "em_open", "strong_open"):
        clean_count = sum(c.type == kind for t in MD.parse(clean) for c in t.children or [])
        hostile_count = sum(c.type == kind for t in MD.parse(hostile) for c in t.children or [])
        assert hostile_count == clean_count, kind
    validate(hostile_report())


def test_hostile_text_keeps_the_investigators_table_shape() -> None:
    tokens = MD.parse(section(hostile_report().to_markdown(), "Investigators"))
    rows = [i for i, tok in enumerate(tokens) if tok.type == "tr_open"]
    assert len(rows) == 1 + 3
    cells_per_row = []
    for start in rows:
        end = next(i for i in range(start, len(tokens)) if tokens[i].type == "tr_close")
        cells_per_row.append(sum(tok.type in ("th_open", "td_open") for tok in tokens[start:end]))
    assert cells_per_row == [5, 5, 5, 5]


def test_log_lines_stay_inside_a_longer_fence() -> None:
    root = section(hostile_report().to_markdown(), "Root Cause")
    fences = [tok for tok in MD.parse(root) if tok.type == "fence"]
    assert fences and all(tok.markup == "`````" for tok in fences)
    assert "<script>alert(1)</script>" in fences[0].content  # verbatim, minus the ANSI colours
    assert "boom" in fences[0].content and "\x1b" not in fences[0].content


# --- property-based -------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES)
TEXT = st.text(max_size=30) | st.sampled_from([EVIL, "### Summary", "1. x", "---", "<b>", "`", "a\n===\n"])
NAME = TEXT.filter(lambda text: bool(text.strip()))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT | TIMES
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
FIGURES = st.dictionaries(TEXT, VALUES, max_size=3)


@st.composite
def evidences(draw: st.DrawFn) -> Evidence:
    lines = draw(st.lists(TEXT, max_size=3))
    figures = draw(FIGURES)
    query = draw(st.none() | TEXT)
    if not lines and not figures and not query:
        query = draw(NAME)
    return Evidence(
        source=draw(NAME),
        kind=draw(NAME),
        summary=draw(NAME),
        at_from=draw(st.none() | TIMES),
        at_to=draw(st.none() | TIMES),
        query=query,
        lines=lines,
        figures=figures,
    )


CHANGES = st.builds(
    Change,
    id=NAME | st.just(SHA),
    summary=TEXT,
    at=TIMES,
    author=st.none() | TEXT,
    kind=st.sampled_from(["commit", "deploy"]) | TEXT,
    component=st.none() | TEXT,
    files=st.lists(TEXT, max_size=7),
)
CONFIDENCE = st.floats(min_value=0.0, max_value=1.0)
SEVERITIES = st.sampled_from(Severity)
CATEGORIES = st.sampled_from(Category)

FINDINGS = st.builds(
    Finding,
    investigator=NAME,
    component=NAME,
    title=NAME,
    summary=TEXT,
    confidence=CONFIDENCE,
    evidence=st.lists(evidences(), min_size=1, max_size=2),
    category=st.none() | CATEGORIES,
    severity=st.none() | SEVERITIES,
    symptom=st.booleans(),
    indicator=st.none() | TEXT,
    onset=st.none() | TIMES,
    change=st.none() | CHANGES,
    depends_on=st.none() | TEXT,
)
ROOT_CAUSES = st.builds(
    RootCause,
    rank=st.integers(min_value=1, max_value=5),
    component=NAME,
    category=CATEGORIES,
    summary=TEXT,
    confidence=CONFIDENCE,
    evidence=st.lists(evidences(), max_size=2),
    indicator=st.none() | TEXT,
    change=st.none() | CHANGES,
)
MITIGATIONS = st.builds(
    Mitigation,
    action=NAME,
    target=TEXT,
    rationale=TEXT,
    risk=st.sampled_from(["low", "medium", "high"]),
    requires_approval=st.booleans(),
    command=st.none() | st.lists(TEXT, max_size=4),
    kind=st.sampled_from(["immediate", "fix"]),
)
RUNS = st.builds(
    InvestigatorRun,
    name=TEXT,
    status=st.sampled_from(InvestigatorStatus),
    duration_s=st.floats(min_value=0) | st.just(math.nan),
    error=st.none() | TEXT,
    findings=st.integers(min_value=0, max_value=99),
)
AUDITS = st.fixed_dictionaries(
    {},
    optional={
        "path": st.none() | TEXT,
        "records": st.none() | st.integers(min_value=0) | TEXT,
        "final_hash": st.none() | TEXT,
        "error": st.none() | TEXT,
    },
)
EXTENSIONS = st.fixed_dictionaries(
    {"title": st.sampled_from([*FIXED_SECTIONS, "What was missing", "Audit trail"]) | TEXT, "markdown": TEXT}
)
POINTERS = st.sampled_from(
    ["/onset", "/root_causes/0", "/root_causes/0/evidence/1", "/root_causes/9/change", "/monitoring/0",
     "/findings/0/evidence/0", "/mitigations/1", "/assessment/user_impact/data_loss", "/x/~1y", "/"]
)  # fmt: skip
ACTION_ITEMS = st.builds(
    ActionItem,
    kind=st.sampled_from(["mitigate", "prevent", "process"]),
    text=NAME,
    basis=st.lists(POINTERS, min_size=1, max_size=3),
    owners=st.lists(TEXT, max_size=2),
    owner_source=TEXT,
    contact=st.none() | TEXT,
    component=st.none() | TEXT,
    indicator=st.none() | TEXT,
)


@st.composite
def alert_rules(draw: st.DrawFn) -> AlertRule:
    baseline = draw(st.floats(min_value=-1e6, max_value=1e6))
    level = draw(st.floats(min_value=-1e6, max_value=1e6).filter(lambda v: v != baseline))
    low, high = sorted((baseline, level))
    threshold = draw(st.floats(min_value=low, max_value=high).filter(lambda v: v != level))
    return AlertRule(
        kind=draw(st.sampled_from(["metric", "log"])),
        component=draw(NAME),
        signal=draw(NAME),
        source=draw(TEXT),
        expr=draw(NAME),
        comparison=draw(st.sampled_from([">", "<"])),
        threshold=threshold,
        baseline=baseline,
        level=level,
        window_s=draw(st.integers(min_value=0, max_value=3600)),
        for_s=draw(st.integers(min_value=0, max_value=3600)),
        rule=draw(NAME),
        basis=draw(st.lists(POINTERS, min_size=1, max_size=2)),
        unit=draw(st.none() | TEXT),
        peak=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
        would_fire_at=draw(st.none() | TIMES),
        fired_before_onset=draw(st.none() | st.integers(min_value=0, max_value=9)),
        ramp_s=draw(st.none() | st.floats(min_value=0, max_value=1e5)),
    )


REPORT_STRATEGY = st.builds(
    Report,
    incident=st.builds(
        Incident,
        id=NAME,
        description=NAME,
        detected_at=TIMES,
        severity_hint=st.none() | SEVERITIES,
        system=st.none() | TEXT,
    ),
    assessment=st.builds(
        Assessment,
        severity=SEVERITIES,
        category=CATEGORIES,
        reasons=st.lists(TEXT, max_size=2),
        affected_components=st.lists(TEXT, max_size=3),
        user_impact=st.dictionaries(
            st.sampled_from(["users_affected", "data_loss", "data_loss_reason"]) | TEXT, VALUES, max_size=3
        ),
        priority_actions=st.lists(TEXT, max_size=2),
        declared_severity=st.none() | SEVERITIES,
    ),
    root_causes=st.lists(ROOT_CAUSES, max_size=3),
    findings=st.lists(FINDINGS, max_size=3),
    mitigations=st.lists(MITIGATIONS, max_size=3),
    timeline=st.lists(st.builds(TimelineEvent, at=TIMES, event=NAME, source=TEXT), max_size=4),
    investigators=st.lists(RUNS, max_size=3),
    source_problems=st.lists(st.builds(SourceProblem, source=TEXT, error=TEXT), max_size=2),
    notes=st.lists(TEXT, max_size=2),
    onset=st.none() | TIMES,
    status=st.sampled_from(["resolved", "mitigated", "ongoing"]),
    audit=AUDITS,
    extensions=st.lists(EXTENSIONS, max_size=2),
    generated_at=st.none() | TIMES,
    action_items=st.lists(ACTION_ITEMS, max_size=3),
    monitoring=st.lists(alert_rules(), max_size=2),
)
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY_SETTINGS
@given(REPORT_STRATEGY)
def test_any_report_validates_against_the_schema(report: Report) -> None:
    data = validate(report)
    assert data == report_to_dict(report)
    assert [cause["rank"] for cause in data["root_causes"]] == sorted(
        cause.rank for cause in report.root_causes
    )


@PROPERTY_SETTINGS
@given(REPORT_STRATEGY)
def test_any_report_renders_every_section_exactly_once(report: Report) -> None:
    markdown = report.to_markdown()
    titles = headings(markdown)
    for title in SEED_SECTIONS:
        assert titles.count(title) == 1, title
    expected = [*FIXED_SECTIONS]
    if report.source_problems or report.notes:
        expected.append("What was missing")
    expected.append("Audit trail")
    assert titles[: len(expected)] == expected
    assert len(titles) == len(expected) + len(report.extensions)
    assert headings(markdown, "h2") == ["Incident Report"]
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", markdown)
    # Without plugin Markdown, nothing in the report may be raw HTML.
    assert html_tokens(attrs.evolve(report, extensions=()).to_markdown()) == []


# --- a real bad deploy, end to end ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_deploy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, str, dict[str, Any]]:
    """The scenario corpus's bad deploy (seed 0) through the real pipeline: the report, its Markdown
    normalised as docs/report.md shows it, and its JSON."""
    from report_example import example_report, normalise

    work = tmp_path_factory.mktemp("bad-deploy")
    report, case = example_report(work)
    return report, normalise(report.to_markdown(), case, work / "audit"), report_to_dict(report)


def test_the_docs_example_is_what_the_code_produces(bad_deploy: tuple[Report, str, dict[str, Any]]) -> None:
    from report_example import DOCS, docs_block

    assert docs_block(bad_deploy[1]) in DOCS.read_text(encoding="utf-8"), (
        "docs/report.md's example is stale: run `python -m tests.report_example --write`"
    )


def test_a_bad_deploy_report_reads_from_cause_to_follow_ups(
    bad_deploy: tuple[Report, str, dict[str, Any]],
) -> None:
    _, markdown, data = bad_deploy
    VALIDATOR.validate(data)
    sha = data["root_causes"][0]["change"]["id"]
    assert headings(markdown)[: len(FIXED_SECTIONS)] == FIXED_SECTIONS
    summary = section(markdown, "Summary")
    for lead in (
        "- **What broke**: `catalog`",
        "- **How bad**:",
        f"- **Why**: change `{sha[:12]}`",
        "- **Do now**: Revert",
    ):
        assert lead in summary
    assert [item["kind"] for item in data["action_items"]][:2] == ["mitigate", "prevent"]
    assert "data_loss" not in str(data["action_items"])  # a client disconnect loses no data
    assert any(item["owners"] == ["@shopco/catalog-team"] for item in data["action_items"])
    assert "Root cause identified: catalog" in section(markdown, "Timeline")
    assert data["monitoring"][0]["expr"] in section(markdown, "Prevention")
    for item in data["action_items"] + data["monitoring"]:
        for pointer in item["basis"]:
            target: Any = data
            for token in pointer.lstrip("/").split("/"):
                target = target[int(token)] if isinstance(target, list) else target[token]


def _json_facts(data: Any) -> tuple[set[str], list[float], list[datetime]]:
    """Every piece of text, number and time the JSON report holds."""
    texts: set[str] = set()
    numbers: list[float] = []
    times: list[datetime] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            numbers.append(float(value))
        elif isinstance(value, str):
            texts.add(value)
            numbers.extend(float(n) for n in re.findall(r"\d+(?:\.\d+)?", value))
            if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
                times.append(datetime.fromisoformat(value.replace("Z", "+00:00")))

    walk(data)
    return texts, numbers, times


def test_every_sha_and_figure_of_the_bad_deploy_markdown_is_in_its_json(
    bad_deploy: tuple[Report, str, dict[str, Any]],
) -> None:
    _, markdown, data = bad_deploy
    texts, numbers, times = _json_facts(data)
    blob = "\n".join(texts)
    for sha in set(re.findall(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,64}\b", markdown)):
        assert sha in blob, f"{sha} is in the Markdown but not in the JSON"
    # Durations and clock times are read off the JSON's times; every other figure is one of its numbers.
    spans = {round(abs((a - b).total_seconds()) / unit) for a in times for b in times for unit in (1, 60)}
    derived = spans | {t.hour for t in times} | {t.minute for t in times}
    derived |= {round(n / 60) for n in numbers}
    written = "\n".join(
        section(markdown, title) for title in ("Summary", "Action Items", "Lessons Learned", "Prevention")
    )
    written = re.sub(r"^\d+\. ", "", written, flags=re.M)  # list numbers
    for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", written):
        value = float(token)
        digits = len(token.split(".")[1]) if "." in token else 0
        assert (
            any(math.isclose(value, round(n, digits)) or f"{n:.3g}" == token for n in numbers)
            or value in derived
        ), f"{token} is in the Markdown but cannot be traced to the JSON"
