"""Failed-login attacks on generated logs, each next to the decoy that must not be flagged.

The seed's own example incident: "Unusual spike in failed login attempts". Logs are written as a
team's would be (sshd through syslog, nginx access logs, JSON application events) and read by the
real parsers through ``incident_flow.testing``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incident_flow import Finding, Investigator, Severity
from incident_flow.config import Settings
from incident_flow.testing import StaticLogs, run_investigator

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("incident_flow_security") is None:  # installed before the package existed
    sys.path.insert(0, str(ROOT / "plugins"))

import incident_flow_security  # noqa: E402
from incident_flow_security import SecurityOptions, make_investigator, suggest_mitigations  # noqa: E402

DETECTED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
T0 = DETECTED - timedelta(minutes=40)


def ssh(at: datetime, message: str, host: str = "bastion", pid: int = 4242) -> str:
    """An sshd line as rsyslog writes it with RFC 3339 stamps."""
    return f"{at:%Y-%m-%dT%H:%M:%SZ} {host} sshd[{pid}]: {message}"


def nginx(
    at: datetime, ip: str, request: str, status: int, size: int = 512, agent: str = "Mozilla/5.0"
) -> str:
    return f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "{request}" {status} {size} "-" "{agent}"'


def run(
    *,
    syslog: Sequence[str] = (),
    access: Sequence[str] = (),
    app: Sequence[str] = (),
    options: SecurityOptions | None = None,
) -> list[Finding]:
    sources = []
    if syslog:
        sources.append(StaticLogs.from_text("auth", "\n".join(sorted(syslog)) + "\n"))
    if access:
        sources.append(StaticLogs.from_text("access", "\n".join(access) + "\n", component="web"))
    if app:
        sources.append(StaticLogs.from_text("app", "\n".join(app) + "\n", component="accounts"))
    return run_investigator(make_investigator(options), sources=sources, detected_at=DETECTED)


def kinds(findings: Sequence[Finding]) -> dict[str, Finding]:
    return {str(f.evidence[0].figures["kind"]): f for f in findings}


def decoy_typo() -> list[str]:
    """A user mistyping a password three times, then getting in, from the office network."""
    start = T0 + timedelta(minutes=3)
    lines = [
        ssh(start + timedelta(seconds=8 * i), f"Failed password for alice from 10.0.4.17 port 5100{i} ssh2")
        for i in range(3)
    ]
    lines.append(
        ssh(start + timedelta(seconds=30), "Accepted password for alice from 10.0.4.17 port 51004 ssh2")
    )
    return lines


def brute_force(count: int = 40, ip: str = "203.0.113.9", user: str = "root") -> list[str]:
    return [
        ssh(
            T0 + timedelta(minutes=10, seconds=7 * i),
            f"Failed password for {user} from {ip} port {40000 + i} ssh2",
            pid=6000 + i,
        )
        for i in range(count)
    ]


def test_an_ssh_brute_force_names_the_target_host_and_the_attacker() -> None:
    findings = run(syslog=[*brute_force(), *decoy_typo()])
    found = kinds(findings)
    assert set(found) == {"brute_force"}
    finding = found["brute_force"]
    assert finding.component == "bastion"  # the target, not the attacker
    assert finding.severity is Severity.HIGH
    figures = finding.evidence[0].figures
    assert figures["attacker"] == "203.0.113.9" and figures["failures"] == 40
    assert "10.0.4.17" not in figures["attackers"]  # the decoy
    assert "203.0.113.9" in (finding.indicator or "")
    assert finding.onset == T0 + timedelta(minutes=10)
    assert all("203.0.113.9" in line for line in finding.evidence[0].lines)


def test_the_typo_decoy_alone_is_not_flagged() -> None:
    assert run(syslog=decoy_typo()) == []


def test_the_threshold_is_fail2bans_and_configurable() -> None:
    four = brute_force(4)
    assert run(syslog=four) == []
    assert "brute_force" in kinds(run(syslog=brute_force(5)))
    assert "brute_force" in kinds(run(syslog=four, options=SecurityOptions(max_failures=4)))
    # Spread over more than ten minutes, five failures are not a brute force.
    slow = [
        ssh(T0 + timedelta(minutes=3 * i), f"Failed password for root from 203.0.113.9 port {4000 + i} ssh2")
        for i in range(5)
    ]
    assert run(syslog=slow) == []


def test_a_success_after_failures_from_the_same_source_is_a_likely_compromise() -> None:
    lines = [*brute_force(25), *decoy_typo()]
    success_at = T0 + timedelta(minutes=14)
    lines.append(ssh(success_at, "Accepted password for root from 203.0.113.9 port 41999 ssh2", pid=7000))
    found = kinds(run(syslog=lines))
    compromise = found["compromise"]
    assert compromise.severity is Severity.CRITICAL
    assert compromise.component == "bastion"
    figures = compromise.evidence[0].figures
    assert figures["account"] == "root" and figures["attacker"] == "203.0.113.9"
    assert figures["failures_before_success"] == 25
    assert "root" in compromise.title and "203.0.113.9" in (compromise.indicator or "")
    assert "Accepted password for root" in compromise.evidence[0].lines[-1]
    # It outranks the brute force that led to it, and the alice decoy is nowhere.
    assert compromise.confidence > found["brute_force"].confidence
    assert all("alice" not in str(f.evidence[0].figures) for f in found.values())
    steps = suggest_mitigations(compromise)
    assert steps[0].command == ("usermod", "--lock", "--expiredate", "1", "root")  # rotation first
    assert any(s.command and s.command[-2:] == ("203.0.113.9", "drop") for s in steps)
    assert all(s.requires_approval for s in steps)


def test_a_success_after_failures_on_several_accounts_is_a_compromise_below_the_threshold() -> None:
    lines = [
        ssh(
            T0 + timedelta(seconds=20 * i),
            f"Failed password for {user} from 198.51.100.23 port {3000 + i} ssh2",
        )
        for i, user in enumerate(["admin", "oracle", "deploy"])
    ]
    lines.append(
        ssh(T0 + timedelta(minutes=2), "Accepted password for deploy from 198.51.100.23 port 3999 ssh2")
    )
    found = kinds(run(syslog=lines))
    assert set(found) == {"compromise"}
    assert found["compromise"].evidence[0].figures["accounts"] == ["deploy"]


def test_credential_stuffing_is_one_source_trying_many_accounts() -> None:
    users = ["anna", "ben", "carla", "dmitri", "eve", "farid", "gus", "hana"]
    lines = [
        ssh(
            T0 + timedelta(seconds=45 * i),
            f"Failed password for invalid user {u} from 192.0.2.44 port {2000 + i} ssh2",
        )
        for i, u in enumerate(users)
    ]
    found = kinds(run(syslog=lines))
    assert set(found) == {"credential_stuffing"}
    figures = found["credential_stuffing"].evidence[0].figures
    assert figures["attacker"] == "192.0.2.44" and set(figures["accounts"]) == set(users)


def test_distributed_attempts_are_many_sources_on_one_account() -> None:
    lines = []
    for n in range(8):
        for k in range(2):
            at = T0 + timedelta(minutes=3 * n + k)
            lines.append(ssh(at, f"Failed password for admin from 198.18.{n}.{10 + k} port {5000 + n} ssh2"))
    found = kinds(run(syslog=lines))
    assert set(found) == {"distributed"}
    distributed = found["distributed"]
    assert distributed.evidence[0].figures["account"] == "admin"
    assert len(distributed.evidence[0].figures["attackers"]) == 16
    assert "admin" in distributed.title
    steps = suggest_mitigations(distributed)
    assert sum(1 for s in steps if s.command and s.command[0] == "nft") == 16


def test_invalid_user_notices_are_not_counted_twice() -> None:
    lines = []
    for i in range(3):
        at = T0 + timedelta(seconds=10 * i)
        lines.append(ssh(at, "Invalid user guest from 203.0.113.50 port 6000", pid=900 + i))
        lines.append(
            ssh(
                at + timedelta(seconds=1),
                "Failed password for invalid user guest from 203.0.113.50 port 6000 ssh2",
                pid=900 + i,
            )
        )
    assert run(syslog=lines) == []  # three attempts, not six


def test_message_repeated_counts_every_attempt() -> None:
    lines = [ssh(T0, "message repeated 5 times: [ Failed password for root from 203.0.113.77 port 22 ssh2]")]
    found = kinds(run(syslog=lines))
    assert found["brute_force"].evidence[0].figures["failures"] == 5


def test_web_login_failures_and_a_success_after_them() -> None:
    access = [
        nginx(T0 + timedelta(minutes=1, seconds=i), "10.0.0.8", "GET /products HTTP/1.1", 200)
        for i in range(30)
    ]
    access += [
        nginx(T0 + timedelta(minutes=5, seconds=2 * i), "198.51.100.61", "POST /api/login HTTP/1.1", 401, 64)
        for i in range(12)
    ]
    access.append(nginx(T0 + timedelta(minutes=6), "198.51.100.61", "POST /api/login HTTP/1.1", 302, 0))
    # A user who mistypes once and then logs in.
    access.append(nginx(T0 + timedelta(minutes=7), "10.0.0.9", "POST /api/login HTTP/1.1", 401, 64))
    access.append(nginx(T0 + timedelta(minutes=7, seconds=9), "10.0.0.9", "POST /api/login HTTP/1.1", 302, 0))
    found = kinds(run(access=access))
    assert set(found) == {"compromise", "brute_force"}
    assert found["compromise"].component == "web"
    assert found["compromise"].evidence[0].figures["attacker"] == "198.51.100.61"
    assert found["brute_force"].evidence[0].figures["channel"] == ["web"]
    # A web account has no shell: rotation is a reset, without a command.
    rotation = suggest_mitigations(found["compromise"])
    assert rotation[0].command is None or rotation[0].command[0] != "usermod"


def test_structured_application_events_count_too() -> None:
    app = [
        f'{{"timestamp": "{(T0 + timedelta(seconds=30 * i)):%Y-%m-%dT%H:%M:%SZ}", "level": "warning", '
        f'"event": "login_failed", "user": "bob", "client_ip": "192.0.2.200"}}'
        for i in range(6)
    ]
    app.append(
        f'{{"timestamp": "{(T0 + timedelta(minutes=5)):%Y-%m-%dT%H:%M:%SZ}", "level": "info", '
        f'"event.category": "authentication", "event.outcome": "success", "user.name": "bob", '
        f'"source.ip": "192.0.2.200"}}'
    )
    found = kinds(run(app=app))
    assert set(found) == {"compromise", "brute_force"}
    assert found["compromise"].component == "accounts"
    assert found["compromise"].evidence[0].figures["channel"] == "app"


def test_confidence_grows_with_the_evidence() -> None:
    small = kinds(run(syslog=brute_force(6)))["brute_force"].confidence
    large = kinds(run(syslog=brute_force(200)))["brute_force"].confidence
    assert small < large <= 0.9


def test_the_real_openssh_sample_shows_brute_force_on_its_host() -> None:
    sample = ROOT.parent / "shared" / "data" / "loghub-2k" / "OpenSSH" / "OpenSSH_2k.log"
    if not sample.is_file():
        pytest.skip(f"{sample} is absent: the shared loghub data is not beside this checkout")
    source = StaticLogs.from_text("openssh", sample.read_text(encoding="utf-8"), format="syslog")
    times = [r.at for r in source.records() if r.at is not None]
    detected = max(times) + timedelta(minutes=1)
    findings = run_investigator(
        make_investigator(),
        sources=[source],
        detected_at=detected,
        settings=Settings(lookback=detected - min(times) + timedelta(minutes=1)),
    )
    found = kinds(findings)
    assert set(found) == {"credential_stuffing", "brute_force"}
    assert all(f.component == "LabSZ" for f in findings)
    # The busiest source tried dozens of user names: stuffing, not a plain brute force.
    stuffing = found["credential_stuffing"].evidence[0].figures
    assert stuffing["attacker"] == "183.62.140.253" and stuffing["failures"] > 300
    assert {"root", "admin", "oracle"} <= set(stuffing["accounts"])
    assert found["brute_force"].evidence[0].figures["failures"] > 50


def test_the_plugin_registers_the_security_investigator() -> None:
    registered: list[Investigator] = []
    incident_flow_security.register_investigators(registered.append)
    assert [i.name for i in registered] == ["security"]


def test_a_spike_of_failures_that_no_source_or_account_explains_is_password_spraying() -> None:
    # Before: the odd typo from the office. Then 60 failures in ten minutes from 40 addresses on 45
    # accounts, none of them over a threshold: the seed's "unusual spike in failed login attempts".
    lines = [
        ssh(
            T0 - timedelta(minutes=60) + timedelta(minutes=9 * k),
            f"Failed password for u{k} from 10.0.4.{k} port 1 ssh2",
        )
        for k in range(8)
    ]
    spike_at = T0 + timedelta(minutes=5)
    for k in range(60):
        ip = f"198.18.{k % 40 // 10}.{k % 40 + 1}"
        lines.append(
            ssh(
                spike_at + timedelta(seconds=10 * k),
                f"Failed password for user{k % 45} from {ip} port {k} ssh2",
            )
        )
    found = kinds(run(syslog=lines))
    assert set(found) == {"failed_login_surge"}
    surge = found["failed_login_surge"]
    assert surge.component == "bastion"
    assert surge.onset is not None and abs((surge.onset - spike_at).total_seconds()) <= 60
    figures = surge.evidence[0].figures
    assert figures["failures_after"] >= 60 and len(figures["attackers"]) == 40
    assert "10.0.4.3" not in figures["attackers"]
    assert any(s.command and s.command[0] == "nft" for s in suggest_mitigations(surge))


def test_a_steady_trickle_of_typos_is_no_spike() -> None:
    lines = [
        ssh(
            T0 - timedelta(minutes=80) + timedelta(minutes=4 * k),
            f"Failed password for u{k % 9} from 10.0.4.{k} port 1 ssh2",
        )
        for k in range(30)
    ]
    assert run(syslog=lines) == []


def test_credential_stuffing_from_many_proxies_names_the_service_behind_the_gateway() -> None:
    # Hundreds of addresses each try a few leaked passwords on /api/login: a few of them cross the
    # per-source threshold, but the spike is the many. The gateway logs the 401s; the accounts
    # service logs serving /api/login (and the orders service its own routes), so the target is
    # accounts, and the addresses are blocked at the gateway where they came in.
    start = T0 - timedelta(minutes=60)
    access, accounts, orders = [], [], []
    for m in range(100):
        at = start + timedelta(minutes=m)
        access.append(nginx(at, f"10.1.0.{m % 50 + 1}", "GET /api/orders/17 HTTP/1.1", 200))
        access.append(
            nginx(at + timedelta(seconds=20), f"10.2.0.{m % 50 + 1}", "POST /api/login HTTP/1.1", 200)
        )
        accounts.append(
            f"{at + timedelta(seconds=20):%Y-%m-%d %H:%M:%S},000 INFO [uvicorn.access] "
            '10.0.0.2:1 - "POST /api/login HTTP/1.1" 200'
        )
        orders.append(
            f'{at:%Y-%m-%d %H:%M:%S},000 INFO [uvicorn.access] 10.0.0.2:1 - "GET /api/orders/17 HTTP/1.1" 200'
        )
    spike = T0 + timedelta(minutes=10)
    for k in range(240):
        ip = f"203.0.{k % 120 // 60}.{k % 120 + 1}"  # 120 proxies, two attempts each
        access.append(nginx(spike + timedelta(seconds=5 * k), ip, "POST /api/login HTTP/1.1", 401, 64))
    access += [
        nginx(spike + timedelta(seconds=k), "198.51.100.23", "POST /api/login HTTP/1.1", 401, 64)
        for k in range(6)
    ]
    sources = [
        StaticLogs.from_text("gw", "\n".join(sorted(access, key=_nginx_time)) + "\n", component="web"),
        StaticLogs.from_text("accounts", "\n".join(accounts) + "\n", component="accounts"),
        StaticLogs.from_text("orders", "\n".join(orders) + "\n", component="orders"),
    ]
    found = kinds(run_investigator(make_investigator(), sources=sources, detected_at=DETECTED))
    surge = found["failed_login_surge"]
    assert surge.component == "accounts" and "(seen at web)" in surge.title
    figures = surge.evidence[0].figures
    assert figures["seen_at"] == "web" and figures["path_weights"] == {"/api/login": 246}
    assert len(figures["attackers"]) == 100  # the figure keeps the top hundred of 121
    # The one address over the threshold is still named, at the same target.
    assert found["brute_force"].component == "accounts"
    blocks = [m for m in suggest_mitigations(surge) if m.command]
    assert blocks and all("at the edge of web" in m.action for m in blocks)


def _nginx_time(line: str) -> datetime:
    return datetime.strptime(line.split("[", 1)[1].split("]", 1)[0], "%d/%b/%Y:%H:%M:%S %z")


def test_one_attacker_that_explains_the_spike_is_not_also_a_spray() -> None:
    found = kinds(run(syslog=[*decoy_typo(), *brute_force(60)]))
    assert "failed_login_surge" not in found and "brute_force" in found
