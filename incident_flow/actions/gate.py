"""The approval gate: which steps an action can carry out, and running only what was approved.

The rules, each tested (``tests/test_actions.py``):

- no approval callback means nothing runs, not even a dry run; neither does a replay;
- a callback that raises, times out, or returns anything but an :class:`Approval` granted for this
  very step (its id) in this very mode (dry run or real) is a refusal;
- every approved real run is preceded by the action's dry run: a revert that would conflict, a
  runbook program that is missing, stops there with nothing changed;
- every request, decision (who, when, why), dry run and result goes to the audit trail.

:func:`plan` is pure bookkeeping (which action can carry out which step); :func:`carry_out` is the
only place in incident-flow where an action runs.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from incident_flow.actions import Action, ActionContext
from incident_flow.mitigate import assign_ids
from incident_flow.model import ActionRequest, ActionResult, Approval, Execution, Mitigation

__all__ = ["Approver", "InThread", "carry_out", "plan"]

#: The approval callback: plain or ``async``; returns an :class:`Approval`.
Approver = Callable[[ActionRequest], "Approval | Awaitable[Approval]"]
#: Runs a blocking function off the event loop (the pipeline's daemon-thread runner).
InThread = Callable[[Callable[[], Any]], Awaitable[Any]]


def plan(
    steps: Sequence[Mitigation], actions: Mapping[str, Action], ctx: ActionContext, notes: list[str]
) -> list[Mitigation]:
    """``steps`` with the actions' own proposals added and each step's ``executor`` set.

    A step an action proposed is its own. Any other step is carried out by the first action (by
    name) whose ``accepts`` takes it; an ``executor`` an investigator wrote on its step counts only
    if that action accepts it, so a plugin cannot route a step to an action that does not know it.
    Every step with an executor needs approval, whatever it said. Ids are assigned last, unique.
    """
    ordered = [actions[name] for name in sorted(actions)]
    planned: list[Mitigation] = []
    for step in steps:
        executor = step.executor if step.executor in actions else None
        if executor is not None and not _accepts(actions[executor], ctx, step, notes):
            executor = None
        if executor is None:
            executor = next((a.name for a in ordered if _accepts(a, ctx, step, notes)), None)
        approval = step.requires_approval or executor is not None
        planned.append(attrs.evolve(step, executor=executor, requires_approval=approval))
    for action in ordered:
        try:
            proposed = [m for m in action.propose(ctx.for_action(action.name)) if isinstance(m, Mitigation)]
        except Exception as exc:  # a plugin's bug must not lose the other steps
            notes.append(f"Action {action.name} could not propose steps: {type(exc).__name__}: {exc}")
            continue
        planned.extend(attrs.evolve(m, executor=action.name, requires_approval=True) for m in proposed)
    planned.sort(key=lambda m: m.kind != "immediate")
    return assign_ids(planned)


def _accepts(action: Action, ctx: ActionContext, step: Mitigation, notes: list[str]) -> bool:
    try:
        return bool(action.accepts(ctx.for_action(action.name), step))
    except Exception as exc:
        note = f"Action {action.name} failed to say which steps it accepts: {type(exc).__name__}: {exc}"
        if note not in notes:
            notes.append(note)
        return False


def _result(value: Any, what: str) -> ActionResult:
    if isinstance(value, ActionResult):
        return value
    error = f"{what} returned {type(value).__name__}, expected an ActionResult"
    return ActionResult(ok=False, summary=error, error=error)


def _audit_result(result: ActionResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "summary": result.summary,
        "error": result.error,
        "output": result.output,
        "details": dict(result.details),
    }


class _Gate:
    """One run's gate: the callback, the mode, the deadline, the audit and event sinks."""

    def __init__(
        self,
        actions: Mapping[str, Action],
        ctx: ActionContext,
        approve: Approver,
        *,
        dry_run: bool,
        deadline: float,
        in_thread: InThread,
        emit: Callable[..., None],
    ) -> None:
        self.actions = actions
        self.ctx = ctx
        self.approve = approve
        self.dry_run = dry_run
        self.deadline = deadline
        self.in_thread = in_thread
        self.emit = emit

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    async def decide(self, request: ActionRequest) -> tuple[bool, str, str]:
        """(approved, by, reason): anything but a matching granted Approval is a refusal."""
        try:
            # A plain callback (a terminal prompt, a chat bot waiting for a click) runs in a daemon
            # thread: one that never answers is a refusal at the budget, not a hung run.
            if inspect.iscoroutinefunction(self.approve):
                answer: Any = self.approve(request)
            else:
                answer = await asyncio.wait_for(
                    self.in_thread(lambda: self.approve(request)), self.remaining()
                )
            if inspect.isawaitable(answer):
                answer = await asyncio.wait_for(answer, self.remaining())
        except TimeoutError:
            return False, "", "no decision within the mitigate phase's budget"
        except Exception as exc:
            return False, "", f"the approval callback raised {type(exc).__name__}: {exc}"
        if not isinstance(answer, Approval):
            return False, "", f"the approval callback returned {type(answer).__name__}, not an Approval"
        if answer.id != request.id:
            return False, answer.by, f"the approval was given for {answer.id!r}, not for {request.id!r}"
        if answer.dry_run != request.dry_run:
            mode = "a dry run" if answer.dry_run else "a real run"
            return False, answer.by, f"the approval was given for {mode}"
        if not answer.approved:
            return False, answer.by, answer.reason or "refused"
        return True, answer.by, answer.reason

    async def call(self, action: Action, which: str, step: Mitigation) -> ActionResult:
        func = action.dry_run if which == "dry_run" else action.run
        actx = self.ctx.for_action(action.name)
        budget = self.remaining()
        try:
            value = await asyncio.wait_for(self.in_thread(lambda: func(actx, step)), budget)
        except TimeoutError:
            error = f"no answer within the {budget:g}s left of the mitigate phase (it may still be running)"
            return ActionResult(ok=False, summary=f"{which.replace('_', ' ')} timed out", error=error)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            return ActionResult(ok=False, summary=f"{which.replace('_', ' ')} raised {error}", error=error)
        return _result(value, f"{action.name}.{which}")

    async def step(self, step: Mitigation, action: Action) -> Execution:
        assert step.id is not None
        request = ActionRequest(
            id=step.id,
            action=action.name,
            mitigation=step,
            dry_run=self.dry_run,
            command=step.command,
            description=action.description,
        )
        record = self.ctx.audit
        record(
            "action.request",
            id=request.id,
            action=request.action,
            dry_run=request.dry_run,
            command=list(request.command) if request.command else None,
            step=step.action,
            target=step.target,
        )
        self.emit("action.requested", id=request.id, action=request.action, dry_run=request.dry_run)
        approved, by, reason = await self.decide(request)
        decided_at = datetime.now(UTC)
        record(
            "action.approval",
            id=request.id,
            approved=approved,
            by=by or None,
            reason=reason,
            dry_run=request.dry_run,
            at=decided_at,
        )
        if not approved:
            self.emit("action.finished", id=request.id, status="refused")
            return Execution(status="refused", reason=reason, at=decided_at)
        started = time.monotonic()
        checked = await self.call(action, "dry_run", step)
        record("action.dry_run", id=request.id, **_audit_result(checked))
        status, result = ("dry_run" if checked.ok else "failed"), None
        if checked.ok and not self.dry_run:
            result = await self.call(action, "run", step)
            record("action.executed", id=request.id, **_audit_result(result))
            status = "executed" if result.ok else "failed"
        duration = round(time.monotonic() - started, 3)
        if status == "failed" and result is None:
            reason = f"the dry run failed, so nothing was run: {checked.error or checked.summary}"
        self.emit("action.finished", id=request.id, status=status, duration_s=duration)
        return Execution(
            status=status,
            approved_by=by,
            reason=reason,
            at=datetime.now(UTC),
            duration_s=duration,
            dry_run_result=checked,
            result=result,
        )


async def carry_out(
    steps: Sequence[Mitigation],
    actions: Mapping[str, Action],
    ctx: ActionContext,
    *,
    approve: Approver | None,
    dry_run: bool,
    replay: bool,
    budget: float,
    in_thread: InThread,
    emit: Callable[..., None],
    notes: list[str],
) -> list[Mitigation]:
    """Ask for approval of each step an action can carry out, in order, and run what is approved.

    Returns the steps with ``execution`` set on each one that was asked about. Nothing is asked,
    and nothing runs, without a callback or during a replay.
    """
    executable = [m for m in steps if m.executor is not None]
    if not executable:
        return list(steps)
    if replay:
        notes.append(
            "This run replays a past incident: no action was offered or executed "
            f"({len(executable)} step(s) could be carried out in a live run)."
        )
        return list(steps)
    if approve is None:
        return list(steps)
    gate = _Gate(
        actions,
        ctx,
        approve,
        dry_run=dry_run,
        deadline=time.monotonic() + budget,
        in_thread=in_thread,
        emit=emit,
    )
    done: list[Mitigation] = []
    for step in steps:
        if step.executor is None:
            done.append(step)
            continue
        if gate.remaining() <= 0:
            notes.append(
                f"The mitigate phase ran out of its {budget:g}s budget before step {step.id} was offered."
            )
            done.append(step)
            continue
        execution = await gate.step(step, actions[step.executor])
        done.append(attrs.evolve(step, execution=execution))
    return done
