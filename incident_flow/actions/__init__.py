"""Actions: what incident-flow can carry out for a proposed step, once a person approves it.

An :class:`Action` is registered by a plugin (``register_actions``), exactly as investigators are.
It says which proposed mitigations it can carry out (``accepts``), may propose its own for the run's
causes (``propose``), and has a ``dry_run`` that changes nothing and a ``run`` that does the work.
Both return an :class:`~incident_flow.model.ActionResult`.

Actions never decide to run: :mod:`incident_flow.actions.gate` asks the caller's approval callback
for each step, records the request and the decision in the audit trail, and runs only what was
explicitly approved, never during a replay (:func:`is_replay`). Built-ins: ``git-revert``
(:mod:`incident_flow.actions.revert`) and ``runbook`` (:mod:`incident_flow.actions.runbook`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from incident_flow.config import Config
from incident_flow.model import ActionResult, Finding, Incident, Mitigation, RootCause
from incident_flow.sources import Source

__all__ = [
    "REPLAY_AFTER",
    "Action",
    "ActionContext",
    "is_replay",
]

S = TypeVar("S", bound=Source)

#: A run whose detection time lies further back than this is a replay of recorded data: nothing is
#: executed in it, whatever was approved (the same threshold the report uses for its duration).
REPLAY_AFTER = timedelta(hours=6)


def is_replay(detected_at: datetime, started_at: datetime) -> bool:
    """Whether a run that started at ``started_at`` replays an incident detected at ``detected_at``."""
    return started_at - detected_at > REPLAY_AFTER


@attrs.frozen
class ActionContext:
    """What an action sees of the run: the incident, its causes and findings, the config and sources.

    ``audit(kind, **data)`` appends a record to the run's audit trail, tagged with the action; use it
    for what the action did beyond its result (each command it ran, for instance).
    """

    incident: Incident
    causes: tuple[RootCause, ...]
    findings: tuple[Finding, ...]
    config: Config
    sources: tuple[Source, ...]
    audit: Callable[..., None]
    action: str = "core"

    def sources_of(self, kind: type[S]) -> list[S]:
        """The run's sources that are instances of ``kind`` (``GitSource``, ``MetricSource``...)."""
        return [source for source in self.sources if isinstance(source, kind)]

    def for_action(self, name: str) -> ActionContext:
        """A copy whose audit records name the action ``name``."""
        return attrs.evolve(self, action=name)

    def record(self, kind: str, **data: Any) -> None:
        """Append ``kind`` to the audit trail with ``data`` and this action's name."""
        self.audit(kind, action=self.action, **data)


def _no_proposals(ctx: ActionContext) -> Iterable[Mitigation]:
    del ctx
    return ()


def _accepts_nothing(ctx: ActionContext, mitigation: Mitigation) -> bool:
    del ctx, mitigation
    return False


@attrs.frozen
class Action:
    """Something incident-flow can carry out once approved: a revert, a runbook command, a rollback.

    :param name: unique; lower-case letters, digits, ``_``, ``.`` and ``-``.
    :param description: one line, shown by ``incident-flow plugins`` and to approvers.
    :param run: ``run(ctx, mitigation) -> ActionResult``: do the work. Called only after approval,
        and only when ``dry_run`` succeeded just before.
    :param dry_run: ``dry_run(ctx, mitigation) -> ActionResult``: check that ``run`` would work,
        changing nothing.
    :param accepts: ``accepts(ctx, mitigation) -> bool``: whether this action can carry out a step
        proposed by the core or an investigator. Default: none.
    :param propose: ``propose(ctx) -> Iterable[Mitigation]``: steps of its own for the run's causes;
        the core sets their ``executor`` to this action. Default: none.
    :param plugin: set by the core to the plugin that registered the action.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-z0-9][a-z0-9_.-]*$"))
    run: Callable[[ActionContext, Mitigation], ActionResult]
    dry_run: Callable[[ActionContext, Mitigation], ActionResult]
    description: str = ""
    accepts: Callable[[ActionContext, Mitigation], bool] = _accepts_nothing
    propose: Callable[[ActionContext], Iterable[Mitigation]] = _no_proposals
    plugin: str | None = None
