"""The seed's security mitigations, made concrete from what a finding carries.

"Block malicious IPs, patch vulnerabilities, rotate credentials, enable additional monitoring":
for a security finding, :func:`suggest_mitigations` turns its evidence figures (``attackers``,
``accounts``, ``rule_family``, ``kind``, ``channel``) into steps an operator can approve:

- a block per attacking address, as an nftables rule (an argument list, never a shell string)
  and the equivalent nginx ``deny`` line as text to paste;
- credential rotation for the accounts involved, first of all when a login succeeded after
  failures (the account must be presumed compromised);
- WAF rule suggestions for the rule family seen (the OWASP CRS file to enable, a ModSecurity
  rule to start from), the patch to make, and the monitoring to add.

Everything here changes production, so everything requires approval. Addresses come from logs: only
a value that :func:`incident_flow_security.text.valid_ip` accepts is ever put into a rule, and only an
account name that is safe as a single argument goes into a command.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from incident_flow import Finding, Mitigation
from incident_flow_security.rules import FAMILIES
from incident_flow_security.text import clean, safe_account, valid_ip

__all__ = ["MAX_BLOCKS", "block_command", "nginx_deny", "suggest_mitigations"]

MAX_BLOCKS = 20
"""At most this many per-address rules; beyond that a set (or the upstream provider) is the tool."""

_CRS_FILES = {
    "913": "REQUEST-913-SCANNER-DETECTION.conf",
    "920": "REQUEST-920-PROTOCOL-ENFORCEMENT.conf",
    "930": "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
    "932": "REQUEST-932-APPLICATION-ATTACK-RCE.conf",
    "941": "REQUEST-941-APPLICATION-ATTACK-XSS.conf",
    "942": "REQUEST-942-APPLICATION-ATTACK-SQLI.conf",
}
_SECRULES = {
    "942": 'SecRule ARGS "@detectSQLi" "id:1094200,phase:2,deny,status:403,log,msg:\'SQL injection\'"',
    "941": 'SecRule ARGS "@detectXSS" "id:1094100,phase:2,deny,status:403,log,msg:\'XSS\'"',
    "930": (
        'SecRule REQUEST_URI|ARGS "@rx (?:\\.\\.[/\\\\]){2,}" '
        "\"id:1093000,phase:2,t:urlDecodeUni,deny,status:403,log,msg:'Path traversal'\""
    ),
    "932": (
        'SecRule ARGS "@rx [;|`&]\\s*(?:cat|id|ls|wget|curl|bash|sh|nc)\\b" '
        "\"id:1093200,phase:2,t:urlDecodeUni,t:cmdLine,deny,status:403,log,msg:'Command injection'\""
    ),
    "913": (
        'SecRule REQUEST_HEADERS:User-Agent "@pmFromFile scanners-user-agents.data" '
        "\"id:1091300,phase:1,deny,status:403,log,msg:'Security scanner'\""
    ),
}
_PATCH = {
    "942": "use parameterised queries (no string-built SQL) in the handlers of",
    "941": "encode output for its context and set a Content-Security-Policy on",
    "930": "resolve file names against an allow-list (never join user input into a path) in",
    "932": "stop passing user input to a shell (argument lists, allow-listed values) in",
}


def block_command(address: str) -> tuple[str, ...] | None:
    """The nftables rule that drops traffic from ``address``, or None if it is not an IP address."""
    ip = valid_ip(address)
    if ip is None:
        return None
    family = "ip" if ipaddress.ip_address(ip).version == 4 else "ip6"
    return ("nft", "add", "rule", "inet", "filter", "input", family, "saddr", ip, "drop")


def nginx_deny(address: str) -> str | None:
    """The nginx line that refuses ``address`` (``deny 203.0.113.7;``), or None if it is not an IP."""
    ip = valid_ip(address)
    return None if ip is None else f"deny {ip};"


def _figures(finding: Finding) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for evidence in finding.evidence:
        for key, value in evidence.figures.items():
            merged.setdefault(key, value)
    return merged


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value]
    return []


def _addresses(figures: Mapping[str, Any]) -> list[str]:
    seen: list[str] = []
    for value in [*_strings(figures.get("attacker")), *_strings(figures.get("attackers"))]:
        ip = valid_ip(value)
        if ip is not None and ip not in seen:
            seen.append(ip)
    return seen


def _blocks(target: str, addresses: Sequence[str], why: str) -> list[Mitigation]:
    steps: list[Mitigation] = []
    for ip in addresses[:MAX_BLOCKS]:
        command = block_command(ip)
        deny = nginx_deny(ip)
        steps.append(
            Mitigation(
                action=f"Block {ip} at the edge of {target} (nginx: `{deny}` in its server block, reload)",
                target=target,
                rationale=why,
                risk="low",
                requires_approval=True,
                command=command,
            )
        )
    if len(addresses) > MAX_BLOCKS:
        steps.append(
            Mitigation(
                action=(
                    f"Block the other {len(addresses) - MAX_BLOCKS} attacking addresses as a set "
                    f"(nftables set or the upstream WAF/CDN): per-address rules do not scale"
                ),
                target=target,
                rationale=why,
                risk="low",
                requires_approval=True,
            )
        )
    return steps


def _rotation(target: str, accounts: Sequence[str], channel: Sequence[str], why: str) -> list[Mitigation]:
    steps: list[Mitigation] = []
    for raw in accounts[:MAX_BLOCKS]:
        account = safe_account(raw)
        shown = clean(raw, 64)
        if account is not None and "ssh" in channel:
            steps.append(
                Mitigation(
                    action=(
                        f"Lock {account} on {target}, end its sessions, then rotate its password and SSH "
                        f"keys (remove unknown entries from its authorized_keys)"
                    ),
                    target=target,
                    rationale=why,
                    risk="medium",
                    requires_approval=True,
                    # --expiredate 1 disables key logins too, which --lock alone does not.
                    command=("usermod", "--lock", "--expiredate", "1", account),
                )
            )
        else:
            steps.append(
                Mitigation(
                    action=(
                        f"Rotate the credentials of {shown} on {target}: force a password reset, revoke its "
                        f"sessions and API tokens"
                    ),
                    target=target,
                    rationale=why,
                    risk="medium",
                    requires_approval=True,
                )
            )
    return steps


def suggest_mitigations(finding: Finding) -> list[Mitigation]:
    """The concrete mitigations for one security finding, most urgent first; [] for other findings."""
    figures = _figures(finding)
    kind = str(figures.get("kind", ""))
    target = finding.component
    # Addresses are blocked where the requests came in: the gateway a service's attack was seen at.
    edge = str(figures.get("seen_at") or target)
    why = f"{finding.title} ({finding.confidence:.0%})"
    addresses = _addresses(figures)
    accounts = [a for a in _strings(figures.get("accounts")) if a]
    channel = _strings(figures.get("channel"))
    steps: list[Mitigation] = []
    if kind == "compromise":
        steps += _rotation(target, accounts or _strings(figures.get("account")), channel, why)
        steps += _blocks(edge, addresses, why)
        steps.append(
            Mitigation(
                action=(
                    f"Review what the compromised account(s) did on {target} since the successful login "
                    f"(shell history, new keys, cron jobs, outbound connections)"
                ),
                target=target,
                rationale="a successful login after failures means someone else may have been inside",
                risk="low",
                requires_approval=True,
                kind="fix",
            )
        )
    elif kind in ("brute_force", "credential_stuffing", "distributed", "failed_login_surge"):
        steps += _blocks(edge, addresses, why)
        if kind == "distributed" and accounts:
            steps += _rotation(target, accounts[:5], channel, why + "; the account is a target")
        steps.append(
            Mitigation(
                action=(
                    f"Rate-limit logins on {target} (fail2ban: maxretry 5, findtime 10m), require keys or "
                    f"MFA, and alert on failed-login bursts"
                ),
                target=target,
                rationale="blocking stops these sources; limits and MFA stop the next ones",
                risk="low",
                requires_approval=True,
                kind="fix",
            )
        )
    elif kind in ("web_attack", "scanner"):
        family = str(figures.get("rule_family", ""))
        steps += _blocks(edge, addresses, why)
        crs = _CRS_FILES.get(family)
        if crs:
            rule = _SECRULES.get(family)
            steps.append(
                Mitigation(
                    action=(
                        f"WAF for {target}: enable the OWASP CRS rules {crs} in blocking mode"
                        + (f", or start from: {rule}" if rule else "")
                    ),
                    target=target,
                    rationale=f"rule family {family} ({FAMILIES.get(family, family)}) reached {target}",
                    risk="medium",
                    requires_approval=True,
                )
            )
        if family in _PATCH:
            paths = ", ".join(clean(p, 80) for p in _strings(figures.get("paths"))[:5]) or target
            outcomes = figures.get("outcomes") or {}
            exploited = isinstance(outcomes, Mapping) and (
                outcomes.get("data_returned") or outcomes.get("answered")
            )
            steps.append(
                Mitigation(
                    action=f"Patch {target}: {_PATCH[family]} {paths}",
                    target=target,
                    rationale=(
                        "the server answered the attack with success: treat it as exploited"
                        if exploited
                        else "the attack was refused this time; the input handling is the lasting fix"
                    ),
                    risk="medium",
                    requires_approval=True,
                    kind="fix",
                )
            )
    elif kind in ("admin_access", "exfiltration"):
        steps += _blocks(edge, addresses, why)
        steps.append(
            Mitigation(
                action=(
                    f"Restrict the admin and internal endpoints of {target} to the admin networks, "
                    f"and rotate the credentials or tokens that reached them"
                    if kind == "admin_access"
                    else f"Find what {target} served to these clients, rotate exposed credentials, "
                    f"and alert on volume"
                ),
                target=target,
                rationale=why,
                risk="medium",
                requires_approval=True,
                kind="fix",
            )
        )
    elif kind == "sensitive_change" and finding.change is not None:
        steps.append(
            Mitigation(
                action=(
                    f"Review change {finding.change.id[:12]} to sensitive files of {target} with its author; "
                    f"revert it if nobody can vouch for it, and rotate any secret it exposed"
                ),
                target=target,
                rationale=why,
                risk="low",
                requires_approval=True,
            )
        )
    if steps and kind not in ("sensitive_change", "new_user_agent"):
        steps.append(
            Mitigation(
                action=(
                    f"Enable additional monitoring on {target}: alert on this pattern "
                    f"({clean(finding.indicator or finding.title, 120)}) and keep the logs of the window"
                ),
                target=target,
                rationale="the seed's last security step: make the next attempt visible sooner",
                risk="low",
                requires_approval=True,
                kind="fix",
            )
        )
    return steps
