"""Helpers for the loghub-2k template-mining benchmark: load the samples, score a grouping.

The messages are cut out of the raw ``*_2k.log`` lines with each file's header layout from
``formats.toml`` (the project's layout rule: every ``<Name>`` is a non-greedy named group, a run
of spaces matches any run of white space, anchored at both ends), never taken from the CSV's
Content column, so the benchmark sees what a user's log file would give the miner. The labels
(EventId, EventTemplate) come from ``*_structured_corrected.csv``, matched by line number.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub-2k"
"""Where the samples live (``../shared/data/loghub-2k`` seen from the repository)."""

DATASETS = ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Linux", "OpenSSH")

_FIELD = re.compile(r"<(\w+)>")
_SPACES = re.compile(r" +")


@dataclass(frozen=True)
class Sample:
    """One labelled data set: the messages in file order with their labels."""

    name: str
    messages: list[str]
    event_ids: list[str]
    templates: list[str]
    drain_tuned: dict[str, object]


def layout_regex(layout: str) -> re.Pattern[str]:
    """Turn a loghub header layout into an anchored regex whose ``Content`` group is the message."""
    parts: list[str] = []
    pos = 0
    for m in _FIELD.finditer(layout):
        parts.append(_SPACES.sub(r"\\s+", layout[pos : m.start()]))
        parts.append(f"(?P<{m.group(1)}>.*?)")
        pos = m.end()
    parts.append(_SPACES.sub(r"\\s+", layout[pos:]))
    return re.compile("^" + "".join(parts) + "$")


def load_formats(data_dir: Path = DATA_DIR) -> dict[str, dict[str, object]]:
    """Read ``formats.toml``: the header layout and the logparser benchmark's tuned Drain settings."""
    with (data_dir / "formats.toml").open("rb") as fh:
        return tomllib.load(fh)


def load_sample(name: str, data_dir: Path = DATA_DIR) -> Sample:
    """Load one data set, extracting each message from its raw line with the header layout."""
    fmt = load_formats(data_dir)[name]
    regex = layout_regex(str(fmt["log_format"]))
    folder = data_dir / name
    raw_lines = (folder / f"{name}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    messages: list[str] = []
    for line in raw_lines:
        m = regex.match(line.strip())
        if m is None:
            raise ValueError(f"{name}: a line does not match the header layout: {line!r}")
        messages.append(m.group("Content").strip())
    event_ids: list[str] = []
    templates: list[str] = []
    with (folder / f"{name}_2k.log_structured_corrected.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            event_ids.append(row["EventId"])
            templates.append(row["EventTemplate"])
    if len(event_ids) != len(messages):
        raise ValueError(f"{name}: {len(messages)} log lines but {len(event_ids)} labels")
    tuned = fmt.get("drain_tuned", {})
    return Sample(name, messages, event_ids, templates, dict(tuned) if isinstance(tuned, dict) else {})


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their labelled event.

    This is the logparser evaluator's accuracy: a predicted group counts (with all its lines) only
    when it coincides with one labelled group.
    """
    by_pred: dict[Hashable, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        by_pred[p].append(i)
    truth_sizes = Counter(truth)
    correct = 0
    for lines in by_pred.values():
        labels = {truth[i] for i in lines}
        if len(labels) == 1 and truth_sizes[truth[lines[0]]] == len(lines):
            correct += len(lines)
    return correct / len(truth) if truth else 1.0


_WILDCARD_RUN = re.compile(r"(?:<\*>)+")
_WS = re.compile(r"\s+")


def normalise_template(template: str, wildcard: str = "<*>") -> str:
    """Canonical text of a template for PA: one ``<*>`` per variable run, single spaces."""
    if wildcard != "<*>":
        template = template.replace(wildcard, "<*>")
    template = _WILDCARD_RUN.sub("<*>", template)
    return _WS.sub(" ", template).strip()


def parsing_accuracy(truth: Sequence[str], predicted: Sequence[str], wildcard: str = "<*>") -> float:
    """Share of lines whose template text equals the labelled template after normalising both."""
    if not truth:
        return 1.0
    ok = sum(
        normalise_template(t) == normalise_template(p, wildcard)
        for t, p in zip(truth, predicted, strict=True)
    )
    return ok / len(truth)
