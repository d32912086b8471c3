"""The host source and the ops investigator's saturation check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident_flow_ops.host import analyse_host, saturation_findings

from incident_flow.config import Settings
from incident_flow.sources.host import HostSnapshot, HostSource, ProcessUsage
from incident_flow.testing import make_context

NOW = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)


def _snapshot(**overrides: object) -> HostSnapshot:
    values: dict[str, object] = {
        "at": NOW,
        "host": "web-1",
        "cpu_percent": 35.0,
        "cpu_count": 4,
        "load_1m": 1.2,
        "memory_percent": 50.0,
        "memory_available_bytes": 8 * 2**30,
        "swap_percent": 0.0,
        "disks": {"/": 40.0, "/var": 99.5},
        "fds_open": 1000,
        "fds_max": 100_000,
        "top_cpu": (ProcessUsage(10, "java", 80.0, 2**30),),
        "top_memory": (ProcessUsage(10, "java", 80.0, 2**30),),
    }
    values.update(overrides)
    return HostSnapshot(**values)  # type: ignore[arg-type]


def test_a_full_disk_is_found_with_its_figure() -> None:
    findings = saturation_findings(_snapshot(), "this-host")
    assert [f.title for f in findings] == ["disk /var saturated: 100% used"]
    finding = findings[0]
    assert finding.component == "web-1"
    assert finding.category.value == "infrastructure"
    assert finding.severity is not None and finding.severity.value == "critical"
    assert finding.evidence[0].figures == {"used_percent": 99.5, "threshold_percent": 90.0}


def test_memory_pressure_names_the_top_processes() -> None:
    findings = saturation_findings(_snapshot(memory_percent=96.0, disks={}), "this-host")
    assert findings[0].title.startswith("memory saturated")
    assert "pid 10 java" in findings[0].evidence[0].lines[0]


def test_a_healthy_host_gives_nothing() -> None:
    assert saturation_findings(_snapshot(disks={"/": 10.0}), "this-host") == []


def test_the_real_machine_is_read_for_a_live_incident_only() -> None:
    source = HostSource("this-host", component="runner", disk_paths=["/"], top=3, sample_s=0.1)
    snapshot = source.snapshot()
    assert snapshot.host == "runner"
    assert 0.0 <= snapshot.memory_percent <= 100.0
    assert "/" in snapshot.disks
    audit: list[dict[str, object]] = []
    live = make_context(detected_at=datetime.now(UTC), sources=[source], settings=Settings())
    assert all(f.component == "runner" for f in analyse_host(live))
    replay = make_context(
        detected_at=datetime.now(UTC) - timedelta(days=2), sources=[source], settings=Settings(), audit=audit
    )
    assert analyse_host(replay) == []
    assert any("replay" in str(record.get("skipped")) for record in audit)
