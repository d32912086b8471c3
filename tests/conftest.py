"""Shared fixtures: every test writes its audit trails into its own temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("INCIDENT_FLOW_PLUGINS", raising=False)
    monkeypatch.delenv("INCIDENT_FLOW_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # no test may reach the real API
    structlog.reset_defaults()


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or a skip naming what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data set is not beside this checkout")
    return path
