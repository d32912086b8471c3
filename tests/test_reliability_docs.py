"""``docs/reliability.md`` and the reliability tests stay in step, both ways."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"


def _tests(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        }
    return names


def test_every_reliability_test_is_listed_in_docs_reliability_md() -> None:
    text = DOC.read_text(encoding="utf-8")
    ours = _tests(sorted((ROOT / "tests").glob("test_reliability_*.py")))
    ours.discard("test_every_reliability_test_is_listed_in_docs_reliability_md")
    ours.discard("test_every_test_named_in_docs_reliability_md_exists")
    missing = sorted(name for name in ours if name not in text)
    assert not missing, f"docs/reliability.md does not list: {missing}"


def test_every_test_named_in_docs_reliability_md_exists() -> None:
    # Test names, not file names (tests/test_pipeline.py, test_reliability_*.py).
    named = set(re.findall(r"(?<![/\w])test_[a-z0-9_]+\b(?![.*])", DOC.read_text(encoding="utf-8")))
    existing = _tests(sorted((ROOT / "tests").glob("test_*.py")))
    stale = sorted(named - existing)
    assert not stale, f"docs/reliability.md names tests that do not exist: {stale}"
