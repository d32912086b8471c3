"""An example third-party plugin: synthetic health checks as a source, and an investigator over them.

Teams run probes (a blackbox exporter, a cron job hitting /health) and keep their results. This
plugin reads them as JSON lines, ``{"at": "...", "component": "checkout", "check": "GET /health",
"ok": false, "detail": "HTTP 502"}``, and reports each component whose checks went from passing to
failing, with the failing results as evidence. It uses only incident-flow's public API.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from incident_flow import Evidence, Finding, Investigator, hookimpl
from incident_flow.context import InvestigationContext
from incident_flow.sources import Option, Source, SourceError, SourceSpec, SourceType
from incident_flow.timeutil import parse_time


class HealthCheckSource(Source):
    """Health-check results from one JSON-lines file."""

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path

    def results(self) -> Iterator[dict]:
        try:
            handle = self.path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SourceError(f"{self.path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                try:
                    item = json.loads(line)
                    item["at"] = parse_time(item["at"])
                except (ValueError, KeyError, TypeError):
                    self.warn(f"{self.path}:{number}: not a health-check result, skipped")
                    continue
                item["line"] = f"{self.path.name}:{number}: {line.strip()}"
                yield item


def _build(spec: SourceSpec) -> HealthCheckSource:
    return HealthCheckSource(spec.name, spec.path(spec.options["path"]))


def investigate(ctx: InvestigationContext) -> list[Finding]:
    """Components whose checks passed in the baseline and fail since."""
    by_component: dict[str, list[dict]] = defaultdict(list)
    for source in ctx.sources(HealthCheckSource):
        for result in source.results():
            if result["at"] >= ctx.window_start:
                by_component[result.get("component", source.name)].append(result)
    findings = []
    for component, results in by_component.items():
        results.sort(key=lambda r: r["at"])
        failing = [r for r in results if not r.get("ok")]
        passing_before = [r for r in results if r.get("ok") and (not failing or r["at"] < failing[0]["at"])]
        if len(failing) < 3 or not passing_before:
            continue
        first: datetime = failing[0]["at"]
        findings.append(
            Finding(
                investigator="healthchecks",
                component=component,
                title=f"health checks failing since {first:%H:%M} UTC",
                summary=f"{len(failing)} of {len(results)} checks failed, the first at {first.isoformat()}",
                confidence=0.6,
                symptom=True,
                onset=first,
                evidence=[
                    Evidence(
                        source="healthchecks",
                        kind="health_check",
                        summary=f"{component}: {len(failing)} failed checks "
                        f"after {len(passing_before)} passing",
                        at_from=first,
                        at_to=failing[-1]["at"],
                        lines=[r["line"] for r in failing[:3]],
                        figures={"passing_before": len(passing_before), "failing": len(failing)},
                    )
                ],
            )
        )
    return findings


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(
        SourceType(
            name="healthchecks",
            factory=_build,
            options={"path": Option(types=(str,), doc="JSON-lines file of check results", required=True)},
            description="health-check results as JSON lines",
        )
    )


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(Investigator(name="healthchecks", investigate=investigate, description="failing health checks"))
