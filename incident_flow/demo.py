"""The bundled example incident, shipped as package data: what ``incident-flow demo`` replays.

It is also an eval case (``case.toml``) and a test, so the example can never silently rot.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import attrs

from incident_flow.api import arun_incident
from incident_flow.evaluation import CONFIG_FILE, load_case
from incident_flow.model import Report
from incident_flow.pipeline import EventListener

__all__ = ["example_dir", "run_demo"]

EXAMPLE_NOTE = "This is incident-flow's bundled example incident, replayed offline at its own detection time."


def example_dir() -> Path:
    """The folder of the bundled example (its config, logs and case file)."""
    return Path(str(importlib.resources.files("incident_flow") / "example"))


async def run_demo(*, on_event: EventListener | None = None) -> Report:
    """Investigate the bundled example at its detection time; the report says it is the example."""
    folder = example_dir()
    case = load_case(folder)
    report = await arun_incident(
        case.description,
        severity=case.severity,
        system=case.system,
        config=folder / CONFIG_FILE,
        at=case.detected_at,
        on_event=on_event,
    )
    return attrs.evolve(report, notes=(EXAMPLE_NOTE, *report.notes))
