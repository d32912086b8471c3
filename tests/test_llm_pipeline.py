"""The Claude layer inside a whole run: off without a key, and wired end to end with one."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("anthropic", reason="the [claude] extra is not installed")

from llm_fixtures.messages_api import MockMessagesAPI, Scripted, reply, text

from incident_flow import Report
from incident_flow.api import arun_incident
from incident_flow.demo import example_dir
from incident_flow.evaluation import load_case
from incident_flow.report import load_schema

SYNTHESIS = {
    "summary": "Redis on cache-1 was killed by the kernel's OOM killer; checkout lost its sessions.",
    "lessons_learned": ["Memory limits on the cache host did not leave room for growth."],
}


def _run() -> Report:
    case = load_case(example_dir())
    config = example_dir() / "incident-flow.toml"
    return asyncio.run(arun_incident(case.description, config=config, at=case.detected_at))


def test_without_a_key_the_report_has_no_llm_part() -> None:
    report = _run()
    assert report.llm == {}
    assert "llm" not in json.loads(report.to_json())


def test_with_a_key_the_stage_runs_and_its_narrative_reaches_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jsonschema

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    api = MockMessagesAPI(Scripted({}, synthesis=lambda _body: reply([text(json.dumps(SYNTHESIS))])))

    async def go() -> Report:
        async with api.client() as http:
            case = load_case(example_dir())
            return await arun_incident(
                case.description,
                config=example_dir() / "incident-flow.toml",
                at=case.detected_at,
                llm="anthropic",
                llm_http_client=http,
            )

    report = asyncio.run(go())
    assert api.requests, "the stage talked to the (mock) Messages API"
    data = json.loads(report.to_json())
    jsonschema.validate(data, load_schema())
    assert data["llm"]["usage"]["requests"] == len(api.requests)
    assert data["root_causes"][0]["component"] == "redis", "the deterministic ranking stands"
    assert "sk-ant-test" not in "".join(api.bodies)
