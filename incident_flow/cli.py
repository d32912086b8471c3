"""The ``incident-flow`` command (a contract, see DESIGN.md's "Command line").

Only the report goes to stdout; progress and warnings go to stderr. Exit codes: 0 when a report was
produced (even one naming failed sources), 2 for a usage or config error, 1 for an internal error.
A user's mistake is one line, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import getpass
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import structlog
from rich.console import Console

from incident_flow import __version__
from incident_flow.actions.gate import Approver
from incident_flow.api import arun_incident
from incident_flow.audit import verify_trail
from incident_flow.config import ConfigError
from incident_flow.model import ActionRequest, Approval, Event, Report
from incident_flow.plugins import make_plugin_host
from incident_flow.timeutil import parse_time

__all__ = ["main"]

COMMANDS = ("run", "eval", "patterns", "audit", "demo", "plugins")
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--severity", choices=["critical", "high", "medium"], help="declared severity")
    parser.add_argument("--system", help="the component to focus on")
    parser.add_argument("--config", type=Path, help="config file (default: ./incident-flow.toml)")
    parser.add_argument("--at", help="detection time, RFC 3339 (default: now)")
    _add_output_options(parser)
    llm = parser.add_mutually_exclusive_group()
    llm.add_argument(
        "--llm", action="store_true", help="investigate further with Claude (needs ANTHROPIC_API_KEY)"
    )
    llm.add_argument("--no-llm", action="store_true", help="never call an LLM, whatever the config says")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    act = parser.add_argument_group("actions (nothing runs without one of these)")
    act.add_argument(
        "--approve",
        action="append",
        default=[],
        metavar="ID",
        help="approve the step with this id (as the report shows it); repeatable",
    )
    act.add_argument(
        "--approver", metavar="NAME", help="who approves, for the audit trail (default: your user)"
    )
    act.add_argument(
        "--dry-run", action="store_true", help="dry-run every step an action can carry out; nothing changes"
    )
    act.add_argument(
        "--interactive",
        action="store_true",
        help="ask on the terminal about each step not approved by --approve",
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["markdown", "json"], default="markdown", help="report format")
    parser.add_argument("--out", type=Path, help="write the report to this file instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="incident-flow",
        description="Incident response in seconds: assess, investigate, rank root causes, mitigate, report.",
        epilog='The seed form works too: incident-flow "Website returning 502 errors" --severity=critical',
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="investigate an incident and print its report")
    run.add_argument("description", help="what is happening, in your words")
    _add_run_options(run)

    ev = sub.add_parser("eval", help="replay recorded incidents and score the ranking")
    ev.add_argument("paths", nargs="+", type=Path, help="a case folder or a folder of case folders")
    ev.add_argument("--json", action="store_true", help="print one JSON object")

    pat = sub.add_parser("patterns", help="mine the message templates of a log file")
    pat.add_argument("file", type=Path)
    pat.add_argument("--format", dest="log_format", default="auto", help="log format (default: auto)")
    pat.add_argument("--pattern", help="a line layout in the loghub notation")
    pat.add_argument("--since", help="only records at or after this time (RFC 3339)")
    pat.add_argument("--until", help="only records before this time (RFC 3339)")
    pat.add_argument(
        "--compare",
        action="store_true",
        help="with --since: only the templates new or surging since then, against the records before",
    )
    pat.add_argument("--json", action="store_true", help="print the templates as JSON")

    audit = sub.add_parser("audit", help="work with audit trails")
    audit_sub = audit.add_subparsers(dest="audit_command", parser_class=_Parser)
    verify = audit_sub.add_parser("verify", help="check that an audit trail is intact")
    verify.add_argument("file", type=Path)
    verify.add_argument("--final-hash", help="the final hash the report carries")

    demo = sub.add_parser("demo", help="investigate the bundled example incident (offline)")
    _add_output_options(demo)
    demo.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    sub.add_parser("plugins", help="list the plugins, investigators and source types that loaded")
    return parser


def _normalise(argv: Sequence[str]) -> list[str]:
    """Turn the seed's form (a bare description) into ``run``; a near-miss command is an error."""
    args = list(argv)
    if not args or args[0].startswith("-") or args[0] in COMMANDS:
        return args
    first = args[0]
    if " " not in first.strip():
        close = difflib.get_close_matches(first.lower(), COMMANDS, n=1, cutoff=0.75)
        if close:
            raise UsageError(f"incident-flow: unknown command {first!r}; did you mean {close[0]!r}?")
    return ["run", *args]


_HANDLER_NAME = "incident-flow-cli"


def _configure_logging(stderr: TextIO) -> None:
    """The CLI owns logging: warnings and errors to stderr, one line each.

    The library logs through the standard library (see :mod:`incident_flow.logger`); here the
    application routes it. Re-running ``main`` (tests do) replaces the handler, never stacks it.
    """
    level = logging.DEBUG if os.environ.get("INCIDENT_FLOW_DEBUG") else logging.WARNING
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


def _event_printer(console: Console) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        data = event.data
        if event.kind == "phase.started":
            console.print(f"[bold]▸ {data.get('phase')}[/]")
        elif event.kind == "investigator.finished":
            status = data.get("status")
            style = "green" if status == "ok" else "red"
            extra = f" ({data.get('error')})" if data.get("error") else ""
            console.print(
                f"  [{style}]{data.get('investigator')}: {status}[/] "
                f"{data.get('findings', 0)} finding(s) in {data.get('duration_s', 0):.2f}s{extra}"
            )

    return show


def _emit_report(report: Report, fmt: str, out: Path | None, stdout: TextIO) -> None:
    text = report.to_json() if fmt == "json" else report.to_markdown()
    if out is not None:
        try:
            out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:  # a folder, a missing folder, a full disk: the user's to fix
            reason = exc.strerror or exc
            raise UsageError(f"incident-flow: cannot write the report to {out}: {reason}") from None
    else:
        stdout.write(text if text.endswith("\n") else text + "\n")


def _prompt(request: ActionRequest, approver: str, console: Console, stdin: TextIO) -> Approval:
    """Ask on the terminal; only the step's id typed back approves it (a stray "y" does not)."""
    step = request.mitigation
    console.print(f"[bold]Step {request.id}[/] ({request.action}): {step.action}", markup=True)
    console.print(f"  target {step.target}; risk {step.risk}; {step.rationale}", markup=False)
    if request.command:
        console.print(f"  command: {' '.join(request.command)}", markup=False)
    console.print(
        f"Type {request.id} to approve it as {approver}; anything else refuses: ", end="", markup=False
    )
    answer = stdin.readline().strip()
    if answer == request.id:
        return Approval.grant(request, by=approver, reason="approved at the terminal prompt")
    return Approval.refuse(request, reason="refused at the terminal prompt", by=approver)


def _approver(args: argparse.Namespace, console: Console, stdin: TextIO, asked: list[str]) -> Approver | None:
    """The command line's approval callback, or None when no flag asks for any action."""
    if not (args.approve or args.dry_run or args.interactive):
        return None
    if args.interactive and not stdin.isatty():
        raise UsageError("incident-flow run: --interactive needs a terminal; use --approve ID instead")
    approver = args.approver
    if not approver:
        try:
            approver = getpass.getuser()
        except Exception:  # no user name in the environment or the password database
            raise UsageError("incident-flow run: cannot tell who approves; pass --approver NAME") from None
    approved = set(args.approve)

    def decide(request: ActionRequest) -> Approval:
        asked.append(request.id)
        if request.dry_run:  # only --dry-run makes dry-run requests
            return Approval.grant(request, by=approver, reason="--dry-run")
        if request.id in approved:
            return Approval.grant(request, by=approver, reason=f"--approve {request.id}")
        if args.interactive:
            return _prompt(request, approver, console, stdin)
        return Approval.refuse(request, reason="not approved on the command line (--approve ID)")

    return decide


def _unused_approvals(args: argparse.Namespace, report: Report, asked: list[str], console: Console) -> None:
    executable = [m.id for m in report.mitigations if m.executor is not None]
    for wanted in args.approve:
        if wanted in asked:
            continue
        if wanted in executable:
            why = "it was not offered (a replay, or the mitigate budget ran out)"
        else:
            known = ", ".join(i for i in executable if i) or "none"
            why = f"no step of this run that an action can carry out has that id (such steps: {known})"
        console.print(f"incident-flow: --approve {wanted}: {why}", markup=False)


def _cmd_run(args: argparse.Namespace, stdout: TextIO, console: Console, stdin: TextIO) -> int:
    if args.at is not None:
        try:
            parse_time(args.at)
        except ValueError as exc:
            raise UsageError(f"incident-flow run: --at {args.at!r}: {exc}") from None
    llm = "anthropic" if args.llm else "off" if args.no_llm else None
    if llm == "anthropic":
        from incident_flow.llm.settings import LlmSettings, availability

        verdict = availability(LlmSettings(mode="anthropic"))
        if verdict.problem:
            raise UsageError(f"incident-flow run: --llm: {verdict.reason}")
    listener = None if args.quiet else _event_printer(console)
    asked: list[str] = []
    approve = _approver(args, console, stdin, asked)
    report = asyncio.run(
        arun_incident(
            args.description,
            severity=args.severity,
            system=args.system,
            config=args.config,
            at=args.at,
            on_event=listener,
            llm=llm,
            approve=approve,
            dry_run=args.dry_run,
        )
    )
    _unused_approvals(args, report, asked, console)
    _emit_report(report, args.format, args.out, stdout)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, stdout: TextIO, console: Console) -> int:
    from incident_flow.demo import run_demo

    console.print(
        "[bold]This is incident-flow's bundled example incident[/] (offline, replayed at its detection time)."
    )
    listener = None if args.quiet else _event_printer(console)
    report = asyncio.run(run_demo(on_event=listener))
    _emit_report(report, args.format, args.out, stdout)
    return EXIT_OK


def _cmd_eval(args: argparse.Namespace, stdout: TextIO, console: Console) -> int:
    from incident_flow.evaluation import evaluate

    summary = asyncio.run(evaluate(args.paths))
    if args.json:
        stdout.write(json.dumps(summary.to_dict(), indent=2) + "\n")
        return EXIT_OK
    for r in summary.results:
        rank = r.component_rank if r.component_rank is not None else "-"
        change = "" if r.case.change is None else f"  change@{r.change_rank if r.change_rank else '-'}"
        category = "" if r.category_ok is None else f"  category {'ok' if r.category_ok else 'WRONG'}"
        error = f"  error: {r.error}" if r.error else ""
        stdout.write(
            f"{r.case.path}: component@{rank} (top: {r.top}){change}{category}  {r.seconds:.2f}s{error}\n"
        )
    data = summary.to_dict()["summary"]
    parts = [
        f"cases {data['cases']}",
        f"AC@1 {data['ac@1']:.3f}",
        f"AC@3 {data['ac@3']:.3f}",
        f"Avg@5 {data['avg@5']:.3f}",
    ]
    for key in ("change@1", "category@1"):
        if data[key] is not None:
            parts.append(f"{key} {data[key]:.3f}")
    stdout.write("  ".join(parts) + "\n")
    return EXIT_OK


def _cmd_patterns(args: argparse.Namespace, stdout: TextIO, console: Console) -> int:
    from incident_flow.patterns import print_patterns

    if not args.file.is_file():
        raise UsageError(f"incident-flow patterns: {args.file}: no such file")
    if args.compare and not args.since:
        raise UsageError("incident-flow patterns: --compare needs --since (where the window starts)")
    for flag in ("since", "until"):
        value = getattr(args, flag)
        if value is not None:
            try:
                parse_time(value)
            except ValueError as exc:
                raise UsageError(f"incident-flow patterns: --{flag} {value!r}: {exc}") from None
    print_patterns(
        args.file,
        fmt=args.log_format,
        pattern=args.pattern,
        since=args.since,
        until=args.until,
        compare=args.compare,
        as_json=args.json,
        out=stdout,
        err=console.file,
    )
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace, stdout: TextIO, console: Console) -> int:
    del console
    if args.audit_command != "verify":
        raise UsageError("incident-flow audit: say what to do: incident-flow audit verify FILE")
    if not args.file.is_file():
        raise UsageError(f"incident-flow audit verify: {args.file}: no such file")
    result = verify_trail(args.file, expected_final_hash=args.final_hash)
    if result.ok:
        stdout.write(f"{args.file}: intact, {result.records} records, final hash {result.final_hash}\n")
        return EXIT_OK
    where = f" (record {result.record})" if result.record else ""
    stdout.write(f"{args.file}: NOT intact{where}: {result.problem}\n")
    return EXIT_INTERNAL


def _cmd_plugins(args: argparse.Namespace, stdout: TextIO, console: Console) -> int:
    del args, console
    host = make_plugin_host()
    investigators = host.investigators()
    source_types = host.source_types()
    actions = host.actions()
    for info in host.plugins():
        version = f" {info.version}" if info.version else ""
        stdout.write(f"{info.name}{version}  [{info.origin}]  hooks: {', '.join(info.hooks)}\n")
        for inv in investigators.values():
            if inv.plugin == info.name:
                stdout.write(f"    investigator {inv.name}: {inv.description}\n")
        for st in source_types.values():
            if st.plugin == info.name:
                stdout.write(f"    source type {st.name}: {st.description}\n")
        for action in actions.values():
            if action.plugin == info.name:
                stdout.write(f"    action {action.name}: {action.description}\n")
    for failure in host.failures:
        stdout.write(f"{failure.plugin}  [SKIPPED] {failure.error}\n")
    return EXIT_OK


_HANDLERS = {
    "demo": _cmd_demo,
    "eval": _cmd_eval,
    "patterns": _cmd_patterns,
    "audit": _cmd_audit,
    "plugins": _cmd_plugins,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code (the console script passes it to ``sys.exit``).

    ``stdin`` is where ``--interactive`` reads the answers (default: the process's stdin).
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    console = Console(file=stderr, highlight=False, soft_wrap=True)
    _configure_logging(stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(_normalise(sys.argv[1:] if argv is None else argv))
        if args.version:
            stdout.write(f"incident-flow {__version__}\n")
            return EXIT_OK
        if args.command is None:
            parser.print_help(stderr)
            return EXIT_USAGE
        if args.command == "run":
            return _cmd_run(args, stdout, console, stdin or sys.stdin)
        return _HANDLERS[args.command](args, stdout, console)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except UsageError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except ConfigError as exc:
        stderr.write(f"incident-flow: config error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write("incident-flow: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        stderr.write(f"incident-flow: internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("INCIDENT_FLOW_DEBUG"):
            traceback.print_exc(file=stderr)
        return EXIT_INTERNAL
