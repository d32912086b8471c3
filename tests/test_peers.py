"""Dependencies named in messages get the component name DESIGN.md's rule gives them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from incident_flow_ops import investigate as ops_investigate
from incident_flow_ops.faults import _ANY, STEMS, classify

from incident_flow import Finding
from incident_flow.analysis.peers import (
    AddressBook,
    component_for_host,
    container_in,
    endpoints_in,
    hosts_in,
    named_addresses,
)
from incident_flow.testing import run_investigator


@pytest.mark.parametrize(
    ("message", "host"),
    [
        ("Error 111 connecting to redis.internal:6379. Connection refused.", "redis.internal"),
        (
            'upstream timed out while reading, upstream: "http://orders.svc.cluster.local:8080/api"',
            "orders.svc.cluster.local",
        ),
        (
            "POST https://api.paymentprovider.example/v1/charges failed: read timeout",
            "api.paymentprovider.example",
        ),
        ("could not resolve host db-primary.prod.internal", "db-primary.prod.internal"),
        ("dial tcp 10.0.3.7:5432: connect: connection refused", "10.0.3.7"),
        (
            "HTTPSConnectionPool(host='api.paybridge.example', port=443): Max retries exceeded",
            "api.paybridge.example",
        ),
        (
            'connection to server at "shop-db.internal" (10.0.3.12), port 5432 failed: Connection refused',
            "shop-db.internal",
        ),
        (
            "Connection refused: cache.prod.svc.cluster.local/10.244.3.162:6379",
            "cache.prod.svc.cluster.local",
        ),
    ],
)
def test_hosts_are_found_in_messages(message: str, host: str) -> None:
    assert host in hosts_in(message)


def test_file_names_and_times_are_not_hosts() -> None:
    assert hosts_in('File "/srv/app/checkout/session.py", line 42, at 14:02:03') == []


@pytest.mark.parametrize(
    ("host", "known", "component"),
    [
        ("redis.internal", {"redis", "checkout"}, "redis"),
        ("redis", set(), "redis"),
        ("orders.svc.cluster.local", set(), "orders"),
        ("api.paymentprovider.example", {"checkout"}, "api.paymentprovider.example"),
        ("db-primary.prod.internal", set(), "db-primary"),
        ("10.0.3.7", set(), "10.0.3.7"),
        ("Checkout.example.com", {"checkout"}, "checkout"),
    ],
)
def test_component_names_follow_the_report_rule(host: str, known: set[str], component: str) -> None:
    assert component_for_host(host, known) == component


@given(st.text(max_size=500))
def test_hosts_in_never_raises(message: str) -> None:
    for host in hosts_in(message):
        assert host and component_for_host(host)


def test_endpoints_carry_the_port_the_message_gives() -> None:
    assert endpoints_in("connect ECONNREFUSED 10.0.4.5:6379") == [("10.0.4.5", 6379)]
    assert endpoints_in('Get "http://10.244.0.12:8080/healthz": context deadline exceeded') == [
        ("10.244.0.12", 8080)
    ]
    assert endpoints_in("could not resolve host db.prod.internal") == [("db.prod.internal", None)]


@pytest.mark.parametrize(
    ("message", "pair"),
    [
        # Lettuce / Netty (Java's InetSocketAddress)
        (
            "AnnotatedConnectException: Connection refused: cache.prod.svc.cluster.local/10.244.3.162:6379",
            ("cache.prod.svc.cluster.local", "10.244.3.162"),
        ),
        # libpq (psycopg2)
        (
            'connection to server at "shop-db.internal" (10.0.3.12), port 5432 failed: Connection refused',
            ("shop-db.internal", "10.0.3.12"),
        ),
        # pgx
        (
            "failed to connect to `host=postgres.internal user=orders database=orders`: "
            "dial error (dial tcp 10.0.3.12:5432: connect: connection refused)",
            ("postgres.internal", "10.0.3.12"),
        ),
        # a DNS answer (dig, CoreDNS's log plugin)
        ("cache.internal.  30  IN  A  10.0.4.5", ("cache.internal", "10.0.4.5")),
        # postfix
        ("connect to mx.example.com[192.0.2.10]:25: Connection timed out", ("mx.example.com", "192.0.2.10")),
        # kubelet's probe names the container and the address it probed
        (
            '"Probe failed" probeType="Liveness" pod="shop/pricing-4fc5182df-1fd04b9" '
            'containerName="pricing" output="Get \\"http://10.244.0.12:8080/healthz\\": '
            'context deadline exceeded"',
            ("pricing", "10.244.0.12"),
        ),
    ],
)
def test_names_stated_with_their_address_are_paired(message: str, pair: tuple[str, str]) -> None:
    assert pair in named_addresses(message)


def test_an_address_alone_pairs_with_nothing() -> None:
    assert named_addresses("connect ECONNREFUSED 10.0.4.5:6379") == []
    assert named_addresses("client 10.0.0.1 (10.0.0.2) said hello at 12:00:01") == []


def test_kubelet_names_the_container_it_reports() -> None:
    message = (
        'err="failed to \\"StartContainer\\" for \\"coredns\\" with CrashLoopBackOff: \\"back-off 5m0s '
        'restarting failed container=coredns pod=coredns-5d78c9869d-2x_kube-system\\""'
    )
    assert container_in(message) == "coredns"
    assert container_in("GET /api/orders 500") is None


def test_an_address_is_named_by_what_the_logs_say_of_it() -> None:
    book = AddressBook()
    book.learn("Connection refused: cache.internal/10.0.4.5:6379")
    component, how = book.resolve("10.0.4.5", 6379, {"cache", "orders"})
    assert component == "cache"
    assert how is not None and "cache.internal" in how
    assert book.resolve("cache.internal", 6379, {"cache"}) == ("cache", None)
    # A word before an address in parentheses is no name for it.
    book.learn("login from client (10.0.9.9) refused")
    assert book.resolve("10.0.9.9", 6379, {"orders"}) == ("10.0.9.9", None)


def test_a_well_known_port_names_the_only_server_of_its_kind() -> None:
    book = AddressBook()
    book.program("sessions", "redis-server")
    component, how = book.resolve("10.0.4.5", 6379, {"sessions", "orders", "postgres"})
    assert component == "sessions"
    assert how is not None and "only by its port" in how
    # Two Redis servers: the port cannot tell which one, so the address stays an address.
    book.program("cache", "redis-server")
    assert book.resolve("10.0.4.5", 6379, {"sessions", "cache"}) == ("10.0.4.5", None)
    # An unknown port says nothing.
    assert book.resolve("10.0.4.5", 7000, {"sessions"}) == ("10.0.4.5", None)


@given(st.text(max_size=400), st.integers(min_value=0, max_value=70000) | st.none())
def test_address_book_never_raises(message: str, port: int | None) -> None:
    book = AddressBook()
    book.learn(message)
    for name, ip in named_addresses(message):
        assert name and ip.count(".") == 3
        component, _ = book.resolve(ip, port, {"orders", "redis"})
        assert component
    for host, found_port in endpoints_in(message):
        assert host and (found_port is None or found_port >= 0)
    container = container_in(message)
    assert container is None or container in message.lower()
    classify(message)  # any text: a fault kind or None, never an exception


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("blk_update_request: I/O error, dev xvdf, sector 315764335 op 0x1:(WRITE)", "disk i/o error"),
        ('PANIC:  could not write to file "pg_wal/xlogtemp.1": Input/output error', "disk i/o error"),
        ("EXT4-fs (xvdfp1): Remounting filesystem read-only", "disk i/o error"),
        ("getaddrinfo EAI_AGAIN session-cache.shop.svc.cluster.local", "dns failure"),
        ("failed to StartContainer for coredns with CrashLoopBackOff", "crash loop"),
    ],
)
def test_fault_kinds(message: str, kind: str) -> None:
    fault = classify(message)
    assert fault is not None and fault.kind == kind


def test_spring_wraps_network_errors_as_io_errors_which_are_no_disk_fault() -> None:
    assert classify('I/O error on GET request for "http://a.internal:8080/x": Unexpected end of file') is None


# -- the ops investigator names address-only dependencies -----------------------------------------

DETECTED = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
ONSET = DETECTED - timedelta(minutes=10)


Line = Callable[[datetime, bool], str]


def _lines(every: int, line: Line) -> str:
    """Lines every ``every`` seconds over the last hour; ``line(at, failing)`` writes one."""
    out = []
    at = DETECTED - timedelta(minutes=60)
    while at < DETECTED:
        text = line(at, at >= ONSET)
        if text:
            out.append(text)
        at += timedelta(seconds=every)
    return "\n".join(out) + "\n"


def _pino(at: datetime, failing: bool) -> str:
    ms = int(at.timestamp() * 1000)
    if failing:
        return (
            f'{{"level":50,"time":{ms},"msg":"request errored","err":{{"type":"Error",'
            f'"message":"connect ECONNREFUSED 10.0.4.5:6379"}}}}'
        )
    return f'{{"level":30,"time":{ms},"msg":"request completed"}}'


def _by_component(findings: list[Finding], component: str) -> list[Finding]:
    return [f for f in findings if f.component == component]


def _quiet(at: datetime, failing: bool) -> str:
    """A component that logs a heartbeat: known to the run, silent about the incident."""
    return (
        f"{at:%Y-%m-%d %H:%M:%S},000 INFO [main] heartbeat" if at.minute % 10 == 0 and at.second == 0 else ""
    )


def test_an_address_only_client_blames_the_dependency_another_client_names() -> None:
    def lettuce(at: datetime, failing: bool) -> str:
        if failing and at.second == 0:
            return (
                f"{at:%Y-%m-%d %H:%M:%S}.000 ERROR 1 --- [exec-1] c.s.Cart : request failed\n"
                "io.lettuce.core.RedisConnectionException: "
                "Unable to connect to cache.internal/<unresolved>:6379\n"
                "Caused by: io.netty.channel.AbstractChannel$AnnotatedConnectException: "
                "Connection refused: cache.internal/10.0.4.5:6379"
            )
        return (
            f"{at:%Y-%m-%d %H:%M:%S}.000  INFO 1 --- [exec-1] c.s.Cart : GET /api/cart 200"
            if at.second == 0
            else ""
        )

    findings = run_investigator(
        ops_investigate,
        logs={"accounts": _lines(10, _pino), "cart": _lines(20, lettuce)},
        detected_at=DETECTED,
    )
    blamed = [f for f in _by_component(findings, "accounts") if f.depends_on]
    assert blamed and {f.depends_on for f in blamed} == {"cache"}
    evidence = " ".join(e.summary for f in blamed for e in f.evidence)
    assert "10.0.4.5 is cache.internal" in evidence


def test_the_port_names_the_dependency_when_nothing_else_does_and_says_so() -> None:
    def redis(at: datetime, failing: bool) -> str:
        if at.minute % 5 == 0 and at.second == 0 and not failing:
            return f"<30>1 {at:%Y-%m-%dT%H:%M:%S}Z cache-1 redis-server 26217 - - 26217:M * DB saved on disk"
        return ""

    findings = run_investigator(
        ops_investigate,
        logs={"accounts": _lines(10, _pino), "sessions": _lines(10, redis)},
        detected_at=DETECTED,
    )
    blamed = [f for f in _by_component(findings, "accounts") if f.depends_on]
    assert {f.depends_on for f in blamed} == {"sessions"}
    assert any("only by its port" in e.summary for f in blamed for e in f.evidence)


def test_a_crash_looping_container_is_blamed_not_the_node_reporting_it() -> None:
    def kubelet(at: datetime, failing: bool) -> str:
        if failing and at.second == 0:
            return (
                f"<30>1 {at:%Y-%m-%dT%H:%M:%S}Z node-1 kubelet 1234 - - E0314 pod_workers.go:1300] "
                '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"coredns\\" with '
                'CrashLoopBackOff: \\"back-off 5m0s restarting failed container=coredns\\"" '
                'pod="kube-system/coredns-5d78c9869d-20991e6"'
            )
        return (
            f"<30>1 {at:%Y-%m-%dT%H:%M:%S}Z node-1 kubelet 1234 - - I0314 status ok" if at.second == 0 else ""
        )

    findings = run_investigator(
        ops_investigate,
        logs={"node-1": _lines(20, kubelet), "coredns": _lines(60, _quiet)},
        detected_at=DETECTED,
    )
    assert {f.depends_on for f in _by_component(findings, "node-1")} == {"coredns"}


def test_a_time_ending_in_53_seconds_is_no_dns_server() -> None:
    def probe(at: datetime, failing: bool) -> str:
        if failing and at.second == 53:
            return (
                f"<30>1 {at:%Y-%m-%dT%H:%M:%S}Z node-1 kubelet 1234 - - "
                f"I0314 {at:%H:%M:%S}.374523 prober.go:107] "
                '"Probe failed" probeType="Liveness" pod="shop/pricing-4fc5182df-1fd04b9" '
                'containerName="pricing" output="Get \\"http://10.244.0.12:8080/healthz\\": '
                'context deadline exceeded"'
            )
        return (
            f"<30>1 {at:%Y-%m-%dT%H:%M:%S}Z node-1 kubelet 1234 - - I0314 status ok" if at.second == 0 else ""
        )

    findings = run_investigator(
        ops_investigate,
        logs={"node-1": _lines(1, probe), "coredns": _lines(60, _quiet), "pricing": _lines(60, _quiet)},
        detected_at=DETECTED,
    )
    assert {f.depends_on for f in _by_component(findings, "node-1")} == {"pricing"}


def _gateway_case(shipping_names_its_dependency: bool) -> list[Finding]:
    """A gateway in front of shipping and orders; after the onset shipping fails its requests."""

    def nginx(at: datetime, failing: bool) -> str:
        path = "/api/shipments" if at.second % 20 == 0 else "/api/orders"
        status = 502 if failing and path == "/api/shipments" else 200
        return (
            f'203.0.113.{at.second} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "POST {path} HTTP/1.1" {status} 120 '
            '"-" "Mozilla/5.0"'
        )

    def service(path: str) -> Line:
        def line(at: datetime, failing: bool) -> str:
            stamp = f"{at:%Y-%m-%d %H:%M:%S},000"
            if failing and path == "/api/shipments" and at.second % 20 == 0:
                why = (
                    "HTTPSConnectionPool(host='api.rates.example', port=443): certificate has expired"
                    if shipping_names_its_dependency
                    else "KeyError: 'zone'"
                )
                return f"{stamp} ERROR [shipping] request failed: {why}"
            return f'{stamp} INFO [uvicorn.access] 10.0.0.2:5000 - "POST {path} HTTP/1.1" 200'

        return line

    return run_investigator(
        ops_investigate,
        logs={
            "gateway": _lines(10, nginx),
            "shipping": _lines(30, service("/api/shipments")),
            "orders": _lines(30, service("/api/orders")),
        },
        detected_at=DETECTED,
    )


def test_a_gateways_server_errors_follow_the_service_behind_it_to_its_dependency() -> None:
    findings = _gateway_case(shipping_names_its_dependency=True)
    gateway = [f for f in _by_component(findings, "gateway") if f.depends_on]
    assert {f.depends_on for f in gateway} == {"shipping"}
    assert all(f.symptom for f in gateway)
    assert any("served by shipping" in e.summary for f in gateway for e in f.evidence)
    assert {f.depends_on for f in _by_component(findings, "shipping")} == {"api.rates.example"}


def test_a_gateway_names_no_service_that_fails_on_its_own() -> None:
    """shipping's errors blame no dependency: the gateway's 502s stay its symptoms, not blame."""
    findings = _gateway_case(shipping_names_its_dependency=False)
    assert _by_component(findings, "gateway")
    assert all(f.depends_on is None for f in _by_component(findings, "gateway"))


def test_a_fault_too_small_for_the_whole_run_is_still_found_in_its_component() -> None:
    """Steady background errors everywhere; one quiet service's calls to an external API start
    failing the TLS handshake: the run's error count barely moves, that service's does."""

    def background(name: str, every: int) -> Line:
        def line(at: datetime, failing: bool) -> str:
            if at.second % every == 0:
                return f"{at:%Y-%m-%d %H:%M:%S},000 ERROR [{name}] client disconnected: broken pipe"
            return ""

        return line

    def shipping(at: datetime, failing: bool) -> str:
        if failing and at.second % 15 == 5:
            return (
                f"{at:%Y-%m-%d %H:%M:%S},000 ERROR [shipping] requests.exceptions.SSLError: "
                "HTTPSConnectionPool(host='api.rates.example', port=443): Max retries exceeded "
                "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                "certificate verify failed: certificate has expired (_ssl.c:1006)')))"
            )
        return background("shipping", 60)(at, failing)

    logs = {
        name: _lines(5, background(name, 10)) for name in ("orders", "cart", "accounts", "payments", "web")
    }
    findings = run_investigator(
        ops_investigate, logs={**logs, "shipping": _lines(5, shipping)}, detected_at=DETECTED
    )
    assert {f.depends_on for f in _by_component(findings, "shipping")} == {"api.rates.example"}


def test_every_address_of_a_line_is_paired_with_its_own_name() -> None:
    message = (
        'connected cache.internal/10.0.3.7:6379 and db.internal/10.0.3.12:5432; "mx.example" (192.0.2.1)'
    )
    assert set(named_addresses(message)) == {
        ("cache.internal", "10.0.3.7"),
        ("db.internal", "10.0.3.12"),
        ("mx.example", "192.0.2.1"),
    }


@settings(max_examples=300, deadline=None)
@given(st.from_regex(_ANY))
def test_every_text_a_fault_pattern_matches_holds_one_of_the_stems(text: str) -> None:
    # The stems are the quick test classify() makes first: one missing would hide a fault kind.
    lowered = text.lower()
    if _ANY.search(lowered):
        assert any(stem in lowered for stem in STEMS), text
