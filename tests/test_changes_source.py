"""The ``changes`` source type: deploys, config changes, flag flips and migrations from files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from incident_flow.config import ConfigError, Settings, build_source_specs, load_config
from incident_flow.sources import SourceError, SourceSpec
from incident_flow.sources.changes import (
    CHANGES_SOURCE_TYPE,
    ChangesSource,
    create_changes_source,
    event_from_mapping,
)

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)

JSONL = "\n".join(
    json.dumps(record)
    for record in [
        {
            "at": "2026-03-13T09:00:00Z",
            "component": "orders",
            "kind": "deploy",
            "version": "v41",
            "id": "d-41",
        },
        {
            "timestamp": "2026-03-14T13:50:00Z",
            "service": "orders",
            "type": "deployment",
            "ref": "v42",
            "deploy_id": "d-42",
            "description": "deploy orders v42",
            "user": "ci-bot",
        },
        {
            "at": 1773496500,
            "component": "checkout",
            "kind": "feature-flag",
            "summary": "enable new-cart for 50%",
            "author": {"name": "Bob"},
        },
    ]
)
JSONL += "\nnot json\n" + json.dumps({"component": "orders", "kind": "config"}) + "\n"
JSONL += (
    json.dumps(
        {
            "at": "2026-03-14T13:58:00Z",
            "component": "orders",
            "kind": "migration",
            "id": "m-7",
            "summary": "add tier column",
            "files": ["db/migrate/7.sql"],
        }
    )
    + "\n"
)

CSV = """\
at;component;kind;id;summary;author;version
2026-03-14 13:40:00;search;infra;tf-1;scale search to 6 nodes, zone a;ops;
2026-03-14 13:45:00;search;config;cfg-9;"timeout 5s -> 1s; retries 3 -> 0";alice;r9
"""


def test_json_lines_with_the_usual_field_names(tmp_path: Path) -> None:
    file = tmp_path / "deploys.jsonl"
    file.write_text(JSONL, encoding="utf-8")
    source = ChangesSource("deploys", [file])
    events = source.events(T0 - timedelta(hours=24), T0 + timedelta(hours=1))
    assert [e.change.id for e in events] == ["d-42", "feature_flag:checkout:20260314T135500Z", "m-7"]
    deploy = events[0]
    assert deploy.change.kind == "deploy" and deploy.change.component == "orders"
    assert deploy.change.summary == "deploy orders v42" and deploy.change.author == "ci-bot"
    assert deploy.version == "v42" and deploy.previous_version == "v41"  # the deploy before it
    assert events[2].change.files == ("db/migrate/7.sql",)
    flag = events[1]
    assert flag.change.kind == "feature_flag" and flag.change.author == "Bob"
    assert flag.change.at == datetime.fromtimestamp(1773496500, UTC)
    assert [w.split(": ", 1)[1] for w in source.warnings] == [
        "skipped: not a JSON object (Expecting value)",
        "skipped: no time (expected one of: at, time, timestamp, @timestamp, ts)",
    ]
    assert all(w.startswith(f"{file}:") for w in source.warnings)
    changes = list(source.changes(T0 - timedelta(minutes=15), T0))
    assert [c.id for c in changes] == ["d-42", flag.change.id, "m-7"]
    assert source.event("d-41") is not None


def test_csv_with_its_own_delimiter_and_naive_times_in_the_config_zone(tmp_path: Path) -> None:
    file = tmp_path / "changes.csv"
    file.write_text(CSV, encoding="utf-8")
    source = ChangesSource("infra", [file], timezone=timezone(timedelta(hours=1)))
    events = source.events()
    assert [e.change.id for e in events] == ["tf-1", "cfg-9"]
    assert events[0].change.at == datetime(2026, 3, 14, 12, 40, tzinfo=UTC)
    assert events[1].change.summary == "timeout 5s -> 1s; retries 3 -> 0"
    assert events[1].change.kind == "config" and events[1].version == "r9"
    assert events[0].version is None


def test_defaults_json_arrays_and_globs(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"time": "2026-03-14T13:00:00Z", "version": "7"}]', encoding="utf-8")
    (tmp_path / "b.json").write_text('[{"time": "2026-03-14T13:30:00Z", "version": "8"}]', encoding="utf-8")
    source = ChangesSource("releases", [tmp_path / "*.json"], component="web", kind="release")
    events = source.events()
    assert [(e.change.kind, e.change.component, e.version, e.previous_version) for e in events] == [
        ("deploy", "web", "7", None),
        ("deploy", "web", "8", "7"),
    ]
    assert events[1].change.summary == "deploy web to 8"
    assert event_from_mapping({"at": "2026-03-14T13:00:00Z", "id": "x"}).change.kind == "unknown"


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    source = ChangesSource("deploys", [tmp_path / "nope.jsonl"])
    with pytest.raises(SourceError) as caught:
        source.events()
    assert "no such file" in str(caught.value) and "\n" not in str(caught.value)


def test_the_source_type_from_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "deploys.jsonl").write_text(JSONL, encoding="utf-8")
    config_file = tmp_path / "incident-flow.toml"
    config_file.write_text(
        '[settings]\ntimezone = "UTC"\n\n[[sources]]\nname = "deploys"\ntype = "changes"\n'
        'paths = ["deploys.jsonl"]\nkind = "deploy"\n',
        encoding="utf-8",
    )
    config = load_config(config_file, {"changes": CHANGES_SOURCE_TYPE})
    source = CHANGES_SOURCE_TYPE.factory(build_source_specs(config)[0])
    assert isinstance(source, ChangesSource)
    assert len(source.events()) == 4
    config_file.write_text('[[sources]]\nname = "d"\ntype = "changes"\npaths = "x.jsonl"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.paths"):
        load_config(config_file, {"changes": CHANGES_SOURCE_TYPE})
    with pytest.raises(ConfigError, match=r"sources\.d\.format"):
        create_changes_source(
            SourceSpec("d", "changes", {"paths": ["x"], "format": "xml"}, tmp_path, Settings())
        )
