"""Real git repositories for the tests: one ``git`` runner and one ``commit`` helper.

Commits get fixed dates (``at``) so a test can place a change minutes before an onset; signing is
off and the system config is ignored, so a developer's own git setup cannot change what a test sees.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path


def git(repo: Path, *args: str, at: datetime | None = None, author: str = "Test") -> str:
    """Run ``git args`` in ``repo`` as ``author`` (dated ``at`` when given); its stdout, stripped."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
    done = subprocess.run(
        [
            "git",
            "-c",
            f"user.name={author}",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str, at: datetime, author: str = "Test") -> str:
    """Write ``files`` (path -> text), commit them with ``message`` at ``at``; the new commit's SHA."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message, at=at, author=author)
    return git(repo, "rev-parse", "HEAD")
