"""The built-in ``git-revert`` action: revert the rank-1 change on a new branch, never pushed.

The user's checkout is never touched: the revert is made in a temporary ``git worktree`` of the
repository, committed on a new branch ``revert-<sha12>``, and the worktree is removed; the branch
stays for people to review, test and push. Nothing talks to a remote. Hooks are disabled for these
git commands (``core.hooksPath``), so a repository's own hooks cannot run as a side effect of an
incident tool, and commit signing too, so no passphrase prompt can hang the run.

The dry run checks, in a detached temporary worktree, that the revert applies cleanly and changes
something; it creates no branch, so refs, HEAD, the index and the working tree stay as they were.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

from incident_flow.actions import Action, ActionContext
from incident_flow.model import ActionResult, Mitigation
from incident_flow.sources.git import GitSource

__all__ = ["GIT_REVERT_ACTION", "branch_for"]

NAME = "git-revert"
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_TIMEOUT = 120.0
# Variables that would point git at another repository than the one named with -C.
_ENV_DROP = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
)
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "incident-flow",
    "GIT_AUTHOR_EMAIL": "incident-flow@localhost",
    "GIT_COMMITTER_NAME": "incident-flow",
    "GIT_COMMITTER_EMAIL": "incident-flow@localhost",
}


def branch_for(sha: str) -> str:
    """The branch a revert of ``sha`` is made on: ``revert-<first 12 hex digits>``."""
    return f"revert-{sha[:12]}"


class _GitError(Exception):
    pass


@attrs.frozen
class _Target:
    repo: Path
    sha: str
    base: str
    merge: bool


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _ENV_DROP}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true", GIT_PAGER="cat", LC_ALL="C", LANGUAGE="C")
    return env


def _git(
    where: Path, args: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = ["git", "-C", str(where), "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT,
            env=env or _env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _GitError(f"git {args[0]} took more than {_TIMEOUT:g}s") from None
    except OSError as exc:
        raise _GitError(f"git cannot run: {exc.strerror or exc}") from None
    if check and done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise _GitError(f"git {args[0]} failed: {lines[-1] if lines else 'exit ' + str(done.returncode)}")
    return done


def _sha_of(mitigation: Mitigation) -> str | None:
    command = mitigation.command or ()
    if command[:2] != ("git", "revert") or not command or not _SHA.fullmatch(command[-1]):
        return None
    return command[-1]


def _accepts(ctx: ActionContext, mitigation: Mitigation) -> bool:
    """Only the revert of the rank-1 cause's commit, and only with a git source to make it in."""
    sha = _sha_of(mitigation)
    if sha is None or not ctx.causes or not ctx.sources_of(GitSource):
        return False
    change = ctx.causes[0].change
    return change is not None and change.kind in ("commit", "merge") and change.id == sha


def _target(ctx: ActionContext, mitigation: Mitigation) -> _Target:
    sha = _sha_of(mitigation)
    if sha is None or not _accepts(ctx, mitigation):
        raise _GitError("this step is not the revert of the rank-1 cause's commit")
    for source in ctx.sources_of(GitSource):
        if _git(source.path, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode != 0:
            continue
        base = _git(source.path, ["rev-parse", "--verify", f"{source.rev}^{{commit}}"]).stdout.strip()
        if _git(source.path, ["merge-base", "--is-ancestor", sha, base], check=False).returncode != 0:
            raise _GitError(f"{sha[:12]} is not in the history of {source.rev} in {source.path}")
        parents = _git(source.path, ["rev-list", "--parents", "-n", "1", sha]).stdout.split()[1:]
        return _Target(repo=source.path, sha=sha, base=base, merge=len(parents) > 1)
    raise _GitError(f"no configured git repository holds the commit {sha[:12]}")


def _revert_args(target: _Target, *, commit: bool) -> list[str]:
    return [
        "revert",
        "--no-edit" if commit else "--no-commit",
        *(["-m", "1"] if target.merge else []),
        target.sha,
    ]


def _remove(target: _Target, worktree: Path, folder: Path) -> None:
    """Remove the temporary worktree (its files and git's record of it); never the user's."""
    _git(target.repo, ["worktree", "remove", "--force", str(worktree)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _changed_files(worktree: Path) -> list[str]:
    return _git(worktree, ["diff", "--cached", "--name-only", "HEAD"]).stdout.split()


def _dry_run(ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
    try:
        target = _target(ctx, mitigation)
    except _GitError as exc:
        return ActionResult(ok=False, summary=f"the revert cannot be made: {exc}", error=str(exc))
    folder = Path(tempfile.mkdtemp(prefix="incident-flow-revert-"))
    worktree = folder / "worktree"
    try:
        _git(target.repo, ["worktree", "add", "--quiet", "--detach", str(worktree), target.base])
        done = _git(worktree, _revert_args(target, commit=False), check=False)
        details = {
            "repository": str(target.repo),
            "commit": target.sha,
            "base": target.base,
            "branch": branch_for(target.sha),
        }
        if done.returncode != 0:
            conflicts = _git(worktree, ["diff", "--name-only", "--diff-filter=U"], check=False).stdout.split()
            where = ", ".join(conflicts) or "?"
            error = f"reverting {target.sha[:12]} on {target.base[:12]} conflicts in: {where}"
            return ActionResult(
                ok=False,
                summary=error,
                error=error,
                output=done.stderr[-2000:],
                details={**details, "conflicts": conflicts},
            )
        files = _changed_files(worktree)
        if not files:
            error = (
                f"reverting {target.sha[:12]} changes nothing on {target.base[:12]}: it was already undone"
            )
            return ActionResult(ok=False, summary=error, error=error, details=details)
        return ActionResult(
            ok=True,
            summary=f"the revert of {target.sha[:12]} applies cleanly on {target.base[:12]} "
            f"({len(files)} file(s)); nothing was changed",
            details={**details, "files": files},
        )
    except _GitError as exc:
        return ActionResult(ok=False, summary=f"the dry run failed: {exc}", error=str(exc))
    finally:
        _remove(target, worktree, folder)


def _identity(repo: Path) -> dict[str, str]:
    """git's environment, with a committer identity when the repository's config has none."""
    env = _env()
    if _git(repo, ["var", "GIT_COMMITTER_IDENT"], check=False).returncode != 0:
        env.update(_FALLBACK_IDENTITY)
    return env


def _run(ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
    try:
        target = _target(ctx, mitigation)
    except _GitError as exc:
        return ActionResult(ok=False, summary=f"the revert cannot be made: {exc}", error=str(exc))
    branch = branch_for(target.sha)
    if (
        _git(
            target.repo, ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], check=False
        ).returncode
        == 0
    ):
        error = f"the branch {branch} already exists in {target.repo}; delete it to revert again"
        return ActionResult(ok=False, summary=error, error=error)
    folder = Path(tempfile.mkdtemp(prefix="incident-flow-revert-"))
    worktree = folder / "worktree"
    created = False
    try:
        _git(target.repo, ["worktree", "add", "--quiet", "-b", branch, str(worktree), target.base])
        created = True
        done = _git(worktree, _revert_args(target, commit=True), env=_identity(target.repo), check=False)
        if done.returncode != 0:
            _git(worktree, ["revert", "--abort"], check=False)
            error = f"git revert failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
            return ActionResult(ok=False, summary=error, error=error, output=done.stderr[-2000:])
        new = _git(worktree, ["rev-parse", "HEAD"]).stdout.strip()
        files = _git(worktree, ["diff", "--name-only", target.base, new]).stdout.split()
        ctx.record("git.revert", repository=str(target.repo), branch=branch, commit=new, reverted=target.sha)
        return ActionResult(
            ok=True,
            summary=f"reverted {target.sha[:12]} as {new[:12]} on the new branch {branch} "
            f"(from {target.base[:12]}; not pushed, the checkout untouched)",
            output=done.stdout[-2000:],
            details={
                "repository": str(target.repo),
                "branch": branch,
                "commit": new,
                "base": target.base,
                "reverted": target.sha,
                "files": files,
            },
        )
    except _GitError as exc:
        return ActionResult(ok=False, summary=f"the revert failed: {exc}", error=str(exc))
    finally:
        _remove(target, worktree, folder)
        if created and not _branch_has_revert(target, branch):
            _git(target.repo, ["branch", "-D", branch], check=False)  # ours, and left empty by a failure


def _branch_has_revert(target: _Target, branch: str) -> bool:
    done = _git(target.repo, ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], check=False)
    return done.returncode == 0 and done.stdout.strip() != target.base


#: Registered by the core's plugin: revert the rank-1 commit on a new branch, never pushed.
GIT_REVERT_ACTION = Action(
    name=NAME,
    description="revert the rank-1 cause's commit on a new branch revert-<sha12> (a temporary worktree; "
    "the checkout is untouched, nothing is pushed)",
    run=_run,
    dry_run=_dry_run,
    accepts=_accepts,
)
