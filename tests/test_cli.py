"""The command line contract: forms, exit codes, one-line errors, only the report on stdout."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from incident_flow import __version__
from incident_flow.cli import main
from incident_flow.demo import example_dir
from incident_flow.report import load_schema


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the example's config and logs, as a user's would."""
    folder = tmp_path / "env"
    shutil.copytree(example_dir(), folder)
    monkeypatch.chdir(folder)
    return folder


def test_the_seed_form_prints_the_markdown_report(env_dir: Path) -> None:
    code, out, err = _cli(
        "Website returning 502 errors for all users", "--severity=critical", "--at", "2026-03-14T14:10:00Z"
    )
    assert code == 0, err
    assert out.startswith("## Incident Report")
    assert "redis" in out
    assert "▸ investigate" in err, "progress goes to stderr"


def test_run_json_validates_against_the_shipped_schema(env_dir: Path) -> None:
    code, out, err = _cli("run", "Checkout failing", "--at", "2026-03-14T14:10:00Z", "--format", "json")
    assert code == 0, err
    jsonschema.validate(json.loads(out), load_schema())


def test_out_writes_the_report_to_a_file(env_dir: Path) -> None:
    code, out, _ = _cli("run", "Checkout failing", "--at", "2026-03-14T14:10:00Z", "--out", "report.md", "-q")
    assert code == 0
    assert out == ""
    assert (env_dir / "report.md").read_text().startswith("## Incident Report")


def test_a_near_miss_command_is_a_usage_error() -> None:
    code, out, err = _cli("patern", "app.log")
    assert code == 2
    assert "did you mean 'patterns'" in err
    assert out == ""


def test_a_bad_config_is_exit_2_and_one_line(tmp_path: Path) -> None:
    config = tmp_path / "incident-flow.toml"
    config.write_text('[settings]\nlookbak = "2h"\n')
    code, out, err = _cli("run", "Checkout failing", "--config", str(config))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "incident-flow.toml" in err and "lookbak" in err


def test_a_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    code, _, err = _cli("run", "Checkout failing", "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "nope.toml" in err


def test_a_bad_time_is_a_usage_error() -> None:
    code, _, err = _cli("run", "Checkout failing", "--at", "yesterday-ish")
    assert code == 2
    assert "--at" in err


def test_version() -> None:
    code, out, _ = _cli("--version")
    assert code == 0
    assert __version__ in out


def test_no_arguments_prints_help_and_never_runs_the_example() -> None:
    code, out, err = _cli()
    assert code == 2
    assert out == ""
    assert "usage" in err.lower()


def test_audit_verify_passes_then_names_the_altered_record(env_dir: Path) -> None:
    code, out, _ = _cli("run", "Checkout failing", "--at", "2026-03-14T14:10:00Z", "--format", "json", "-q")
    assert code == 0
    trail = Path(json.loads(out)["audit"]["path"])
    code, out, _ = _cli("audit", "verify", str(trail))
    assert code == 0 and "intact" in out
    lines = trail.read_text().splitlines()
    lines[2] = lines[2].replace('"kind":', '"kind" :', 1).replace("sources", "sourcez", 1)
    trail.write_text("\n".join(lines) + "\n")
    code, out, _ = _cli("audit", "verify", str(trail))
    assert code == 1
    assert "record 3" in out


def test_plugins_lists_what_loaded() -> None:
    code, out, _ = _cli("plugins")
    assert code == 0
    assert "ops" in out and "investigator ops" in out
    assert "source type logs" in out
