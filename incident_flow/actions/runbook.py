"""The built-in ``runbook`` action: the commands of the config's ``[[runbook]]`` section.

A team writes down what it trusts for a kind of cause (``systemctl restart orders`` when orders is
at fault); the action proposes each entry that fits one of the two leading causes as a step with the
id ``runbook-<name>``, and runs it only once approved. The command that runs is the config's own,
looked up by the entry's name when it runs: an argument list without a shell, into which nothing
from the run (a log line, a component name) is ever put. Its output is captured (bounded) into the
audit trail, and its timeout kills it and everything it started.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from incident_flow.actions import Action, ActionContext
from incident_flow.actions.process import CommandOutcome, run_command
from incident_flow.config import RunbookEntry
from incident_flow.model import ActionResult, Mitigation, RootCause

__all__ = ["RUNBOOK_ACTION", "entry_fits"]

NAME = "runbook"
PREFIX = "runbook-"


def entry_fits(entry: RunbookEntry, cause: RootCause) -> bool:
    """Whether a runbook entry applies to a cause: its component and its category, where given."""
    if entry.components and cause.component not in entry.components:
        return False
    return entry.category is None or entry.category == cause.category.value


def _propose(ctx: ActionContext) -> Iterable[Mitigation]:
    proposed: set[str] = set()
    for cause in ctx.causes[:2]:
        for entry in ctx.config.runbook:
            if entry.name in proposed or not entry_fits(entry, cause):
                continue
            proposed.add(entry.name)
            applies = ", ".join(
                part
                for part in (
                    f"components {', '.join(entry.components)}" if entry.components else "",
                    f"category {entry.category}" if entry.category else "",
                )
                if part
            )
            yield Mitigation(
                action=entry.description or f"Run the runbook command {entry.name}",
                target=cause.component,
                rationale=(
                    f"the runbook entry {entry.name} ({applies}) fits the rank {cause.rank} cause "
                    f"({cause.component}, {cause.category.value})"
                ),
                risk=entry.risk,
                requires_approval=True,
                command=entry.command,
                id=PREFIX + entry.name,
                executor=NAME,
            )


def _entry(ctx: ActionContext, mitigation: Mitigation) -> RunbookEntry | None:
    name = (mitigation.id or "").removeprefix(PREFIX)
    return next((entry for entry in ctx.config.runbook if entry.name == name), None)


def _accepts(ctx: ActionContext, mitigation: Mitigation) -> bool:
    entry = _entry(ctx, mitigation)
    return entry is not None and mitigation.command == entry.command


def _result(outcome: CommandOutcome, what: str) -> ActionResult:
    details = {
        "command": list(outcome.argv),
        "exit_code": outcome.returncode,
        "duration_s": outcome.duration_s,
    }
    if outcome.ok:
        return ActionResult(
            ok=True,
            summary=f"{what} exited 0 in {outcome.duration_s:g}s",
            output=outcome.output,
            details=details,
        )
    error = outcome.error or f"exited with status {outcome.returncode}"
    return ActionResult(
        ok=False, summary=f"{what} failed: {error}", error=error, output=outcome.output, details=details
    )


def _resolve_program(program: str, base: Path) -> str | None:
    """Where ``program`` would be found: on PATH for a bare name, else relative to the config."""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program).expanduser()
        path = path if path.is_absolute() else base / path
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(program)


def _dry_run(ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
    entry = _entry(ctx, mitigation)
    if entry is None or mitigation.command != entry.command:
        return ActionResult(
            ok=False, summary="not a runbook entry of this config", error="unknown runbook entry"
        )
    base = ctx.config.base_dir
    if entry.dry_run_command is not None:
        outcome = run_command(entry.dry_run_command, cwd=base, timeout=entry.timeout)
        ctx.record(
            "runbook.command",
            entry=entry.name,
            dry_run=True,
            argv=list(outcome.argv),
            exit_code=outcome.returncode,
            output=outcome.output,
        )
        return _result(outcome, f"the dry-run command of {entry.name}")
    found = _resolve_program(entry.command[0], base)
    if found is None:
        error = f"{entry.command[0]}: no such program (on PATH or relative to {base})"
        return ActionResult(ok=False, summary=f"{entry.name} cannot run: {error}", error=error)
    return ActionResult(
        ok=True,
        summary=f"{entry.name} would run {entry.command[0]} ({found}); no dry_run_command is configured, "
        "so nothing was run",
        details={"command": list(entry.command), "program": found},
    )


def _run(ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
    entry = _entry(ctx, mitigation)
    if entry is None or mitigation.command != entry.command:
        return ActionResult(
            ok=False, summary="not a runbook entry of this config", error="unknown runbook entry"
        )
    outcome = run_command(entry.command, cwd=ctx.config.base_dir, timeout=entry.timeout)
    ctx.record(
        "runbook.command",
        entry=entry.name,
        dry_run=False,
        argv=list(outcome.argv),
        exit_code=outcome.returncode,
        output=outcome.output,
    )
    return _result(outcome, f"the runbook command {entry.name}")


#: Registered by the core's plugin: the ``[[runbook]]`` commands, once approved.
RUNBOOK_ACTION = Action(
    name=NAME,
    description="a command from the config's [[runbook]] section, for the causes it fits",
    run=_run,
    dry_run=_dry_run,
    accepts=_accepts,
    propose=_propose,
)
