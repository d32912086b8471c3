"""Git repositories with fixed commit dates, so a case's commit ids are the same on every run.

The history is written in one ``git fast-import`` stream (one process per repository instead of three
per commit: a corpus of 170 cases builds in seconds), with author and committer dates given in the
stream, then checked out. A commit's id depends only on its tree, parents, author, committer, dates and
message, all of which come from the seed, so ``git rev-parse`` gives the same 40-hex id every time.
Git's own configuration (global, system, ``GIT_DIR`` and friends) is kept out of it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["Commit", "build_repository"]


@dataclass
class Commit:
    """One commit: the files it writes (path to new content; None deletes) and who made it when."""

    at: datetime
    author: str
    email: str
    message: str
    files: dict[str, str | None]
    tag: str = ""  # what the scenario calls it ("guilty", "harmless:docs", "initial"...), for the docs
    deploy_at: datetime | None = None  # when its service restarts with it, when the scenario fixes that
    sha: str = field(default="", init=False)


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    return env


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    identity = ["-c", "user.name=Scenario Builder", "-c", "user.email=scenarios@shop.example"]
    done = subprocess.run(
        ["git", *identity, *args],
        cwd=repo,
        input=stdin,
        env=_git_env(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_repository(path: Path, commits: list[Commit]) -> list[Commit]:
    """Create a repository at ``path`` holding ``commits`` in order on ``main``; fills each ``sha``."""
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    stream = bytearray()
    for mark, commit in enumerate(commits, 1):
        when = f"{int(commit.at.timestamp())} +0000"
        stream += b"commit refs/heads/main\n"
        stream += b"mark :%d\n" % mark
        stream += f"author {commit.author} <{commit.email}> {when}\n".encode()
        stream += f"committer {commit.author} <{commit.email}> {when}\n".encode()
        stream += _data(commit.message)
        if mark > 1:
            stream += b"from :%d\n" % (mark - 1)
        for name, content in sorted(commit.files.items()):
            if content is None:
                stream += f"D {name}\n".encode()
            else:
                stream += f"M 100644 inline {name}\n".encode() + _data(content)
        stream += b"\n"
    marks = path / ".git" / "scenario-marks"
    _git(path, "fast-import", "--quiet", f"--export-marks={marks}", stdin=bytes(stream))
    by_mark: dict[int, str] = {}
    for line in marks.read_text().splitlines():
        label, sha = line.split()
        by_mark[int(label.lstrip(":"))] = sha
    marks.unlink()
    for mark, commit in enumerate(commits, 1):
        commit.sha = by_mark[mark]
    _git(path, "checkout", "-q", "-f", "main")
    return commits
