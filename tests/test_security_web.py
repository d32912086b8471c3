"""Web attacks in access logs: grouped per target and rule family, ranked by what the server answered."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incident_flow import Finding, Severity
from incident_flow.testing import StaticLogs, run_investigator

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("incident_flow_security") is None:  # installed before the package existed
    sys.path.insert(0, str(ROOT / "plugins"))

from incident_flow_security import make_investigator, suggest_mitigations  # noqa: E402

DETECTED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
START = DETECTED - timedelta(minutes=100)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def nginx(at: datetime, ip: str, target: str, status: int, size: int = 2048, agent: str = BROWSER) -> str:
    return f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET {target} HTTP/1.1" {status} {size} "-" "{agent}"'


def baseline(minutes: int = 90) -> list[str]:
    """Ordinary shoppers: a few dozen clients browsing the catalogue, 2xx answers of about 2 KB."""
    return [
        nginx(
            START + timedelta(seconds=20 * i),
            f"10.20.{i % 7}.{i % 31 + 1}",
            f"/products?id={i % 50}&page={i % 4}",
            200,
            1800 + i % 400,
        )
        for i in range(minutes * 3)
    ]


def run(*logs: tuple[str, Sequence[str]]) -> list[Finding]:
    sources = [
        StaticLogs.from_text(name, "\n".join(sorted(lines, key=_when)) + "\n", component=name)
        for name, lines in logs
    ]
    return run_investigator(make_investigator(), sources=sources, detected_at=DETECTED)


def _when(line: str) -> datetime:
    stamp = line.split("[", 1)[1].split("]", 1)[0]
    return datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z")


def web_findings(findings: Sequence[Finding]) -> dict[tuple[str, str], Finding]:
    return {
        (f.component, str(f.evidence[0].figures["rule_family"])): f
        for f in findings
        if f.evidence[0].figures.get("kind") in ("web_attack", "scanner")
    }


def sqli(at: datetime, ip: str, status: int, size: int, n: int = 8) -> list[str]:
    payloads = [
        "1%27%20OR%20%271%27%3D%271",
        "1%20UNION%20SELECT%20username,password%20FROM%20users--",
        "1%27%20AND%20SLEEP(5)--%20-",
    ]
    return [
        nginx(at + timedelta(seconds=3 * i), ip, f"/products?id={payloads[i % 3]}", status, size)
        for i in range(n)
    ]


def test_an_attack_answered_200_with_a_large_body_ranks_above_one_answered_403() -> None:
    attack_at = DETECTED - timedelta(minutes=12)
    shop = [*baseline(), *sqli(attack_at, "198.51.100.7", 200, 480_000)]
    blog = [*baseline(), *sqli(attack_at, "198.51.100.8", 403, 150)]
    found = web_findings(run(("shop", shop), ("blog", blog)))
    exploited, refused = found[("shop", "942")], found[("blog", "942")]
    assert exploited.severity is Severity.CRITICAL and refused.severity is Severity.HIGH
    assert exploited.confidence > refused.confidence
    assert exploited.indicator == "rule family 942 (SQL injection) from 198.51.100.7"
    assert exploited.onset == attack_at  # the first attack record
    figures = exploited.evidence[0].figures
    assert figures["attacker"] == "198.51.100.7" and figures["outcomes"] == {"data_returned": 8}
    assert figures["large_body_bytes"] < 480_000
    assert "answered 2xx with a large body" in exploited.title
    assert refused.evidence[0].figures["outcomes"] == {"refused": 8}


def test_each_family_becomes_its_own_finding_with_the_attacker_in_the_indicator() -> None:
    at = DETECTED - timedelta(minutes=20)
    lines = [
        *baseline(),
        nginx(at, "192.0.2.10", "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", 200, 900),
        nginx(
            at + timedelta(seconds=5), "192.0.2.11", "/download?file=..%2F..%2F..%2Fetc%2Fpasswd", 404, 150
        ),
        nginx(
            at + timedelta(seconds=9),
            "192.0.2.12",
            "/tools/ping?host=8.8.8.8%3Bcat%20%2Fetc%2Fshadow",
            500,
            300,
        ),
    ]
    found = web_findings(run(("shop", lines)))
    assert set(found) == {("shop", "941"), ("shop", "930"), ("shop", "932")}
    assert found[("shop", "941")].indicator == "rule family 941 (cross-site scripting) from 192.0.2.10"
    assert found[("shop", "930")].evidence[0].figures["outcomes"] == {"not_found": 1}
    assert found[("shop", "932")].evidence[0].figures["outcomes"] == {"server_error": 1}
    assert found[("shop", "932")].confidence > found[("shop", "930")].confidence


def test_scanners_by_user_agent_and_by_404_bursts_but_not_the_monitoring_probe() -> None:
    lines = baseline()
    # A monitoring probe checks a retired health endpoint every minute: one path, 404 each time.
    lines += [
        nginx(START + timedelta(minutes=m), "10.0.9.9", "/healthz-old", 404, 0, "kube-probe/1.29")
        for m in range(100)
    ]
    # A scanner walks common paths: dozens of 404s on different paths within a minute.
    probes = [
        "/wp-login.php",
        "/.git/config",
        "/phpmyadmin/",
        "/admin.php",
        "/backup.sql",
        "/.aws/credentials",
        "/server-status",
        "/actuator/env",
        "/cgi-bin/test.cgi",
        "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    ]
    burst_at = DETECTED - timedelta(minutes=8)
    lines += [
        nginx(
            burst_at + timedelta(seconds=i),
            "203.0.113.200",
            probes[i % len(probes)] + ("" if i < 10 else f"?v={i}"),
            404,
            150,
            "curl/8.4.0",
        )
        for i in range(30)
    ]
    lines += [
        nginx(
            burst_at,
            "203.0.113.201",
            "/",
            200,
            2000,
            "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
        )
    ]
    findings = run(("shop", lines))
    scanner = web_findings(findings)[("shop", "913")]
    figures = scanner.evidence[0].figures
    assert set(figures["attackers"]) >= {"203.0.113.200", "203.0.113.201"}
    assert "10.0.9.9" not in figures["attackers"]
    assert "203.0.113.200" in figures["scan_bursts"]
    assert "/wp-login.php" in figures["probe_paths"]
    assert all("10.0.9.9" not in str(f.evidence[0].figures) for f in findings)


def test_secrets_in_attack_requests_are_redacted_in_the_evidence() -> None:
    at = DETECTED - timedelta(minutes=5)
    target = "/login?user=admin&password=Hunter2Secret&next=%27%20OR%201%3D1--"
    findings = run(("shop", [*baseline(), nginx(at, "198.51.100.99", target, 200, 1200)]))
    finding = web_findings(findings)[("shop", "942")]
    text = " ".join(finding.evidence[0].lines) + str(dict(finding.evidence[0].figures))
    assert "Hunter2Secret" not in text
    assert "[REDACTED-SECRET-1]" in text


def test_web_mitigations_block_the_source_and_suggest_the_waf_rule_and_the_patch() -> None:
    at = DETECTED - timedelta(minutes=12)
    finding = web_findings(run(("shop", [*baseline(), *sqli(at, "198.51.100.7", 200, 480_000)])))[
        ("shop", "942")
    ]
    steps = suggest_mitigations(finding)
    block = steps[0]
    assert block.command == (
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
    )
    assert "deny 198.51.100.7;" in block.action
    assert any("REQUEST-942-APPLICATION-ATTACK-SQLI" in s.action for s in steps)
    assert any(
        s.kind == "fix" and "parameterised queries" in s.action and "/products" in s.action for s in steps
    )
    assert all(s.requires_approval for s in steps)


def test_an_ipv6_attacker_gets_an_ip6_rule() -> None:
    at = DETECTED - timedelta(minutes=12)
    finding = web_findings(run(("shop", [*baseline(), *sqli(at, "2001:db8::7", 403, 100)])))[("shop", "942")]
    assert suggest_mitigations(finding)[0].command == (
        "nft",
        "add",
        "rule",
        "inet",
        "filter",
        "input",
        "ip6",
        "saddr",
        "2001:db8::7",
        "drop",
    )


def test_benign_traffic_alone_gives_no_web_finding() -> None:
    assert web_findings(run(("shop", baseline()))) == {}


def test_steady_background_probing_is_context_not_the_cause() -> None:
    # The internet's probing for /.env, at the same pace all along: before the incident and during it.
    lines = baseline()
    lines += [
        nginx(START + timedelta(minutes=m), f"203.0.113.{m % 50 + 1}", "/download?file=../../.env", 404, 150)
        for m in range(0, 100, 4)
    ]
    found = web_findings(run(("shop", sorted(lines, key=_when))))
    probe = found[("shop", "930")]
    assert probe.symptom, "steady background is context"
    assert probe.confidence <= 0.2
    assert "steady background" in probe.summary


def test_the_target_is_the_service_the_attacked_paths_route_to() -> None:
    at = DETECTED - timedelta(minutes=10)
    attack = [
        nginx(
            at + timedelta(seconds=i), "198.51.100.7", f"/api/shipping/quote?zip=1%27%20OR%201%3D1--{i}", 200
        )
        for i in range(5)
    ]
    shipping = [nginx(START + timedelta(minutes=m), "10.0.0.5", "/quote", 200) for m in range(90)]
    found = web_findings(run(("gateway", [*baseline(), *attack]), ("shipping", shipping)))
    finding = found[("shipping", "942")]
    assert finding.evidence[0].figures["seen_at"] == "gateway"
    assert "route to shipping" in finding.summary


def test_a_few_probes_answered_404_are_context_even_when_new() -> None:
    # One zgrab request in the incident window, nothing like it before: it got nothing from the
    # server, so it says what hits the service, not what broke it.
    probe = nginx(
        DETECTED - timedelta(minutes=5), "204.38.143.92", "/", 404, 150, agent="Mozilla/5.0 zgrab/0.x"
    )
    found = web_findings(run(("gateway", [*baseline(), probe])))
    scanner = found[("gateway", "913")]
    assert scanner.symptom and scanner.confidence <= 0.2


def test_the_target_is_the_service_that_logs_serving_the_attacked_route() -> None:
    # /api/products names no component; the catalog service's own request lines show it serves it
    # (and the gateway routes to a second service, so it is a gateway).
    at = DETECTED - timedelta(minutes=10)
    attack = sqli(at, "185.220.101.5", 200, 90_000, n=12)
    attack = [line.replace("/products?", "/api/products?") for line in attack]
    lines = [line.replace("/products?", "/api/products?") for line in baseline()]
    lines += [nginx(START + timedelta(minutes=m), "10.0.0.7", "/api/cart", 200) for m in range(90)]
    catalog = [
        f"{START + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}.000 [exec-1] INFO  c.s.web.RequestLoggingFilter - "
        f"Completed GET /api/products?id={m} with 200 in 12 ms"
        for m in range(90)
    ]
    cart = [
        f"{START + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}.000 [exec-1] INFO  c.s.web.RequestLoggingFilter - "
        "Completed GET /api/cart with 200 in 3 ms"
        for m in range(90)
    ]
    findings = run_investigator(
        make_investigator(),
        sources=[
            StaticLogs.from_text(
                "gw", "\n".join(sorted([*lines, *attack], key=_when)) + "\n", component="edge"
            ),
            StaticLogs.from_text("catalog", "\n".join(catalog) + "\n", component="catalog"),
            StaticLogs.from_text("cart", "\n".join(cart) + "\n", component="cart"),
        ],
        detected_at=DETECTED,
    )
    injection = web_findings(findings)[("catalog", "942")]
    assert injection.title.startswith("SQL injection against catalog (seen at edge)")
    assert injection.evidence[0].figures["target"] == "catalog"
