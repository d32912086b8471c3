"""Actions run only after explicit approval, dry-run first, in the audit trail; tests that try hard.

Every test builds a live incident in a real git repository with a bare remote (``action_fixtures``):
the rank-1 cause is a commit, so the built-in ``git-revert`` action can carry out its revert, and
the config's ``[[runbook]]`` entries give the ``runbook`` action commands that leave a canary file
when they run. Each way of getting an action to run without approval is tried and must leave no
canary, no branch and an unchanged remote.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from action_fixtures import PYTHON, Fixture, audit_records, git, make_incident, repo_state, runbook_entry
from hypothesis import given
from hypothesis import strategies as st

from incident_flow import Action, ActionRequest, ActionResult, Approval, Mitigation, hookimpl
from incident_flow.actions import ActionContext
from incident_flow.api import run_incident
from incident_flow.audit import verify_trail
from incident_flow.cli import main
from incident_flow.config import ConfigError, config_to_dict, load_config, parse_config
from incident_flow.mitigate import assign_ids
from incident_flow.plugins import make_plugin_host


@pytest.fixture(autouse=True)
def _git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def canary_entry(root: Path, name: str = "touch-canary") -> str:
    """A runbook entry whose command leaves ``root/canary-<name>`` when it runs."""
    script = f"open({str(root / ('canary-' + name))!r}, 'w').write('ran')"
    return runbook_entry(name, [PYTHON, "-c", script], components=["orders"], description=f"Run {name}")


def grant_all(by: str = "alice") -> Callable[[ActionRequest], Approval]:
    return lambda request: Approval.grant(request, by=by, reason="test")


def run(incident: Any, **kwargs: Any) -> Any:
    return run_incident(
        "Orders checkout is slow for all users",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture()],
        only=["fixture"],
        **kwargs,
    )


def step(report: Any, step_id: str) -> Mitigation:
    return next(m for m in report.mitigations if m.id == step_id)


def revert_id(incident: Any) -> str:
    return f"revert-{incident.shas['bad'][:12]}"


def assert_nothing_ran(incident: Any, before: dict[str, str], remote_before: str) -> None:
    assert not list(incident.root.glob("canary-*"))
    assert repo_state(incident.repo) == before
    assert git(incident.repo, "ls-remote", str(incident.remote)) == remote_before


# -- what can be carried out, and that nothing runs without approval ---------------------------------


def test_the_steps_an_action_can_carry_out_have_ids_and_executors_and_nothing_runs_without_a_callback(
    tmp_path: Path,
) -> None:
    incident = make_incident(tmp_path, runbook=canary_entry(tmp_path))
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    report = run(incident)
    revert = step(report, revert_id(incident))
    assert revert.executor == "git-revert" and revert.requires_approval and revert.execution is None
    runbook = step(report, "runbook-touch-canary")
    assert runbook.executor == "runbook" and runbook.command is not None and runbook.command[0] == PYTHON
    assert len({m.id for m in report.mitigations}) == len(report.mitigations)
    assert report.status == "ongoing" and report.verification is None
    assert_nothing_ran(incident, before, remote)
    kinds = [r["kind"] for r in audit_records(report)]
    assert not [k for k in kinds if k.startswith("action.")]
    summary = next(r for r in audit_records(report) if r["kind"] == "mitigations")["data"]
    assert summary["executed"] == [] and revert_id(incident) in summary["executable"]
    markdown = report.to_markdown()
    assert f"--approve {revert_id(incident)}" in markdown and "No action was executed" in markdown


def _refuse(request: ActionRequest) -> Approval:
    return Approval.refuse(request, reason="not now", by="bob")


def _other_id(request: ActionRequest) -> Approval:
    other = ActionRequest(
        id="restart-orders", action=request.action, mitigation=request.mitigation, dry_run=False
    )
    return Approval.grant(other, by="alice")


def _raises(request: ActionRequest) -> Approval:
    raise RuntimeError("the chat bot is down")


def _true(request: ActionRequest) -> Any:
    return True


def _dry_run_approval(request: ActionRequest) -> Approval:
    return Approval(id=request.id, approved=True, by="alice", dry_run=True)


def _nameless(request: ActionRequest) -> Approval:
    return Approval(id=request.id, approved=True, by=" ", dry_run=request.dry_run)  # raises: no approver


async def _async_refusal(request: ActionRequest) -> Approval:
    return Approval.refuse(request, reason="async says no")


@pytest.mark.parametrize(
    ("approve", "reason"),
    [
        (_refuse, "not now"),
        (_other_id, "not for"),
        (_raises, "RuntimeError"),
        (_true, "returned bool"),
        (_dry_run_approval, "dry run"),
        (_nameless, "ValueError"),
        (_async_refusal, "async says no"),
    ],
    ids=[
        "refused",
        "another-id",
        "raises",
        "returns-true",
        "dry-run-approval",
        "no-approver",
        "async-refusal",
    ],
)
def test_anything_but_an_explicit_approval_of_this_step_is_a_refusal(
    tmp_path: Path, approve: Callable[[ActionRequest], Any], reason: str
) -> None:
    incident = make_incident(tmp_path, runbook=canary_entry(tmp_path))
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    report = run(incident, approve=approve)
    assert_nothing_ran(incident, before, remote)
    for step_id in (revert_id(incident), "runbook-touch-canary"):
        execution = step(report, step_id).execution
        assert execution is not None and execution.status == "refused" and reason in execution.reason
        assert execution.approved_by is None
    decisions = [r["data"] for r in audit_records(report) if r["kind"] == "action.approval"]
    assert len(decisions) == 2 and not any(d["approved"] for d in decisions)
    assert all(reason in d["reason"] for d in decisions)
    assert report.status == "ongoing"


def test_a_replay_offers_nothing_even_to_an_approver(tmp_path: Path) -> None:
    incident = make_incident(
        tmp_path, runbook=canary_entry(tmp_path), detected_at=datetime.now(UTC) - timedelta(hours=7)
    )
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    asked: list[str] = []

    def approve(request: ActionRequest) -> Approval:
        asked.append(request.id)
        return Approval.grant(request, by="alice")

    report = run(incident, approve=approve)
    assert asked == [] and all(m.execution is None for m in report.mitigations)
    assert any("replays a past incident" in note for note in report.notes)
    assert_nothing_ran(incident, before, remote)
    # A live-looking detection time declared a replay by the caller is one too.
    live = make_incident(tmp_path / "live", runbook=canary_entry(tmp_path / "live"))
    report = run(live, approve=approve, replay=True)
    assert asked == [] and not list((tmp_path / "live").glob("canary-*"))


def test_eval_never_offers_an_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``eval`` replays: the gate is called without an approver and as a replay."""
    import asyncio

    import incident_flow.pipeline as pipeline
    from incident_flow.evaluation import evaluate

    seen: list[dict[str, Any]] = []
    real = pipeline.carry_out

    async def spy(steps: Any, actions: Any, ctx: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return await real(steps, actions, ctx, **kwargs)

    monkeypatch.setattr(pipeline, "carry_out", spy)
    incident = make_incident(tmp_path / "case", runbook=canary_entry(tmp_path / "case"))
    (tmp_path / "case" / "case.toml").write_text(
        f'description = "orders slow"\ndetected_at = "{incident.detected_at.isoformat()}"\n'
        '[expected]\ncomponent = "orders"\n',
        encoding="utf-8",
    )
    asyncio.run(evaluate([tmp_path / "case"]))
    assert seen and all(call["approve"] is None for call in seen)
    assert not list((tmp_path / "case").glob("canary-*"))


# -- the dry run ------------------------------------------------------------------------------------


def test_a_dry_run_changes_nothing(tmp_path: Path) -> None:
    incident = make_incident(tmp_path, runbook=canary_entry(tmp_path))
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    requests: list[ActionRequest] = []

    def approve(request: ActionRequest) -> Approval:
        requests.append(request)
        return Approval.grant(request, by="alice")

    report = run(incident, approve=approve, dry_run=True)
    assert requests and all(r.dry_run for r in requests)
    assert_nothing_ran(incident, before, remote)
    revert = step(report, revert_id(incident)).execution
    assert revert is not None and revert.status == "dry_run" and revert.result is None
    assert revert.dry_run_result is not None and revert.dry_run_result.ok
    assert "applies cleanly" in revert.dry_run_result.summary
    assert revert.dry_run_result.details["files"] == ["services/orders/pool.yaml"]
    runbook = step(report, "runbook-touch-canary").execution
    assert (
        runbook is not None
        and runbook.status == "dry_run"
        and "nothing was run" in runbook.dry_run_result.summary
    )
    assert report.status == "ongoing" and report.verification is None
    assert "git revert" not in " ".join(r["kind"] for r in audit_records(report))


def test_a_revert_that_conflicts_fails_its_dry_run_and_creates_nothing(tmp_path: Path) -> None:
    incident = make_incident(tmp_path, conflicting=True)
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    report = run(incident, approve=grant_all())
    execution = step(report, revert_id(incident)).execution
    assert execution is not None and execution.status == "failed" and execution.result is None
    assert (
        execution.dry_run_result is not None
        and "conflicts in: services/orders/pool.yaml" in execution.dry_run_result.summary
    )
    assert "the dry run failed, so nothing was run" in execution.reason
    assert_nothing_ran(incident, before, remote)
    assert report.status == "ongoing"


# -- the git revert ---------------------------------------------------------------------------------


def test_an_approved_revert_lands_on_a_new_branch_and_touches_neither_the_checkout_nor_the_remote(
    tmp_path: Path,
) -> None:
    incident = make_incident(tmp_path)
    before, remote = repo_state(incident.repo), git(incident.repo, "ls-remote", str(incident.remote))
    wanted = revert_id(incident)

    def approve(request: ActionRequest) -> Approval:
        if request.id == wanted:
            return Approval.grant(request, by="alice", reason="the pool change is the cause")
        return Approval.refuse(request, reason="only the revert")

    report = run(incident, approve=approve)
    branch = f"revert-{incident.shas['bad'][:12]}"
    execution = step(report, wanted).execution
    assert execution is not None and execution.status == "executed" and execution.approved_by == "alice"
    assert execution.result is not None and execution.result.details["branch"] == branch
    new = git(incident.repo, "rev-parse", f"refs/heads/{branch}")
    assert execution.result.details["commit"] == new
    assert git(incident.repo, "rev-parse", f"{new}^") == incident.shas["later"]
    assert git(incident.repo, "show", f"{new}:services/orders/pool.yaml") == "size: 50\ntimeout: 5"
    assert f"This reverts commit {incident.shas['bad']}" in git(
        incident.repo, "log", "-1", "--format=%B", new
    )
    after = repo_state(incident.repo)
    new_refs = set(after["refs"].splitlines()) - set(before["refs"].splitlines())
    assert new_refs == {f"refs/heads/{branch} {new}"} and set(before["refs"].splitlines()) <= set(
        after["refs"].splitlines()
    )
    assert {k: v for k, v in after.items() if k != "refs"} == {k: v for k, v in before.items() if k != "refs"}
    assert git(incident.repo, "ls-remote", str(incident.remote)) == remote  # never pushed
    records = audit_records(report)
    kinds = [r["kind"] for r in records if r["kind"].startswith(("action.", "git."))]
    assert kinds[:5] == [
        "action.request",
        "action.approval",
        "action.dry_run",
        "git.revert",
        "action.executed",
    ]
    approval = next(
        r["data"] for r in records if r["kind"] == "action.approval" and r["data"]["id"] == wanted
    )
    assert approval["approved"] and approval["by"] == "alice" and approval["at"]
    assert verify_trail(report.audit["path"], expected_final_hash=report.audit["final_hash"]).ok
    assert any(e.event.startswith(f"Mitigation executed: {wanted}") for e in report.timeline)
    data = json.loads(report.to_json())
    executed = next(m for m in data["mitigations"] if m["id"] == wanted)
    assert executed["execution"]["status"] == "executed" and executed["execution"]["approved_by"] == "alice"
    # The revert ran, the latency series did not come back within the 2 s verify budget.
    assert report.status == "mitigated" and report.verification is not None
    # A second approval of the same revert finds the branch and changes nothing.
    again = run(incident, approve=approve)
    second = step(again, wanted).execution
    assert (
        second is not None and second.status == "failed" and "already exists" in (second.result.error or "")
    )
    assert git(incident.repo, "rev-parse", f"refs/heads/{branch}") == new


# -- the runbook --------------------------------------------------------------------------------------


def test_a_runbook_command_runs_as_written_and_shell_text_from_the_logs_stays_inert(tmp_path: Path) -> None:
    hostile = "x; touch CANARY1 && $(touch CANARY2) `touch CANARY3` | rm -rf / > CANARY4"
    entry = runbook_entry(
        "echo-args",
        [PYTHON, "-c", "import sys; print(repr(sys.argv[1:]))", hostile, "$HOME"],
        components=["orders"],
    )
    incident = make_incident(tmp_path, runbook=entry)

    def findings(ctx: Any) -> list[Any]:
        import attrs
        from action_fixtures import fixture_findings

        # The component and summary carry shell syntax, as text read from logs can.
        return [
            attrs.evolve(f, summary=f"{f.summary}; $(touch CANARY5) `touch CANARY6`")
            for f in fixture_findings(ctx)
        ]

    report = run_incident(
        "orders slow; $(touch CANARY7)",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture(findings)],
        only=["fixture"],
        approve=lambda r: (
            Approval.grant(r, by="alice") if r.id == "runbook-echo-args" else Approval.refuse(r, "no")
        ),
    )
    execution = step(report, "runbook-echo-args").execution
    assert execution is not None and execution.status == "executed"
    assert execution.result is not None and execution.result.output.strip() == repr([hostile, "$HOME"])
    assert execution.result.details["exit_code"] == 0
    assert not [p for p in tmp_path.rglob("CANARY*")] and not list(Path.cwd().glob("CANARY*"))
    command = next(r["data"] for r in audit_records(report) if r["kind"] == "runbook.command")
    assert command["argv"][-2:] == [hostile, "$HOME"] and command["dry_run"] is False


def test_a_runbook_command_is_killed_at_its_timeout_with_its_output_kept(tmp_path: Path) -> None:
    script = "import sys, time; print('starting', flush=True); time.sleep(30)"
    entry = runbook_entry("slow", [PYTHON, "-c", script], components=["orders"], timeout="1s")
    incident = make_incident(tmp_path, runbook=entry)
    started = time.monotonic()
    report = run(
        incident,
        approve=lambda r: (
            Approval.grant(r, by="alice") if r.id == "runbook-slow" else Approval.refuse(r, "no")
        ),
    )
    assert time.monotonic() - started < 20
    execution = step(report, "runbook-slow").execution
    assert execution is not None and execution.status == "failed" and execution.result is not None
    assert "killed after its timeout of 1s" in (execution.result.error or "")
    assert execution.result.output.strip() == "starting"
    assert report.status == "ongoing"


def test_a_runbook_entry_fits_by_component_and_category_only(tmp_path: Path) -> None:
    entries = (
        runbook_entry("for-orders", ["true"], components=["orders"])
        + runbook_entry("for-payments", ["true"], components=["payments"])
        + runbook_entry("for-code", ["true"], category="code")
        + runbook_entry("orders-infra", ["true"], components=["orders"], category="infrastructure")
    )
    report = run(make_incident(tmp_path, runbook=entries))
    ids = {m.id for m in report.mitigations if m.executor == "runbook"}
    assert ids == {"runbook-for-orders", "runbook-for-code"}


def test_a_missing_runbook_program_fails_the_dry_run(tmp_path: Path) -> None:
    entry = runbook_entry("ghost", ["no-such-program-incident-flow"], components=["orders"])
    report = run(make_incident(tmp_path, runbook=entry), approve=grant_all())
    execution = step(report, "runbook-ghost").execution
    assert execution is not None and execution.status == "failed" and execution.result is None
    assert "no such program" in (execution.dry_run_result.error or "")


# -- a third-party action through the hook --------------------------------------------------------------


class FlagAction:
    """A plugin that registers an action proposing to turn a feature flag off."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _propose(self, ctx: ActionContext) -> Iterable[Mitigation]:
        cause = ctx.causes[0]
        yield Mitigation(
            action="Turn the pool-tuning flag off",
            target=cause.component,
            rationale="the flag guards the change",
            risk="low",
            requires_approval=False,  # the core forces approval for anything an action carries out
            id="flag-off-orders",
        )

    def _dry_run(self, ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
        self.calls.append(f"dry_run {mitigation.id}")
        return ActionResult(ok=True, summary="the flag exists")

    def _run(self, ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
        self.calls.append(f"run {mitigation.id}")
        ctx.record("flag.flipped", flag="pool-tuning")
        return ActionResult(ok=True, summary="flag off", details={"flag": "pool-tuning"})

    @hookimpl
    def register_actions(self, register: Callable[[Action], None]) -> None:
        register(
            Action(
                name="feature-flag",
                description="flip a flag",
                run=self._run,
                dry_run=self._dry_run,
                propose=self._propose,
            )
        )


def test_an_action_registered_by_a_plugin_runs_only_once_approved(tmp_path: Path) -> None:
    plugin = FlagAction()
    host = make_plugin_host([plugin], entry_points=False)
    assert host.actions()["feature-flag"].plugin == "FlagAction-0"
    assert {"git-revert", "runbook"} <= set(host.actions())
    incident = make_incident(tmp_path)
    kwargs = {"config": incident.config, "at": incident.detected_at, "only": ["fixture"]}
    report = run_incident("orders slow", plugins=[Fixture(), plugin], **kwargs)
    flag = step(report, "flag-off-orders")
    assert flag.executor == "feature-flag" and flag.requires_approval and plugin.calls == []
    report = run_incident("orders slow", plugins=[Fixture(), plugin], approve=_refuse, **kwargs)
    assert plugin.calls == []

    def only_flag(r: ActionRequest) -> Approval:
        return Approval.grant(r, by="carol") if r.id == "flag-off-orders" else Approval.refuse(r, "no")

    report = run_incident("orders slow", plugins=[Fixture(), plugin], approve=only_flag, **kwargs)
    assert plugin.calls == ["dry_run flag-off-orders", "run flag-off-orders"]
    assert step(report, "flag-off-orders").executed
    assert any(
        r["kind"] == "flag.flipped" and r["data"]["action"] == "feature-flag" for r in audit_records(report)
    )


def test_an_action_that_raises_or_returns_garbage_fails_alone(tmp_path: Path) -> None:
    def boom(ctx: ActionContext, mitigation: Mitigation) -> ActionResult:
        raise OSError("disk on fire")

    class Broken:
        @hookimpl
        def register_actions(self, register: Callable[[Action], None]) -> None:
            register(
                Action(name="broken", run=boom, dry_run=lambda c, m: "yes", propose=FlagAction()._propose)
            )

    incident = make_incident(tmp_path)
    report = run_incident(
        "orders slow",
        config=incident.config,
        at=incident.detected_at,
        only=["fixture"],
        plugins=[Fixture(), Broken()],
        approve=grant_all(),
    )
    execution = step(report, "flag-off-orders").execution
    assert execution is not None and execution.status == "failed"
    assert "returned str, expected an ActionResult" in (execution.dry_run_result.error or "")
    assert step(report, revert_id(incident)).executed  # the other step still ran


# -- the command line ---------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli_incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import incident_flow.api as api

    real = api.make_plugin_host
    monkeypatch.setattr(api, "make_plugin_host", lambda plugins=(): real([Fixture()], entry_points=False))
    return make_incident(tmp_path, runbook=canary_entry(tmp_path))


def _cli(incident: Any, *flags: str, stdin: io.StringIO | None = None) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "run",
            "orders slow",
            "--config",
            str(incident.config),
            "--at",
            incident.detected_at.isoformat(),
            "--format",
            "json",
            "-q",
            *flags,
        ],
        stdout=out,
        stderr=err,
        stdin=stdin,
    )
    return code, (json.loads(out.getvalue()) if out.getvalue() else {}), err.getvalue()


def _execution(data: dict[str, Any], step_id: str) -> Any:
    return next(m for m in data["mitigations"] if m["id"] == step_id)["execution"]


def test_the_cli_runs_only_the_ids_approved_on_its_command_line(cli_incident: Any) -> None:
    code, data, _ = _cli(cli_incident)
    assert code == 0 and _execution(data, "runbook-touch-canary") is None
    assert not list(cli_incident.root.glob("canary-*"))
    code, data, err = _cli(
        cli_incident, "--approve", "runbook-touch-canary", "--approver", "dave", "--approve", "nope"
    )
    assert code == 0 and _execution(data, "runbook-touch-canary")["status"] == "executed"
    assert _execution(data, "runbook-touch-canary")["approved_by"] == "dave"
    assert _execution(data, revert_id(cli_incident))["status"] == "refused"
    assert (cli_incident.root / "canary-touch-canary").read_text() == "ran"
    assert "--approve nope: no step of this run" in err


def test_the_cli_dry_run_and_its_prompt(cli_incident: Any) -> None:
    code, data, _ = _cli(cli_incident, "--dry-run", "--approve", "runbook-touch-canary")
    assert code == 0 and _execution(data, "runbook-touch-canary")["status"] == "dry_run"
    assert not list(cli_incident.root.glob("canary-*"))
    code, _, err = _cli(cli_incident, "--interactive", stdin=io.StringIO("runbook-touch-canary\n"))
    assert code == 2 and "--interactive needs a terminal" in err
    code, data, err = _cli(
        cli_incident, "--interactive", "--approver", "erin", stdin=_Tty("y\nrunbook-touch-canary\n")
    )
    assert code == 0 and "Type " in err
    assert _execution(data, revert_id(cli_incident))["status"] == "refused"  # "y" is not the id
    assert _execution(data, "runbook-touch-canary")["approved_by"] == "erin"
    assert (cli_incident.root / "canary-touch-canary").exists()


# -- the config section and the ids -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key", "message"),
    [
        (
            '[[runbook]]\nname = "x"\ncommand = "systemctl restart orders"\ncomponents = ["o"]\n',
            "runbook[0].command",
            "got a string",
        ),
        ('[[runbook]]\nname = "x"\ncommand = []\ncomponents = ["o"]\n', "runbook[0].command", "empty array"),
        ('[[runbook]]\nname = "x"\ncommand = ["true"]\n', "runbook[0]", "neither components nor category"),
        (
            '[[runbook]]\nname = "x"\ncommand = ["true"]\ncategory = "cod"\n',
            "runbook[0].category",
            "did you mean 'code'",
        ),
        (
            '[[runbook]]\nname = "X Y"\ncommand = ["true"]\ncategory = "code"\n',
            "runbook[0].name",
            "not a runbook name",
        ),
        (
            '[[runbook]]\nname = "x"\ncommand = ["true"]\ncategory = "code"\ntimout = "1s"\n',
            "runbook[0].timout",
            "did you mean 'timeout'",
        ),
        (
            '[[runbook]]\nname = "x"\ncommand = ["true"]\ncategory = "code"\nrisk = "huge"\n',
            "runbook[0].risk",
            "low",
        ),
        (
            '[[runbook]]\nname = "x"\ncommand = ["true"]\ncategory = "code"\n' * 2,
            "runbook[1].name",
            "duplicate",
        ),
        ('[runbook]\nname = "x"\n', "runbook", "single table"),
        (
            '[[runbook]]\nname = "x"\ncommand = ["a\\u0000b"]\ncategory = "code"\n',
            "runbook[0].command[0]",
            "NUL",
        ),
    ],
)
def test_runbook_mistakes_are_one_line_naming_the_file_and_the_key(
    tmp_path: Path, toml: str, key: str, message: str
) -> None:
    path = tmp_path / "incident-flow.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"{path}: {key}: ") and message in text


_NAMES = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
_ARGS = st.lists(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1),
    min_size=1,
    max_size=4,
)


@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {"name": _NAMES, "command": _ARGS},
            optional={
                "components": st.lists(_NAMES, min_size=1, max_size=3),
                "category": st.sampled_from(["infrastructure", "code", "performance", "security"]),
                "dry_run_command": _ARGS,
                "description": st.text(),
                "risk": st.sampled_from(["low", "medium", "high"]),
                "timeout": st.integers(min_value=1, max_value=3600),
            },
        ),
        max_size=4,
        unique_by=lambda e: e["name"],
    )
)
def test_runbook_entries_round_trip_or_fail_with_a_config_error(entries: list[dict[str, Any]]) -> None:
    """Any entry either loads (and reads back equal through config_to_dict) or is one ConfigError."""
    try:
        config = parse_config({"runbook": entries}, path=None)
    except ConfigError as exc:
        assert "\n" not in str(exc) and "runbook" in str(exc)
        assert any("components" not in e and "category" not in e for e in entries)
        return
    assert [e.command for e in config.runbook] == [tuple(e["command"]) for e in entries]
    again = parse_config(config_to_dict(config), path=None)
    assert again.runbook == config.runbook


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Restart", "Roll back", "Fix", "!!", ""]),
            st.text(max_size=30),
            st.one_of(st.none(), _NAMES),
        ),
        max_size=12,
    )
)
def test_step_ids_are_unique_typable_and_keep_the_ones_given(
    steps: list[tuple[str, str, str | None]],
) -> None:
    mitigations = [
        Mitigation(action=f"{verb} the thing".strip(), target=target, rationale="", risk="low", id=given_id)
        for verb, target, given_id in steps
    ]
    named = assign_ids(mitigations)
    ids = [m.id for m in named]
    assert len(set(ids)) == len(ids) and all(i is not None for i in ids)
    taken: set[str] = set()
    for m, original in zip(named, mitigations, strict=True):
        if original.id is not None and original.id not in taken:
            assert m.id == original.id  # an id given is kept unless an earlier step holds it
        assert m.id is not None
        taken.add(m.id)
