"""Which change caused the incident: score each change against what failed, where and when.

Most outages follow a change, but the change closest in time is often not the guilty one: a docs
edit a minute before the onset is noise, the config flip ten minutes earlier is the cause. A change
is scored on five things, each a factor so that one weak link (made after the onset, in another
component, a docs-only edit) sinks it:

- **kind** (its *nature*): config and feature-flag changes, migrations and dependency bumps cause
  incidents more often than code, and code far more often than CI, tests or docs;
- **time**: how long before the onset it took effect, and a change after the onset scores nothing,
  since it cannot have caused it. A commit takes effect when it is deployed (or when a merge lands
  it), minutes to hours after it was made, so its weight decays over hours; a change that acts the
  moment it is made (a flag flip, a hot-reloaded config, a deploy, a migration run, or a commit whose
  deploy is known) keeps its weight for a few minutes, while traffic reaches what it changed, then
  loses it within the half hour: what it breaks breaks at once. A deploy event that names a commit
  is that commit: the commit, with its files, is scored at the deploy's time;
- **component**: whether it changed the component that fails;
- **code location**: whether its files hold the frames of the failing stack traces, and above all
  whether it last changed the very lines that fail (``git blame`` on the failing frames);
- **size**: larger changes are a little riskier.

Nothing here reads a source: investigators build an :class:`IncidentSignature` from their logs and
traces, and third-party plugins can score their own changes with the same rules.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import PurePosixPath

import attrs

from incident_flow.config import ComponentSpec
from incident_flow.model import Change

__all__ = [
    "BLAME_THRESHOLD",
    "NATURES",
    "NATURE_PRIOR",
    "ChangeScore",
    "FailingFrame",
    "IncidentSignature",
    "change_nature",
    "component_for_files",
    "deploy_times",
    "file_nature",
    "link_deploys",
    "normalize_kind",
    "path_matches",
    "rank_changes",
    "score_change",
]

#: How often each kind of change causes an incident, relative to a config change. The order follows
#: what postmortem collections report again and again (configuration and flag changes and deploys
#: lead, then schema and dependency changes, then code); the values only need to keep that order and
#: to make a docs- or tests-only edit an order of magnitude less likely than real code.
NATURE_PRIOR: Mapping[str, float] = {
    "config": 1.0,
    "feature_flag": 1.0,
    "migration": 0.95,
    "dependency": 0.9,
    "deploy": 0.85,
    "infra": 0.8,
    "code": 0.75,
    "unknown": 0.5,
    "rollback": 0.4,
    "ci": 0.15,
    "tests": 0.05,
    "docs": 0.02,
}
NATURES = tuple(NATURE_PRIOR)

#: Below this score a change is not blamed, however it ranks: evidence or silence.
BLAME_THRESHOLD = 0.3

# Time decay: a commit made two hours before the onset counts half as much as one just before it
# (it waits for its deploy). A change that acts at once counts half as much twenty minutes before
# and a fifth as much forty minutes before (1 / (1 + (t / 20 min)^2)): a light tail, since the
# failures it causes start as soon as traffic reaches the changed path.
_HALF_LIFE = timedelta(hours=2)
_IMMEDIATE_SCALE = timedelta(minutes=20)
# A change with no files (a flag flip, a config event) cannot be placed against the failing code:
# neither tied to it nor shown to miss it.
_UNPLACED = 0.8
_COMMIT_KINDS = frozenset({"commit", "merge"})
_SHA_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{7,40}(?![0-9a-f])")

# -- what a file is -------------------------------------------------------------------------------

_TEST_DIRS = {"test", "tests", "__tests__", "spec", "specs", "testdata", "test-data", "e2e", "testing"}
_TEST_NAME = re.compile(
    r"^(?:test_.*\.py|.*_test\.(?:py|go|rb|exs|cc|cpp|c)|conftest\.py|.*Tests?\.(?:java|kt|scala|cs|swift)|"
    r".*\.(?:spec|test)\.(?:[cm]?[jt]sx?)|.*_spec\.rb|.*Spec\.(?:groovy|scala|kt))$"
)
_DOC_DIRS = {"docs", "doc", "documentation"}
_DOC_NAME = re.compile(
    r"^(?:readme|changelog|changes|history|license|licence|notice|authors|contributing|"
    r"code_of_conduct|security|codeowners)(?:\.\w+)?$|.*\.(?:md|mdx|rst|adoc|asciidoc)$",
    re.IGNORECASE,
)
_CI_PATHS = re.compile(
    r"^(?:\.github/workflows/|\.github/actions/|\.circleci/|\.buildkite/|\.gitlab/ci/|\.ci/|\.woodpecker/)"
    r"|(?:^|/)(?:\.gitlab-ci\.ya?ml|\.travis\.ya?ml|Jenkinsfile|azure-pipelines\.ya?ml|"
    r"bitbucket-pipelines\.ya?ml|\.drone\.ya?ml|cloudbuild\.ya?ml|appveyor\.ya?ml)$"
)
_DEPENDENCY_NAME = re.compile(
    r"^(?:package(?:-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.ya?ml|bun\.lockb?|"
    r"requirements[\w.\-]*\.(?:txt|in)|constraints[\w.\-]*\.txt|Pipfile(?:\.lock)?|poetry\.lock|uv\.lock|"
    r"pdm\.lock|pyproject\.toml|setup\.py|setup\.cfg|go\.mod|go\.sum|go\.work(?:\.sum)?|pom\.xml|"
    r"build\.gradle(?:\.kts)?|gradle\.lockfile|libs\.versions\.toml|Gemfile(?:\.lock)?|"
    r"Cargo\.(?:toml|lock)|composer\.(?:json|lock)|packages\.config|Directory\.Packages\.props|"
    r".*\.csproj|mix\.(?:exs|lock)|Podfile(?:\.lock)?|Package\.resolved|deno\.lock|flake\.lock)$"
)
_MIGRATION = re.compile(
    r"(?:^|/)(?:migrations?|migrate|alembic|flyway|liquibase|changelogs?/db|schema_migrations)/"
    r"|(?:^|/)db/(?:migrate|schema)|\.sql$|(?:^|/)schema\.(?:rb|prisma)$",
    re.IGNORECASE,
)
_INFRA = re.compile(
    r"\.(?:tf|tfvars|hcl)$|(?:^|/)(?:k8s|kubernetes|helm|charts?|terraform|ansible|kustomize|"
    r"manifests|infra|infrastructure|deploy|deployment|cloudformation|pulumi)/"
    r"|(?:^|/)(?:Dockerfile[\w.\-]*|[\w.\-]*\.dockerfile|docker-compose[\w.\-]*\.ya?ml|compose\.ya?ml|"
    r"Containerfile|kustomization\.ya?ml|Chart\.yaml|values[\w.\-]*\.ya?ml|serverless\.ya?ml|Procfile|"
    r"skaffold\.ya?ml|fly\.toml|app\.yaml|nginx\.conf|haproxy\.cfg)$",
    re.IGNORECASE,
)
_FLAG = re.compile(r"(?:^|/)(?:feature[-_]?flags?|flags|toggles|features)(?:/|\.\w+$)", re.IGNORECASE)
_CONFIG_DIRS = {"config", "configs", "conf", "cfg", "settings", "etc", "configuration"}
_CONFIG_NAME = re.compile(
    r".*\.(?:ya?ml|toml|ini|cfg|conf|env|properties|json|json5|jsonc|xml|plist|hocon|config)$"
    r"|^\.env(?:\.[\w.\-]+)?$|^(?:settings|config|configuration|appsettings[\w.\-]*)\.\w+$",
    re.IGNORECASE,
)

# Among the files of one change, the riskiest runtime kind names it.
_RUNTIME_ORDER = ("feature_flag", "config", "migration", "dependency", "infra", "code", "ci")

_CONVENTIONAL = re.compile(r"^(?P<type>\w+)(?:\((?P<scope>[^)]*)\))?!?:", re.IGNORECASE)
_CONVENTIONAL_NATURE = {
    "docs": "docs",
    "doc": "docs",
    "test": "tests",
    "tests": "tests",
    "ci": "ci",
    "build": "dependency",
    "deps": "dependency",
    "feat": "code",
    "fix": "code",
    "perf": "code",
    "refactor": "code",
    "revert": "code",
    "style": "code",
    "chore": "unknown",
}


def file_nature(path: str) -> str:
    """What one file is: ``tests``, ``docs``, ``ci``, ``dependency``, ``migration``, ``infra``,
    ``feature_flag``, ``config`` or ``code``, by conventions that hold across ecosystems."""
    path = path.replace("\\", "/").lstrip("/")
    parts = path.split("/")
    name = parts[-1]
    folders = {p.lower() for p in parts[:-1]}
    if folders & _TEST_DIRS or _TEST_NAME.match(name) or "src/test/" in path:
        return "tests"
    if folders & _DOC_DIRS or _DOC_NAME.match(name):
        return "docs"
    if _CI_PATHS.search(path):
        return "ci"
    if _DEPENDENCY_NAME.match(name):
        return "dependency"
    if _MIGRATION.search(path):
        return "migration"
    if _INFRA.search(path):
        return "infra"
    if _FLAG.search(path):
        return "feature_flag"
    if folders & _CONFIG_DIRS or _CONFIG_NAME.match(name):
        return "config"
    return "code"


_KIND_ALIASES = {
    "deploy": "deploy",
    "deployment": "deploy",
    "release": "deploy",
    "rollout": "deploy",
    "config": "config",
    "config_change": "config",
    "configuration": "config",
    "feature_flag": "feature_flag",
    "feature-flag": "feature_flag",
    "featureflag": "feature_flag",
    "flag": "feature_flag",
    "toggle": "feature_flag",
    "migration": "migration",
    "schema": "migration",
    "db_migration": "migration",
    "infra": "infra",
    "infrastructure": "infra",
    "terraform": "infra",
    "scaling": "infra",
    "dependency": "dependency",
    "dependencies": "dependency",
    "rollback": "rollback",
    "revert": "rollback",
    "commit": "commit",
    "merge": "merge",
}


def normalize_kind(kind: str) -> str:
    """A change event's ``kind`` in the shared vocabulary (``deployment`` is ``deploy``...)."""
    key = kind.strip().lower().replace(" ", "_")
    return _KIND_ALIASES.get(key, key or "unknown")


def change_nature(change: Change) -> str:
    """What a change is, for the prior: by its kind for events, by its files (then its subject) for
    commits. A commit of code and tests is code; one of only tests and docs is tests."""
    kind = normalize_kind(change.kind)
    if kind not in ("commit", "merge"):
        return kind if kind in NATURE_PRIOR else "unknown"
    natures = {file_nature(f) for f in change.files}
    if natures:
        runtime = [n for n in _RUNTIME_ORDER if n in natures]
        if runtime:
            return runtime[0]
        return "tests" if "tests" in natures else "docs"
    match = _CONVENTIONAL.match(change.summary.strip())
    if match is not None:
        if (match.group("scope") or "").lower() in ("deps", "deps-dev"):
            return "dependency"
        return _CONVENTIONAL_NATURE.get(match.group("type").lower(), "unknown")
    return "unknown"


# -- components -----------------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.replace("\\", "/").lstrip("/")
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        i += 1
    # A folder (no wildcard at the end) also matches everything under it.
    return re.compile("".join(out) + "(?:/.*)?$" if not pattern.endswith("*") else "".join(out) + "$")


def path_matches(pattern: str, path: str) -> bool:
    """Whether a repository path matches a ``[components]`` glob (``**`` crosses folders, ``*`` does not;
    a plain folder matches what is under it)."""
    return _glob_regex(pattern).match(path.replace("\\", "/").lstrip("/")) is not None


def component_for_files(
    files: Iterable[str],
    components: Mapping[str, ComponentSpec],
    known: Iterable[str] = (),
) -> str | None:
    """The component most of ``files`` belong to.

    The config's ``[components]`` globs decide first; a file they do not place belongs to a known
    component (a log source's, say) that names one of its folders (``services/orders/x.py`` is
    ``orders``). Files in docs, tests and CI count only when nothing else does.
    """
    files = list(files)
    compiled = [(name, [_glob_regex(p) for p in spec.paths]) for name, spec in components.items()]
    names = {k.lower(): k for k in [*components, *known]}
    votes: Counter[str] = Counter()
    weak: Counter[str] = Counter()
    for path in files:
        clean = path.replace("\\", "/").lstrip("/")
        owner = next((name for name, regexes in compiled if any(r.match(clean) for r in regexes)), None)
        if owner is None:
            for folder in reversed(PurePosixPath(clean).parts[:-1]):
                if folder.lower() in names:
                    owner = names[folder.lower()]
                    break
        if owner is None:
            continue
        (weak if file_nature(clean) in ("docs", "tests", "ci") else votes)[owner] += 1
    tally = votes or weak
    if not tally:
        return None
    return sorted(tally.items(), key=lambda item: (-item[1], item[0]))[0][0]


# -- scoring --------------------------------------------------------------------------------------


@attrs.frozen
class FailingFrame:
    """A frame of the failing traces, mapped to a repository path.

    ``weight`` is 1 for the innermost frame in the repository of a trace group (the exact code
    location) and less for its callers; ``count`` is how many traces after the onset went through it.
    """

    path: str
    line: int | None = None
    function: str | None = None
    weight: float = 1.0
    count: int = 1

    def location(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        return where + (f" in {self.function}" if self.function else "")


def _names(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _failing(value: Iterable[FailingFrame]) -> tuple[FailingFrame, ...]:
    return tuple(value)


@attrs.frozen
class IncidentSignature:
    """What failed, where and when: what every change is scored against.

    ``blamed`` maps a change id to the failing ``(path, line)`` pairs it last changed (from
    ``git blame`` on the failing frames); ``landed`` maps a commit to when its merge brought it into
    the deployed branch, when that is later than the commit itself; ``ships`` maps a deploy event to
    the commit it shipped (:func:`link_deploys`) and ``deployed`` a commit to when it was first
    deployed (:func:`deploy_times`); ``fields_changed`` maps a change id to the
    failing input fields (from validation errors) whose handling its diff altered.
    """

    onset: datetime
    components: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    frames: tuple[FailingFrame, ...] = attrs.field(default=(), converter=_failing)
    blamed: Mapping[str, frozenset[tuple[str, int]]] = attrs.field(factory=dict)
    landed: Mapping[str, datetime] = attrs.field(factory=dict)
    ships: Mapping[str, str] = attrs.field(factory=dict)
    deployed: Mapping[str, datetime] = attrs.field(factory=dict)
    fields_changed: Mapping[str, frozenset[str]] = attrs.field(factory=dict)


@attrs.frozen
class ChangeScore:
    """One change's score and the reasons for it, for the ranking and for the evidence."""

    change: Change
    score: float
    eligible: bool
    nature: str
    before_onset: timedelta
    component_match: bool | None
    matched_files: tuple[str, ...] = ()
    matched_frames: tuple[FailingFrame, ...] = ()
    blamed_lines: tuple[tuple[str, int], ...] = ()
    factors: Mapping[str, float] = attrs.field(factory=dict)
    reasons: tuple[str, ...] = ()
    landed_at: datetime | None = None
    fields_changed: tuple[str, ...] = ()
    deployed_at: datetime | None = None

    @property
    def tied(self) -> bool:
        """Whether anything but time links the change to the failure (its component or its code)."""
        return bool(self.component_match or self.matched_files or self.blamed_lines or self.fields_changed)

    @property
    def blameable(self) -> bool:
        """Eligible, linked to the failure, and above :data:`BLAME_THRESHOLD`."""
        return self.eligible and self.tied and self.score >= BLAME_THRESHOLD


def _duration(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 90:
        return f"{seconds}s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}" if rest else f"{hours}h"


def link_deploys(changes: Iterable[Change], versions: Mapping[str, str]) -> dict[str, str]:
    """Deploy event id -> the commit it shipped: the commit made at or before the deploy that its
    version names by SHA or abbreviated SHA (``3ceefb60cf46``, ``registry/app:3ceefb6``).

    ``versions`` maps a change event's id to the version it shipped (a deploy log's ``version``).
    """
    changes = list(changes)
    commits = [c for c in changes if c.kind in _COMMIT_KINDS and re.fullmatch(r"[0-9a-f]{7,64}", c.id)]
    out: dict[str, str] = {}
    for deploy in changes:
        if normalize_kind(deploy.kind) != "deploy" or deploy.id not in versions:
            continue
        tokens = _SHA_TOKEN.findall(versions[deploy.id].lower())
        shipped = [c for c in commits if c.at <= deploy.at and any(c.id.startswith(t) for t in tokens)]
        if len(shipped) == 1:  # an abbreviation that two commits share names neither
            out[deploy.id] = shipped[0].id
    return out


def deploy_times(changes: Iterable[Change], ships: Mapping[str, str]) -> dict[str, datetime]:
    """Commit id -> when it was first deployed, from :func:`link_deploys`' answer.

    A commit takes effect once deployed, so its deploy, not its commit time, says whether it can
    have caused an onset.
    """
    out: dict[str, datetime] = {}
    for change in changes:
        commit = ships.get(change.id)
        if commit is not None and (commit not in out or change.at < out[commit]):
            out[commit] = change.at
    return out


def _effective(change: Change, signature: IncidentSignature) -> tuple[datetime, str, bool]:
    """When the change took effect, by what (``made``, ``deployed``, ``merged``), and whether it
    acted at once (an event, or a commit at its deploy) rather than at some later deploy."""
    deployed = signature.deployed.get(change.id)
    if deployed is not None and deployed > change.at:
        return deployed, "deployed", True
    landed = signature.landed.get(change.id)
    if landed is not None and landed > change.at:
        return landed, "merged", False
    return change.at, "made", change.kind not in _COMMIT_KINDS or deployed is not None


def score_change(change: Change, signature: IncidentSignature, *, size: int | None = None) -> ChangeScore:
    """Score one change against the incident; ``size`` is its changed lines when known."""
    nature = change_nature(change)
    landed = signature.landed.get(change.id)
    deployed = signature.deployed.get(change.id)
    effective, how, immediate = _effective(change, signature)
    before = signature.onset - effective
    shipped = signature.ships.get(change.id)
    if before < timedelta(0) or shipped is not None:
        reason = (
            f"deploys commit {shipped[:12]}, which is scored in its place"
            if shipped is not None
            else f"{how} {_duration(before)} after the onset: it cannot have caused it"
        )
        return ChangeScore(
            change=change,
            score=0.0,
            eligible=False,
            nature=nature,
            before_onset=signature.onset - change.at,
            component_match=None,
            reasons=(reason,),
            landed_at=landed,
            deployed_at=deployed,
        )
    reasons: list[str] = []
    prior = NATURE_PRIOR.get(nature, NATURE_PRIOR["unknown"])
    reasons.append(f"{nature} change (prior {prior:g})")
    time = 1.0 / (1.0 + (before / _IMMEDIATE_SCALE) ** 2) if immediate else 1.0 / (1.0 + before / _HALF_LIFE)
    when = f"{_duration(before)} before the onset"
    if how != "made":
        when += f" ({how} then; committed {_duration(signature.onset - change.at)} before)"
    reasons.append(when)

    component_match: bool | None = None
    if change.component and signature.components:
        component_match = change.component in signature.components
        component = 1.0 if component_match else 0.35
        reasons.append(
            f"changes {change.component}, which fails"
            if component_match
            else f"changes {change.component}, not the failing {', '.join(sorted(signature.components))}"
        )
    else:
        component = 0.6

    files = set(change.files)
    matched = tuple(f for f in signature.frames if f.path in files)
    blamed = tuple(sorted(signature.blamed.get(change.id, frozenset())))
    if not signature.frames:
        location = 1.0
    elif not files and not blamed:
        location = _UNPLACED
        reasons.append("names no files to set against the failing code")
    elif matched or blamed:
        location = 1.0 + 1.5 * max((f.weight for f in matched), default=0.5)
        if blamed:
            location += 1.5
            reasons.append("last changed the failing line(s) " + ", ".join(f"{p}:{n}" for p, n in blamed[:3]))
        if matched:
            reasons.append("touches the failing frame(s) " + ", ".join(f.location() for f in matched[:3]))
    else:
        frame_dirs = {str(PurePosixPath(f.path).parent) for f in signature.frames}
        near = any(str(PurePosixPath(path).parent) in frame_dirs for path in files)
        location = 0.9 if near else 0.6
        reasons.append(
            "touches the folder of the failing code, not its files"
            if near
            else "touches none of the failing code"
        )

    fields = tuple(sorted(signature.fields_changed.get(change.id, frozenset())))
    if fields:
        location += 1.0
        reasons.append("its diff changes the handling of the failing field(s) " + ", ".join(fields[:5]))

    size_factor = 0.9 if size is None else 0.85 + 0.15 * min(1.0, math.log10(1 + max(size, 0)) / 3.0)
    merge = 0.8 if change.kind == "merge" else 1.0
    score = prior * time * component * location * size_factor * merge
    return ChangeScore(
        change=change,
        score=round(score, 4),
        eligible=True,
        nature=nature,
        before_onset=before,
        component_match=component_match,
        matched_files=tuple(sorted({f.path for f in matched} | {p for p, _ in blamed})),
        matched_frames=matched,
        blamed_lines=blamed,
        factors={
            "kind": prior,
            "time": round(time, 4),
            "component": component,
            "code_location": round(location, 4),
            "size": round(size_factor, 4),
            "merge": merge,
        },
        reasons=tuple(reasons),
        landed_at=landed,
        fields_changed=fields,
        deployed_at=deployed,
    )


def rank_changes(
    changes: Sequence[Change],
    signature: IncidentSignature,
    *,
    sizes: Mapping[str, int] | None = None,
) -> list[ChangeScore]:
    """Every change scored, the most likely cause first; changes after the onset come last at 0."""
    sizes = sizes or {}
    scored = [score_change(c, signature, size=sizes.get(c.id)) for c in changes]
    return sorted(scored, key=lambda s: (-s.score, not s.eligible, abs(s.before_onset), s.change.id))
