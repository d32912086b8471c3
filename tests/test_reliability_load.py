"""Load: 50 concurrent ``arun_incident`` calls in one event loop, as a webhook server makes them.

Each run has its own case folder: its own component (``svc07``), its own failing dependency
(``cache07``) and a distinct marker word in every error line. Half the runs share one plugin host
(what a server that prepares its host once does), half build their own. The test checks that every
run finishes, that each report and each audit trail hold only their own evidence (no marker,
component or incident id of another run), that every trail verifies, and that threads and open file
descriptors are bounded during the load and return to their baseline after it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from faults import write_case

from incident_flow.api import arun_incident
from incident_flow.audit import verify_trail
from incident_flow.model import Report
from incident_flow.plugins import make_plugin_host

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
RUNS = 50
#: Generous: the runs share one interpreter (50 x about 0.7 s of CPU); this catches a hang.
BOUND_S = 400.0
#: Threads a run may hold at once: one per investigator and one per source being read, with room.
THREADS_PER_RUN = 12


@attrs.frozen
class Case:
    """One run of the load: its incident id, component, failing dependency, marker and config."""

    id: str
    component: str
    cache: str
    marker: str
    config: Path


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settle(baseline: int, measure: Any, slack: int, timeout: float = 20.0) -> int:
    """Wait until ``measure()`` is back within ``slack`` of ``baseline``; return the last value."""
    deadline = time.monotonic() + timeout
    value = measure()
    while value > baseline + slack and time.monotonic() < deadline:
        time.sleep(0.1)
        value = measure()
    return int(value)


def test_fifty_concurrent_runs_keep_to_their_own_evidence(tmp_path: Path) -> None:
    cases: list[Case] = []
    for index in range(RUNS):
        name = f"{index:02d}"
        marker = f"mark{name}x{secrets.token_hex(4)}"
        config = write_case(
            tmp_path / f"case-{name}",
            AT,
            component=f"svc{name}",
            marker=marker,
            dependency=f"cache{name}.internal:6379",
            settings='investigator_timeout = "300s"',  # the load is not a speed test
        )
        cases.append(Case(f"load-{name}", f"svc{name}", f"cache{name}", marker, config))

    threads_before, fds_before = threading.active_count(), _open_fds()
    shared = make_plugin_host()
    peaks = {"threads": 0, "fds": 0}

    async def sample(stop: asyncio.Event) -> None:
        while not stop.is_set():
            peaks["threads"] = max(peaks["threads"], threading.active_count())
            peaks["fds"] = max(peaks["fds"], _open_fds())
            await asyncio.sleep(0.02)

    async def main() -> list[Report]:
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample(stop))
        runs = [
            arun_incident(
                f"{case.component} failing for all users",
                config=case.config,
                at=AT,
                incident_id=case.id,
                host=shared if index % 2 else None,
            )
            for index, case in enumerate(cases)
        ]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*runs), BOUND_S))
        finally:
            stop.set()
            await sampler

    started = time.monotonic()
    reports = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert len(reports) == RUNS and elapsed < BOUND_S

    trails = set()
    for case, report in zip(cases, reports, strict=True):
        others = [c for c in cases if c is not case]
        own = {case.component, case.cache}
        assert report.incident.id == case.id
        assert {c.component for c in report.root_causes} <= own, [c.component for c in report.root_causes]
        assert {f.component for f in report.findings} <= own, [f.component for f in report.findings]
        assert case.cache in {c.component for c in report.root_causes}
        assert all(r.status.value == "ok" for r in report.investigators), report.investigators
        text = report.to_markdown() + report.to_json()
        assert case.marker in text, "the run lost its own evidence"
        assert not [c.marker for c in others if c.marker in text], "another run's evidence leaked in"
        trail = Path(report.audit["path"])
        assert trail not in trails
        trails.add(trail)
        result = verify_trail(trail, expected_final_hash=report.audit["final_hash"])
        assert result.ok, result.problem
        content = trail.read_text(encoding="utf-8")
        assert case.id in content
        assert not [c.id for c in others if f'"{c.id}"' in content]
        assert not [c.cache for c in others if f'"{c.cache}"' in content]

    threads_after = _settle(threads_before, threading.active_count, slack=2)
    fds_after = _settle(fds_before, _open_fds, slack=5)
    print(  # the figures docs/reliability.md quotes (pytest -s shows them)
        f"\nload: {RUNS} runs in {elapsed:.1f}s; threads {threads_before} -> peak {peaks['threads']} -> "
        f"{threads_after}; open fds {fds_before} -> peak {peaks['fds']} -> {fds_after}"
    )
    assert peaks["threads"] <= threads_before + RUNS * THREADS_PER_RUN, peaks
    assert threads_after <= threads_before + 2, (threads_before, threads_after)
    assert fds_after <= fds_before + 5, (fds_before, fds_after, peaks)
