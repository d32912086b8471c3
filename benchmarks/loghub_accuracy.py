"""Template mining on the eight loghub-2k samples: incident-flow's miner next to drain3.

Run it as ``.venv/bin/python benchmarks/loghub_accuracy.py``. It prints a table and rewrites its own
section of ``docs/benchmarks.md`` (between ``<!-- loghub:start -->`` and ``<!-- loghub:end -->``),
leaving the rest of that file alone.

What is measured, per file and in one run:

- **ours**: ``incident_flow.analysis.TemplateMiner`` with its defaults (one configuration for all);
- **drain3 default**: ``drain3.TemplateMiner`` with ``TemplateMinerConfig()``;
- **drain3 tuned**: drain3 with the logparser benchmark's per-file settings (``st``, ``depth`` and
  masking regexes from logpai/logparser ``benchmark/Drain_benchmark.py``, also listed in
  ``formats.toml``), each regex masking to ``<*>``;
- **drain3 drain3.ini**: drain3 as its users run it, with the masks and settings of drain3's own
  example configuration (``examples/drain3.ini``); this is the peer for throughput.

Messages are cut from the raw log lines with the header layouts (see ``_loghub.py``). GA is the
logparser grouping accuracy; PA compares template texts after normalising whitespace, mask tokens
and runs of adjacent ``<*>``. Throughput is lines per second over all eight files, best of a few
repetitions, each repetition on a fresh miner.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import write_section
from _drain3 import DRAIN3_INI_WILDCARD, drain3_ini_config
from _loghub import (
    DATA_DIR,
    DATASETS,
    Sample,
    grouping_accuracy,
    load_sample,
    parsing_accuracy,
)

from incident_flow.analysis import TemplateMiner

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- loghub:start -->", "<!-- loghub:end -->"


@dataclass
class Score:
    """One method on one file."""

    ga: float
    pa: float
    seconds: float
    templates: int


@dataclass
class Method:
    """A miner under test: ``run(messages)`` gives (group id per message, template text per message)."""

    name: str
    run: Callable[[Sample], tuple[list[str], list[str]]]
    wildcard: str = "<*>"
    scores: dict[str, Score] = field(default_factory=dict)


def run_ours(sample: Sample) -> tuple[list[str], list[str]]:
    """Our miner, default configuration, batch API (final grouping after every merge)."""
    result = TemplateMiner().mine(sample.messages)
    return result.assignments, [result.templates[i].template for i in result.assignments]


def _drain3_run(miner: object, messages: Sequence[str]) -> tuple[list[str], list[str]]:
    ids = [str(miner.add_log_message(m)["cluster_id"]) for m in messages]  # type: ignore[attr-defined]
    final = {str(c.cluster_id): c.get_template() for c in miner.drain.clusters}  # type: ignore[attr-defined]
    return ids, [final[i] for i in ids]


def run_drain3_default(sample: Sample) -> tuple[list[str], list[str]]:
    """drain3 exactly as constructed by ``TemplateMinerConfig()``."""
    from drain3 import TemplateMiner as Drain3
    from drain3.template_miner_config import TemplateMinerConfig

    return _drain3_run(Drain3(config=TemplateMinerConfig()), sample.messages)


def run_drain3_tuned(sample: Sample) -> tuple[list[str], list[str]]:
    """drain3 with the logparser benchmark's per-file st, depth and regexes."""
    from drain3 import TemplateMiner as Drain3
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    tuned = sample.drain_tuned
    config = TemplateMinerConfig()
    config.drain_sim_th = float(tuned["st"])  # type: ignore[arg-type]
    config.drain_depth = int(tuned["depth"])  # type: ignore[call-overload]
    config.masking_instructions = [MaskingInstruction(rx, "*") for rx in tuned["regex"]]  # type: ignore[attr-defined]
    return _drain3_run(Drain3(config=config), sample.messages)


def run_drain3_ini(sample: Sample) -> tuple[list[str], list[str]]:
    """drain3 with its example ``drain3.ini`` (masks with ``<:NAME:>`` tokens, ``_`` as delimiter)."""
    from drain3 import TemplateMiner as Drain3

    config = drain3_ini_config()
    ids, texts = _drain3_run(Drain3(config=config), sample.messages)
    return ids, [DRAIN3_INI_WILDCARD.sub("<*>", t) for t in texts]


def measure(methods: Sequence[Method], samples: Sequence[Sample], repeats: int) -> None:
    """Score every method on every sample; keep the fastest of ``repeats`` runs (fresh miner each)."""
    for sample in samples:
        for method in methods:
            best = float("inf")
            groups: list[str] = []
            texts: list[str] = []
            for _ in range(repeats):
                start = time.perf_counter()
                groups, texts = method.run(sample)
                best = min(best, time.perf_counter() - start)
            method.scores[sample.name] = Score(
                grouping_accuracy(sample.event_ids, groups),
                parsing_accuracy(sample.templates, texts),
                best,
                len(set(groups)),
            )


def machine() -> str:
    """One line naming the machine the numbers come from."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}, {cpu or 'unknown CPU'}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def render(methods: Sequence[Method], samples: Sequence[Sample], drain3_version: str) -> str:
    """The Markdown section: accuracy table, means, throughput, and how it was measured."""
    ours, default, tuned, ini = methods
    lines = [
        "## Log template mining (loghub-2k)",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} on {machine()}; drain3 {drain3_version}. "
        "Regenerate with `.venv/bin/python benchmarks/loghub_accuracy.py`.",
        "",
        "Messages are cut from the raw `*_2k.log` lines with each file's header layout in "
        "`formats.toml` (not taken from the CSV's Content column); labels are the corrected ones "
        "(`*_structured_corrected.csv`). GA: grouping accuracy (a line counts when its group is exactly "
        "its labelled event's lines). PA: the template text equals the labelled one (whitespace, mask "
        "tokens and runs of adjacent `<*>` normalised). Ours runs one default configuration everywhere; "
        "drain3 tuned uses the logparser benchmark's per-file `st`, `depth` and regexes.",
        "",
        "| file | lines | templates (labelled) | ours GA | ours PA | drain3 default GA | PA "
        "| drain3 tuned GA | PA | drain3 drain3.ini GA | PA |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for sample in samples:
        o, d, t, i = (m.scores[sample.name] for m in methods)
        lines.append(
            f"| {sample.name} | {len(sample.messages)} | {o.templates} ({len(set(sample.event_ids))}) "
            f"| **{o.ga:.3f}** | {o.pa:.3f} | {d.ga:.3f} | {d.pa:.3f} | {t.ga:.3f} | {t.pa:.3f} "
            f"| {i.ga:.3f} | {i.pa:.3f} |"
        )

    def mean(method: Method, attr: str) -> float:
        return statistics.mean(getattr(method.scores[s.name], attr) for s in samples)

    lines.append(
        f"| **mean** | | | **{mean(ours, 'ga'):.3f}** | {mean(ours, 'pa'):.3f} "
        f"| {mean(default, 'ga'):.3f} | {mean(default, 'pa'):.3f} "
        f"| {mean(tuned, 'ga'):.3f} | {mean(tuned, 'pa'):.3f} "
        f"| {mean(ini, 'ga'):.3f} | {mean(ini, 'pa'):.3f} |"
    )
    total = sum(len(s.messages) for s in samples)
    lines += [
        "",
        "Throughput over the eight files (lines per second, best of the repetitions, fresh miner each "
        "time; 2,000-line files mostly measure warm-up, see the 1M-line benchmark for steady state):",
        "",
        "| miner | lines/s | vs drain3 drain3.ini |",
        "| --- | ---: | ---: |",
    ]
    ini_rate = total / sum(s.seconds for s in ini.scores.values())
    for method in methods:
        rate = total / sum(s.seconds for s in method.scores.values())
        lines.append(f"| {method.name} | {rate:,.0f} | {rate / ini_rate:.2f}x |")
    lines += ["", *sensitivity(samples), "", *misses(samples), ""]
    return "\n".join(lines)


def sensitivity(samples: Sequence[Sample]) -> list[str]:
    """Mean GA of our miner for other values of its one knob, to show the default is not a cliff."""
    cells = []
    for k in (2, 3, 4, 5, 6):
        ga = statistics.mean(
            grouping_accuracy(s.event_ids, TemplateMiner(min_distinct=k).mine(s.messages).assignments)
            for s in samples
        )
        cells.append(f"{k}{' (default)' if k == TemplateMiner().min_distinct else ''}: {ga:.3f}")
    return [
        "Our one knob, `min_distinct` (how many different words a position must show before it is a "
        "variable), against mean GA: " + ", ".join(cells) + ".",
    ]


def misses(samples: Sequence[Sample]) -> list[str]:
    """The biggest labelled events our miner does not reproduce exactly, per file."""
    out = ["Where ours falls short (the largest labelled events it does not group exactly):", ""]
    for sample in samples:
        result = TemplateMiner().mine(sample.messages)
        by_event: dict[str, Counter[str]] = defaultdict(Counter)
        by_template: dict[str, Counter[str]] = defaultdict(Counter)
        for event, template in zip(sample.event_ids, result.assignments, strict=True):
            by_event[event][template] += 1
            by_template[template][event] += 1
        wrong = []
        for event, templates in by_event.items():
            (template, _), *_ = templates.most_common(1)
            if len(templates) > 1:
                wrong.append((sum(templates.values()), f"{event} split over {len(templates)} templates"))
            elif len(by_template[template]) > 1:
                others = ", ".join(sorted(e for e in by_template[template] if e != event))
                text = result.templates[template].template
                wrong.append((templates[template], f"{event} merged with {others} in `{_short(text)}`"))
        wrong.sort(key=lambda w: -w[0])
        shown = "; ".join(f"{what} ({n} lines)" for n, what in wrong[:3]) or "none"
        out.append(f"- {sample.name}: {shown}")
    return out


def _short(text: str, width: int = 70) -> str:
    text = text.replace("`", "'").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per miner and file (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if not DATA_DIR.is_dir():
        print(f"loghub-2k data not found at {DATA_DIR}", file=sys.stderr)
        return 2
    try:
        from importlib.metadata import version

        drain3_version = version("drain3")
    except Exception:  # drain3 missing: say so in one line
        print("drain3 is not installed: pip install 'incident-flow[test]'", file=sys.stderr)
        return 2
    samples = [load_sample(name) for name in DATASETS]
    methods = [
        Method("ours (defaults)", run_ours),
        Method("drain3 default", run_drain3_default),
        Method("drain3 tuned", run_drain3_tuned),
        Method("drain3 drain3.ini", run_drain3_ini),
    ]
    measure(methods, samples, max(1, args.repeats))
    section = render(methods, samples, drain3_version)
    print(section)
    if not args.no_write:
        write_section(section, START, END)
        print(f"wrote the loghub section of {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
