"""The ``prometheus`` source: against a fake API (httpx.MockTransport) and against a real Prometheus.

The integration tests start the Debian ``prometheus`` binary on 127.0.0.1 over a TSDB backfilled
with ``promtool tsdb create-blocks-from openmetrics``: three hours of a small shop in the recent past
(so retention never drops it) in which the payments service's CPU jumps at a known minute and its
caller's latency follows. Without the binaries they skip locally; with ``CI=true`` they fail instead,
because CI installs the package and must run them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from incident_flow_ops.metrics import analyse_metrics

from incident_flow import Investigator, hookimpl
from incident_flow.api import run_incident
from incident_flow.config import Settings, build_source_specs, load_config
from incident_flow.metrics import PROMETHEUS_SOURCE_TYPE, PrometheusSource, parse_matrix, parse_series_list
from incident_flow.metrics.prometheus import (
    MAX_POINTS,
    _narrow,
    component_of,
    selector,
    source_from_spec,
)
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import SourceError, SourceType
from incident_flow.testing import make_context

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
SINCE = datetime.fromtimestamp(NOW - 7200, UTC)
UNTIL = datetime.fromtimestamp(NOW, UTC)

# -- a fake Prometheus ------------------------------------------------------------------------------

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _matchers(text: str) -> list[tuple[str, str, str]]:
    text = text.strip()
    name, _, rest = text.partition("{")
    out = [("__name__", "=", name.strip())] if name.strip() else []
    body = rest.rstrip().removesuffix("}") if rest else ""
    for match in _MATCHER.finditer(body):
        value = match.group(3).replace('\\"', '"').replace("\\\\", "\\")
        out.append((match.group(1), match.group(2), value))
    return out


def _matches(labels: dict[str, str], text: str) -> bool:
    for label, op, value in _matchers(text):
        have = labels.get(label, "")
        ok = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


class FakePrometheus:
    """Answers /api/v1/series and /api/v1/query_range from in-memory series, and records the calls."""

    def __init__(self, series: list[tuple[dict[str, str], Callable[[float], float]]]) -> None:
        self.series = series
        self.calls: list[tuple[str, dict[str, list[str]], httpx.Headers]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = urllib.parse.parse_qs(request.content.decode())
        self.calls.append((request.url.path, form, request.headers))
        if request.url.path.endswith("/api/v1/series"):
            found = [labels for labels, _ in self.series if any(_matches(labels, m) for m in form["match[]"])]
            return httpx.Response(200, json={"status": "success", "data": found})
        if request.url.path.endswith("/api/v1/query_range"):
            start, end, step = (float(form[k][0]) for k in ("start", "end", "step"))
            if (end - start) / step + 1 > MAX_POINTS:
                return httpx.Response(
                    400,
                    json={"status": "error", "errorType": "bad_data", "error": "exceeded maximum resolution"},
                )
            result = []
            for labels, value in self.series:
                if not _matches(labels, form["query"][0]):
                    continue
                points = []
                t = start
                while t <= end:
                    points.append([t, repr(value(t)) if math.isfinite(value(t)) else "NaN"])
                    t += step
                result.append({"metric": labels, "values": points})
            return httpx.Response(
                200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
            )
        return httpx.Response(404, text="not found")


def _shop() -> FakePrometheus:
    rng = random.Random(1)
    onset = NOW - 1800
    return FakePrometheus(
        [
            (
                {"__name__": "cpu_usage_percent", "service": "payments", "instance": "p:9100"},
                lambda t: (90.0 if t >= onset else 20.0) + rng.gauss(0, 1),
            ),
            ({"__name__": "cpu_usage_percent", "service": "orders"}, lambda t: 30 + rng.gauss(0, 1)),
            ({"__name__": "memory_bytes", "job": "orders"}, lambda t: 2e8 + rng.gauss(0, 1e5)),
            ({"__name__": "queue_depth", "instance": "10.0.0.7:9100"}, lambda t: 5 + rng.gauss(0, 0.5)),
        ]
    )


def _source(fake: FakePrometheus, **kwargs: Any) -> PrometheusSource:
    return PrometheusSource(
        "prom", "http://prom.test:9090/", transport=httpx.MockTransport(fake), clock=lambda: NOW, **kwargs
    )


def test_discovery_then_one_range_query_per_metric_name() -> None:
    fake = _shop()
    found = {s.name: s for s in _source(fake).series(SINCE, UNTIL)}
    assert set(found) == {
        'cpu_usage_percent{instance="p:9100",service="payments"}',
        'cpu_usage_percent{service="orders"}',
        'memory_bytes{job="orders"}',
        'queue_depth{instance="10.0.0.7:9100"}',
    }
    payments = found['cpu_usage_percent{instance="p:9100",service="payments"}']
    assert payments.component == "payments" and payments.metric == "cpu_usage_percent"
    assert found['memory_bytes{job="orders"}'].component == "orders"
    assert found['queue_depth{instance="10.0.0.7:9100"}'].component == "10.0.0.7"
    assert payments.source == "prom" and payments.labels["service"] == "payments"
    assert payments.query is not None and payments.query.startswith(
        'query_range({__name__="cpu_usage_percent",'
    )
    assert payments.times[0] == NOW - 7200 and payments.times[-1] == NOW and len(payments.times) == 481
    paths = [path for path, _, _ in fake.calls]
    assert paths.count("/api/v1/series") == 1 and paths.count("/api/v1/query_range") == 3


def test_the_step_keeps_every_query_under_11000_points_and_until_is_capped_at_now() -> None:
    fake = _shop()
    since = datetime.fromtimestamp(NOW - 3 * 86400, UTC)
    series = list(_source(fake, step=1.0).series(since, UNTIL + timedelta(days=1)))
    assert series and all(len(s.times) <= MAX_POINTS for s in series)
    for path, form, _ in fake.calls:
        if path.endswith("query_range"):
            assert float(form["end"][0]) == NOW
            assert (NOW - float(form["start"][0])) / float(form["step"][0]) < MAX_POINTS


def test_the_matchers_are_pushed_down_and_the_cap_warns() -> None:
    fake = _shop()
    source = _source(fake, matchers=['{service=~".+"}'])
    assert {s.component for s in source.series(SINCE, UNTIL)} == {"payments", "orders"}
    queries = [form["query"][0] for path, form, _ in fake.calls if path.endswith("query_range")]
    assert queries == ['{__name__="cpu_usage_percent",service=~".+"}']
    shop = _shop()
    capped = _source(shop, max_series=2)
    names = [s.metric for s in capped.series(SINCE, UNTIL)]
    assert len(names) == 2 and len(set(names)) == 2  # one per metric name first, not two of one
    assert any("4 series match" in w for w in capped.warnings)
    # The cap bounds what is fetched: a name cut short is queried series by series.
    queries = [form["query"][0] for path, form, _ in shop.calls if path.endswith("query_range")]
    assert '{__name__="cpu_usage_percent",service="orders"}' in queries or (
        '{__name__="cpu_usage_percent",instance="p:9100",service="payments"}' in queries
    )
    assert len(queries) == 2


def test_an_investigation_over_the_fake_finds_payments() -> None:
    ctx = make_context(
        detected_at=datetime.fromtimestamp(NOW - 1620, UTC),
        sources=[_source(_shop())],
        settings=Settings(lookback=timedelta(hours=1)),
    ).for_investigator("ops")
    findings = analyse_metrics(ctx)
    assert findings[0].component == "payments"
    assert findings[0].indicator == 'cpu_usage_percent{instance="p:9100",service="payments"}'


def _spec(tmp_path: Path, body: str) -> Any:
    config = tmp_path / "incident-flow.toml"
    config.write_text(body, encoding="utf-8")
    (spec,) = build_source_specs(load_config(config, {"prometheus": PROMETHEUS_SOURCE_TYPE}))
    return spec


def test_auth_headers_and_bearer_token_are_sent(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n", encoding="utf-8")
    spec = _spec(
        tmp_path,
        '[[sources]]\nname = "prom"\ntype = "prometheus"\nurl = "http://prom.test"\n'
        'headers = { X-Scope-OrgID = "team-a" }\nbearer_token_file = "token"\nstep = "30s"\ntimeout = "2s"\n'
        'matchers = [\'{service="orders"}\']\ncomponent_label = "service"\n',
    )
    fake = _shop()
    source = source_from_spec(spec, transport=httpx.MockTransport(fake))
    assert source.step == 30.0 and source.client.timeout == 2.0 and source.component_labels == ("service",)
    list(source.series(SINCE, datetime.now(UTC)))
    headers = fake.calls[0][2]
    assert headers["authorization"] == "Bearer s3cret" and headers["x-scope-orgid"] == "team-a"
    assert "s3cret" not in source.describe()


def test_unreadable_auth_and_tls_files_are_source_errors(tmp_path: Path) -> None:
    base = '[[sources]]\nname = "prom"\ntype = "prometheus"\nurl = "https://prom.test"\n'
    with pytest.raises(SourceError, match="bearer_token_file"):
        PROMETHEUS_SOURCE_TYPE.factory(_spec(tmp_path, base + 'bearer_token_file = "missing"\n'))
    with pytest.raises(SourceError, match="TLS files"):
        PROMETHEUS_SOURCE_TYPE.factory(_spec(tmp_path, base + 'ca_file = "missing.pem"\n'))
    source = PROMETHEUS_SOURCE_TYPE.factory(_spec(tmp_path, base + "tls_verify = false\n"))
    assert isinstance(source, PrometheusSource)
    source.close()


def test_the_url_is_required(tmp_path: Path) -> None:
    from incident_flow.config import ConfigError

    with pytest.raises(ConfigError, match="url"):
        _spec(tmp_path, '[[sources]]\nname = "prom"\ntype = "prometheus"\n')


def _failing(handler: Callable[[httpx.Request], httpx.Response]) -> PrometheusSource:
    return PrometheusSource(
        "prom", "http://prom.test", transport=httpx.MockTransport(handler), clock=lambda: NOW
    )


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_raise(httpx.ReadTimeout("slow")), "timed out after 10s"),
        (_raise(httpx.ConnectError("refused")), "cannot reach it"),
        (
            lambda r: httpx.Response(
                422, json={"status": "error", "errorType": "execution", "error": "bad\nthing"}
            ),
            "HTTP 422: bad thing",
        ),
        (lambda r: httpx.Response(200, text="<html>login</html>"), "not JSON"),
        (lambda r: httpx.Response(401, text="unauthorized"), "HTTP 401 \\(check the source's `headers`"),
        (lambda r: httpx.Response(200, json={"status": "error", "error": "nope"}), "error \\(nope\\)"),
        (lambda r: httpx.Response(200, json={"status": "success", "data": {"x": 1}}), "not a list"),
    ],
)
def test_failures_are_one_line_source_errors(
    handler: Callable[[httpx.Request], httpx.Response], message: str
) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        list(_failing(handler).series(SINCE, UNTIL))
    assert "\n" not in str(caught.value) and "http://prom.test" in str(caught.value)


def test_an_unreachable_prometheus_is_recorded_and_the_investigation_goes_on() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = PrometheusSource("prom", f"http://127.0.0.1:{port}", timeout=2.0)
    audit: list[dict[str, Any]] = []
    ctx = make_context(detected_at=datetime.now(UTC), sources=[source], audit=audit).for_investigator("ops")
    assert analyse_metrics(ctx) == []
    problems = [r for r in audit if r["kind"] == "source.problem"]
    assert len(problems) == 1 and problems[0]["source"] == "prom"
    assert "cannot reach it" in problems[0]["error"] and "\n" not in problems[0]["error"]


def test_selectors_names_and_components() -> None:
    assert selector({"job": 'a"b\\c', "__name__": "up"}) == '{__name__="up",job="a\\"b\\\\c"}'
    assert _narrow('{__name__=~".+",__name__!~".+_bucket"}', "up") == (
        '{__name__="up",__name__=~".+",__name__!~".+_bucket"}'
    )
    assert _narrow("{}", "up") == '{__name__="up"}'
    assert _narrow('up{job="x"}', "up") == 'up{job="x"}'
    assert _narrow("rate(x[5m])", "x") is None
    assert component_of({"instance": "cache-1:9100"}, ("instance",)) == "cache-1"
    assert component_of({"instance": "[::1]:9090"}, ("instance",)) == "::1"
    assert component_of({"__name__": "node_cpu_seconds_total"}, ("service",)) == "node"
    assert component_of({"pod": "", "app": "web"}, ("pod", "app")) == "web"


# -- the response parsers never crash and never drop a valid series ------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_arbitrary_json_is_parsed_or_a_source_error(payload: Any) -> None:
    for parse in (parse_matrix, parse_series_list):
        with contextlib.suppress(SourceError):
            parse(payload)
        for wrapped in (
            {"status": "success", "data": payload},
            {"status": "success", "data": {"resultType": "matrix", "result": payload}},
            {"status": "success", "data": {"resultType": "matrix", "result": [payload]}},
            {
                "status": "success",
                "data": {"resultType": "matrix", "result": [{"metric": {}, "values": payload}]},
            },
        ):
            with contextlib.suppress(SourceError):
                parse(wrapped)


_labels = st.dictionaries(st.from_regex(r"[a-z_]{1,6}", fullmatch=True), st.text(max_size=6), max_size=3)
_points = st.lists(
    st.tuples(
        st.integers(0, 10**9),
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["NaN", "+Inf"])),
    ),
    max_size=6,
    unique_by=lambda p: p[0],
)


@settings(max_examples=200, deadline=None)
@given(
    valid=st.lists(
        st.tuples(_labels, _points), max_size=5, unique_by=lambda item: tuple(sorted(item[0].items()))
    ),
    junk=st.lists(_json, max_size=4),
)
def test_valid_series_survive_junk_beside_them(
    valid: list[tuple[dict[str, str], list[tuple[int, Any]]]], junk: list[Any]
) -> None:
    result: list[Any] = []
    for labels, points in valid:
        values = [[t, v if isinstance(v, str) else repr(v)] for t, v in points]
        result.append({"metric": labels, "values": [*values, ["bad", "1"], [1, 2, 3]]})
    result.extend(junk)
    parsed = parse_matrix({"status": "success", "data": {"resultType": "matrix", "result": result}})
    by_labels = [dict(p.labels) for p in parsed]
    for labels, points in valid:
        assert labels in by_labels
        match = next(p for p in parsed if dict(p.labels) == labels and len(p.times) == len(points))
        expected = sorted((float(t), float(v) if not isinstance(v, str) else math.nan) for t, v in points)
        assert list(match.times) == [t for t, _ in expected]
        for got, (_, want) in zip(match.values, expected, strict=True):
            assert (math.isnan(got) and math.isnan(want)) or got == want
    assert parse_series_list(
        {"status": "success", "data": [labels for labels, _ in valid] + [1, {"a": 2}]}
    ) == [labels for labels, _ in valid]


# -- a real Prometheus --------------------------------------------------------------------------------


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        reason = f"{binary} is not on PATH (Debian: apt-get install prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true, so this integration test must run, not skip")
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STEP = 15
ANOMALY_MINUTES_AGO = 60


def _openmetrics(end: int) -> tuple[str, int]:
    """Three hours of a small shop ending at ``end``; payments' CPU jumps an hour before it."""
    rng = random.Random(7)
    start = end - 3 * 3600
    onset = end - ANOMALY_MINUTES_AGO * 60
    times = range(start, end + 1, STEP)
    families: list[str] = ["# TYPE cpu_usage_percent gauge"]
    for service, level in (("payments", 20.0), ("orders", 35.0), ("checkout", 25.0)):
        for t in times:
            value = (92.0 if service == "payments" and t >= onset else level) + rng.gauss(0, 1.5)
            families.append(f'cpu_usage_percent{{service="{service}"}} {value:.3f} {t}')
    families.append("# TYPE request_latency_seconds gauge")
    for t in times:
        value = (1.2 if t >= onset else 0.2) + rng.gauss(0, 0.01)
        families.append(f'request_latency_seconds{{service="checkout"}} {value:.4f} {t}')
    families.append("# TYPE process_resident_memory_bytes gauge")
    for service in ("payments", "orders", "checkout"):
        for t in times:
            families.append(
                f'process_resident_memory_bytes{{service="{service}"}} {3e8 + rng.gauss(0, 1e6):.0f} {t}'
            )
    families.append("# TYPE http_requests counter")
    for service in ("orders", "checkout"):
        total = 0.0
        for t in times:
            total += STEP * (10 + rng.random())
            families.append(f'http_requests_total{{service="{service}"}} {total:.0f} {t}')
    families.append("# EOF")
    return "\n".join(families) + "\n", onset


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Prometheus on 127.0.0.1 over backfilled history; yields (url, the anomaly's unix time)."""
    server, promtool = _require("prometheus"), _require("promtool")
    folder = tmp_path_factory.mktemp("prometheus")
    end = int(time.time()) // 60 * 60 - 5 * 60
    text, onset = _openmetrics(end)
    data_file = folder / "history.om"
    data_file.write_text(text, encoding="utf-8")
    data_dir = folder / "data"
    backfill = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(data_file), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert backfill.returncode == 0, backfill.stderr[-2000:]
    config = folder / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (folder / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            server,
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited: {(folder / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("prometheus did not become ready within 60 s")
            time.sleep(0.2)
        yield url, onset
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.integration
def test_real_prometheus_series_are_discovered_and_fetched(prometheus: tuple[str, int]) -> None:
    url, onset = prometheus
    source = PrometheusSource("prom", url)
    try:
        since = datetime.fromtimestamp(onset - 7200, UTC)
        found = {s.name: s for s in source.series(since, datetime.now(UTC))}
    finally:
        source.close()
    assert 'cpu_usage_percent{service="payments"}' in found
    assert 'http_requests_total{service="orders"}' in found
    payments = found['cpu_usage_percent{service="payments"}']
    assert payments.component == "payments" and len(payments.times) > 400
    before = [v for t, v in zip(payments.times, payments.values, strict=True) if t < onset - 60]
    after = [v for t, v in zip(payments.times, payments.values, strict=True) if t > onset + 60]
    assert max(before) < 40 < min(after)
    assert source.warnings == []


@pytest.mark.integration
def test_the_investigator_finds_the_known_anomaly_in_a_real_prometheus(prometheus: tuple[str, int]) -> None:
    url, onset = prometheus
    source = PrometheusSource("prom", url)
    ctx = make_context(
        detected_at=datetime.fromtimestamp(onset + 180, UTC),
        sources=[source],
        settings=Settings(lookback=timedelta(hours=2)),
    ).for_investigator("ops")
    try:
        findings = analyse_metrics(ctx)
    finally:
        source.close()
    assert findings[0].component == "payments"
    assert findings[0].indicator == 'cpu_usage_percent{service="payments"}'
    assert findings[0].onset is not None and abs(findings[0].onset.timestamp() - onset) <= 60
    assert findings[0].evidence[0].query and "cpu_usage_percent" in findings[0].evidence[0].query
    checkout = next(f for f in findings if f.component == "checkout")
    assert checkout.symptom


def _wired() -> bool:
    return "prometheus" in make_plugin_host([], entry_points=False).source_types()


class PrometheusPlugin:
    """Registers the source type and the metric analysis until the lead wires them in."""

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        if not _wired():
            register(PROMETHEUS_SOURCE_TYPE)

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        if not _wired():
            register(Investigator(name="ops-metrics", investigate=analyse_metrics))


@pytest.mark.integration
def test_run_incident_with_a_prometheus_config(prometheus: tuple[str, int], tmp_path: Path) -> None:
    url, onset = prometheus
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        f'[settings]\nlookback = "2h"\n\n[[sources]]\nname = "prom"\ntype = "prometheus"\nurl = "{url}"\n'
        f'step = "30s"\ntimeout = "5s"\n\n'
        f'[[sources]]\nname = "down"\ntype = "prometheus"\nurl = "http://127.0.0.1:{_free_port()}"\n',
        encoding="utf-8",
    )
    at = datetime.fromtimestamp(onset + 180, UTC).isoformat()
    report = run_incident("checkout is slow", config=config, at=at, plugins=[PrometheusPlugin()])
    assert report.root_causes[0].component == "payments"
    assert report.root_causes[0].category.value == "performance"
    problems = {p.source: p.error for p in report.source_problems}
    assert "down" in problems and "cannot reach it" in problems["down"]
    assert (
        json.loads(report.to_json())["root_causes"][0]["indicator"] == 'cpu_usage_percent{service="payments"}'
    )
