"""The debugger investigator: the seed's Code Analysis (recent changes, stack traces, code paths,
race conditions, data validation, exact code locations).

Registered through the ``incident_flow`` entry point ``debugger``, exactly as a third-party plugin
is, and built only on incident-flow's public API. It reads log records and changes through the run's
context; the ``git`` and ``changes`` source types (``incident_flow.sources.git`` and
``incident_flow.sources.changes``) give it commits, diffs, blame and deploy events.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow import Investigator, hookimpl
from incident_flow_debugger.investigate import INVESTIGATOR, investigate

__all__ = ["investigate", "register_investigators"]


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(
        Investigator(
            name=INVESTIGATOR,
            investigate=investigate,
            description="Code analysis: the change that caused the incident, failing code locations from "
            "stack traces, races and data-validation errors",
        )
    )
