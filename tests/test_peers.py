"""Dependencies named in messages get the component name DESIGN.md's rule gives them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_flow.analysis.peers import component_for_host, hosts_in


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
