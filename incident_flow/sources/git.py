"""The ``git`` source type: the commits of a look-back window, their files, authors, diffs and blame.

The window is pushed down to git (``git log --since --until``), which stops walking history at the
window's start instead of reading every commit: on a 50,000-commit repository the look-back takes a
few tens of milliseconds (``benchmarks/git_lookback.py``, ``docs/benchmarks.md``). Only the ``git``
command is used, through argument lists (never a shell), with the environment cleaned of the
variables that would point git at another repository.

What a run can ask beyond :meth:`GitSource.changes`:

- :meth:`GitSource.commit` gives the full record of a commit (parents, tags, line counts, when its
  merge landed it);
- :meth:`GitSource.diff` a commit's patch, capped in bytes;
- :meth:`GitSource.blame` which commit last changed given lines (how a failing frame is tied to
  the commit that wrote it);
- :meth:`GitSource.tree` the repository's files (to map a stack frame's deployed path onto it);
- :meth:`GitSource.codeowners` the ``CODEOWNERS`` rules, so a finding can name who owns the code.

Shallow clones and detached HEADs work: a shallow clone's oldest commit has no known parents, so
its files are unknown (git would list the whole tree) and it is marked ``boundary``.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from incident_flow.analysis.changes import component_for_files, path_matches
from incident_flow.config import ComponentSpec, ConfigError
from incident_flow.model import Change
from incident_flow.sources import ChangeSource, Option, SourceError, SourceSpec, SourceType

__all__ = [
    "DEFAULT_MAX_COMMITS",
    "DEFAULT_MAX_DIFF_BYTES",
    "GIT_SOURCE_TYPE",
    "BlameLine",
    "CodeOwners",
    "Commit",
    "GitSource",
    "create_git_source",
]

DEFAULT_MAX_COMMITS = 5000
DEFAULT_MAX_DIFF_BYTES = 200_000
DEFAULT_TIMEOUT = timedelta(seconds=30)

# Variables that would make git read another repository, or wait for a password or an editor.
_GIT_ENV_DROP = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REV = re.compile(r"[^\s\-~^:?*\[\\][^\s~^:?*\[\\]*(?:[~^][0-9]*)*")
_FIELD, _RECORD = "\x1f", "\x1e"
_LOG_FORMAT = _FIELD.join(("%H", "%P", "%ct", "%at", "%an", "%ae", "%s", "%D")).replace("\x1f", "%x1f")


@attrs.frozen
class Commit:
    """A commit as the look-back read it.

    ``at`` is the commit time (when it was made or rebased into the branch); ``landed_at`` is when a
    merge brought it into the branch being read, when that is later; ``boundary`` marks a shallow
    clone's oldest commit, whose parents and files are unknown.
    """

    sha: str
    parents: tuple[str, ...]
    at: datetime
    authored_at: datetime
    author: str
    email: str
    subject: str
    files: tuple[str, ...] = ()
    insertions: int = 0
    deletions: int = 0
    tags: tuple[str, ...] = ()
    boundary: bool = False
    landed_at: datetime | None = None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def size(self) -> int:
        """Lines added plus lines removed (binary files count none)."""
        return self.insertions + self.deletions

    def to_change(self, component: str | None = None) -> Change:
        return Change(
            id=self.sha,
            summary=self.subject,
            at=self.at,
            author=self.author or None,
            kind="merge" if self.is_merge else "commit",
            component=component,
            files=self.files,
        )


@attrs.frozen
class BlameLine:
    """Who last changed one line: ``boundary`` means the change is older than the blame's window."""

    path: str
    line: int
    sha: str
    author: str
    at: datetime | None
    boundary: bool = False


@attrs.frozen
class CodeOwners:
    """``CODEOWNERS`` rules (GitHub and GitLab layout): the last matching rule wins."""

    path: str | None = None
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, text: str, path: str | None = None) -> CodeOwners:
        rules: list[tuple[str, tuple[str, ...]]] = []
        for raw in text.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "[", "^[")):  # comments and GitLab sections
                continue
            pattern, *owners = line.split()
            rules.append((pattern, tuple(owners)))
        return cls(path=path, rules=tuple(rules))

    def owners(self, file: str) -> tuple[str, ...]:
        """The owners of a repository path (empty when no rule matches or the rule names none)."""
        found: tuple[str, ...] = ()
        clean = file.lstrip("/")
        for pattern, owners in self.rules:
            if _codeowners_match(pattern, clean):
                found = owners
        return found


def _codeowners_match(pattern: str, path: str) -> bool:
    """gitignore-style matching, as CODEOWNERS uses it."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    if pattern.endswith("/"):
        body += "/**"
    if not body:
        return False
    if anchored:
        return path_matches(body, path)
    # A bare name matches at any depth, as a file or as a folder.
    return path_matches("**/" + body, path) or path_matches("**/" + body + "/**", path)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _git_time(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        GIT_OPTIONAL_LOCKS="0",  # a read must never take the index lock from a user's git
        LC_ALL="C",
        LANGUAGE="C",
    )
    return env


class GitSource(ChangeSource):
    """A git repository as a source of changes: its commits in ``[since, until]`` on ``rev``.

    ``components`` (the config's ``[components]``) names each commit's component from its files;
    ``component`` fixes it instead (a repository per service).
    """

    def __init__(
        self,
        name: str,
        path: Path | str,
        *,
        rev: str = "HEAD",
        max_commits: int = DEFAULT_MAX_COMMITS,
        max_diff_bytes: int = DEFAULT_MAX_DIFF_BYTES,
        component: str | None = None,
        components: Mapping[str, ComponentSpec] | None = None,
        timeout: float = DEFAULT_TIMEOUT.total_seconds(),
        git: str = "git",
    ) -> None:
        super().__init__(name)
        if not _REV.fullmatch(rev):
            raise SourceError(f"git source {name}: {rev!r} is not a branch, tag or commit name")
        self.path = Path(path)
        self.rev = rev
        self.max_commits = max_commits
        self.max_diff_bytes = max_diff_bytes
        self.component = component
        self.components: Mapping[str, ComponentSpec] = dict(components or {})
        self.timeout = timeout
        self.git = git
        #: The last ``git log`` command the look-back ran, for the evidence's ``query``.
        self.last_query: str | None = None
        self._env = _clean_env()
        if self.path.parent != self.path:
            # Never walk up into an enclosing repository: a wrong path must fail, not read another repo.
            self._env["GIT_CEILING_DIRECTORIES"] = str(self.path.resolve().parent)
        self._lock = threading.RLock()
        self._commits: dict[str, Commit] = {}
        self._trees: dict[str, frozenset[str]] = {}
        self._owners: CodeOwners | None = None
        self._shallow: frozenset[str] | None = None
        self._check()

    # -- running git -------------------------------------------------------------------------------

    def _run(self, args: Sequence[str], *, allow_fail: bool = False) -> subprocess.CompletedProcess[bytes]:
        command = [self.git, "-C", str(self.path), "--no-pager", "-c", "core.quotepath=off", *args]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=self.timeout, env=self._env, check=False
            )
        except FileNotFoundError:
            raise SourceError(
                f"git source {self.name}: the git command ({self.git}) is not installed"
            ) from None
        except subprocess.TimeoutExpired:
            raise SourceError(
                f"git source {self.name}: git {args[0]} took more than {self.timeout:g}s on {self.path}"
            ) from None
        if done.returncode != 0 and not allow_fail:
            raise SourceError(f"git source {self.name}: {self._error_line(done.stderr)}")
        return done

    def _error_line(self, stderr: bytes) -> str:
        lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        text = next((ln for ln in lines if ln.startswith("fatal:")), lines[0] if lines else "git failed")
        return f"{text.removeprefix('fatal: ')} (in {self.path})"

    def _check(self) -> None:
        if not self.path.exists():
            raise SourceError(
                f"git source {self.name}: {self.path} does not exist; set path to a git repository"
            )
        if not self.path.is_dir():
            raise SourceError(f"git source {self.name}: {self.path} is a file; set path to a git repository")
        done = self._run(["rev-parse", "--is-bare-repository"], allow_fail=True)
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace")
            if "dubious ownership" in message:
                raise SourceError(
                    f"git source {self.name}: {self.path} belongs to another user and git refuses it; "
                    f"run: git config --global --add safe.directory {self.path}"
                )
            raise SourceError(f"git source {self.name}: {self._not_a_repository()}")
        if self.rev != "HEAD":
            verify = self._run(
                ["rev-parse", "--verify", "--quiet", f"{self.rev}^{{commit}}"], allow_fail=True
            )
            if verify.returncode != 0:
                raise SourceError(
                    f"git source {self.name}: {self.rev!r} is not a branch, tag or commit of {self.path}; "
                    "set rev to one (or remove it to read HEAD)"
                )
        if done.stdout.decode().strip() == "true":
            return
        top = self._run(["rev-parse", "--show-toplevel"], allow_fail=True).stdout.decode("utf-8", "replace")
        if top.strip() and Path(top.strip()).resolve() != self.path.resolve():
            raise SourceError(f"git source {self.name}: {self._not_a_repository()}")

    def _not_a_repository(self) -> str:
        """Why the path is refused: name the enclosing repository when there is one."""
        env = {k: v for k, v in self._env.items() if k != "GIT_CEILING_DIRECTORIES"}
        try:
            done = subprocess.run(
                [self.git, "-C", str(self.path), "rev-parse", "--show-toplevel"],
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            done = None
        top = (
            done.stdout.decode("utf-8", "replace").strip()
            if done is not None and done.returncode == 0
            else ""
        )
        if top:
            return (
                f"{self.path} is inside the repository {top}; set path to that repository's top-level folder"
            )
        return f"{self.path} is not a git repository; set path to a repository's top-level folder"

    def describe(self) -> str:
        return f"git {self.name}: {self.path} ({self.rev})"

    # -- the look-back ---------------------------------------------------------------------------

    def shallow_boundary(self) -> frozenset[str]:
        """The commits at a shallow clone's edge (empty for a full clone)."""
        with self._lock:
            if self._shallow is None:
                done = self._run(["rev-parse", "--git-path", "shallow"], allow_fail=True)
                shallow: frozenset[str] = frozenset()
                if done.returncode == 0:
                    file = Path(done.stdout.decode().strip())
                    file = file if file.is_absolute() else self.path / file
                    try:
                        shallow = frozenset(file.read_text(encoding="ascii").split())
                    except OSError:
                        shallow = frozenset()
                self._shallow = shallow
            return self._shallow

    def log_command(self, since: datetime, until: datetime, limit: int) -> list[str]:
        """The ``git log`` arguments of a look-back: the window and the cap go to git."""
        return [
            "log",
            f"--since={_git_time(since)}",
            f"--until={_git_time(until)}",
            f"--max-count={limit}",
            f"--format={_RECORD}{_LOG_FORMAT}",
            "--numstat",
            "-z",
            "--no-renames",
            "--diff-merges=first-parent",
            "--decorate-refs=refs/tags/",
            "--no-color",
            "--end-of-options",
            self.rev,
            "--",
        ]

    def commits(self, since: datetime, until: datetime) -> list[Commit]:
        """The commits made in ``[since, until]`` on ``rev``, oldest first, at most ``max_commits``."""
        args = self.log_command(since, until, self.max_commits + 1)
        self.last_query = "git " + " ".join(a for a in args if a not in ("-z", "--end-of-options", "--"))
        self.last_query = self.last_query.replace(f"--format={_RECORD}{_LOG_FORMAT}", "--format=...")
        done = self._run(args, allow_fail=True)
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace")
            empty = ("does not have any commits", "bad revision 'HEAD'", "unknown revision")
            if self.rev == "HEAD" and any(text in stderr for text in empty):
                return []  # an empty repository has no history to read
            raise SourceError(f"git source {self.name}: {self._error_line(done.stderr)}")
        parsed = self._parse_log(done.stdout)
        if len(parsed) > self.max_commits:
            self.warn(
                f"more than {self.max_commits} commits in the look-back window of {self.path}; "
                f"the newest {self.max_commits} were read (raise max_commits)"
            )
            parsed = parsed[: self.max_commits]
        boundary = self.shallow_boundary()
        if boundary & {c.sha for c in parsed}:
            self.warn(
                f"{self.path} is a shallow clone: the files of its oldest commit are unknown "
                "(fetch more history)"
            )
        landed = self._landed(parsed)
        result = []
        for commit in parsed:
            if commit.sha in boundary:
                commit = attrs.evolve(commit, files=(), insertions=0, deletions=0, boundary=True, parents=())
            if commit.sha in landed:
                commit = attrs.evolve(commit, landed_at=landed[commit.sha])
            result.append(commit)
        result.sort(key=lambda c: (c.at, c.sha))
        with self._lock:
            for commit in result:
                self._commits[commit.sha] = commit
        return result

    def changes(self, since: datetime, until: datetime) -> Iterator[Change]:
        """The look-back as :class:`Change` values, oldest first (the ``ChangeSource`` interface)."""
        for commit in self.commits(since, until):
            yield commit.to_change(self.component_of(commit))

    def component_of(self, commit: Commit) -> str | None:
        """The fixed ``component``, else the ``[components]`` entry most of its files belong to."""
        if self.component:
            return self.component
        return component_for_files(commit.files, self.components) if self.components else None

    def _parse_log(self, raw: bytes) -> list[Commit]:
        """The commits of ``git log``'s output; a record that does not read is skipped and warned.

        A commit message may hold git's own separators (``\\x1e``, ``\\x1f``) and so forge or split
        records: those are skipped rather than allowed to fail the whole look-back.
        """
        text = raw.decode("utf-8", "replace")
        commits: list[Commit] = []
        unreadable = 0
        for chunk in text.split(_RECORD):
            if not chunk.strip("\x00\n"):
                continue
            header, _, rest = chunk.partition("\x00")
            fields = header.split(_FIELD)
            if len(fields) < 8:
                continue
            sha, parents, ct, at_, author, email, subject, refs = fields[:8]
            try:
                if not _FULL_SHA.fullmatch(sha):
                    raise ValueError(sha)
                committed = datetime.fromtimestamp(int(ct), UTC)
                authored = datetime.fromtimestamp(int(at_), UTC)
            except (ValueError, OverflowError, OSError):
                unreadable += 1
                continue
            files: list[str] = []
            insertions = deletions = 0
            for entry in rest.lstrip("\n").split("\x00"):
                entry = entry.strip("\n")
                if not entry:
                    continue
                parts = entry.split("\t", 2)
                if len(parts) != 3:
                    continue
                added, removed, file = parts
                files.append(file)
                insertions += int(added) if added.isascii() and added.isdigit() else 0
                deletions += int(removed) if removed.isascii() and removed.isdigit() else 0
            tags = tuple(r.strip()[5:] for r in refs.split(",") if r.strip().startswith("tag: "))
            commits.append(
                Commit(
                    sha=sha,
                    parents=tuple(parents.split()),
                    at=committed,
                    authored_at=authored,
                    author=author,
                    email=email,
                    subject=subject,
                    files=tuple(dict.fromkeys(files)),
                    insertions=insertions,
                    deletions=deletions,
                    tags=tags,
                )
            )
        if unreadable:
            self.warn(
                f"{unreadable} record(s) of git log in {self.path} could not be read and were skipped "
                "(a commit message holding git's field separators?)"
            )
        return commits

    def _landed(self, commits: Sequence[Commit], max_merges: int = 50) -> dict[str, datetime]:
        """When each branch commit reached ``rev``: the time of the merge that brought it in."""
        landed: dict[str, datetime] = {}
        known = {c.sha for c in commits}
        merges = sorted((c for c in commits if c.is_merge), key=lambda c: c.at)[:max_merges]
        for merge in merges:
            first, *others = merge.parents
            for other in others:
                done = self._run(
                    ["rev-list", f"--max-count={self.max_commits}", "--end-of-options", f"{first}..{other}"],
                    allow_fail=True,
                )
                if done.returncode != 0:
                    continue  # a shallow clone may lack the parents
                for sha in done.stdout.decode().split():
                    if sha in known and sha not in landed:
                        landed[sha] = merge.at
        return landed

    def rev_at(self, when: datetime) -> str | None:
        """The commit ``rev`` pointed at, at ``when``: the newest of its first-parent history made by
        then (what was deployed, when ``rev`` is what is deployed). None when there is none."""
        done = self._run(
            [
                "rev-list",
                "--max-count=1",
                "--first-parent",
                f"--before={_git_time(when)}",
                "--end-of-options",
                self.rev,
                "--",
            ],
            allow_fail=True,
        )
        sha = done.stdout.decode().strip() if done.returncode == 0 else ""
        return sha or None

    # -- one commit ------------------------------------------------------------------------------

    def _sha(self, change_id: str) -> str:
        if not _SHA.fullmatch(change_id):
            raise SourceError(f"git source {self.name}: {change_id!r} is not a commit id")
        return change_id

    def commit(self, change_id: str) -> Commit | None:
        """The commit with this id (read by the look-back, or fetched now); None when unknown."""
        sha = self._sha(change_id)
        with self._lock:
            if sha in self._commits:
                return self._commits[sha]
        done = self._run(
            [
                "log",
                "-1",
                f"--format={_RECORD}{_LOG_FORMAT}",
                "--numstat",
                "-z",
                "--no-renames",
                "--diff-merges=first-parent",
                "--decorate-refs=refs/tags/",
                "--end-of-options",
                sha,
                "--",
            ],
            allow_fail=True,
        )
        if done.returncode != 0:
            return None
        parsed = self._parse_log(done.stdout)
        if not parsed:
            return None
        commit = parsed[0]
        if commit.sha in self.shallow_boundary():
            commit = attrs.evolve(commit, files=(), insertions=0, deletions=0, boundary=True, parents=())
        with self._lock:
            self._commits[commit.sha] = commit
        return commit

    def files_touched(self, change_id: str) -> tuple[str, ...]:
        """The files a commit changed (a merge: what it brought relative to its first parent)."""
        commit = self.commit(change_id)
        return commit.files if commit is not None else ()

    def diff(self, change_id: str, max_bytes: int | None = None) -> str:
        """A commit's patch, at most ``max_bytes`` (default ``max_diff_bytes``), marked when cut."""
        sha = self._sha(change_id)
        limit = self.max_diff_bytes if max_bytes is None else max_bytes
        command = [
            self.git,
            "-C",
            str(self.path),
            "--no-pager",
            "show",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--format=",
            "--patch",
            "--diff-merges=first-parent",
            "--end-of-options",
            sha,
            "--",
        ]
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env)
        except FileNotFoundError:
            raise SourceError(
                f"git source {self.name}: the git command ({self.git}) is not installed"
            ) from None
        assert process.stdout is not None
        try:
            data = process.stdout.read(limit + 1)
            cut = len(data) > limit
            if cut:
                process.kill()
            _, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise SourceError(
                f"git source {self.name}: git show {sha[:12]} took more than {self.timeout:g}s"
            ) from None
        if not cut and process.returncode != 0:
            raise SourceError(f"git source {self.name}: {self._error_line(stderr)}")
        text = data[:limit].decode("utf-8", "replace")
        if cut:
            text += f"\n… [diff truncated at {limit} bytes]"
        return text

    # -- lines, files, owners --------------------------------------------------------------------

    def blame(
        self,
        path: str,
        lines: Sequence[int],
        *,
        rev: str | None = None,
        since: datetime | None = None,
    ) -> dict[int, BlameLine]:
        """Which commit last changed each of ``lines`` of ``path`` at ``rev`` (default ``rev``).

        With ``since``, history before it is not searched: such lines come back as ``boundary``
        (older than the window), which keeps blame fast on long histories. Lines past the end of the
        file are left out.
        """
        wanted = sorted({n for n in lines if n >= 1})
        if not wanted or path.startswith("-"):
            return {}
        target = rev or self.rev
        if not _REV.fullmatch(target):
            raise SourceError(f"git source {self.name}: {target!r} is not a revision")
        for _attempt in range(2):
            args = ["blame", "--porcelain"]
            for n in wanted:
                args += ["-L", f"{n},{n}"]
            if since is not None:
                args.append(f"--since={_git_time(since)}")
            args += [target, "--", path]
            done = self._run(args, allow_fail=True)
            if done.returncode == 0:
                return self._parse_blame(path, done.stdout)
            stderr = done.stderr.decode("utf-8", "replace")
            match = re.search(r"has only (\d+) lines?", stderr)
            if match is None:
                return {}
            wanted = [n for n in wanted if n <= int(match.group(1))]
            if not wanted:
                return {}
        return {}

    def _parse_blame(self, path: str, raw: bytes) -> dict[int, BlameLine]:
        result: dict[int, BlameLine] = {}
        details: dict[str, dict[str, Any]] = {}
        current: str | None = None
        final_line = 0
        for line in raw.decode("utf-8", "replace").split("\n"):
            if line.startswith("\t"):
                if current is not None:
                    info = details.get(current, {})
                    result[final_line] = BlameLine(
                        path=path,
                        line=final_line,
                        sha=current,
                        author=info.get("author", ""),
                        at=info.get("at"),
                        boundary=bool(info.get("boundary")),
                    )
                current = None
                continue
            parts = line.split(" ")
            if len(parts) >= 3 and re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", parts[0]):
                current = parts[0]
                final_line = int(parts[2])
                details.setdefault(current, {})
            elif current is not None:
                key, _, value = line.partition(" ")
                if key == "author":
                    details[current]["author"] = value
                elif key == "committer-time" and value.isdigit():
                    details[current]["at"] = datetime.fromtimestamp(int(value), UTC)
                elif key == "boundary":
                    details[current]["boundary"] = True
        return result

    def tree(self, rev: str | None = None) -> frozenset[str]:
        """Every file path in the repository at ``rev`` (default ``rev``)."""
        target = rev or self.rev
        if not _REV.fullmatch(target):
            raise SourceError(f"git source {self.name}: {target!r} is not a revision")
        with self._lock:
            if target in self._trees:
                return self._trees[target]
        done = self._run(["ls-tree", "-r", "--name-only", "-z", "--full-tree", "--end-of-options", target])
        files = frozenset(p for p in done.stdout.decode("utf-8", "replace").split("\x00") if p)
        with self._lock:
            self._trees[target] = files
        return files

    def codeowners(self) -> CodeOwners:
        """The ``CODEOWNERS`` file at ``rev`` (``.github/``, the root, ``docs/`` or ``.gitlab/``)."""
        with self._lock:
            if self._owners is not None:
                return self._owners
        owners = CodeOwners()
        for candidate in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"):
            done = self._run(["cat-file", "-p", f"{self.rev}:{candidate}"], allow_fail=True)
            if done.returncode == 0:
                owners = CodeOwners.parse(done.stdout.decode("utf-8", "replace"), candidate)
                break
        with self._lock:
            self._owners = owners
        return owners


def _positive_int(spec: SourceSpec, key: str, default: int) -> int:
    value = spec.options.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(None, f"sources.{spec.name}.{key}", f"a positive integer (got {value!r})")
    return value


def create_git_source(spec: SourceSpec) -> GitSource:
    """The ``git`` factory: ``path`` resolves against the config file's folder."""
    raw = spec.options.get("path")
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(None, f"sources.{spec.name}.path", "the path of a git repository (a string)")
    rev = spec.options.get("rev") or "HEAD"
    if not isinstance(rev, str) or not _REV.fullmatch(rev):
        raise ConfigError(None, f"sources.{spec.name}.rev", f"a branch, tag or commit (got {rev!r})")
    component = spec.options.get("component")
    if component is not None and (not isinstance(component, str) or not component.strip()):
        raise ConfigError(None, f"sources.{spec.name}.component", f"a non-empty string (got {component!r})")
    timeout = spec.options.get("timeout") or DEFAULT_TIMEOUT
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    # The config's [components], when the core hands them to source factories.
    components = getattr(spec, "components", None)
    return GitSource(
        spec.name,
        spec.path(raw),
        rev=rev,
        max_commits=_positive_int(spec, "max_commits", DEFAULT_MAX_COMMITS),
        max_diff_bytes=_positive_int(spec, "max_diff_bytes", DEFAULT_MAX_DIFF_BYTES),
        component=component,
        components=components if isinstance(components, Mapping) else None,
        timeout=seconds,
    )


#: ``type = "git"`` in ``[[sources]]``.
GIT_SOURCE_TYPE = SourceType(
    name="git",
    factory=create_git_source,
    description="a git repository: commits in the change look-back window (pushed down to git log), "
    "their files, authors, merges and tags; diffs and blame on demand; CODEOWNERS",
    options={
        "path": Option(
            (str,),
            "the repository's top-level folder (or a bare repository), relative to the config file",
            required=True,
        ),
        "rev": Option(
            (str,),
            "the branch, tag or commit whose history is read: what is deployed (default HEAD)",
            default="HEAD",
        ),
        "component": Option(
            (str,),
            "a fixed component for every commit (one repository per service); "
            "otherwise [components] paths decide per commit",
        ),
        "max_commits": Option(
            (int,),
            f"the most commits one look-back reads, the newest kept (default {DEFAULT_MAX_COMMITS})",
            default=DEFAULT_MAX_COMMITS,
        ),
        "max_diff_bytes": Option(
            (int,),
            f"the most bytes of one commit's diff that are read (default {DEFAULT_MAX_DIFF_BYTES})",
            default=DEFAULT_MAX_DIFF_BYTES,
        ),
        "timeout": Option((timedelta,), 'how long one git command may run (default "30s")'),
    },
)
