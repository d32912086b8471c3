"""The scenario corpus (``tests/scenarios``): every incident type generates a valid eval case that runs.

One seed of every type is generated into a temporary folder, checked for what the generator promises
(a loadable case and config, log files that read in the format the config names, the expected change
present in the repository or the change log, stable commit ids), then replayed with
:func:`incident_flow.evaluation.evaluate`. The per-case ranking is printed (``pytest -s`` shows it) but
no accuracy is asserted here: the analyzers are tuned against this corpus separately, and
``benchmarks/scenario_eval.py`` measures them over many seeds.
"""

from __future__ import annotations

import asyncio
import subprocess
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from scenarios import TYPES, build_case, generate

from incident_flow.config import load_config
from incident_flow.evaluation import evaluate, find_cases, load_case
from incident_flow.logs import read_records
from incident_flow.plugins import make_plugin_host
from incident_flow.timeutil import parse_time


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenarios")
    generate(out, range(0, 1))
    return out


def test_at_least_fifteen_types() -> None:
    assert len(TYPES) >= 15


def test_every_type_is_a_valid_case(corpus: Path) -> None:
    folders = find_cases([corpus])
    assert {f.name.rsplit("-s", 1)[0] for f in folders} == set(TYPES)
    source_types = make_plugin_host().source_types()
    for folder in folders:
        case = load_case(folder)
        config = load_config(folder / "incident-flow.toml", source_types)
        assert case.components, folder
        assert case.category in ("code", "infrastructure", "performance", "security"), folder
        detected = parse_time(case.detected_at)
        assert config.settings.lookback <= timedelta(hours=2)
        types = {s.type for s in config.sources}
        assert {"logs", "metrics-csv", "git"} <= types, folder
        if case.category == "code":
            assert case.change, f"{folder}: a change-caused case names its change"
        for spec in config.sources:
            if spec.type != "logs":
                continue
            options = dict(spec.options)
            paths = [str(folder / p) for p in options.pop("paths")]
            records = list(
                read_records(
                    paths,
                    reference_time=detected,
                    source_name=spec.name,
                    **{k: v for k, v in options.items() if v is not None},
                )
            )
            assert records, f"{folder}: {spec.name} is empty"
            untimed = [r.line for r in records if r.at is None]
            assert not untimed, f"{folder}: {spec.name} records without a time at lines {untimed[:5]}"
            first = min(r.at for r in records if r.at is not None)
            assert first <= detected - timedelta(hours=1, minutes=50), (
                f"{folder}: {spec.name} starts too late"
            )


def test_expected_change_exists(corpus: Path) -> None:
    for folder in find_cases([corpus]):
        case = load_case(folder)
        if not case.change:
            continue
        if len(case.change) == 40 and all(c in "0123456789abcdef" for c in case.change):
            done = subprocess.run(
                ["git", "cat-file", "-e", f"{case.change}^{{commit}}"],
                cwd=folder / "repo",
                capture_output=True,
                check=False,
            )
            assert done.returncode == 0, f"{folder}: {case.change} is not a commit of repo/"
        else:
            changes = "".join(p.read_text() for p in (folder / "changes").iterdir())
            assert case.change in changes, f"{folder}: {case.change} is not in changes/"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = build_case("bad_deploy", 3, tmp_path / "a")
    second = build_case("bad_deploy", 3, tmp_path / "b")
    one = tomllib.loads((first / "case.toml").read_text())
    two = tomllib.loads((second / "case.toml").read_text())
    assert one == two
    assert (first / "logs").is_dir()
    for log in sorted((first / "logs").rglob("*.log")):
        assert log.read_bytes() == (second / log.relative_to(first)).read_bytes(), log


def test_every_case_runs_through_eval(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = datetime.now()
    summary = asyncio.run(evaluate([corpus]))
    assert len(summary.results) == len(TYPES)
    with capsys.disabled():
        print()
        for r in summary.results:
            change = "" if r.case.change is None else f" change@{r.change_rank or '-'}"
            category = (
                "" if r.category_ok is None else (" category ok" if r.category_ok else " category WRONG")
            )
            print(
                f"  {r.case.path.name:28s} component@{r.component_rank or '-'} (top: "
                f"{r.top}){change}{category}"
                f"  {r.seconds:.2f}s"
            )
        print(
            f"  AC@1 {summary.ac_at(1):.3f}  AC@3 {summary.ac_at(3):.3f}  Avg@5 {summary.avg_at_5:.3f}  "
            f"({(datetime.now() - started).total_seconds():.1f}s)"
        )
    failed = [(r.case.path.name, r.error) for r in summary.results if r.error is not None]
    assert not failed, failed
