"""incident-flow: incident response in seconds, offline by default."""

from incident_flow.hookspecs import hookimpl
from incident_flow.investigators import Investigator
from incident_flow.model import (
    Assessment,
    Category,
    Change,
    Event,
    Evidence,
    Finding,
    Incident,
    InvestigatorRun,
    InvestigatorStatus,
    Mitigation,
    Report,
    RootCause,
    Severity,
    SourceProblem,
    TimelineEvent,
)

__version__ = "0.1.0"

__all__ = [
    "Assessment",
    "Category",
    "Change",
    "Event",
    "Evidence",
    "Finding",
    "Incident",
    "Investigator",
    "InvestigatorRun",
    "InvestigatorStatus",
    "Mitigation",
    "Report",
    "RootCause",
    "Severity",
    "SourceProblem",
    "TimelineEvent",
    "__version__",
    "hookimpl",
]
