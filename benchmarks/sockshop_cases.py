"""The sock-shop metric root-cause benchmark: 50 RCD/RCAEval cases as ``incident-flow eval`` cases.

Usage::

    python benchmarks/sockshop_cases.py OUT_DIR [--data DIR] [--no-docs] [--json]

For each ``<service>-<cpu|mem>/<run>`` folder of ``../shared/data/sock-shop`` this writes one eval
case into ``OUT_DIR`` (a temporary folder: the generated data is never committed): a single
``metrics.csv`` holding the normal rows and then the anomalous rows, rebased to follow the normal ones
at 1 Hz (the two files were recorded days apart); ``detected_at`` is the first anomalous second, the
fault's start; ``lookback = "10m"`` covers the whole normal part; the expected component is the
service in the folder name. The description names no service, so the answer has to come from the
metrics. Then it runs the cases through ``incident-flow eval`` (in process, the same
:func:`incident_flow.evaluation.evaluate`), prints AC@1, AC@3 and Avg@5 (overall and per fault, the
way the RCAEval paper reports its peers), and writes the ``## Metric root cause (sock-shop)`` section
of ``docs/benchmarks.md`` between its markers, leaving the rest of the file alone.

Until the metric source types are registered by the installed plugins, a small shim plugin adds them
and the metric analysis (:func:`metrics_plugins`); once they are, the installed configuration runs
as is.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from incident_flow import Finding, Investigator, hookimpl
from incident_flow.evaluation import EvalSummary, evaluate
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import SourceType

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "sock-shop"
DOCS = ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- sockshop:start -->"
END_MARK = "<!-- sockshop:end -->"
LOOKBACK = "10m"

#: Published Avg@5 on this set (ASE 2024 RCAEval paper, Table 5), CPU / MEM faults.
PEERS: tuple[tuple[str, float, float], ...] = (
    ("BARO", 0.99, 0.99),
    ("NSigma", 0.98, 0.99),
    ("CIRCA", 0.70, 0.80),
    ("RCD", 0.63, 0.66),
    ("random", 0.36, 0.33),
)


# -- building the cases ---------------------------------------------------------------------------


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [row for row in reader if row]


def build_case(run_dir: Path, out_dir: Path) -> Path:
    """Write one case folder from ``<service>-<fault>/<run>``; returns its path."""
    fault_dir = run_dir.parent.name
    service, _, fault = fault_dir.rpartition("-")
    header, normal = _rows(run_dir / "normal.csv")
    anomalous_header, anomalous = _rows(run_dir / "anomalous.csv")
    if anomalous_header != header or not normal or not anomalous:
        raise ValueError(f"{run_dir}: normal.csv and anomalous.csv do not share a header, or one is empty")
    time_index = header.index("time")
    start = float(anomalous[0][time_index])
    onset = float(normal[-1][time_index]) + 1.0
    case = out_dir / f"{fault_dir}-{run_dir.name}"
    case.mkdir(parents=True, exist_ok=True)
    with (case / "metrics.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(normal)
        for row in anomalous:
            rebased = list(row)
            rebased[time_index] = f"{onset + float(row[time_index]) - start:.0f}"
            writer.writerow(rebased)
    detected = dt.datetime.fromtimestamp(onset, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (case / "incident-flow.toml").write_text(
        f'[settings]\nlookback = "{LOOKBACK}"\n\n'
        '[[sources]]\nname = "metrics"\ntype = "metrics-csv"\npaths = ["metrics.csv"]\n',
        encoding="utf-8",
    )
    (case / "case.toml").write_text(
        'description = "Sock Shop: resource and latency alarms across services (metric-only case)"\n'
        f'detected_at = "{detected}"\n\n[expected]\ncomponent = "{service}"\n'
        f"# RCD/RCAEval Sock Shop 1: {fault} fault, run {run_dir.name}\n",
        encoding="utf-8",
    )
    return case


def build_cases(data_dir: Path, out_dir: Path) -> list[Path]:
    """Every case of the data set, in a stable order."""
    runs = sorted(p.parent for p in data_dir.glob("*-*/*/normal.csv"))
    if not runs:
        raise FileNotFoundError(f"no <service>-<fault>/<run>/normal.csv under {data_dir}")
    return [build_case(run, out_dir) for run in runs]


# -- running them ---------------------------------------------------------------------------------


def _shim_source_types() -> list[SourceType]:
    from incident_flow.metrics import METRICS_CSV_SOURCE_TYPE, PROMETHEUS_SOURCE_TYPE

    return [METRICS_CSV_SOURCE_TYPE, PROMETHEUS_SOURCE_TYPE]


class MetricsShim:
    """Registers the metric source types and a metric-only investigator, for before the wiring."""

    def __init__(self, source_types: bool = True) -> None:
        self.with_source_types = source_types

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        if self.with_source_types:
            for source_type in _shim_source_types():
                register(source_type)

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        from incident_flow_ops.metrics import analyse_metrics

        def investigate(ctx: Any) -> list[Finding]:
            return analyse_metrics(ctx)

        register(Investigator(name="ops-metrics", investigate=investigate, description="metric anomalies"))


def metrics_plugins() -> list[object]:
    """What to pass to ``evaluate`` so the metric analysis runs: nothing once it is wired in."""
    if "metrics-csv" in make_plugin_host().source_types():
        return []
    return [MetricsShim()]


def run_cases(paths: Sequence[Path]) -> tuple[EvalSummary, float]:
    started = time.monotonic()
    summary = asyncio.run(evaluate(list(paths), plugins=metrics_plugins()))
    return summary, time.monotonic() - started


def _ac(results: Sequence[Any], k: int) -> float:
    if not results:
        return 0.0
    return sum(1 for r in results if r.component_rank is not None and r.component_rank <= k) / len(results)


def scores(summary: EvalSummary) -> dict[str, dict[str, float]]:
    """AC@1, AC@3 and Avg@5 overall and per fault kind (the name's suffix: ``-cpu``, ``-mem``)."""
    groups: dict[str, list[Any]] = {"all": list(summary.results)}
    for result in summary.results:
        fault = result.case.path.name.rsplit("-", 2)[-2]
        groups.setdefault(fault, []).append(result)
    return {
        name: {
            "cases": len(results),
            "ac@1": _ac(results, 1),
            "ac@3": _ac(results, 3),
            "avg@5": sum(_ac(results, k) for k in range(1, 6)) / 5,
        }
        for name, results in groups.items()
    }


# -- the docs section -----------------------------------------------------------------------------


def _machine() -> str:
    """The machine in one line: OS, CPU model and count, Python."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {python}"


def render_section(table: dict[str, dict[str, float]], seconds: float, wired: bool) -> str:
    """The Markdown of the section, markers included."""
    cpu, mem, overall = table.get("cpu", {}), table.get("mem", {}), table["all"]
    lines = [
        START_MARK,
        "## Metric root cause (sock-shop)",
        "",
        'The 50 metric-only cases of the RCD project\'s Sock Shop set (RCAEval "Sock Shop 1": 5 services x',
        "{CPU hog, memory leak} x 5 runs, 1 Hz, `<service>_<metric>` columns), each turned into an",
        "`incident-flow eval` case by `benchmarks/sockshop_cases.py`: one `metrics-csv` file, the",
        "anomalous rows rebased to follow the normal ones, detection at the first anomalous second,",
        '`lookback = "10m"`, the description naming no service. Scored on the root-cause service.',
        "",
        "| method | AC@1 | AC@3 | Avg@5 CPU | Avg@5 MEM | Avg@5 all |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| **incident-flow** (default settings) | {overall['ac@1']:.2f} | {overall['ac@3']:.2f} | "
        f"{cpu.get('avg@5', math.nan):.2f} | {mem.get('avg@5', math.nan):.2f} | "
        f"{overall['avg@5']:.2f} |",
    ]
    for name, p_cpu, p_mem in PEERS:
        lines.append(f"| {name} (published) | | | {p_cpu:.2f} | {p_mem:.2f} | |")
    lines += [
        "",
        "Peers: Avg@5 as published in the ASE 2024 RCAEval paper (Table 5), not re-run here; the paper",
        "gives neither their AC@k nor an overall Avg@5. The data's trap: several memory series are",
        "nearly constant in the normal file and shifted in the anomalous one (recorded days apart), so",
        "a z-score without a scale floor ranks them first; the scorer's floor (5% of the level) keeps",
        "them down. It is a sanity check, not a target the defaults were tuned for.",
        "",
        f"Measured {dt.date.today().isoformat()} on {_machine()}: {overall['cases']:.0f} cases in "
        f"{seconds:.1f} s" + ("." if wired else " (metric analysis added by the script's shim plugin)."),
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = DOCS) -> None:
    """Replace the text between the markers (markers included), or append it; the rest is untouched."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        after = text[end + len(END_MARK) :]
        after = after[1:] if after.startswith("\n") else after
        text = text[:start] + section + after
    else:
        if not text:
            text = "# Benchmarks\n"
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="folder to write the cases into (e.g. a temporary folder)")
    parser.add_argument(
        "--data", type=Path, default=DATA_DIR, help=f"the sock-shop data (default {DATA_DIR})"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--json", action="store_true", help="print the per-case results as JSON too")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(
            f"error: {args.data} is absent (the shared data set is not beside this checkout)", file=sys.stderr
        )
        return 2
    paths = build_cases(args.data, args.out)
    wired = not metrics_plugins()
    summary, seconds = run_cases(paths)
    table = scores(summary)
    for result in summary.results:
        if result.component_rank != 1:
            rank, top, error = result.component_rank, result.top, result.error or ""
            print(f"  {result.case.path.name}: rank {rank}, top {top} {error}")
    for name, row in table.items():
        print(
            f"{name:>4}: {row['cases']:.0f} cases  AC@1 {row['ac@1']:.2f}  AC@3 {row['ac@3']:.2f}  "
            f"Avg@5 {row['avg@5']:.2f}"
        )
    print(f"{seconds:.1f} s ({'installed plugins' if wired else 'shim plugin'})")
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
    if not args.no_docs:
        write_section(render_section(table, seconds, wired))
        print(f"wrote the sock-shop section of {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
