"""Between phases 2 and 3: fuse every investigator's findings into ranked root-cause hypotheses.

Components are ranked by the weight of their evidence. Independent findings that agree
combine like independent witnesses (noisy-or: ``1 - prod(1 - c)``), so two investigators at 0.6
make a stronger case than one at 0.7. A finding that only shows a symptom (latency, an error rate)
weighs half as much as one that names a cause. When the errors of several components name one
dependency (``Finding.depends_on``), that dependency gains the weight of the blame and its callers
lose some: the failed dependency is the cause, they are its victims. Blame follows a chain of
victims (a gateway's errors name a service whose errors name its database) to where it ends. A
cause's confidence is its share of the odds among all the hypotheses and "none of them", so two
equally strong rivals are each near one half, not both near certain. The odds are raised to
``SHARPNESS`` first (a temperature, as in temperature scaling), fitted so the confidence means what it
says: ``benchmarks/calibration.py`` fits it on scenario seeds never used to tune the analyzers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from incident_flow.model import Category, Evidence, Finding, RootCause

__all__ = [
    "MIN_CONTENDER",
    "NOTABLE",
    "SHARPNESS",
    "STRONG_ATTACK",
    "contenders",
    "correlate",
    "settle_onset",
]

SYMPTOM_WEIGHT = 0.5
VICTIM_WEIGHT = 0.5
BLAME_WEIGHT = 0.8
MAX_SCORE = 0.99
#: No ranking is certain: the most a cause's confidence claims (0.99, "one time in a hundred wrong").
MAX_CONFIDENCE = 0.99
MAX_CAUSES = 5
#: The power the odds are raised to before they are shared (1 = plain share). Set from the output
#: of ``benchmarks/calibration.py`` (docs/benchmarks.md, "Calibration of the rank-1 confidence").
SHARPNESS = 3.5
#: The least confidence for which a runner-up is still a contender (see :func:`contenders`).
MIN_CONTENDER = 0.1
#: A runner-up attack this sure of itself is acted on whatever leads: it is a second incident,
#: not a rival explanation of the first (a login spray and a working SQL injection at once).
STRONG_ATTACK = 0.8
#: A finding below this confidence is context (a steady background of probes, an old change): it
#: is kept in the findings but does not make a component "affected" nor an event of the timeline.
NOTABLE = 0.3


def contenders(
    causes: Sequence[RootCause], findings: Sequence[Finding] = (), limit: int = 3
) -> list[RootCause]:
    """Rank 1 and the runners-up worth acting on: those at :data:`MIN_CONTENDER` or more, and
    attacks with a finding of their own at :data:`STRONG_ATTACK` or more. Acting on, or reasoning
    from, a 2% rival explanation during an outage costs attention the leading cause needs."""
    attacked = {
        f.component
        for f in findings
        if f.category is Category.SECURITY and not f.symptom and f.confidence >= STRONG_ATTACK
    }
    return [
        cause
        for cause in causes[:limit]
        if cause is causes[0]
        or cause.confidence >= MIN_CONTENDER
        or (cause.category is Category.SECURITY and cause.component in attacked)
    ]


def _noisy_or(confidences: Sequence[float]) -> float:
    remaining = 1.0
    for c in confidences:
        remaining *= 1.0 - c
    return 1.0 - remaining


def correlate(findings: Sequence[Finding], *, sharpness: float = SHARPNESS) -> list[RootCause]:
    """Rank the components that findings point at; rank 1 is the most likely cause.

    ``sharpness`` only changes the confidences, never the order (see :data:`SHARPNESS`).
    """
    by_component: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_component[finding.component].append(finding)
    blamed: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.depends_on and finding.depends_on != finding.component:
            blamed[finding.depends_on].append(finding)

    def own_score(component: str) -> float:
        return _noisy_or(
            [f.confidence * (SYMPTOM_WEIGHT if f.symptom else 1.0) for f in by_component[component]]
        )

    def is_victim(component: str) -> bool:
        # Its errors name a dependency, and nothing of its own explains them: no change of its
        # own, no attack on it, no load or exhaustion of its own (a surge into it, its pool
        # exhausted) at least as sure as the errors that name the dependency.
        own = by_component.get(component, [])
        naming = max((f.confidence for f in own if f.depends_on and f.depends_on != component), default=None)
        return naming is not None and not any(
            f.change is not None
            or (f.category is Category.SECURITY and not f.symptom)
            or (f.category is Category.PERFORMANCE and not f.symptom and f.confidence >= naming)
            for f in own
        )

    def culprits(component: str, seen: frozenset[str]) -> set[str]:
        # Where blame reaching ``component`` ends: there, unless it is a victim too; then with the
        # dependencies it names (a gateway's errors come from a service that failed on a database).
        if component in seen or not is_victim(component):
            return {component}
        named = {f.depends_on for f in by_component[component] if f.depends_on and f.depends_on != component}
        ends: set[str] = set()
        for dependency in named:
            ends |= culprits(dependency, seen | {component})
        return ends or {component}

    # The victims whose blame ends at each component, following chains of victims.
    blamers: dict[str, set[str]] = defaultdict(set)
    for dependency, naming in blamed.items():
        for caller in {f.component for f in naming}:
            if is_victim(caller):
                # A chain that leads back to the caller ends at the dependency it named.
                for end in culprits(dependency, frozenset({caller})) - {caller} or {dependency}:
                    blamers[end].add(caller)

    scored: list[tuple[float, str, list[Finding]]] = []
    for component in set(by_component) | set(blamed):
        own = by_component.get(component, [])
        weights = [own_score(component)] if own else []
        if is_victim(component):
            weights = [w * VICTIM_WEIGHT for w in weights]
        # Blame from each victim calling this component: its evidence of failure transfers here,
        # since what failed is the dependency, not its callers.
        for caller in blamers.get(component, ()):
            weights.append(BLAME_WEIGHT * own_score(caller))
        score = _noisy_or(weights)
        if score > 0:
            scored.append((score, component, own or blamed.get(component, [])))

    scored.sort(key=lambda item: (-item[0], item[1]))
    # A score says how strong one hypothesis's evidence is; the confidence says how likely it is
    # *the* cause, so it is shared among the rivals: in odds, against "none of these" (the 1).
    odds = [(min(score, MAX_SCORE) / (1.0 - min(score, MAX_SCORE))) ** sharpness for score, _, _ in scored]
    total_odds = 1.0 + sum(odds)
    causes: list[RootCause] = []
    for rank, ((_, component, supporting), cause_odds) in enumerate(
        zip(scored[:MAX_CAUSES], odds, strict=False), 1
    ):
        lead = max(supporting, key=lambda f: (not f.symptom, f.change is not None, f.confidence))
        evidence: list[Evidence] = []
        for finding in sorted(supporting, key=lambda f: -f.confidence):
            for item in finding.evidence:
                if item not in evidence:
                    evidence.append(item)
        category = _category(supporting, lead)
        # The change the most confident causal finding names, whichever investigator found it.
        with_change = [f for f in supporting if f.change is not None]
        change = max(with_change, key=lambda f: (not f.symptom, f.confidence)).change if with_change else None
        summary = lead.summary or lead.title
        if lead.component != component:
            summary = f"{component} is named by the errors of {lead.component}: {lead.title}"
        causes.append(
            RootCause(
                rank=rank,
                component=component,
                category=category,
                indicator=lead.indicator,
                change=change,
                summary=summary,
                confidence=round(min(cause_odds / total_odds, MAX_CONFIDENCE), 3),
                evidence=evidence[:12],
            )
        )
    return causes


def _category(supporting: Sequence[Finding], lead: Finding) -> Category:
    # A shipped change makes the cause "code", unless the finding that names it says otherwise
    # (a change to a secrets file found by the security investigator stays "security").
    for finding in supporting:
        if finding.change is not None:
            return finding.category if finding.category not in (None, Category.CODE) else Category.CODE
    if lead.category is not None:
        return lead.category
    # Otherwise the most telling finding that has a view: causes before symptoms, then confidence.
    for finding in sorted(supporting, key=lambda f: (f.symptom, -f.confidence)):
        if finding.category is not None:
            return finding.category
    return Category.INFRASTRUCTURE


def settle_onset(causes: Sequence[RootCause], findings: Sequence[Finding]) -> datetime | None:
    """One onset for the report: the earliest the rank-1 cause's findings saw, else any finding's."""
    if causes:
        top = causes[0].component
        onsets = [f.onset for f in findings if f.onset is not None and f.component == top]
        if onsets:
            return min(onsets)
    onsets = [f.onset for f in findings if f.onset is not None and not f.symptom]
    return min(onsets) if onsets else None
