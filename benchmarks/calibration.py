"""Fit the sharpness of the rank-1 confidence on held-out seeds; check it on the published corpus.

Usage::

    python benchmarks/calibration.py [--fit-first 20] [--fit-seeds 20] [--check-first 0]
                                     [--check-seeds 20] [--no-docs]

``incident_flow.correlate`` turns each hypothesis's score into odds and shares them among the rivals
and "none of these"; ``SHARPNESS`` (a temperature, as in temperature scaling) raises the odds to a
power before they are shared. The ranking does not depend on it, only how sure the rank-1 cause
claims to be. This script replays the scenario corpus once per case, keeps every finding, and
re-correlates them under each candidate sharpness:

- it **fits** on seeds the analyzers were never tuned on (``--fit-first``, default 20-39): the
  gentlest sharpness within 2% of the least log loss of the rank-1 confidence (correct = the
  expected component);
- it **checks** on other seeds (default 0-19, the published corpus and the next ten): ECE (10
  equal-width bins) and log loss, at the current ``SHARPNESS`` and at the fitted one.

Unless ``--no-docs``, it writes the ``calibration`` section of ``docs/benchmarks.md``. The constant in
``correlate.py`` is set by hand from this output, so a change to it is a reviewed commit.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # its siblings, however it is loaded

from _docs import write_section  # noqa: E402
from scenario_eval import _machine  # noqa: E402

from incident_flow.api import arun_incident  # noqa: E402
from incident_flow.correlate import SHARPNESS, correlate  # noqa: E402
from incident_flow.evaluation import find_cases, load_case  # noqa: E402
from incident_flow.model import Finding  # noqa: E402
from incident_flow.plugins import make_plugin_host  # noqa: E402
from tests.scenarios import TYPES, generate  # noqa: E402

GRID = [round(0.5 + 0.25 * i, 2) for i in range(15)]  # 0.5 .. 4.0
BINS = 10
TOLERANCE = 0.02
START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"


@dataclass
class Case:
    name: str
    expected: frozenset[str]
    findings: tuple[Finding, ...]


async def _collect(folders: Sequence[Path]) -> list[Case]:
    host = make_plugin_host()
    cases = []
    for folder in folders:
        case = load_case(folder)
        report = await arun_incident(
            case.description,
            severity=case.severity,
            system=case.system,
            config=folder / "incident-flow.toml",
            at=case.detected_at,
            host=host,
        )
        cases.append(Case(folder.name, frozenset(c.lower() for c in case.components), report.findings))
    return cases


def corpus(first: int, count: int, work: Path) -> list[Case]:
    out = work / f"seeds-{first}-{first + count - 1}"
    generate(out, range(first, first + count), list(TYPES))
    return asyncio.run(_collect(find_cases([out])))


def rank1(cases: Sequence[Case], sharpness: float) -> list[tuple[float, bool]]:
    """(confidence, correct) of each case's rank-1 cause under ``sharpness``."""
    result = []
    for case in cases:
        causes = correlate(case.findings, sharpness=sharpness)
        if causes:
            result.append((causes[0].confidence, causes[0].component.lower() in case.expected))
        else:
            result.append((0.0, False))
    return result


def log_loss(points: Sequence[tuple[float, bool]]) -> float:
    eps = 1e-4
    return -sum(
        math.log(min(max(c, eps), 1 - eps)) if ok else math.log(1 - min(max(c, eps), 1 - eps))
        for c, ok in points
    ) / max(len(points), 1)


def ece(points: Sequence[tuple[float, bool]]) -> float:
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for c, ok in points:
        bins[min(BINS - 1, int(c * BINS))].append((c, ok))
    return sum(
        len(b) / len(points) * abs(sum(ok for _, ok in b) / len(b) - sum(c for c, _ in b) / len(b))
        for b in bins
        if b
    )


def _row(label: str, points: Sequence[tuple[float, bool]]) -> str:
    accuracy = sum(ok for _, ok in points) / len(points)
    mean = sum(c for c, _ in points) / len(points)
    return (
        f"| {label} | {len(points)} | {accuracy:.3f} | {mean:.3f} | {ece(points):.3f} | "
        f"{log_loss(points):.3f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fit-first", type=int, default=20)
    parser.add_argument("--fit-seeds", type=int, default=20)
    parser.add_argument("--check-first", type=int, default=0)
    parser.add_argument("--check-seeds", type=int, default=20)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="incident-flow-calibration-") as tmp:
        os.environ.setdefault("XDG_STATE_HOME", str(Path(tmp) / "state"))
        fit = corpus(args.fit_first, args.fit_seeds, Path(tmp))
        check = corpus(args.check_first, args.check_seeds, Path(tmp))
    losses = {k: log_loss(rank1(fit, k)) for k in GRID}
    # The gentlest sharpness within 2% of the least log loss: the loss is flat near its minimum,
    # and of two equally good fits the less confident one is the safer claim on real incidents.
    least = min(losses.values())
    best = min(k for k in GRID if losses[k] <= least * (1 + TOLERANCE))
    print("sharpness  fit log loss  fit ECE  check ECE")
    for k in GRID:
        print(f"{k:9.2f}  {losses[k]:12.4f}  {ece(rank1(fit, k)):7.3f}  {ece(rank1(check, k)):9.3f}")
    print(f"fitted sharpness {best} (current {SHARPNESS})")
    fit_span = f"{args.fit_first}-{args.fit_first + args.fit_seeds - 1}"
    check_span = f"{args.check_first}-{args.check_first + args.check_seeds - 1}"
    lines = [
        "## Calibration of the rank-1 confidence",
        "",
        f"`benchmarks/calibration.py` replays the scenario corpus once per case (all {len(TYPES)} types), "
        "keeps the findings and re-correlates them under each sharpness "
        "(`incident_flow.correlate.SHARPNESS`, a temperature on the odds). "
        f"Fitted on seeds {fit_span} (never used to tune the analyzers) by "
        f"the gentlest sharpness within 2% of the least log loss: **{best}**; "
        f"checked on seeds {check_span}. `SHARPNESS` in the code is "
        f"{SHARPNESS}.",
        "",
        "| corpus, sharpness | cases | AC@1 | mean rank-1 confidence | ECE | log loss |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        _row(f"fit (seeds {fit_span}), 1.0 (plain odds share)", rank1(fit, 1.0)),
        _row(f"fit (seeds {fit_span}), {best}", rank1(fit, best)),
        _row(f"check (seeds {check_span}), 1.0 (plain odds share)", rank1(check, 1.0)),
        _row(f"check (seeds {check_span}), {SHARPNESS} (in the code)", rank1(check, SHARPNESS)),
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {_machine()} in {time.monotonic() - started:.0f} s.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        write_section(text, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
