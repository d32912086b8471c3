"""The ``metrics-csv`` source: both layouts, the component rule, bad data, the config contract."""

from __future__ import annotations

import csv
import gzip
import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_flow.config import ConfigError, build_source_specs, load_config
from incident_flow.metrics import METRICS_CSV_SOURCE_TYPE, CsvMetricSource
from incident_flow.metrics.csv import CsvPoints, parse_time_cell, read_csv_points, split_series_name
from incident_flow.sources import MetricSeries

T0 = 1_700_000_000
SINCE = datetime.fromtimestamp(T0 - 3600, UTC)
UNTIL = datetime.fromtimestamp(T0 + 3600, UTC)


def _series(source: CsvMetricSource) -> dict[str, MetricSeries]:
    return {s.name: s for s in source.series(SINCE, UNTIL)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_wide_layout_splits_the_component_at_the_first_underscore(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.csv",
        "time,carts-db_cpu,carts_lat_99,orders_mem\n"
        f"{T0},1.5,0.2,100\n{T0 + 1},,0.3,abc\n{T0 + 2},2,0.4,102\n",
    )
    found = _series(CsvMetricSource("metrics", [path]))
    assert set(found) == {"carts-db_cpu", "carts_lat_99", "orders_mem"}
    db = found["carts-db_cpu"]
    assert (db.component, db.metric) == ("carts-db", "cpu")
    assert found["carts_lat_99"].metric == "lat_99"
    assert db.times == (T0, T0 + 1, T0 + 2)
    assert db.values[0] == 1.5 and math.isnan(db.values[1]) and db.values[2] == 2.0
    assert math.isnan(found["orders_mem"].values[1])  # a non-numeric cell is a gap
    assert db.source == "metrics" and "carts-db_cpu" in (db.query or "") and "m.csv" in (db.query or "")


def test_split_rule_and_file_stem_fallback(tmp_path: Path) -> None:
    assert split_series_name("front-end_cpu", "f") == ("front-end", "cpu")
    assert split_series_name("cpu", "orders") == ("orders", "cpu")
    assert split_series_name("_cpu", "orders") == ("orders", "_cpu")
    path = _write(tmp_path / "orders.csv", f"time,cpu\n{T0},1\n")
    assert _series(CsvMetricSource("m", [path]))["cpu"].component == "orders"


def test_fixed_component_overrides_the_prefix(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", f"time,node_cpu,node_mem\n{T0},1,2\n")
    assert {s.component for s in _series(CsvMetricSource("m", [path], component="db-1")).values()} == {"db-1"}


def test_window_iso_times_time_column_and_milliseconds(tmp_path: Path) -> None:
    iso = _write(
        tmp_path / "iso.csv",
        "ts,api_cpu\n2024-01-02T03:00:00Z,1\n2024-01-02 03:00:01+01:00,2\n2024-01-02T03:00:02,3\n",
    )
    source = CsvMetricSource("m", [iso], time_column="ts")
    series = next(source.series(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)))
    base = datetime(2024, 1, 2, 3, tzinfo=UTC).timestamp()
    assert series.times == (base - 3600 + 1, base, base + 2)  # sorted; the +01:00 one is an hour earlier
    ms = _write(tmp_path / "ms.csv", f"time,api_cpu\n{T0 * 1000},1\n{(T0 + 1) * 1000 + 500},2\n")
    assert next(CsvMetricSource("m", [ms]).series(SINCE, UNTIL)).times == (T0, T0 + 1.5)
    assert parse_time_cell(str(T0 * 1_000_000_000)) == T0
    assert parse_time_cell("yesterday") is None
    narrow = list(
        CsvMetricSource("m", [ms]).series(
            datetime.fromtimestamp(T0 + 1, UTC), datetime.fromtimestamp(T0 + 10, UTC)
        )
    )
    assert narrow[0].times == (T0 + 1.5,)


def test_files_merge_by_series_and_globs_work(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    _write(tmp_path / "run" / "a-normal.csv", f"time,api_cpu\n{T0},1\n{T0 + 1},1\n")
    _write(tmp_path / "run" / "b-anomalous.csv", f"time,api_cpu,api_mem\n{T0 + 2},9\t\n{T0 + 3},9,5\n")
    source = CsvMetricSource("m", [str(tmp_path / "run" / "*.csv")])
    found = _series(source)
    assert found["api_cpu"].times == (T0, T0 + 1, T0 + 2, T0 + 3)
    assert found["api_cpu"].values[2:] == (9.0, 9.0)
    assert "a-normal.csv" in (found["api_cpu"].query or "") and "b-anomalous.csv" in (
        found["api_cpu"].query or ""
    )
    assert source.warnings == []


def test_gzip_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "m.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(f"time,api_cpu\n{T0},4\n")
    assert _series(CsvMetricSource("m", [path]))["api_cpu"].values == (4.0,)


def test_bad_files_are_warnings_not_errors(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.csv", f"time,api_cpu\n{T0},1\n")
    no_time = _write(tmp_path / "no_time.csv", "when,api_cpu\nx,1\n")
    empty = _write(tmp_path / "empty.csv", "")
    bad_gz = tmp_path / "bad.csv.gz"
    bad_gz.write_bytes(b"not gzip at all")
    dup = _write(tmp_path / "dup.csv", f"time,x_a,x_a\n{T0},1,2\nnot-a-time,3,4\n")
    source = CsvMetricSource("m", [good, no_time, empty, bad_gz, dup, str(tmp_path / "none-*.csv")])
    found = _series(source)
    assert found["api_cpu"].values == (1.0,)
    assert found["x_a"].values == (1.0,)
    text = " | ".join(source.warnings)
    for expected in (
        "no 'time' column",
        "empty file",
        "bad.csv.gz: cannot read",
        "appears twice",
        "1 row(s)",
    ):
        assert expected in text
    assert "no file matches" in text
    assert all("\n" not in w for w in source.warnings)


def test_a_malformed_line_costs_only_itself(tmp_path: Path) -> None:
    huge = "x" * (csv.field_size_limit() + 10)
    path = _write(tmp_path / "m.csv", f'time,api_cpu\n{T0},1\n{T0 + 1},"{huge}"\n{T0 + 2},3\n')
    source = CsvMetricSource("m", [path])
    assert _series(source)["api_cpu"].values == (1.0, 3.0)
    assert any("malformed line" in w for w in source.warnings)


def test_long_layout_with_labels(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "long.csv",
        "time,series,value,service,instance\n"
        f"{T0},http_requests_total,10,orders,a:80\n"
        f"{T0},http_requests_total,20,payments,b:80\n"
        f"{T0 + 1},http_requests_total,12,orders,a:80\n"
        f"{T0 + 1},cache_hits,oops,,\n"
        f"{T0 + 2},cache_hits,3,,\n",
    )
    found = _series(CsvMetricSource("m", [path]))
    orders = found['http_requests_total{instance="a:80",service="orders"}']
    assert orders.component == "orders" and orders.metric == "http_requests_total"
    assert orders.labels == {"service": "orders", "instance": "a:80"}
    assert orders.values == (10.0, 12.0)
    cache = found["cache_hits"]
    assert (cache.component, cache.metric) == ("cache", "hits")  # no label: the prefix rule
    assert math.isnan(cache.values[0]) and cache.values[1] == 3.0
    # An explicit component label, and layout forced.
    forced = CsvMetricSource("m", [path], layout="long", component_labels=("instance",))
    assert {s.component for s in forced.series(SINCE, UNTIL) if s.labels} == {"a:80", "b:80"}


def test_long_layout_named_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.csv", f"at;name;v;job\n{T0};q_depth;4;worker\n")
    source = CsvMetricSource(
        "m", [path], layout="long", time_column="at", series_column="name", value_column="v", delimiter=";"
    )
    (series,) = source.series(SINCE, UNTIL)
    assert (series.component, series.values) == ("worker", (4.0,))


def test_a_wide_file_of_200_series(tmp_path: Path) -> None:
    columns = [f"svc{i}_metric{i}" for i in range(200)]
    lines = ["time," + ",".join(columns)]
    lines += [f"{T0 + r}," + ",".join(str(r * i) for i in range(200)) for r in range(600)]
    path = _write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    found = _series(CsvMetricSource("m", [path]))
    assert len(found) == 200 and all(len(s.times) == 600 for s in found.values())


# -- through the config -----------------------------------------------------------------------------


def _config(tmp_path: Path, body: str) -> Path:
    return _write(tmp_path / "incident-flow.toml", body)


def test_the_source_type_from_a_config(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    _write(tmp_path / "metrics" / "a.csv", f"time,api_cpu\n{T0},1\n")
    path = _config(
        tmp_path,
        '[settings]\ntimezone = "UTC"\n[[sources]]\nname = "m"\ntype = "metrics-csv"\n'
        'paths = ["metrics/*.csv"]\nlayout = "wide"\n',
    )
    config = load_config(path, {"metrics-csv": METRICS_CSV_SOURCE_TYPE})
    (spec,) = build_source_specs(config)
    source = METRICS_CSV_SOURCE_TYPE.factory(spec)
    assert isinstance(source, CsvMetricSource)
    assert [s.name for s in source.series(SINCE, UNTIL)] == ["api_cpu"]
    assert all(option.doc and "\n" not in option.doc for option in METRICS_CSV_SOURCE_TYPE.options.values())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('pathz = ["a.csv"]', "pathz"),
        ('paths = "a.csv"', "expected an array of strings"),
        ("layout = 3", "expected a string"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    body = f'[[sources]]\nname = "m"\ntype = "metrics-csv"\n{extra}\n'
    if "paths" not in extra:
        body += 'paths = ["a.csv"]\n'
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, body), {"metrics-csv": METRICS_CSV_SOURCE_TYPE})


def test_an_unknown_layout_is_a_config_error(tmp_path: Path) -> None:
    path = _config(
        tmp_path, '[[sources]]\nname = "m"\ntype = "metrics-csv"\npaths = ["a.csv"]\nlayout = "tall"\n'
    )
    (spec,) = build_source_specs(load_config(path, {"metrics-csv": METRICS_CSV_SOURCE_TYPE}))
    with pytest.raises(ConfigError, match="layout"):
        METRICS_CSV_SOURCE_TYPE.factory(spec)


# -- properties -------------------------------------------------------------------------------------

_cells = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.just(""),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(
        st.text(min_size=1, max_size=8).filter(
            lambda s: s.strip() not in ("", "time") and not s.startswith("\ufeff")
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda s: s.strip(),
    ),
    rows=st.lists(st.tuples(st.booleans(), st.lists(_cells, max_size=7)), max_size=25),
)
def test_arbitrary_cells_never_crash_nor_lose_a_valid_row(
    names: list[str], rows: list[tuple[bool, list[str]]]
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["time", *names])
    expected: dict[tuple[str, float], float] = {}
    for index, (valid_time, cells) in enumerate(rows):
        t = float(T0 + index)
        writer.writerow([str(int(t)) if valid_time else "nope", *cells])
        if not valid_time:
            continue
        for name, cell in zip(names, cells, strict=False):
            try:
                value = float(cell)
            except ValueError:
                continue
            if math.isfinite(value):
                expected[(name.strip(), t)] = value
    points = CsvPoints()
    buffer.seek(0)
    read_csv_points(csv.reader(buffer), file="prop.csv", points=points)
    got = {
        (key[0], t): v
        for key, entry in points.series.items()
        for t, v in zip(entry.times, entry.values, strict=True)
        if not math.isnan(v)
    }
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_in_a_file_never_crash(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "m.csv"
    path.write_bytes(data)
    for layout in ("auto", "long"):
        source = CsvMetricSource("m", [path], layout=layout)
        for series in source.series(datetime.fromtimestamp(0, UTC), datetime.now(UTC) + timedelta(days=1)):
            assert len(series.times) == len(series.values)
