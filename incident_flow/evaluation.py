"""``incident-flow eval``: replay recorded incidents and score the root-cause ranking.

A case is a folder holding ``incident-flow.toml`` (its sources) and ``case.toml`` (the description,
the detection time and what the right answer is). The scores are those of the RCAEval benchmark:
AC@k is the share of cases whose expected component is among the first k causes, Avg@5 the mean of
AC@1..AC@5; change@1 and category@1 count over the cases that name a change or a category.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from incident_flow.api import arun_incident
from incident_flow.config import ConfigError
from incident_flow.model import Report
from incident_flow.plugins import PluginHost, make_plugin_host

__all__ = ["Case", "CaseResult", "EvalSummary", "evaluate", "find_cases", "load_case"]

CASE_FILE = "case.toml"
CONFIG_FILE = "incident-flow.toml"


@attrs.frozen
class Case:
    """One recorded incident and its expected answer."""

    path: Path
    description: str
    detected_at: str
    severity: str | None = None
    system: str | None = None
    components: tuple[str, ...] = ()
    category: str | None = None
    change: str | None = None


@attrs.frozen
class CaseResult:
    case: Case
    component_rank: int | None
    change_rank: int | None
    category_ok: bool | None
    top: str | None
    seconds: float
    error: str | None = None


@attrs.frozen
class EvalSummary:
    results: tuple[CaseResult, ...]

    def ac_at(self, k: int) -> float:
        if not self.results:
            return 0.0
        hits = sum(1 for r in self.results if r.component_rank is not None and r.component_rank <= k)
        return hits / len(self.results)

    @property
    def avg_at_5(self) -> float:
        return sum(self.ac_at(k) for k in range(1, 6)) / 5

    @property
    def change_at_1(self) -> float | None:
        relevant = [r for r in self.results if r.case.change is not None]
        return sum(1 for r in relevant if r.change_rank == 1) / len(relevant) if relevant else None

    @property
    def category_at_1(self) -> float | None:
        relevant = [r for r in self.results if r.category_ok is not None]
        return sum(1 for r in relevant if r.category_ok) / len(relevant) if relevant else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": [
                {
                    "case": str(r.case.path),
                    "expected_component": list(r.case.components),
                    "component_rank": r.component_rank,
                    "expected_change": r.case.change,
                    "change_rank": r.change_rank,
                    "expected_category": r.case.category,
                    "category_ok": r.category_ok,
                    "top": r.top,
                    "seconds": r.seconds,
                    "error": r.error,
                }
                for r in self.results
            ],
            "summary": {
                "cases": len(self.results),
                "ac@1": self.ac_at(1),
                "ac@3": self.ac_at(3),
                "avg@5": self.avg_at_5,
                "change@1": self.change_at_1,
                "category@1": self.category_at_1,
            },
        }


def load_case(folder: Path) -> Case:
    """Read ``case.toml``; a missing required key is a ConfigError naming it."""
    path = folder / CASE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read the case file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text; TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from None
    if isinstance(data.get("detected_at"), datetime):  # an unquoted TOML datetime
        moment = data["detected_at"]
        data["detected_at"] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    for key in ("description", "detected_at"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ConfigError(path, key, "required: a non-empty string (detected_at in RFC 3339)")
    allowed = {"description", "detected_at", "severity", "system", "expected"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(path, unknown[0], f"unknown key; expected one of: {', '.join(sorted(allowed))}")
    expected = data.get("expected", {})
    if not isinstance(expected, dict):
        raise ConfigError(path, "expected", "must be a table")
    unknown = sorted(set(expected) - {"component", "category", "change"})
    if unknown:
        raise ConfigError(
            path, f"expected.{unknown[0]}", "unknown key; expected component, category or change"
        )
    component = expected.get("component")
    if isinstance(component, str) and component:
        components: tuple[str, ...] = (component,)
    elif isinstance(component, list) and component and all(isinstance(c, str) for c in component):
        components = tuple(component)
    else:
        raise ConfigError(
            path, "expected.component", "required: a component name or a list of acceptable names"
        )
    return Case(
        path=folder,
        description=data["description"],
        detected_at=data["detected_at"],
        severity=data.get("severity"),
        system=data.get("system"),
        components=components,
        category=expected.get("category"),
        change=expected.get("change"),
    )


def find_cases(paths: Iterable[Path]) -> list[Path]:
    """Case folders: each path is one, or a folder whose sub-folders (recursively) are."""
    found: list[Path] = []
    for path in paths:
        if (path / CASE_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p.parent for p in path.rglob(CASE_FILE)))
        else:
            raise ConfigError(path, None, "not a case folder (no case.toml) nor a folder of them")
    return found


def _score(case: Case, report: Report, seconds: float) -> CaseResult:
    names = [c.component for c in report.root_causes]
    wanted = {c.lower() for c in case.components}
    component_rank = next((i for i, name in enumerate(names, 1) if name.lower() in wanted), None)
    change_rank = None
    if case.change:
        prefix = case.change.lower()
        change_rank = next(
            (
                c.rank
                for c in report.root_causes
                if c.change is not None and c.change.id.lower().startswith(prefix)
            ),
            None,
        )
    category_ok = None
    if case.category:
        category_ok = bool(report.root_causes) and report.root_causes[0].category.value == case.category
    top = names[0] if names else None
    return CaseResult(case, component_rank, change_rank, category_ok, top, round(seconds, 3))


async def _run_case(case: Case, host: PluginHost) -> CaseResult:
    started = time.monotonic()
    try:
        report = await arun_incident(
            case.description,
            severity=case.severity,
            system=case.system,
            config=case.path / CONFIG_FILE,
            at=case.detected_at,
            host=host,
        )
    except ConfigError:
        raise
    except Exception as exc:  # one broken case must not end the evaluation
        return CaseResult(
            case, None, None, None, None, round(time.monotonic() - started, 3), f"{type(exc).__name__}: {exc}"
        )
    return _score(case, report, time.monotonic() - started)


async def evaluate(paths: Sequence[Path], *, plugins: Sequence[object] = ()) -> EvalSummary:
    """Replay every case under ``paths`` and score the rankings."""
    host = make_plugin_host(plugins)
    results = [await _run_case(load_case(folder), host) for folder in find_cases(paths)]
    return EvalSummary(tuple(results))
