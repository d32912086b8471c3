"""Access anomalies against the baseline, and changes to sensitive files."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incident_flow import Change, Finding, Severity
from incident_flow.sources import Source
from incident_flow.testing import StaticChanges, StaticLogs, run_investigator

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("incident_flow_security") is None:  # installed before the package existed
    sys.path.insert(0, str(ROOT / "plugins"))

from incident_flow_security import SecurityOptions, make_investigator, suggest_mitigations  # noqa: E402
from incident_flow_security.integrity import classify_file  # noqa: E402

DETECTED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
START = DETECTED - timedelta(minutes=110)
RECENT = DETECTED - timedelta(minutes=25)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"


def nginx(
    at: datetime, ip: str, target: str, status: int = 200, size: int = 2048, agent: str = BROWSER
) -> str:
    return f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET {target} HTTP/1.1" {status} {size} "-" "{agent}"'


def shoppers(start: datetime, minutes: int) -> list[str]:
    return [
        nginx(
            start + timedelta(seconds=30 * i),
            f"10.20.{i % 5}.{i % 23 + 1}",
            f"/products?id={i % 40}",
            200,
            2100,
        )
        for i in range(minutes * 2)
    ]


def run(
    lines: Sequence[str], changes: Sequence[Change] = (), options: SecurityOptions | None = None
) -> list[Finding]:
    ordered = sorted(
        lines, key=lambda line: datetime.strptime(line.split("[")[1].split("]")[0], "%d/%b/%Y:%H:%M:%S %z")
    )
    sources: list[Source] = [StaticLogs.from_text("shop", "\n".join(ordered) + "\n", component="shop")]
    if changes:
        sources.append(StaticChanges("repo", changes))
    return run_investigator(make_investigator(options), sources=sources, detected_at=DETECTED)


def by_kind(findings: Sequence[Finding]) -> dict[str, Finding]:
    return {str(f.evidence[0].figures["kind"]): f for f in findings}


def test_admin_endpoints_reached_from_a_new_source_but_not_the_usual_admin() -> None:
    lines = [*shoppers(START, 110)]
    lines += [nginx(START + timedelta(minutes=10 * k), "10.0.5.20", "/admin/dashboard") for k in range(6)]
    # The usual admin, from the usual network (a new address in it), after detection time minus 25m.
    lines += [nginx(RECENT + timedelta(minutes=2), "10.0.5.21", "/admin/users")]
    # An outsider reaches the admin export; another is refused (not "reached").
    lines += [
        nginx(RECENT + timedelta(minutes=5, seconds=k), "203.0.113.66", "/admin/export?all=1", 200, 90_000)
        for k in range(3)
    ]
    lines += [nginx(RECENT + timedelta(minutes=6), "198.51.100.5", "/admin/", 403, 150)]
    found = by_kind(run(lines))
    assert set(found) == {"admin_access"}
    admin = found["admin_access"]
    assert admin.component == "shop" and admin.severity is Severity.HIGH
    figures = admin.evidence[0].figures
    assert figures["attackers"] == ["203.0.113.66"]
    assert "10.0.5.0/24" in figures["baseline_admin_networks"]
    assert admin.onset == RECENT + timedelta(minutes=5)
    assert "203.0.113.66" in (admin.indicator or "")


def test_trusted_networks_are_never_an_admin_anomaly() -> None:
    lines = [*shoppers(START, 110), nginx(RECENT + timedelta(minutes=5), "172.16.8.4", "/admin/")]
    assert "admin_access" in by_kind(run(lines))
    assert by_kind(run(lines, options=SecurityOptions(trusted_networks=("172.16.0.0/12",)))) == {}


def test_a_client_downloading_far_more_than_its_baseline_but_not_the_usual_heavy_client() -> None:
    lines = [*shoppers(START, 110)]
    # A heavy but steady client: 4 MB a minute all along.
    lines += [
        nginx(START + timedelta(minutes=m), "10.40.0.2", "/exports/daily.csv", 200, 4_000_000)
        for m in range(110)
    ]
    # An ordinary client that suddenly pulls 150 MB.
    lines += [
        nginx(START + timedelta(minutes=m), "10.20.9.9", "/products?id=3", 200, 2000) for m in range(0, 80, 5)
    ]
    lines += [
        nginx(
            RECENT + timedelta(minutes=3, seconds=10 * k),
            "10.20.9.9",
            f"/api/orders?page={k}",
            200,
            5_000_000,
        )
        for k in range(30)
    ]
    found = by_kind(run(lines))
    assert set(found) == {"exfiltration"}
    figures = found["exfiltration"].evidence[0].figures
    assert figures["attackers"] == ["10.20.9.9"]
    assert figures["recent_bytes"]["10.20.9.9"] == 150_000_000


def test_a_new_user_agent_at_volume() -> None:
    lines = [*shoppers(START, 110)]
    lines += [
        nginx(
            RECENT + timedelta(seconds=3 * k),
            "10.20.3.3",
            f"/products?id={k % 40}",
            200,
            2100,
            "python-requests/2.31.0",
        )
        for k in range(250)
    ]
    lines += [
        nginx(RECENT + timedelta(seconds=5), "10.20.3.4", "/products?id=1", 200, 2100, "Lynx/2.9.0")
    ]  # new, but rare
    found = by_kind(run(lines))
    assert set(found) == {"new_user_agent"}
    agent = found["new_user_agent"]
    assert agent.severity is Severity.MEDIUM and agent.confidence < 0.6
    assert list(agent.evidence[0].figures["agents"]) == ["python-requests/2.31.0"]


def test_no_baseline_no_anomaly() -> None:
    lines = [nginx(RECENT + timedelta(minutes=5), "203.0.113.66", "/admin/")]
    assert run(lines) == []


SHA = "3f2c9a1b7d4e5f60718293a4b5c6d7e8f9012345"


def test_changes_to_sensitive_files_carry_the_change_with_a_security_weight() -> None:
    changes = [
        Change(
            id=SHA,
            summary="ci: deploy with new token",
            at=DETECTED - timedelta(hours=3),
            author="mallory",
            files=(".github/workflows/deploy.yml", "README.md"),
        ),
        Change(id="a" * 40, summary="docs", at=DETECTED - timedelta(hours=2), files=("docs/index.md",)),
        Change(
            id="b" * 40,
            summary="bump requests",
            at=DETECTED - timedelta(hours=1),
            component="api",
            files=("services/api/requirements.txt",),
        ),
    ]
    found = {f.change.id: f for f in run(shoppers(START, 110), changes) if f.change is not None}
    assert set(found) == {SHA, "b" * 40}
    ci = found[SHA]
    assert ci.category is not None and ci.category.value == "security"
    assert ci.component == "repository" and ci.severity is Severity.HIGH
    assert ci.evidence[0].figures["file_kinds"] == ["secrets"]
    assert ci.indicator == f"change {SHA} to secrets or CI configuration that can read them"
    deps = found["b" * 40]
    assert deps.component == "api" and deps.confidence < ci.confidence
    assert "Review change" in suggest_mitigations(ci)[0].action


def test_sensitive_file_kinds() -> None:
    assert classify_file("etc/ssh/sshd_config") == "auth_config"
    assert classify_file("deploy/.htpasswd") == "auth_config"
    assert classify_file(".gitlab-ci.yml") == "secrets"
    assert classify_file("config/secrets.prod.yaml") == "secrets"
    assert classify_file("web/package-lock.json") == "dependencies"
    assert classify_file("go.sum") == "dependencies"
    assert classify_file("src/orders/handler.py") is None


def _json_request(at: datetime, path: str, **extra: str) -> str:
    fields = "".join(f', "{k}": "{v}"' for k, v in extra.items())
    return (
        f'{{"time": "{at:%Y-%m-%dT%H:%M:%SZ}", "level": "info", "msg": "request completed", '
        f'"method": "GET", "path": "{path}", "status": "200"{fields}}}'
    )


def test_internal_calls_logged_with_the_callers_address_under_another_key_are_not_new() -> None:
    # An internal service logs its callers under ``remote`` (zap, logrus): the caller reached the
    # internal endpoints all along, so it is not a new source; a line with no address at all says
    # nothing about who called and is not one either.
    lines = [
        _json_request(START + timedelta(minutes=m), "/internal/stock/1", remote="10.244.1.71")
        for m in range(110)
    ]
    lines += [_json_request(RECENT + timedelta(minutes=3), "/internal/reservations")]
    source = StaticLogs.from_text("inventory", "\n".join(lines) + "\n", component="inventory")
    findings = run_investigator(make_investigator(), sources=[source], detected_at=DETECTED)
    assert "admin_access" not in by_kind(findings)
    # The same calls from an address never seen before are an anomaly.
    lines.append(_json_request(RECENT + timedelta(minutes=4), "/internal/reservations", remote="203.0.113.9"))
    source = StaticLogs.from_text("inventory", "\n".join(lines) + "\n", component="inventory")
    findings = run_investigator(make_investigator(), sources=[source], detected_at=DETECTED)
    assert by_kind(findings)["admin_access"].evidence[0].figures["attackers"] == ["203.0.113.9"]
