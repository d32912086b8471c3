"""Phase 3, mitigation: what to do now for the leading causes, and the permanent fix.

The seed's lists per category (infrastructure: scale, restart, fix configuration; code: revert,
hotfix, feature flag; performance: optimise queries, caching, pools; security: block, patch,
rotate). Nothing here runs anything: every step is a proposal, and those that change production
need approval. Commands are argument lists built from the evidence, never shell strings, so text
from a log can never become a command of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import attrs

from incident_flow.correlate import contenders
from incident_flow.model import Category, Finding, Mitigation, RootCause

__all__ = ["assign_ids", "propose_mitigations", "step_id"]


# Per category: the immediate step (action, risk; always needs approval), then the permanent fix
# (action, rationale, risk, needs approval). The seed's lists for each kind of cause.
_GENERIC: dict[Category, tuple[tuple[str, str], tuple[str, str, str, bool]]] = {
    Category.INFRASTRUCTURE: (
        ("Restart or fail over {target}, and scale it out if it is saturated", "medium"),
        (
            "Repair the failing resource behind {target} (capacity, configuration, dependency)",
            "restarts buy time; the resource that failed must be fixed",
            "low",
            False,
        ),
    ),
    Category.PERFORMANCE: (
        ("Shed or rate-limit load on {target} and raise its capacity (instances, pool size)", "low"),
        (
            "Remove the bottleneck in {target} (slow query, missing index, lock, pool size)",
            "capacity buys time; the bottleneck is the cause",
            "low",
            False,
        ),
    ),
    Category.SECURITY: (
        ("Block the offending sources at the edge of {target}", "low"),
        (
            "Rotate the credentials involved and patch what was exploited on {target}",
            "blocking stops this attacker; rotation and patching close the door",
            "medium",
            True,
        ),
    ),
}


def _for_cause(cause: RootCause) -> list[Mitigation]:
    target = cause.component
    why = f"rank {cause.rank} cause ({cause.confidence:.0%}): {cause.summary}"
    change = cause.change
    if change is not None:
        if change.kind in ("commit", "merge"):
            short = change.id[:12]
            # A merge is reverted against its first parent: the branch it landed on.
            revert = (
                "git",
                "revert",
                "--no-edit",
                *(("-m", "1") if change.kind == "merge" else ()),
                change.id,
            )
            return [
                Mitigation(
                    action=f"Revert {change.kind} {short} ({change.summary}) on a new branch revert-{short} "
                    "(the checkout is left as it is; nothing is pushed)",
                    target=target,
                    rationale=why,
                    risk="medium",
                    requires_approval=True,
                    command=revert,
                    # ``revert-<sha12>``: the id names the exact commit, so approving it can never
                    # approve the revert of another one. Ids that are not hex get a derived id.
                    id=f"revert-{short.lower()}" if _HEX.fullmatch(short.lower()) else None,
                ),
                Mitigation(
                    action=f"Fix the defect introduced by {short} and ship it with a test",
                    target=target,
                    rationale="the revert restores service; the fix removes the cause",
                    risk="low",
                    requires_approval=False,
                    kind="fix",
                ),
            ]
        return [
            Mitigation(
                action=f"Roll back {change.kind} {change.id} ({change.summary})",
                target=target,
                rationale=why,
                risk="medium",
                requires_approval=True,
            )
        ]
    generic = _GENERIC.get(cause.category)
    if generic is not None:
        (action, risk), (fix, fix_why, fix_risk, fix_approval) = generic
        return [
            Mitigation(
                action=action.format(target=target),
                target=target,
                rationale=why,
                risk=risk,
                requires_approval=True,
            ),
            Mitigation(
                action=fix.format(target=target),
                target=target,
                rationale=fix_why,
                risk=fix_risk,
                requires_approval=fix_approval,
                kind="fix",
            ),
        ]
    return [
        Mitigation(
            action=f"Roll back the most recent change to {target}",
            target=target,
            rationale=why,
            risk="medium",
            requires_approval=True,
        )
    ]


def propose_mitigations(
    causes: Sequence[RootCause], findings: Sequence[Finding] = (), *, limit: int = 2
) -> list[Mitigation]:
    """Steps for the leading causes, immediate ones first (they restore service fastest).

    The investigators' own proposals for a cause's component come first: they know the specific
    fix (the index to create, the address to block); the category's generic steps follow.
    """
    steps: list[Mitigation] = []
    for cause in contenders(causes, findings, limit):  # a 2% runner-up gets no steps of its own
        specific = [
            m
            for f in sorted(findings, key=lambda f: -f.confidence)
            if f.component == cause.component
            for m in f.mitigations
        ][:MAX_SPECIFIC]
        for step in [*specific, *_for_cause(cause)]:
            if step not in steps:
                steps.append(step)
    return assign_ids(sorted(steps, key=lambda m: m.kind != "immediate"))


#: Investigators' own steps kept per cause (the most confident findings' first): fifteen address
#: blocks are one decision, not fifteen.
MAX_SPECIFIC = 4

_SLUG = re.compile(r"[^a-z0-9]+")
_HEX = re.compile(r"[0-9a-f]{4,64}")


def _slug(text: str, limit: int) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-")


def step_id(step: Mitigation) -> str:
    """A short id people can type: the step's verb and its target (``restart-redis``, ``fix-orders``).

    Derived from the text, so the same cause gives the same id on the next run: that is what lets
    ``--approve ID`` name a step seen in an earlier report.
    """
    words = step.action.split()
    verb = _slug(words[0], 16) if words else ""
    if verb == "roll" and len(words) > 1 and words[1].lower() == "back":
        verb = "rollback"
    target = _slug(step.target, 40)
    return "-".join(part for part in (verb or "step", target) if part)


def assign_ids(steps: Iterable[Mitigation]) -> list[Mitigation]:
    """Every step with an id, unique within the list: a missing one is derived (:func:`step_id`), a
    repeated one gets ``-2``, ``-3``... in order, so the first keeps the id people expect."""
    taken: set[str] = set()
    result = []
    for step in steps:
        base = step.id or step_id(step)
        candidate, n = base, 2
        while candidate in taken:
            suffix = f"-{n}"
            candidate, n = base[: 80 - len(suffix)] + suffix, n + 1
        taken.add(candidate)
        result.append(step if candidate == step.id else attrs.evolve(step, id=candidate))
    return result
