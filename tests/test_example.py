"""The bundled example: the demo names the failed dependency, and it is an eval case too."""

from __future__ import annotations

import asyncio
import io
import json

from incident_flow.cli import main
from incident_flow.demo import example_dir, run_demo
from incident_flow.evaluation import evaluate

SEED_SECTIONS = [
    "Summary",
    "Timeline",
    "Root Cause",
    "Resolution",
    "Impact",
    "Action Items",
    "Lessons Learned",
]


def test_the_demo_names_redis_with_evidence() -> None:
    report = asyncio.run(run_demo())
    top = report.root_causes[0]
    assert top.component == "redis"
    assert top.category.value == "infrastructure"
    assert any(
        "oom" in line.lower() or "out of memory" in line.lower() for e in top.evidence for line in e.lines
    )
    assert report.notes[0].startswith("This is incident-flow's bundled example")
    checkout = [f for f in report.findings if f.component == "checkout" and f.investigator == "ops"]
    assert [f.depends_on for f in checkout] == ["redis"], "the caller's errors name the failed dependency"
    assert report.onset is not None and report.onset < report.incident.detected_at


def test_the_demo_command_prints_every_section_of_the_seed_template() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["demo"], stdout=out, stderr=err) == 0
    text = out.getvalue()
    for section in SEED_SECTIONS:
        assert f"### {section}" in text
    assert "bundled example" in err.getvalue()


def test_the_demo_json_is_the_contract() -> None:
    out = io.StringIO()
    assert main(["demo", "--format", "json"], stdout=out, stderr=io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert data["schema_version"] == "1.2"
    assert data["root_causes"][0]["component"] == "redis"


def test_the_example_is_an_eval_case() -> None:
    summary = asyncio.run(evaluate([example_dir()]))
    assert summary.ac_at(1) == 1.0
    assert summary.category_at_1 == 1.0
