"""The accuracy bar: the 50 sock-shop cases through ``incident-flow eval``, AC@1 = 1.00.

The cases are built by ``benchmarks/sockshop_cases.py`` (the benchmark's own builder, so the test
and the published figure measure the same thing) into a temporary folder, never the repository.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from conftest import shared_data

from incident_flow.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]


def _benchmark() -> ModuleType:
    path = ROOT / "benchmarks" / "sockshop_cases.py"
    spec = importlib.util.spec_from_file_location("sockshop_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sockshop_cases", module)
    spec.loader.exec_module(module)
    return module


def test_every_sockshop_case_ranks_the_faulty_service_first(tmp_path: Path) -> None:
    data = shared_data("sock-shop")
    bench = _benchmark()
    cases = bench.build_cases(data, tmp_path / "cases")
    assert len(cases) == 50
    summary = asyncio.run(evaluate(cases, plugins=bench.metrics_plugins()))
    misses = [
        (r.case.path.name, r.component_rank, r.top, r.error) for r in summary.results if r.component_rank != 1
    ]
    assert misses == []
    assert summary.ac_at(1) == 1.0


def test_the_docs_section_replaces_only_its_own_markers(tmp_path: Path) -> None:
    bench = _benchmark()
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n<!-- other:start -->\nkeep me\n<!-- other:end -->\n\n"
        f"{bench.START_MARK}\nold\n{bench.END_MARK}\n\ntail stays\n",
        encoding="utf-8",
    )
    table = {
        "all": {"cases": 50, "ac@1": 1.0, "ac@3": 1.0, "avg@5": 1.0},
        "cpu": {"avg@5": 1.0},
        "mem": {"avg@5": 1.0},
    }
    bench.write_section(bench.render_section(table, 9.5, True), doc)
    text = doc.read_text(encoding="utf-8")
    assert "keep me" in text and "tail stays" in text and "old" not in text
    assert text.count(bench.START_MARK) == 1 and "BARO (published)" in text
    fresh = tmp_path / "new.md"
    bench.write_section(bench.render_section(table, 9.5, True), fresh)
    assert fresh.read_text(encoding="utf-8").startswith("# Benchmarks\n\n" + bench.START_MARK)
