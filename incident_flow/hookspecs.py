"""The hooks a plugin can implement (project name ``incident_flow``).

Most hooks hand the plugin a ``register`` callback, as simonw/llm does: the core owns the callback,
so it stamps each registered thing with the plugin's name and rejects duplicates. pluggy lets an
implementation take fewer arguments than its spec, so these can grow without breaking plugins.
Every hook here is documented in ``docs/hooks.md``; a test keeps the two in sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from incident_flow.actions import Action
    from incident_flow.investigators import Investigator
    from incident_flow.model import Event, Report
    from incident_flow.sources import SourceType

PROJECT = "incident_flow"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_investigators(register: Callable[[Investigator], None]) -> None:
    """Register investigators: call ``register(Investigator(name=..., investigate=...))`` for each.

    :param register: adds one investigator to the run; a name already taken is an error.
    """


@hookspec
def register_source_types(register: Callable[[SourceType], None]) -> None:
    """Register source types: call ``register(SourceType(name=..., factory=..., options=...))``.

    :param register: adds one source type, usable as ``type = "<name>"`` in ``[[sources]]``.
    """


@hookspec
def register_actions(register: Callable[[Action], None]) -> None:
    """Register actions: call ``register(Action(name=..., run=..., dry_run=...))`` for each.

    An action runs only after a person approved the step it carries out, and never in a replay.

    :param register: adds one action; a name already taken is an error.
    """


@hookspec
def on_event(event: Event) -> None:
    """Observe a progress event of a run (phase started, investigator finished, finding...).

    Called in the order events happen; an exception here is logged and never stops the run.

    :param event: the event; ``event.kind`` names it, ``event.data`` holds its details.
    """


@hookspec
def extend_report(report: Report) -> dict[str, Any] | None:
    """Add a section to the report: return ``{"title": ..., "markdown": ...}`` or None.

    Called once the report is complete. The section is appended to the Markdown report and listed
    under ``extensions`` in the JSON report.

    :param report: the finished report.
    """
