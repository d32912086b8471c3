"""Assessment follows the seed's definitions; correlation ranks the cause above its victims."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_flow import Category, Evidence, Finding, Incident, Severity
from incident_flow.assess import assess_description, reassess
from incident_flow.correlate import contenders, correlate

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)


def _incident(text: str, **kw: object) -> Incident:
    return Incident(id="i", description=text, detected_at=AT, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "severity", "category"),
    [
        ("Website returning 502 errors for all users", Severity.CRITICAL, Category.INFRASTRUCTURE),
        ("API response times increased 10x in last hour", Severity.HIGH, Category.PERFORMANCE),
        ("Payment processing failing for some users", Severity.HIGH, Category.PERFORMANCE),
        ("Unusual spike in failed login attempts", Severity.HIGH, Category.SECURITY),
        ("Search feels a little slow", Severity.MEDIUM, Category.PERFORMANCE),
        ("Errors since the 14:00 deploy", Severity.HIGH, Category.CODE),
    ],
)
def test_the_seed_examples_are_triaged(text: str, severity: Severity, category: Category) -> None:
    assessment = assess_description(_incident(text))
    assert assessment.severity is severity
    assert assessment.category is category
    assert assessment.reasons


def test_a_declared_severity_is_kept_beside_the_assessed_one() -> None:
    assessment = assess_description(_incident("Search feels a little slow", severity_hint="critical"))
    assert assessment.severity is Severity.MEDIUM
    assert assessment.declared_severity is Severity.CRITICAL


def _finding(component: str, confidence: float, **kw: object) -> Finding:
    return Finding(
        investigator=str(kw.pop("investigator", "ops")),
        component=component,
        title=f"{component} errors",
        summary="",
        confidence=confidence,
        evidence=[Evidence(source="s", kind="k", summary="x", figures={"after": 10})],
        **kw,  # type: ignore[arg-type]
    )


def test_a_failed_dependency_ranks_above_its_callers() -> None:
    findings = [
        _finding("checkout", 0.85, depends_on="redis", category="infrastructure"),
        _finding("cart", 0.8, depends_on="redis", category="infrastructure"),
        _finding("gateway", 0.8, symptom=True),
        _finding("redis", 0.6, category="infrastructure"),
    ]
    causes = correlate(findings)
    assert [c.component for c in causes][:1] == ["redis"]
    assert causes[0].category is Category.INFRASTRUCTURE


def test_blame_follows_a_chain_of_victims_to_where_it_ends() -> None:
    # The gateway's errors name shipping, whose errors name the external API it calls.
    findings = [
        _finding("gateway", 0.9, symptom=True, depends_on="shipping"),
        _finding("gateway", 0.85, symptom=True),
        _finding("shipping", 0.7, depends_on="api.rates.example", category="infrastructure"),
        _finding("shipping", 0.8, symptom=True),
    ]
    causes = correlate(findings)
    assert [c.component for c in causes][:2] == ["api.rates.example", "shipping"]
    # A chain that loops back (a names b, b names a) stops where it started.
    looped = correlate([_finding("a", 0.8, depends_on="b"), _finding("b", 0.7, depends_on="a")])
    assert {c.component for c in looped} == {"a", "b"}


def test_agreeing_investigators_make_a_stronger_case() -> None:
    causes = correlate(
        [
            _finding("orders", 0.6, investigator="ops"),
            _finding("orders", 0.6, investigator="debugger"),
            _finding("payments", 0.7),
        ]
    )
    assert causes[0].component == "orders"


def test_reassess_raises_severity_from_measured_findings() -> None:
    initial = assess_description(_incident("Search feels a little slow"))
    findings = [_finding("search", 0.8, severity="critical", category="infrastructure")]
    measured = reassess(initial, correlate(findings), findings)
    assert measured.severity is Severity.CRITICAL
    assert any("measured" in r for r in measured.reasons)
    assert measured.affected_components[0] == "search"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.floats(min_value=0.0, max_value=1.0),
            st.booleans(),
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "x"])),
        ),
        max_size=20,
    )
)
def test_ranking_invariants(items: list[tuple[str, float, bool, str | None]]) -> None:
    findings = [_finding(c, conf, symptom=sym, depends_on=dep) for c, conf, sym, dep in items]
    causes = correlate(findings)
    assert [c.rank for c in causes] == list(range(1, len(causes) + 1))
    assert all(0.0 <= c.confidence <= 1.0 for c in causes)
    assert [c.confidence for c in causes] == sorted((c.confidence for c in causes), reverse=True)
    assert len({c.component for c in causes}) == len(causes)
    assert all(c.evidence for c in causes)


def test_an_attacked_component_is_no_victim_of_the_dependency_it_names() -> None:
    findings = [
        _finding("shipping", 0.9, category="security"),
        _finding("shipping", 0.6, depends_on="postgres", category="infrastructure"),
    ]
    assert correlate(findings)[0].component == "shipping"


def test_a_strong_second_attack_is_a_contender_and_a_faint_rival_is_not() -> None:
    findings = [
        _finding("accounts", 0.95, category="security"),
        _finding("accounts", 0.9, category="security", investigator="security"),
        _finding("web", 0.9, category="security", investigator="security"),  # a working injection
        _finding("cache", 0.6, category="performance"),  # a rival explanation, far behind
        _finding("accounts", 0.99, category="security", investigator="debugger"),
    ]
    causes = correlate(findings)
    assert causes[0].component == "accounts"
    weak = {c.component for c in causes[1:] if c.confidence < 0.1}
    assert {"web", "cache"} <= weak  # both faint next to accounts' odds
    chosen = {c.component for c in contenders(causes, findings, limit=5)}
    assert chosen == {"accounts", "web"}
