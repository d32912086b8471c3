"""The ops investigator: the seed's System Diagnostics (log analysis, metric anomalies, resources).

Registered through the ``incident_flow`` entry point ``ops``, exactly as a third-party plugin is,
and built only on incident-flow's public API.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow import Investigator, hookimpl
from incident_flow_ops.logs import analyse_logs


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(
        Investigator(
            name="ops",
            investigate=analyse_logs,
            description="System diagnostics: error and warning patterns new or surging since the onset",
        )
    )
