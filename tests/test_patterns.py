"""``incident-flow patterns``: the JSON contract, and the window compared with its baseline."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.cli import main

START = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def _log(path: Path) -> Path:
    lines = []
    for minute in range(120):
        at = START + timedelta(minutes=minute)
        stamp = f"{at:%Y-%m-%d %H:%M:%S},000"
        lines.append(f"{stamp} INFO [orders] GET /api/orders/{1000 + minute} 200 in {20 + minute % 7}ms")
        lines.append(f"{stamp} WARNING [orders] cache miss for key user:{minute}")
        if minute >= 100:
            lines += [f"{stamp} ERROR [orders] pool timeout after 30s waiting for a connection"] * 4
    path.write_text("\n".join(lines) + "\n")
    return path


def test_json_puts_every_record_in_exactly_one_template(tmp_path: Path) -> None:
    log = _log(tmp_path / "orders.log")
    code, out, _ = _cli("patterns", str(log), "--json")
    assert code == 0
    templates = json.loads(out)["templates"]
    assert {"id", "template", "count", "lines"} <= set(templates[0])
    lines = sorted(n for t in templates for n in t["lines"])
    assert lines == list(range(1, len(log.read_text().splitlines()) + 1))
    assert all(t["count"] == len(t["lines"]) for t in templates)
    assert len(templates) == 3


def test_compare_names_what_is_new_since_the_window_started(tmp_path: Path) -> None:
    log = _log(tmp_path / "orders.log")
    code, out, _ = _cli("patterns", str(log), "--since", "2026-03-14T13:30:00Z", "--compare", "--json")
    assert code == 0
    surges = json.loads(out)["surges"]
    assert len(surges) == 1
    assert "pool timeout" in surges[0]["template"]
    assert surges[0]["before"] == 0 and surges[0]["after"] == 80
    code, text, _ = _cli("patterns", str(log), "--since", "2026-03-14T13:30:00Z", "--compare")
    assert "NEW" in text and "pool timeout" in text


def test_compare_needs_since_and_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert _cli("patterns", str(_log(tmp_path / "a.log")), "--compare")[0] == 2
    code, out, err = _cli("patterns", str(tmp_path / "missing.log"))
    assert code == 2 and out == "" and "missing.log" in err


def test_since_and_until_bound_the_records(tmp_path: Path) -> None:
    log = _log(tmp_path / "orders.log")
    code, out, _ = _cli("patterns", str(log), "--since", "2026-03-14T13:40:00Z", "--json")
    assert code == 0
    counts = {t["template"]: t["count"] for t in json.loads(out)["templates"]}
    assert sum(counts.values()) == 20 * 2 + 20 * 4


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=40))
def test_any_text_never_fails_and_counts_no_more_records_than_lines(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    path = tmp_path_factory.mktemp("p") / "any.log"
    path.write_text("\n".join(line.replace("\r", " ") for line in lines), encoding="utf-8", errors="replace")
    code, out, _ = _cli("patterns", str(path), "--format", "plain", "--json")
    assert code == 0
    counted = sum(t["count"] for t in json.loads(out)["templates"])
    assert counted <= len(path.read_text(encoding="utf-8").splitlines())
