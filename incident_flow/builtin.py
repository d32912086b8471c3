"""The core's own plugin: the source types every investigator may draw on, and the built-in actions.

Registered like any plugin (through the same hooks), but always loaded: ``incident-flow patterns``
and the bundled example need the ``logs`` source type even when every entry point is disabled.
The generic sources (logs, metrics, changes, databases) live in the core rather than in one
investigator's plugin, so that any plugin, built-in or third-party, can use them.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow.actions import Action
from incident_flow.actions.revert import GIT_REVERT_ACTION
from incident_flow.actions.runbook import RUNBOOK_ACTION
from incident_flow.hookspecs import hookimpl
from incident_flow.logs.source import LOGS_SOURCE_TYPE
from incident_flow.metrics import METRICS_CSV_SOURCE_TYPE, PROMETHEUS_SOURCE_TYPE
from incident_flow.sources import SourceType
from incident_flow.sources.changes import CHANGES_SOURCE_TYPE
from incident_flow.sources.git import GIT_SOURCE_TYPE
from incident_flow.sources.host import HOST_SOURCE_TYPE
from incident_flow.sources.postgres import POSTGRES_SOURCE_TYPE


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(LOGS_SOURCE_TYPE)
    register(METRICS_CSV_SOURCE_TYPE)
    register(PROMETHEUS_SOURCE_TYPE)
    register(GIT_SOURCE_TYPE)
    register(CHANGES_SOURCE_TYPE)
    register(HOST_SOURCE_TYPE)
    register(POSTGRES_SOURCE_TYPE)


@hookimpl
def register_actions(register: Callable[[Action], None]) -> None:
    register(GIT_REVERT_ACTION)
    register(RUNBOOK_ACTION)
