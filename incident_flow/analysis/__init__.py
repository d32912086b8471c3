"""Log analysis: mask the variable parts of messages and mine their templates."""

from incident_flow.analysis.masking import WILDCARD, mask
from incident_flow.analysis.templates import MiningResult, Template, TemplateMiner, mine, tokenize

__all__ = ["WILDCARD", "MiningResult", "Template", "TemplateMiner", "mask", "mine", "tokenize"]
