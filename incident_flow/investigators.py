"""The investigator type that plugins register through ``register_investigators``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from incident_flow.model import Finding

if TYPE_CHECKING:
    from incident_flow.context import InvestigationContext

__all__ = ["Investigate", "Investigator"]

#: An investigator's function: plain (run in a worker thread) or ``async def`` (run on the loop).
Investigate = Callable[["InvestigationContext"], Iterable[Finding] | Awaitable[Iterable[Finding]]]


@attrs.frozen
class Investigator:
    """A named analysis that reads the run's sources and returns findings with evidence.

    ``timeout`` (seconds) overrides the config's ``investigator_timeout`` for this one;
    ``plugin`` is stamped by the core with the name of the plugin that registered it.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-z0-9][a-z0-9_.-]*$"))
    investigate: Investigate
    description: str = ""
    timeout: float | None = None
    plugin: str | None = None
