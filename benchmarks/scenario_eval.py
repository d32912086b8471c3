"""The scenario corpus benchmark: every incident type of ``tests/scenarios`` over N seeds, replayed.

Usage::

    python benchmarks/scenario_eval.py [--seeds 10] [--first-seed 0] [--types a,b] [--out DIR]
                                       [--no-docs] [--json]

Generates the corpus (``python -m tests.scenarios``) into a temporary folder (or ``--out``), replays
every case the way ``incident-flow eval`` does (in process, the installed plugins, each case at its own
detection time), and prints:

- per incident type: AC@1, AC@3, change@1 and category@1;
- over the corpus: AC@1, AC@3, Avg@5, change@1, category@1 (the definitions of DESIGN.md's ``eval``:
  the expected component at rank k; the expected change on rank 1; the rank-1 category), and the
  expected calibration error (ECE, 10 equal-width bins) of the rank-1 confidence, where a rank-1
  answer is correct when its component is one of the expected ones;
- the cases whose rank 1 is wrong, with what came first instead.

Unless ``--no-docs``, it writes the ``## Scenario corpus`` section of ``docs/benchmarks.md`` between
``<!-- scenarios:start -->`` and ``<!-- scenarios:end -->``, leaving the rest of the file alone.

The scores follow ``incident_flow.evaluation`` (component names compared case-insensitively, the
change by prefix); the benchmark runs each case itself rather than through ``evaluate`` because
the calibration needs the rank-1 confidence, which the evaluation summary does not keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.scenarios, the generator

from incident_flow.api import arun_incident  # noqa: E402
from incident_flow.evaluation import find_cases, load_case  # noqa: E402
from incident_flow.plugins import make_plugin_host  # noqa: E402
from tests.scenarios import TYPES, generate  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- scenarios:start -->"
END_MARK = "<!-- scenarios:end -->"
BINS = 10


@dataclass
class Outcome:
    """One replayed case: where the expected answer ranked, and what rank 1 said with what confidence."""

    case: str
    kind: str
    expected: tuple[str, ...]
    category: str | None
    change: str | None
    component_rank: int | None
    change_rank: int | None
    category_ok: bool | None
    top: str | None
    top_category: str | None
    confidence: float
    seconds: float
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.component_rank == 1


async def _replay(folder: Path, host: Any) -> Outcome:
    case = load_case(folder)
    kind = folder.name.rsplit("-s", 1)[0]
    started = time.monotonic()
    try:
        report = await arun_incident(
            case.description,
            severity=case.severity,
            system=case.system,
            config=folder / "incident-flow.toml",
            at=case.detected_at,
            host=host,
        )
    except Exception as exc:  # a broken case is a result, not the end of the benchmark
        return Outcome(
            folder.name,
            kind,
            case.components,
            case.category,
            case.change,
            None,
            None,
            None,
            None,
            None,
            0.0,
            time.monotonic() - started,
            f"{type(exc).__name__}: {exc}",
        )
    seconds = time.monotonic() - started
    causes = list(report.root_causes)
    wanted = {c.lower() for c in case.components}
    component_rank = next((i for i, c in enumerate(causes, 1) if c.component.lower() in wanted), None)
    change_rank = None
    if case.change:
        prefix = case.change.lower()
        change_rank = next(
            (c.rank for c in causes if c.change is not None and c.change.id.lower().startswith(prefix)), None
        )
    first = causes[0] if causes else None
    category_ok = None if not case.category else first is not None and first.category.value == case.category
    return Outcome(
        folder.name,
        kind,
        case.components,
        case.category,
        case.change,
        component_rank,
        change_rank,
        category_ok,
        first.component if first else None,
        first.category.value if first else None,
        first.confidence if first else 0.0,
        seconds,
    )


async def replay_all(folders: Sequence[Path]) -> list[Outcome]:
    host = make_plugin_host()
    return [await _replay(folder, host) for folder in folders]


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def ece(outcomes: Sequence[Outcome], bins: int = BINS) -> tuple[float, list[tuple[int, float, float]]]:
    """Expected calibration error of the rank-1 confidence, and (count, mean confidence, accuracy) per bin."""
    table: list[list[Outcome]] = [[] for _ in range(bins)]
    for o in outcomes:
        table[min(bins - 1, int(o.confidence * bins))].append(o)
    total = len(outcomes) or 1
    error = 0.0
    rows = []
    for members in table:
        if not members:
            rows.append((0, float("nan"), float("nan")))
            continue
        conf = sum(o.confidence for o in members) / len(members)
        acc = sum(o.correct for o in members) / len(members)
        error += len(members) / total * abs(acc - conf)
        rows.append((len(members), conf, acc))
    return error, rows


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Overall and per-type scores."""

    def scores(group: Sequence[Outcome]) -> dict[str, Any]:
        n = len(group)
        at = [
            sum(1 for o in group if o.component_rank is not None and o.component_rank <= k) / n if n else 0.0
            for k in range(1, 6)
        ]
        return {
            "cases": n,
            "ac@1": at[0],
            "ac@3": at[2],
            "avg@5": sum(at) / 5,
            "change@1": _share([o.change_rank == 1 for o in group if o.change]),
            "category@1": _share([bool(o.category_ok) for o in group if o.category_ok is not None]),
            "mean_confidence": sum(o.confidence for o in group) / n if n else 0.0,
            "errors": sum(1 for o in group if o.error),
        }

    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    overall = scores(outcomes)
    overall["ece"], bins = ece(outcomes)
    return {
        "overall": overall,
        "bins": [{"count": c, "confidence": conf, "accuracy": acc} for c, conf, acc in bins],
        "types": {kind: scores(by_kind[kind]) for kind in TYPES if kind in by_kind},
    }


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}, {cpu or platform.processor() or 'unknown CPU'}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def section(summary: dict[str, Any], outcomes: Sequence[Outcome], seeds: range, seconds: float) -> str:
    overall = summary["overall"]
    lines = [
        START_MARK,
        "## Scenario corpus",
        "",
        f"The generated incidents of `tests/scenarios` ({len(summary['types'])} types x {len(seeds)} seeds "
        f"{seeds.start}-{seeds.stop - 1}, {overall['cases']} cases; see [scenarios.md](scenarios.md)), each "
        f"replayed at "
        "its detection time with the installed plugins, as `incident-flow eval` does. AC@k: the expected "
        "component "
        "within the first k causes; change@1: the guilty commit or change event on rank 1 (change-caused "
        "cases); "
        "category@1: the rank-1 category; ECE: expected calibration error of the rank-1 confidence "
        f"({BINS} equal-width bins; correct = the rank-1 component is an expected one).",
        "",
        "| type | cases | AC@1 | AC@3 | change@1 | category@1 | mean rank-1 confidence |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, s in summary["types"].items():
        lines.append(
            f"| {kind} | {s['cases']} | {_fmt(s['ac@1'])} | {_fmt(s['ac@3'])} | {_fmt(s['change@1'])} | "
            f"{_fmt(s['category@1'])} | {_fmt(s['mean_confidence'])} |"
        )
    lines += [
        f"| **all** | {overall['cases']} | **{_fmt(overall['ac@1'])}** | {_fmt(overall['ac@3'])} | "
        f"{_fmt(overall['change@1'])} | {_fmt(overall['category@1'])} | {_fmt(overall['mean_confidence'])} |",
        "",
        f"Overall: AC@1 {overall['ac@1']:.3f}, AC@3 {overall['ac@3']:.3f}, Avg@5 {overall['avg@5']:.3f}, "
        f"change@1 {_fmt(overall['change@1'])}, category@1 {_fmt(overall['category@1'])}, "
        f"**ECE {overall['ece']:.3f}**.",
        "",
        "Calibration (rank-1 confidence bins with cases): "
        + ", ".join(
            f"[{i / BINS:.1f}, {(i + 1) / BINS:.1f}) n={b['count']} conf {b['confidence']:.2f} acc "
            f"{b['accuracy']:.2f}"
            for i, b in enumerate(summary["bins"])
            if b["count"]
        )
        + ".",
        "",
    ]
    errors = [o for o in outcomes if o.error]
    if errors:
        lines += [f"Cases that failed to run: {len(errors)} ({', '.join(o.case for o in errors[:5])}).", ""]
    lines += [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {_machine()}: {overall['cases']} cases in {seconds:.0f} s "
        "(generation and replay). Regenerate with `.venv/bin/python benchmarks/scenario_eval.py`.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace the section between the markers, or append it; the rest of the file is left as it is."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = current.find(START_MARK), current.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        after = current[end + len(END_MARK) :]
        after = after[1:] if after.startswith("\n") else after
        current = current[:start] + text + after
    else:
        current = (current or "# Benchmarks\n").rstrip("\n") + "\n\n" + text
    path.write_text(current, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per type (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--types", default="", help="comma-separated incident types (default: all)")
    parser.add_argument(
        "--out", type=Path, help="generate into this folder and keep it (default: a temporary one)"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--json", action="store_true", help="print the summary and every case as JSON")
    args = parser.parse_args(argv)
    types = [t.strip() for t in args.types.split(",") if t.strip()] or list(TYPES)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="incident-flow-scenarios-") as tmp:
        os.environ.setdefault("XDG_STATE_HOME", str(Path(tmp) / "state"))  # the runs' audit trails
        out = args.out or Path(tmp) / "cases"
        generate(out, seeds, types)
        outcomes = asyncio.run(replay_all(find_cases([out])))
    seconds = time.monotonic() - started
    summary = summarize(outcomes)
    if args.json:
        print(
            json.dumps({"summary": summary, "cases": [o.__dict__ for o in outcomes]}, indent=2, default=str)
        )
    else:
        print(
            f"{'type':22s} {'cases':>5s} {'AC@1':>5s} {'AC@3':>5s} {'chg@1':>5s} {'cat@1':>5s} {'conf':>5s}"
        )
        for kind, s in summary["types"].items():
            print(
                f"{kind:22s} {s['cases']:5d} {_fmt(s['ac@1']):>5s} {_fmt(s['ac@3']):>5s} "
                f"{_fmt(s['change@1']):>5s} {_fmt(s['category@1']):>5s} {_fmt(s['mean_confidence']):>5s}"
            )
        o = summary["overall"]
        print(
            f"\n{o['cases']} cases  AC@1 {o['ac@1']:.3f}  AC@3 {o['ac@3']:.3f}  Avg@5 {o['avg@5']:.3f}  "
            f"change@1 {_fmt(o['change@1'])}  category@1 {_fmt(o['category@1'])}  ECE {o['ece']:.3f}  "
            f"({seconds:.0f}s)"
        )
        misses = [x for x in outcomes if not x.correct]
        if misses:
            print("\nrank 1 wrong:")
            for x in misses:
                print(
                    f"  {x.case:28s} expected {'/'.join(x.expected):28s} got {x.top} ({x.top_category}, "
                    f"{x.confidence:.2f}); expected at rank {x.component_rank or '-'}"
                    + (f"; ERROR {x.error}" if x.error else "")
                )
    if not args.no_docs:
        write_section(section(summary, outcomes, seeds, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
