"""Claude, optional: further investigation with the run's sources as tools, and the narrative.

Importing this package imports neither ``anthropic`` nor the rest of the run: only
:mod:`incident_flow.llm.settings` loads eagerly (so ``incident_flow.config`` may import it to
validate ``[llm]`` without an import cycle); the stage and its types load on first use.
:func:`run_llm_stage` imports ``anthropic`` only when Claude is enabled (``llm = "auto"`` with
``ANTHROPIC_API_KEY`` set, or ``"anthropic"``). See ``docs/llm.md`` for what leaves the machine and
what it costs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from incident_flow.llm.settings import (
    API_KEY_ENV,
    DEFAULT_MODEL,
    INVESTIGATIONS,
    LLM_MODES,
    LLM_TABLE_KEYS,
    Availability,
    LlmConfigError,
    LlmSettings,
    availability,
)

if TYPE_CHECKING:
    from incident_flow.llm.cost import PRICES, TokenUsage, estimate_cost
    from incident_flow.llm.outcome import (
        REPORT_SCHEMA_FRAGMENT,
        AgentRun,
        DroppedClaim,
        LlmOutcome,
        Narrative,
    )
    from incident_flow.llm.stage import run_llm_stage
    from incident_flow.llm.synthesis import AssessmentOverride

_LAZY = {
    "PRICES": "incident_flow.llm.cost",
    "TokenUsage": "incident_flow.llm.cost",
    "estimate_cost": "incident_flow.llm.cost",
    "REPORT_SCHEMA_FRAGMENT": "incident_flow.llm.outcome",
    "AgentRun": "incident_flow.llm.outcome",
    "DroppedClaim": "incident_flow.llm.outcome",
    "LlmOutcome": "incident_flow.llm.outcome",
    "Narrative": "incident_flow.llm.outcome",
    "run_llm_stage": "incident_flow.llm.stage",
    "AssessmentOverride": "incident_flow.llm.synthesis",
}

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_MODEL",
    "INVESTIGATIONS",
    "LLM_MODES",
    "LLM_TABLE_KEYS",
    "PRICES",
    "REPORT_SCHEMA_FRAGMENT",
    "AgentRun",
    "AssessmentOverride",
    "Availability",
    "DroppedClaim",
    "LlmConfigError",
    "LlmOutcome",
    "LlmSettings",
    "Narrative",
    "TokenUsage",
    "availability",
    "estimate_cost",
    "run_llm_stage",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'incident_flow.llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
