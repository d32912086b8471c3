"""The ``logs`` source type: its options, the config errors they give, time windows and components."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from incident_flow.config import ConfigError, Settings
from incident_flow.logs import FORMATS, LOGS_SOURCE_TYPE, LogsSource, read_records
from incident_flow.sources import LogSource, SourceSpec

APP_LOG = """\
2024-01-02 03:00:00,000 INFO [orders] started
2024-01-02 03:05:00,000 ERROR [orders] payment declined
Traceback (most recent call last):
  File "pay.py", line 3, in charge
PaymentError: declined
2024-01-02 03:10:00,000 INFO [orders] recovered
"""


def spec(tmp_path: Path, **options: Any) -> SourceSpec:
    return SourceSpec(
        name="orders-logs",
        type="logs",
        options=options,
        base_dir=tmp_path,
        settings=Settings(timezone=timezone(timedelta(hours=1))),
    )


def test_the_factory_resolves_paths_against_the_config_folder_and_takes_the_zone(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "orders.log").write_text(APP_LOG)
    source = LOGS_SOURCE_TYPE.factory(spec(tmp_path, paths=["logs/*.log"], format="auto"))
    assert isinstance(source, LogSource)
    records = list(source.records())
    assert [r.line for r in records] == [1, 2, 6]
    assert records[0].at == datetime(2024, 1, 2, 2, 0, tzinfo=UTC)  # 03:00 at UTC+1
    assert records[0].path == str(tmp_path / "logs" / "orders.log")
    assert records[0].source == "orders-logs"
    assert isinstance(source, LogsSource) and source.formats == {
        str(tmp_path / "logs" / "orders.log"): "python"
    }
    assert "orders-logs" in source.describe()


def test_records_in_a_window_keep_the_ones_without_time(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("a line with no time\n" + APP_LOG)
    source = LogsSource("app", [path])
    window = list(source.records(datetime(2024, 1, 2, 3, 5), datetime(2024, 1, 2, 3, 10, tzinfo=UTC)))
    assert [r.message for r in window] == ["a line with no time", "payment declined"]  # until is excluded


def test_components_fixed_by_field_or_from_the_format(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text('{"msg": "a", "service": "cart", "k8s": {"app": "cart-v2"}}\n{"msg": "b"}\n')
    assert [r.component for r in read_records([path])] == ["cart", None]
    assert [r.component for r in read_records([path], component="shop")] == ["shop", "shop"]
    assert [r.component for r in read_records([path], component_field="k8s.app")] == ["cart-v2", None]


def test_reference_time_is_settable_after_construction(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_text("Dec 31 23:59:00 web-1 cron[9]: job done\n")
    source = LogsSource("sys", [path], reference_time=datetime(2021, 6, 1, tzinfo=UTC))
    assert next(source.records()).at == datetime(2020, 12, 31, 23, 59, tzinfo=UTC)
    source.reference_time = datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    assert next(source.records()).at == datetime(2023, 12, 31, 23, 59, tzinfo=UTC)


def test_warnings_go_to_the_source_once_each(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"x" * 1000)[:20])
    source = LogsSource("app", [bad, tmp_path / "none-*.log"])
    first, again = list(source.records()), list(source.records())
    assert first == again and len(first) <= 1  # whatever came out before the damage
    assert len(source.warnings) == 2
    assert "truncated or corrupt" in source.warnings[0]
    assert source.warnings[1].endswith("none-*.log: the glob matched no file")


def test_files_are_read_in_the_order_given(tmp_path: Path) -> None:
    for name, hour in (("new.log", 5), ("old.log", 1)):
        (tmp_path / name).write_text(f"2024-01-02 0{hour}:00:00,000 INFO [x] {name}\n")
    records = read_records([tmp_path / "new.log", tmp_path / "old.log"])
    assert [r.message for r in records] == ["new.log", "old.log"]  # streamed, never sorted


@pytest.mark.parametrize(
    ("options", "key", "expected"),
    [
        ({"format": "xml"}, "format", "one of auto, json"),
        ({"format": "pattern"}, "pattern", "a layout such as"),
        ({"pattern": "<Date> (<Content>"}, "pattern", "valid regex"),
        ({"pattern": "(?P<x>[)"}, "pattern", "compiles"),
        ({"format": "json", "pattern": "<Content>"}, "pattern", 'goes with format = "pattern"'),
        ({"log_format": "main 'no variables'"}, "log_format", "with $variables"),
        ({"format": "syslog", "log_format": "$a $b"}, "log_format", 'goes with format = "nginx"'),
        ({"component_field": ""}, "component_field", "a non-empty string"),
        ({"paths": []}, "paths", "a non-empty list"),
    ],
)
def test_invalid_option_values_are_one_line_config_errors(
    tmp_path: Path, options: dict[str, Any], key: str, expected: str
) -> None:
    options = {"paths": ["x.log"], **options}
    with pytest.raises(ConfigError) as error:
        LOGS_SOURCE_TYPE.factory(spec(tmp_path, **options))
    assert error.value.key == f"sources.orders-logs.{key}"
    assert expected in error.value.message
    assert "\n" not in str(error.value)


def test_read_records_checks_its_options_before_reading() -> None:
    with pytest.raises(ConfigError, match=r"sources\.cli\.format"):
        read_records(["whatever.log"], format="yaml", source_name="cli")


def test_the_option_table_documents_every_option() -> None:
    options = LOGS_SOURCE_TYPE.options
    assert set(options) == {
        "paths",
        "format",
        "pattern",
        "log_format",
        "component",
        "component_field",
        "time_field",
        "level_field",
        "message_field",
    }
    assert options["paths"].required
    assert options["format"].default == "auto"
    assert all(option.doc for option in options.values())
    assert all(name in options["format"].doc for name in FORMATS)
