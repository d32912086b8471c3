"""Safety: a run executes nothing, whatever its input, and secrets never reach the report or the trail.

Actions with approval do not exist yet (another issue builds them), so "no action runs without
approval" is tested as what holds today: a run starts no process but read-only ``git`` commands
(argument lists, never a shell), every mitigation is a proposal recorded as not executed, and every
one that carries a command needs approval. Redaction is tested through whole runs: secrets placed in
log lines, in a commit message, in a change event, in a source's URL and in the description must not
appear in the Markdown report, the JSON report or the audit trail. What the LLM is sent is tested
with the LLM layer (pending, see ``docs/reliability.md``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from faults import assert_survived, timed, write_case
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import SMALL

from incident_flow.api import run_incident
from incident_flow.mitigate import propose_mitigations
from incident_flow.model import Category, Change, Evidence, Mitigation, RootCause

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
BOUND = 60.0
CANARY = "PWNED-by-incident-flow"
#: The git subcommands the git source may run: all of them read.
READ_ONLY_GIT = {"rev-parse", "log", "rev-list", "show", "blame", "ls-tree", "cat-file", "ls-files", "config"}


def _git(repo: Path, *args: str, at: datetime | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent)}
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=$(touch X)",
            "-c",
            "user.email=a@b.example",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )


def _hostile_case(folder: Path, canary: Path, secrets: dict[str, str] | None = None) -> Path:
    """A case with shell syntax (and ``secrets``) in its log, its git history and its change events."""
    secrets = secrets or {}
    touch = f"$(touch {canary}) `touch {canary}`; touch {canary} && touch {canary} | sh"
    marker = " ".join([touch, *secrets.values()])
    repo = folder / "repo"
    (repo / "services" / "orders").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for index in range(3):
        name = f"file $(touch {canary.name}) ; touch {canary.name} {index}.py"
        (repo / "services" / "orders" / name).write_text(f"X = {index}\n", encoding="utf-8")
        _git(repo, "add", ".")
        subject = f"orders: change {index} {touch} {secrets.get('commit', '')}"
        _git(repo, "commit", "-q", "-m", subject, at=AT - timedelta(minutes=40 - 10 * index))
    events = [
        {
            "id": f"deploy-{touch}",
            "at": f"{AT - timedelta(minutes=12):%Y-%m-%dT%H:%M:%SZ}",
            "kind": "deploy",
            "component": "orders",
            "summary": f"deploy {touch} {secrets.get('event', '')}",
            "version": touch,
        },
    ]
    (folder / "changes.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    url = secrets.get("url", "http://127.0.0.1:1")
    extra = (
        '[components]\norders = { paths = ["services/orders/**"] }\n\n'
        '[[sources]]\nname = "code"\ntype = "git"\npath = "repo"\n\n'
        '[[sources]]\nname = "deploys"\ntype = "changes"\npaths = ["changes.jsonl"]\n\n'
        f'[[sources]]\nname = "prom"\ntype = "prometheus"\nurl = "{url}"\ntimeout = "1s"\n'
    )
    # [components] must come before the [[sources]] of write_case: put it in the settings slot's place.
    config = write_case(folder, AT, marker=marker, extra="")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[[sources]]", extra.split("\n\n", 1)[0] + "\n\n[[sources]]", 1)
        + "\n"
        + extra.split("\n\n", 1)[1],
        encoding="utf-8",
    )
    return config


class _Spy:
    """Records every process a run starts, and refuses the ways of starting one through a shell."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[tuple[Any, dict[str, Any]]] = []
        spy = self

        class Popen(subprocess.Popen[Any]):
            def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
                spy.commands.append((args, kwargs))
                super().__init__(args, *rest, **kwargs)

        monkeypatch.setattr(subprocess, "Popen", Popen)
        for name in (
            "system",
            "popen",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "posix_spawn",
            "posix_spawnp",
        ):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._refuse(name))

    def _refuse(self, name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            self.commands.append(((f"os.{name}", *args), kwargs))
            raise AssertionError(f"os.{name} called during a run: {args!r}")

        return refuse


def test_a_run_over_hostile_input_executes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shell syntax in log lines, commit messages, file names, author names and change events: the
    run starts read-only ``git`` commands only, as argument lists, and proposes without executing."""
    canary = tmp_path / CANARY
    config = _hostile_case(tmp_path / "case", canary)
    spy = _Spy(monkeypatch)
    with timed() as elapsed:
        report = run_incident("orders failing after a deploy", config=config, at=AT)
    # The hostile deploy is the rank-1 cause here: the ops finding stays, redis need not lead.
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"prom": "cannot reach it"}, cause=None)
    assert report.root_causes[0].change is not None and "touch" in report.root_causes[0].change.id
    for folder in (tmp_path, tmp_path / "case", tmp_path / "case" / "repo", Path.cwd()):
        assert not (folder / CANARY).exists()
    assert spy.commands, "the git source did not run: the test did not exercise it"
    for args, kwargs in spy.commands:
        assert isinstance(args, list | tuple) and not kwargs.get("shell"), (args, kwargs)
        words = [str(a) for a in args]
        assert Path(words[0]).name == "git", words
        subcommand = next(
            w
            for w in words[1:]
            if not w.startswith("-") and w not in (str(config.parent / "repo"),) and not w.startswith("core.")
        )
        assert subcommand in READ_ONLY_GIT, words
    trail = Path(report.audit["path"]).read_text(encoding="utf-8").splitlines()
    mitigations = [json.loads(line) for line in trail if '"kind":"mitigations"' in line]
    assert mitigations and all(m["data"]["executed"] == [] for m in mitigations)
    assert "No action was executed" in report.to_markdown()
    for mitigation in report.mitigations:
        if mitigation.command is not None:
            assert mitigation.requires_approval, mitigation


_text = st.text(max_size=20) | st.sampled_from(["$(reboot)", "; rm -rf /", "`id`", "--force", "-rf", "*"])
_causes = st.lists(
    st.builds(
        RootCause,
        rank=st.integers(1, 5),
        component=st.text(min_size=1, max_size=10).filter(str.strip),
        category=st.sampled_from(list(Category)),
        summary=_text,
        confidence=st.floats(0, 1),
        evidence=st.just((Evidence(source="s", kind="k", summary="x", lines=("l",)),)),
        change=st.none()
        | st.builds(
            Change,
            id=st.text(min_size=1, max_size=12).filter(str.strip)
            | st.sampled_from(["a" * 40, "$(reboot)", "-m"]),
            summary=_text,
            at=st.just(AT),
            kind=st.sampled_from(["commit", "merge", "deploy", "flag", "migration"]),
        ),
    ),
    max_size=4,
)


@SMALL
@given(causes=_causes)
def test_every_proposed_command_needs_approval_and_is_an_argument_list(causes: list[RootCause]) -> None:
    """Whatever the causes (and their changes' ids), a step with a command needs approval and the
    command is a tuple of strings: there is no shell string to inject into."""
    for mitigation in propose_mitigations(causes):
        assert isinstance(mitigation, Mitigation)
        if mitigation.command is not None:
            assert mitigation.requires_approval
            assert isinstance(mitigation.command, tuple) and all(
                isinstance(a, str) for a in mitigation.command
            )


# -- redaction -------------------------------------------------------------------------------------

SECRETS = {
    "log": "password=Hunter2-log-secret",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "dsn": "postgresql://app:DsnS3cretPw@db.internal/app",
    "email": "alice.customer@example.com",
    "bearer": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "card": "4111 1111 1111 1111",
    "commit": "api_key=CommitKey123456789",
    "event": "token=EventTok987654321",
    "url": "http://admin:PromUrlPw42@127.0.0.1:1",
}
#: The secret part of each value above: none may appear anywhere in what the run writes.
NEEDLES = [
    "Hunter2-log-secret",
    "AKIAIOSFODNN7EXAMPLE",
    "DsnS3cretPw",
    "alice.customer@example.com",
    "c2lnbmF0dXJl",
    "4111 1111 1111 1111",
    "CommitKey123456789",
    "EventTok987654321",
    "PromUrlPw42",
]


def test_secrets_never_reach_the_report_or_the_audit_trail(tmp_path: Path) -> None:
    """Secrets in log lines, a commit message, a change event, a source's URL and the description."""
    config = _hostile_case(tmp_path / "case", tmp_path / CANARY, secrets=SECRETS)
    description = f"orders failing; user {SECRETS['email']} says token=DescTok55555555 leaked"
    with timed() as elapsed:
        report = run_incident(description, config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, cause=None)
    evidence = " ".join(line for f in report.findings for e in f.evidence for line in e.lines)
    assert "Hunter2-log-secret" in evidence, "the secrets did not reach the evidence: nothing was tested"
    markdown, text = report.to_markdown(), report.to_json()
    trail = Path(report.audit["path"]).read_text(encoding="utf-8")
    for needle in [*NEEDLES, "DescTok55555555"]:
        assert needle not in markdown, f"{needle} is in the Markdown report"
        assert needle not in text, f"{needle} is in the JSON report"
        assert needle not in trail, f"{needle} is in the audit trail"
    placeholders = set(re.findall(r"\[REDACTED-[A-Z_]+-\d+\]", markdown))
    assert placeholders and placeholders <= set(re.findall(r"\[REDACTED-[A-Z_]+-\d+\]", text))


def test_redaction_is_stable_within_a_report(tmp_path: Path) -> None:
    """The same secret gets the same placeholder in every line of one report, and in both formats."""
    config = write_case(tmp_path / "case", AT, marker="session_id=SameSecretEverywhere1")
    report = run_incident("orders failing", config=config, at=AT)
    markdown, data = report.to_markdown(), report.to_dict()
    assert "SameSecretEverywhere1" not in markdown
    found = set(re.findall(r"\[REDACTED-SECRET-\d+\]", markdown))
    assert len(found) == 1, found
    assert found <= set(re.findall(r"\[REDACTED-SECRET-\d+\]", json.dumps(data)))
