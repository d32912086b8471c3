"""The core's own plugin: the source types the core itself relies on.

Registered like any plugin (through the same hooks), but always loaded: ``incident-flow patterns``
and the bundled example need the ``logs`` source type even when every entry point is disabled.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow.hookspecs import hookimpl
from incident_flow.logs.source import LOGS_SOURCE_TYPE
from incident_flow.sources import SourceType


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(LOGS_SOURCE_TYPE)
