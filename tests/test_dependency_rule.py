"""DESIGN.md's dependency rule: the core never imports plugins/; plugins use only the public API."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILT_INS = {p.name for p in (ROOT / "plugins").iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_core_never_imports_a_built_in_plugin() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "incident_flow").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in BUILT_INS
    ]
    assert offenders == []


def test_plugins_import_only_the_public_api() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "plugins").rglob("*.py")
        for name in _imports(path)
        if (name.startswith("incident_flow.") and any(part.startswith("_") for part in name.split(".")[1:]))
        or (
            name.split(".")[0] in BUILT_INS
            and name.split(".")[0] != path.relative_to(ROOT / "plugins").parts[0]
        )
    ]
    assert offenders == []


def test_the_built_ins_are_registered_by_entry_point() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name in BUILT_INS:
        assert f'= "{name}"' in text, f"{name} has no entry point in pyproject.toml"
