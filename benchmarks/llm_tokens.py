"""Tokens the Claude layer sends per incident, over the scenario corpus, through the real SDK.

Run it as ``.venv/bin/python benchmarks/llm_tokens.py``. It prints a table and rewrites its own
section of ``docs/benchmarks.md`` (between ``<!-- llm:start -->`` and ``<!-- llm:end -->``), leaving
the rest of that file alone. Nothing goes to the network.

For every case of the corpus (``python -m tests.scenarios OUT --seeds N``, written to a temporary
folder; ``--example`` uses the bundled example incident instead):

1. the deterministic run (``arun_incident``) gives the findings, the assessment and the causes;
2. :func:`incident_flow.llm.run_llm_stage` runs with Claude enabled against a mock Messages API
   (``tests/llm_fixtures/messages_api.py``, an ``httpx2.MockTransport`` behind the real
   ``AsyncAnthropic``) that answers with a short scripted conversation: each of the four agents
   makes one tool call that fits its investigation (templates, changes, the metric catalogue, error
   records), then reports one finding quoting what the tool showed; the synthesis answers valid
   JSON;
3. every request body the SDK sent is counted: **characters / 4** (no tokenizer that works offline
   is installed; the API's own count differs by some percent either way). The mock reports
   ``usage`` from the same count, with the cached prefix (tools + system prompt) as a cache write
   the first time and a cache read after, which is what the cost estimate prices.

What it does not measure: a real model's own length (it may take more steps, up to ``max_steps``,
and write more), so the output figures are a floor; the input per step is what this layer
controls, and that is what is measured. The comparison column is the window's raw log text at
characters / 4, what an agent that pastes the logs into its prompt would send at least once.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling _docs, however it is loaded
from _docs import write_section  # noqa: E402
from llm_fixtures.messages_api import (  # noqa: E402
    MockMessagesAPI,
    conversation,
    estimate_tokens,
    reply,
    result_payload,
    step,
    text,
    tool_use,
)

from incident_flow.api import arun_incident, resolve_config  # noqa: E402
from incident_flow.context import InvestigationContext, RunState  # noqa: E402
from incident_flow.demo import example_dir  # noqa: E402
from incident_flow.evaluation import CONFIG_FILE, load_case  # noqa: E402
from incident_flow.llm import LlmOutcome, LlmSettings, run_llm_stage  # noqa: E402
from incident_flow.llm.cost import price_for  # noqa: E402
from incident_flow.pipeline import build_sources  # noqa: E402
from incident_flow.plugins import make_plugin_host  # noqa: E402
from incident_flow.sources import LogSource  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- llm:start -->", "<!-- llm:end -->"
TARGET = 20_000

#: The first tool call of each agent, by preference among the tools offered.
FIRST_CALLS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "system": [("list_log_templates", {}), ("search_logs", {"level": "error"})],
    "code": [("list_changes", {}), ("search_logs", {"text": "exception"})],
    "performance": [("query_metric", {}), ("search_logs", {"text": "slow"})],
    "security": [("search_logs", {"level": "error"}), ("list_changes", {})],
}
"""The tools' defaults throughout (10 records, templates or changes; 15 series): what a model that
names no limit gets."""


def _citable(payload: Any) -> tuple[list[str], dict[str, Any]]:
    """A line and a figure the tool really showed, for the scripted report."""
    lines: list[str] = []
    figures: dict[str, Any] = {}
    for key in ("templates", "changes", "series", "records"):
        for item in payload.get(key) or []:
            for field in ("example", "summary", "text"):
                value = item.get(field)
                if isinstance(value, str) and len(value) >= 12 and not lines:
                    lines.append(value[:200])
            for field in ("after", "score", "matched"):
                if isinstance(item.get(field), int | float) and not figures:
                    figures[field] = item[field]
    if isinstance(payload.get("matched"), int) and not figures:
        figures["matched"] = payload["matched"]
    return lines, figures


def script(body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The short conversation: one tool call per agent, then one cited finding; valid synthesis."""
    key = conversation(body)
    if key == "synthesis":
        data = json.loads(body["messages"][0]["content"][1]["text"].split("\n")[1])
        causes = data.get("causes") or []
        top = causes[0] if causes else {"component": "unknown", "category": "infrastructure"}
        answer = {
            "assessment": {
                "severity": data["deterministic_assessment"]["severity"],
                "category": top["category"],
                "affected_components": [c["component"] for c in causes[:3]],
                "user_impact": {"scope": "users of the affected service"},
                "reasons": [f"the leading cause is in {top['component']}"],
                "priority_actions": [f"Confirm and mitigate the failure in {top['component']}"],
            },
            "narrative": {
                "summary": f"The most likely cause is in {top['component']} ({top['category']}).",
                "lessons_learned": ["Alert on the leading signal before users notice."],
            },
        }
        return reply([text(json.dumps(answer))])
    offered = {tool["name"] for tool in body["tools"]}
    if step(body) == 1:
        name, arguments = next(((n, a) for n, a in FIRST_CALLS[key] if n in offered), ("search_logs", {}))
        return reply([text("Looking at the data."), tool_use(name, arguments)])
    lines, figures = _citable(result_payload(body))
    findings = []
    if lines or figures:
        evidence: dict[str, Any] = {"source": "tool", "summary": "what the tool showed"}
        if lines:
            evidence["lines"] = lines
        if figures:
            evidence["figures"] = figures
        findings.append(
            {
                "component": "scripted",
                "title": f"{key}: what the first call showed",
                "summary": "a scripted finding quoting the tool result",
                "confidence": 0.4,
                "evidence": [evidence],
            }
        )
    return reply([tool_use("report_findings", {"findings": findings})])


@dataclass
class Measured:
    case: str
    requests: int
    input_tokens: int
    prefix_tokens: int
    output_tokens: int
    cost_usd: float | None
    raw_log_tokens: int
    findings: int
    dropped: int
    seconds: float


def _raw_log_tokens(ctx: InvestigationContext) -> int:
    chars = sum(len(record.text) + 1 for record in ctx.log_records())
    return chars // 4


async def measure_case(folder: Path, llm: LlmSettings) -> Measured:
    case = load_case(folder)
    host = make_plugin_host()
    config = resolve_config(folder / CONFIG_FILE, host)
    report = await arun_incident(
        case.description,
        severity=case.severity,
        system=case.system,
        config=config,
        at=case.detected_at,
        host=host,
    )
    sources, _problems = build_sources(config, host, report.incident.detected_at)
    state = RunState(sources, audit=lambda kind, **data: None, emit=lambda event: None)
    ctx = InvestigationContext(report.incident, config.settings, state, components=config.components)
    api = MockMessagesAPI(script)
    began = time.perf_counter()
    async with api.client() as http:
        outcome: LlmOutcome = await run_llm_stage(
            report.incident,
            ctx,
            report.findings,
            report.assessment,
            report.root_causes,
            llm,
            http_client=http,
            environ={"ANTHROPIC_API_KEY": "benchmark-no-network"},
            onset=report.onset,
        )
    seconds = time.perf_counter() - began
    raw = sum(_raw_log_tokens(ctx) for _ in [0]) if ctx.sources(LogSource) else 0
    for source in sources:
        source.close()
    prefix = sum(estimate_tokens([b.get("tools"), b.get("system")]) for b in api.requests if b.get("tools"))
    return Measured(
        case=folder.name,
        requests=len(api.requests),
        input_tokens=sum(len(b) // 4 for b in api.bodies),
        prefix_tokens=prefix,
        output_tokens=outcome.usage.output_tokens,
        cost_usd=outcome.cost_usd,
        raw_log_tokens=raw,
        findings=len(outcome.findings),
        dropped=len(outcome.dropped),
        seconds=seconds,
    )


def corpus(folder: Path, seeds: int) -> list[Path]:
    """Generate the scenario corpus, or fall back to the bundled example when it is absent."""
    if not (ROOT / "tests" / "scenarios" / "__main__.py").exists():
        return []
    subprocess.run(
        [sys.executable, "-m", "tests.scenarios", str(folder), "--seeds", str(seeds)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return sorted(p for p in folder.iterdir() if (p / "case.toml").exists())


def render(rows: Sequence[Measured], llm: LlmSettings, source: str, wall: float) -> str:
    mean_in = statistics.fmean(r.input_tokens for r in rows)
    mean_out = statistics.fmean(r.output_tokens for r in rows)
    mean_prefix = statistics.fmean(r.prefix_tokens for r in rows)
    costs = [r.cost_usd for r in rows if r.cost_usd is not None]
    mean_cost = statistics.fmean(costs) if costs else None
    mean_raw = statistics.fmean(r.raw_log_tokens for r in rows)
    price = price_for(llm.model)
    lines = [
        "## LLM token use",
        "",
        f"Tokens the Claude layer sends per incident, over {source}, measured from the request bodies a "
        "mock Messages API received through the real `anthropic` SDK (no network). Tokens are "
        "**estimated as characters / 4** of each JSON body: no tokenizer that works offline is "
        "installed. Each incident: four agents (system, code, performance, security), each one tool "
        "call and one `report_findings`, then one synthesis request: "
        f"{statistics.fmean(r.requests for r in rows):.0f} requests.",
        "",
        "| | per incident (mean) | min | max |",
        "| --- | ---: | ---: | ---: |",
        f"| input tokens (all request bodies) | **{mean_in:,.0f}** | {min(r.input_tokens for r in rows):,} | "
        f"{max(r.input_tokens for r in rows):,} |",
        f"| of which the cacheable prefix (tools + system prompt) | {mean_prefix:,.0f} | "
        f"{min(r.prefix_tokens for r in rows):,} | {max(r.prefix_tokens for r in rows):,} |",
        f"| output tokens (scripted answers: a floor) | {mean_out:,.0f} | "
        f"{min(r.output_tokens for r in rows):,} | {max(r.output_tokens for r in rows):,} |",
        f"| raw log text of the window (what pasting the logs once would send) | {mean_raw:,.0f} | "
        f"{min(r.raw_log_tokens for r in rows):,} | {max(r.raw_log_tokens for r in rows):,} |",
    ]
    if mean_cost is not None and price is not None:
        lines.append(
            f"| estimated cost at {llm.model} list prices, prompt cache on | ${mean_cost:.4f} | "
            f"${min(costs):.4f} | ${max(costs):.4f} |"
        )
    verdict = "under" if mean_in < TARGET else "over"
    lines += [
        "",
        f"Target: under {TARGET:,} input tokens per incident on average: **{verdict}** "
        f"({mean_in:,.0f}). HolmesGPT's published figures for one investigation with Claude Sonnet 4 "
        "are about $0.25 and 49 s; agents that paste raw logs into the prompt pay for the raw-log row "
        "above on every step. Here the logs stay on the machine: the model sees the deterministic "
        "findings, then asks narrow questions whose answers are capped at "
        f"{llm.tool_result_chars:,} characters.",
        "",
        "A real model takes more steps when it needs them (at most "
        f"`max_steps = {llm.max_steps}` per agent) and writes more (adaptive thinking included), so a "
        "live run costs more than this floor; the per-step input is what this layer controls. "
        f"Claims dropped for missing citations in this run: {sum(r.dropped for r in rows)} (the "
        "script quotes only what tools showed).",
        "",
        "| case | requests | input | prefix | output | raw logs | est. cost |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cost = f"${r.cost_usd:.4f}" if r.cost_usd is not None else "n/a"
        lines.append(
            f"| {r.case} | {r.requests} | {r.input_tokens:,} | {r.prefix_tokens:,} | {r.output_tokens:,} | "
            f"{r.raw_log_tokens:,} | {cost} |"
        )
    lines += [
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.platform()}, Python "
        f"{platform.python_version()}; {len(rows)} incidents in {wall:.1f} s. Regenerate with "
        "`.venv/bin/python benchmarks/llm_tokens.py`.",
    ]
    return "\n".join(lines)


async def run_all(folders: Sequence[Path], llm: LlmSettings) -> list[Measured]:
    rows = []
    for folder in folders:
        row = await measure_case(folder, llm)
        print(
            f"{row.case:28} {row.requests:2} requests {row.input_tokens:7,} in {row.output_tokens:5,} out",
            file=sys.stderr,
        )
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=2, help="corpus seeds per incident type (default 2)")
    parser.add_argument("--example", action="store_true", help="use the bundled example, not the corpus")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    llm = LlmSettings(mode="anthropic")
    with tempfile.TemporaryDirectory(prefix="incident-flow-llm-bench-") as tmp:
        os.environ["XDG_STATE_HOME"] = tmp  # audit trails of the deterministic runs go here
        folders = [] if args.example else corpus(Path(tmp) / "corpus", args.seeds)
        source = f"the scenario corpus ({len(folders)} incidents: 17 types x {args.seeds} seeds)"
        if not folders:
            folders, source = [example_dir()], "the bundled example incident (the corpus was not available)"
        began = time.perf_counter()
        rows = asyncio.run(run_all(folders, llm))
        wall = time.perf_counter() - began
    section = render(rows, llm, source, wall)
    print(section)
    if not args.no_write:
        write_section(section, START, END)
        print(f"wrote the llm section of {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
