"""Endpoint statistics: templated paths, latency histograms, the Mann-Whitney test, latency shifts."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.analysis.endpoints import (
    ID,
    Histogram,
    LoadPattern,
    MinuteStats,
    Thresholds,
    classify_load,
    collect_endpoint_stats,
    compare_endpoint,
    endpoint_name,
    latency_shift,
    mann_whitney,
    minute_of,
    request_latency,
    template_path,
    top_shares,
)
from incident_flow.analysis.stats import rate_change
from incident_flow.sources import LogRecord

# -- path templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/orders/81723", "/api/orders/{id}"),
        ("/api/orders/81723/items/3", "/api/orders/{id}/items/{id}"),
        ("/api/search?q=shoes&page=2", "/api/search?page=*&q=*"),
        ("/api/search?page=3&q=hats", "/api/search?page=*&q=*"),
        ("/u/550e8400-e29b-41d4-a716-446655440000/profile", "/u/{id}/profile"),
        ("/static/app.3f2a9c1b.js", "/static/app.{id}.js"),
        ("/blobs/9f86d081884c7d659a2feaa0c55ad015", "/blobs/{id}"),
        ("/t/eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0", "/t/{id}"),
        ("/reports/2024-01-02", "/reports/{id}"),
        ("/orders/order-12345", "/orders/order-{id}"),
        ("/users/bob@example.com", "/users/{id}"),
        ("/v1/h2/health", "/v1/h2/health"),
        ("http://example.com/a/1?x=1", "/a/{id}?x=*"),
        ("/a#fragment", "/a"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_ids_hashes_dates_and_query_values_are_masked(path: str, template: str) -> None:
    assert template_path(path) == template


def test_an_endpoint_name_is_the_method_and_the_template() -> None:
    assert endpoint_name("GET", "/api/orders/42?expand=1") == "GET /api/orders/{id}?expand=*"
    assert endpoint_name(None, "/x/1") == "/x/{id}"


_SEGMENT = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.", min_size=1, max_size=10),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.uuids().map(str),
    st.text(min_size=0, max_size=12),
)


@given(st.lists(_SEGMENT, max_size=8), st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=4))
@settings(max_examples=300)
def test_a_template_is_its_own_template(segments: list[str], query: dict[str, str]) -> None:
    path = "/" + "/".join(segments)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    once = template_path(path)
    assert template_path(once) == once
    assert once.startswith("/") or once.startswith("{") or once == ""


@given(
    st.lists(st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=8), min_size=1, max_size=5), st.data()
)
def test_paths_that_differ_only_in_numeric_ids_share_a_template(
    words: list[str], data: st.DataObject
) -> None:
    ids = data.draw(st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=2))
    first = "/" + "/".join(words) + f"/{ids[0]}"
    second = "/" + "/".join(words) + f"/{ids[1]}"
    assert template_path(first) == template_path(second) == "/" + "/".join(words) + "/" + ID


@given(st.text(max_size=200))
def test_the_templater_is_total_and_leaves_no_long_number(path: str) -> None:
    template = template_path(path)
    assert len(template) <= 200
    query_free = template.split("?", 1)[0]
    for part in query_free.split("/"):
        assert not (part.isdigit() and part.isascii())


# -- histograms and the test -------------------------------------------------------------------------


@given(st.lists(st.floats(min_value=0.001, max_value=100.0), min_size=1, max_size=300), st.floats(0.0, 1.0))
def test_a_histogram_quantile_is_within_one_percent_of_the_exact_one(values: list[float], q: float) -> None:
    histogram = Histogram.of(values)
    ordered = sorted(values)
    exact = ordered[math.floor(q * (len(ordered) - 1))]  # the lower quantile, as the histogram defines it
    estimate = histogram.quantile(q)
    assert estimate is not None
    assert abs(estimate - exact) <= 0.0101 * exact


@given(
    st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=1, max_size=60),
    st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=1, max_size=60),
)
def test_histograms_merge_exactly(a: list[float], b: list[float]) -> None:
    merged = Histogram.of(a)
    merged.merge(Histogram.of(b))
    assert merged.buckets == Histogram.of(a + b).buckets
    assert merged.count == len(a) + len(b)


def _brute_u(before: list[float], after: list[float]) -> float:
    """U of ``after`` over ``before`` by counting pairs (ties half), on the histogram's buckets."""
    hb, ha = Histogram.of(before), Histogram.of(after)
    keys_b = [k for k, c in hb.items() for _ in range(c)]
    keys_a = [k for k, c in ha.items() for _ in range(c)]
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in keys_a for b in keys_b)


@given(
    st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=40),
    st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=40),
)
def test_mann_whitney_u_counts_the_pairs(before: list[float], after: list[float]) -> None:
    result = mann_whitney(Histogram.of(before), Histogram.of(after))
    assert result.u == pytest.approx(_brute_u(before, after))
    assert 0.0 <= result.p_value <= 1.0
    assert 0.0 <= result.effect <= 1.0


def test_mann_whitney_tells_a_shift_from_noise() -> None:
    rnd = random.Random(3)
    base = Histogram.of(rnd.lognormvariate(0, 0.3) * 0.05 for _ in range(400))
    same = Histogram.of(rnd.lognormvariate(0, 0.3) * 0.05 for _ in range(400))
    slow = Histogram.of(rnd.lognormvariate(0, 0.3) * 0.08 for _ in range(400))
    assert mann_whitney(base, same).p_value > 0.01
    shifted = mann_whitney(base, slow)
    assert shifted.p_value < 1e-10
    assert shifted.effect > 0.8
    assert mann_whitney(slow, base).p_value > 0.99  # one-sided: faster is not "slower"


def test_an_empty_side_is_no_evidence() -> None:
    assert mann_whitney(Histogram(), Histogram.of([1.0])).p_value == 1.0


# -- per-minute statistics and shifts ----------------------------------------------------------------


def _minutes(latencies: list[list[float]], start: int = 1000) -> dict[int, MinuteStats]:
    out = {}
    for offset, values in enumerate(latencies):
        stats = MinuteStats(requests=len(values))
        for value in values:
            stats.latency.add(value)
        out[start + offset] = stats
    return out


def test_the_latency_shift_is_found_at_the_minute_it_started() -> None:
    rnd = random.Random(5)
    minutes = [[rnd.lognormvariate(0, 0.2) * 0.05 for _ in range(20)] for _ in range(40)]
    minutes += [[rnd.lognormvariate(0, 0.2) * 0.6 for _ in range(20)] for _ in range(10)]
    shift = latency_shift(_minutes(minutes))
    assert shift is not None
    assert shift.minute == 1040
    assert shift.p95_after > 5 * shift.p95_before


def test_a_flat_endpoint_has_no_shift() -> None:
    rnd = random.Random(6)
    minutes = [[rnd.lognormvariate(0, 0.4) * 0.05 for _ in range(20)] for _ in range(60)]
    assert latency_shift(_minutes(minutes)) is None


def test_a_rise_too_small_to_matter_is_not_a_degradation() -> None:
    # 10 ms to 20 ms doubles, and is significant, but stays under the 50 ms floor.
    minutes = [[0.010] * 30 for _ in range(30)] + [[0.020] * 30 for _ in range(10)]
    assert latency_shift(_minutes(minutes)) is None


def test_surge_and_slowdown_are_told_apart() -> None:
    same = rate_change(1000, 50, 200, 10)
    more = rate_change(1000, 50, 800, 10)
    fewer = rate_change(1000, 50, 20, 10)
    assert classify_load(same, latency_up=True) is LoadPattern.SLOWDOWN
    assert classify_load(more, latency_up=False) is LoadPattern.SURGE
    assert classify_load(more, latency_up=True) is LoadPattern.SURGE_WITH_SLOWDOWN
    assert classify_load(fewer, latency_up=True) is LoadPattern.SLOWDOWN
    assert classify_load(fewer, latency_up=False) is LoadPattern.DROP
    assert classify_load(same, latency_up=False) is LoadPattern.STEADY


# -- one pass over records ---------------------------------------------------------------------------

T0 = datetime(2024, 1, 2, 3, 0, tzinfo=UTC)


def _record(at: datetime, path: str, status: int = 200, rt: str = "0.050", **fields: str) -> LogRecord:
    values = {"method": "GET", "path": path, "status": str(status), "request_time": rt, **fields}
    return LogRecord(message=f"GET {path} {status}", source="gw", line=1, text="", at=at, fields=values)


def test_request_latency_prefers_request_time_and_reads_retries() -> None:
    assert request_latency({"request_time": "0.120", "upstream_response_time": "0.100"}) == (
        0.12,
        "request_time",
    )
    assert request_latency({"request_time": "-", "upstream_response_time": "0.3, 0.100"}) == (
        0.1,
        "upstream_response_time",
    )
    assert request_latency({"status": "200"}) == (None, None)


def test_collect_counts_per_endpoint_minute_client_and_instance() -> None:
    records = [
        _record(T0, "/api/orders/1", remote_addr="10.0.0.1", upstream_addr="10.1.0.1:80"),
        _record(
            T0 + timedelta(seconds=5),
            "/api/orders/2",
            502,
            remote_addr="10.0.0.2",
            upstream_addr="10.1.0.1:80",
        ),
        _record(
            T0 + timedelta(minutes=1),
            "/api/orders/3",
            rt="0.500",
            remote_addr="10.0.0.1",
            upstream_addr="10.1.0.2:80, 10.1.0.3:80",
        ),
        LogRecord(message="not an access record", source="app", line=2, text="", at=T0),
    ]
    stats = collect_endpoint_stats(records)
    assert stats.records == 4 and stats.access_records == 3
    endpoint = stats.endpoints[("gw", "GET /api/orders/{id}")]
    assert endpoint.requests == 3
    first = minute_of(T0)
    assert endpoint.per_minute[first].server_errors == 1
    assert stats.counts(stats.clients, first, first + 2) == Counter({"10.0.0.1": 2, "10.0.0.2": 1})
    assert set(stats.instance_windows(first, first + 2)) == {"10.1.0.1:80", "10.1.0.3:80"}
    assert stats.latency_field == "request_time"
    assert endpoint.samples()[0].fields["request_time"] == "0.500"


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=200), st.integers(1, 20))
def test_endpoints_are_bounded_whatever_the_paths(ids: list[int], cap: int) -> None:
    records = [_record(T0, f"/p{i}x/{i}") for i in ids]
    stats = collect_endpoint_stats(records, max_endpoints=cap)
    assert len(stats.endpoints) <= cap + 1
    assert sum(e.requests for e in stats.endpoints.values()) == len(ids)


def test_compare_endpoint_reports_rates_errors_and_percentiles() -> None:
    records = [
        _record(T0 + timedelta(minutes=m, seconds=s), "/a", rt="0.040")
        for m in range(20)
        for s in range(0, 60, 3)
    ]
    records += [
        _record(T0 + timedelta(minutes=20 + m, seconds=s), "/a", 503 if s < 9 else 200, rt="0.400")
        for m in range(5)
        for s in range(0, 60, 3)
    ]
    stats = collect_endpoint_stats(records)
    endpoint = stats.endpoints[("gw", "GET /a")]
    onset = minute_of(T0) + 20
    result = compare_endpoint(endpoint, onset, minute_of(T0), onset + 5, Thresholds())
    assert result.before.requests == 400 and result.after.requests == 100
    assert result.before.rate_per_min == pytest.approx(20.0)
    assert result.after.error_rate == pytest.approx(0.15)
    assert result.latency_up and result.errors_up
    assert result.pattern is LoadPattern.SLOWDOWN
    assert result.p95_ratio == pytest.approx(10.0, rel=0.03)


def test_top_shares() -> None:
    assert top_shares(Counter({"a": 3, "b": 1}), 1) == [("a", 3, 0.75)]
    assert top_shares(Counter()) == []


def test_distinct_clients_per_minute_are_capped_and_the_rest_counted() -> None:
    records = [_record(T0, "/a", remote_addr=f"10.0.0.{i}", http_user_agent="ua") for i in range(10)]
    stats = collect_endpoint_stats(records, max_keys_per_minute=4)
    minute = minute_of(T0)
    assert len(stats.clients[minute]) == 4
    assert stats.overflow["clients"] == 6 and stats.agents[minute]["ua"] == 10
