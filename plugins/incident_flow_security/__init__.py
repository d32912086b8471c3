"""The security investigator: the seed's Security Check (attack indicators, vulnerability exploitation,
access anomalies, data integrity) over logs and changes, with the mitigations to approve.

Registered through the ``incident_flow`` entry point ``security``, exactly as a third-party plugin is,
and built only on incident-flow's public API. It reads:

- **authentication** events from sshd (syslog), web access logs and structured application logs, for
  brute force, credential stuffing, distributed attempts and a success after failures;
- **web attacks** in access logs, decoded and scored with rule families in the style of the OWASP
  Core Rule Set (913 scanners, 930 traversal/LFI, 932 command execution, 941 XSS, 942 SQL
  injection), ranked by what the server answered;
- **access anomalies**: admin endpoints reached from new sources, downloads far above a client's
  baseline, new user agents at volume;
- **integrity**: recent changes to auth configuration, secrets and CI files, dependency manifests.

Thresholds live in :class:`SecurityOptions`; :func:`make_investigator` builds an investigator with
other values. :func:`suggest_mitigations` turns a finding into concrete, approvable steps, which each finding
carries, so the report's mitigations for a security cause are the concrete blocks and rotations.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow import Investigator, hookimpl
from incident_flow_security.investigator import investigate, investigator_function
from incident_flow_security.mitigations import block_command, nginx_deny, suggest_mitigations
from incident_flow_security.options import SecurityOptions
from incident_flow_security.rules import FAMILIES, inspect_request

__all__ = [
    "FAMILIES",
    "SecurityOptions",
    "block_command",
    "inspect_request",
    "investigate",
    "make_investigator",
    "nginx_deny",
    "register_investigators",
    "suggest_mitigations",
]

NAME = "security"
_DESCRIPTION = (
    "Security check: failed-login attacks and compromise, CRS-style web attack rules, access anomalies, "
    "changes to sensitive files"
)


def make_investigator(options: SecurityOptions | None = None, *, name: str = NAME) -> Investigator:
    """The security investigator with the given thresholds (the defaults when None)."""
    return Investigator(
        name=name,
        investigate=investigator_function(options or SecurityOptions()),
        description=_DESCRIPTION,
    )


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(make_investigator())
