"""A plugin package installed with pip adds an investigator whose finding reaches the report.

The example plugin in examples/ is installed into a throwaway folder (pip --target, no network,
no build isolation), and a separate process sees it there and nowhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "healthcheck-plugin"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    source = build / "plugin"
    shutil.copytree(
        PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )  # keep the repo clean
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=build,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return target


def _run(site: Path | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "incident_flow", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _write_case(folder: Path) -> None:
    """Thirty minutes of checks: passing until 14:00, failing since."""
    first = datetime(2026, 3, 14, 13, 40, tzinfo=UTC)
    lines = []
    for minute in range(30):
        ok = minute < 20
        at = first + timedelta(minutes=minute)
        result = {"at": at.isoformat(), "component": "checkout", "check": "GET /health", "ok": ok}
        lines.append(json.dumps({**result, "detail": "200" if ok else "HTTP 502"}))
    (folder / "checks.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "incident-flow.toml").write_text(
        '[[sources]]\nname = "probes"\ntype = "healthchecks"\npath = "checks.jsonl"\n'
    )


def test_the_installed_plugin_is_listed(plugin_site: Path, tmp_path: Path) -> None:
    result = _run(plugin_site, "plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "healthchecks" in result.stdout
    assert "investigator healthchecks" in result.stdout


def test_its_finding_reaches_the_report(plugin_site: Path, tmp_path: Path) -> None:
    _write_case(tmp_path)
    result = _run(
        plugin_site, "Checkout down", "--at", "2026-03-14T14:10:00Z", "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    finding = next(f for f in report["findings"] if f["investigator"] == "healthchecks")
    assert finding["component"] == "checkout"
    assert finding["evidence"][0]["lines"], "the failing checks are the evidence"


def test_without_the_plugin_its_source_type_is_unknown(tmp_path: Path) -> None:
    _write_case(tmp_path)
    result = _run(None, "Checkout down", "--at", "2026-03-14T14:10:00Z", cwd=tmp_path)
    assert result.returncode == 2
    assert "incident-flow.toml" in result.stderr and "type" in result.stderr
    assert result.stderr.count("\n") == 1, "one clear line"
