"""incident-flow: incident response in seconds, offline by default."""

from incident_flow.actions import Action
from incident_flow.hookspecs import hookimpl
from incident_flow.investigators import Investigator
from incident_flow.model import (
    ActionRequest,
    ActionResult,
    Approval,
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
    "Action",
    "ActionRequest",
    "ActionResult",
    "Approval",
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
