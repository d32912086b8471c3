"""The config file (a contract, see DESIGN.md): one environment's settings, components and sources.

Loading validates everything before a run starts: an unknown key, a wrong type or an unknown
source type is a :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Any

import attrs

__all__ = ["ComponentSpec", "Config", "ConfigError", "Settings", "SourceConfig", "default_audit_dir"]


class ConfigError(Exception):
    """A config problem a user can fix; ``str()`` is one line: file, key, what was expected."""

    def __init__(self, path: Path | str | None, key: str | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        self.message = message
        where = self.path or "<config>"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {message}")


def default_audit_dir() -> Path:
    """``$XDG_STATE_HOME/incident-flow/audit``, as DESIGN.md says."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "incident-flow" / "audit"


def _default_budgets() -> dict[str, float]:
    # The seed's phase times: assessment 0-5 min, root cause 5-15, mitigation 15-30.
    return {"assess": 300.0, "investigate": 600.0, "mitigate": 900.0}


@attrs.frozen
class Settings:
    """``[settings]``: durations are stored as timedeltas and seconds."""

    lookback: timedelta = timedelta(hours=2)
    change_lookback: timedelta = timedelta(hours=24)
    timezone: tzinfo | None = None
    investigator_timeout: float = 60.0
    phase_budgets: Mapping[str, float] = attrs.field(factory=_default_budgets)
    audit_dir: Path = attrs.field(factory=default_audit_dir)


@attrs.frozen
class ComponentSpec:
    """``[components]``: which repository paths (globs) belong to a component."""

    name: str
    paths: tuple[str, ...] = ()


@attrs.frozen
class SourceConfig:
    """One ``[[sources]]`` table as written, before its type validates the options."""

    name: str
    type: str
    options: Mapping[str, Any]
    index: int


@attrs.frozen
class Config:
    """A parsed config file; ``path`` is None for the empty environment."""

    path: Path | None = None
    settings: Settings = attrs.field(factory=Settings)
    components: Mapping[str, ComponentSpec] = attrs.field(factory=dict)
    sources: tuple[SourceConfig, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()
