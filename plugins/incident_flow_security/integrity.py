"""Data integrity: recent changes to files that guard access, hold secrets or pull in code.

A change to the SSH or PAM configuration, an htpasswd file, a CI workflow that can read the
deployment secrets, or a dependency manifest (a new or re-pointed package is how supply-chain
attacks arrive) is worth a security look whenever something goes wrong after it. Each such change
in the change window becomes a finding that carries the change, so the correlation weighs it with
the rest of the evidence; its confidence is modest on its own and higher when the same component is
also under attack in the logs.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping

from incident_flow import Category, Change, Evidence, Finding, Severity
from incident_flow.analysis.redact import Redactor
from incident_flow.config import ComponentSpec
from incident_flow_security.text import clean

__all__ = ["SENSITIVE_FILES", "classify_file", "integrity_findings"]

INVESTIGATOR = "security"

SENSITIVE_FILES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "auth_config",
        "authentication or access configuration",
        re.compile(
            r"(?i)(?:^|/)(?:sshd_config(?:\.d/.*)?|ssh_config|authorized_keys\d?|pam\.d/.*|sudoers(?:\.d/.*)?"
            r"|\.htpasswd|\.htaccess|htpasswd|passwd|shadow|group|nsswitch\.conf|krb5\.conf|ldap\.conf|sssd\.conf"
            r"|oauth[^/]*\.(?:ya?ml|json|toml|ini|conf)|auth[^/]*\.(?:ya?ml|json|toml|ini|conf|py|js|ts|go|rb|java)"
            r"|security[^/]*\.(?:ya?ml|json|toml|ini|conf|xml)|rbac[^/]*\.ya?ml|.*(?:role|rolebinding|policy)\.ya?ml"
            r"|iam[^/]*\.(?:json|tf)|.*\.(?:pem|key|p12|pfx|jks|keystore|crt))$"
        ),
    ),
    (
        "secrets",
        "secrets or CI configuration that can read them",
        re.compile(
            r"(?i)(?:^|/)(?:\.env(?:\..*)?|.*secrets?[^/]*\.(?:ya?ml|json|toml|env|enc|txt)|\.npmrc|\.pypirc"
            r"|\.netrc|\.dockercfg|\.docker/config\.json|credentials(?:\.json)?|\.github/workflows/[^/]+\.ya?ml"
            r"|\.github/actions/.*|\.gitlab-ci\.ya?ml|\.circleci/config\.ya?ml|jenkinsfile|\.travis\.ya?ml"
            r"|azure-pipelines\.ya?ml|bitbucket-pipelines\.yml|\.buildkite/.*|cloudbuild\.ya?ml|\.drone\.ya?ml)$"
        ),
    ),
    (
        "dependencies",
        "dependency manifest or lock file",
        re.compile(
            r"(?i)(?:^|/)(?:requirements[^/]*\.(?:txt|in)|constraints\.txt|pyproject\.toml|setup\.py|setup\.cfg"
            r"|poetry\.lock|pipfile(?:\.lock)?|uv\.lock|package\.json|package-lock\.json|npm-shrinkwrap\.json"
            r"|yarn\.lock|pnpm-lock\.yaml|go\.mod|go\.sum|gemfile(?:\.lock)?|cargo\.toml|cargo\.lock|pom\.xml"
            r"|build\.gradle(?:\.kts)?|gradle\.lockfile|composer\.(?:json|lock)|packages\.lock\.json|.*\.csproj"
            r"|mix\.lock|pubspec\.(?:yaml|lock)|podfile(?:\.lock)?|dockerfile|containerfile)$"
        ),
    ),
)
"""The kinds of sensitive file: (kind, description, path pattern)."""

_WEIGHT = {"auth_config": 0.45, "secrets": 0.45, "dependencies": 0.3}
#: How much of its weight a sensitive change keeps when nothing attacked its component.
UNATTACKED = 0.35
_SEVERITY = {"auth_config": Severity.HIGH, "secrets": Severity.HIGH, "dependencies": Severity.MEDIUM}


def classify_file(path: str) -> str | None:
    """The kind of sensitive file ``path`` is (see :data:`SENSITIVE_FILES`), or None."""
    for kind, _, pattern in SENSITIVE_FILES:
        if pattern.search(path):
            return kind
    return None


def _component(change: Change, files: Iterable[str], components: Mapping[str, ComponentSpec]) -> str:
    for name, spec in components.items():
        if any(fnmatch.fnmatch(f, glob) for f in files for glob in spec.paths):
            return name
    return change.component or "repository"


def integrity_findings(
    changes: Iterable[Change],
    components: Mapping[str, ComponentSpec],
    attacked: set[str],
    redactor: Redactor,
) -> list[Finding]:
    """One finding per change that touched sensitive files; ``attacked`` names components under attack."""
    findings: list[Finding] = []
    for change in changes:
        sensitive = [(f, kind) for f in change.files if (kind := classify_file(f)) is not None]
        if not sensitive:
            continue
        kinds = sorted({kind for _, kind in sensitive}, key=lambda k: -_WEIGHT[k])
        files = [f for f, _ in sensitive]
        component = _component(change, files, components)
        lead = kinds[0]
        description = next(d for k, d, _ in SENSITIVE_FILES if k == lead)
        # A sensitive change alone is a lead, not a finding: it weighs in when an attack is seen too.
        confidence = _WEIGHT[lead] + 0.15 if component in attacked else _WEIGHT[lead] * UNATTACKED
        summary_text = clean(change.summary, 160, redactor)
        evidence = Evidence(
            source="changes",
            kind="sensitive_change",
            summary=f"{change.kind} {change.id[:12]} changed {len(files)} sensitive file(s): {description}",
            at_from=change.at,
            at_to=change.at,
            query="changed files matched against auth, secrets/CI and dependency manifest patterns",
            lines=[clean(f, 200, redactor) for f in files[:10]],
            figures={
                "kind": "sensitive_change",
                "target": component,
                "change": change.id,
                "author": clean(change.author or "", 120, redactor) or None,
                "file_kinds": kinds,
                "files": [clean(f, 200, redactor) for f in files[:20]],
            },
        )
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=f"sensitive files changed by {change.id[:12]}: {description}",
                summary=(
                    f"{component}: {change.kind} {change.id[:12]} ({summary_text}) "
                    f"changed {', '.join(files[:3])}"
                ),
                confidence=round(min(confidence, 0.7), 3),
                evidence=[evidence],
                category=Category.SECURITY,
                severity=_SEVERITY[lead],
                indicator=f"change {change.id} to {description}",
                onset=change.at,
                change=change,
            )
        )
    return findings
