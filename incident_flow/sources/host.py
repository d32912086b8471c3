"""The ``host`` source type: the machine the run is on, read with psutil.

Used only when configured (DESIGN.md: sources that read the machine the run is on are opt-in), and
only for a live incident: the state of this machine now says nothing about an incident replayed from
last week. It offers one snapshot: CPU, memory, swap, disks, file descriptors, load and the top
processes, which the ops investigator compares with saturation thresholds.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs
import psutil

from incident_flow.sources import Option, Source, SourceError, SourceSpec, SourceType

__all__ = ["HOST_SOURCE_TYPE", "HostSnapshot", "HostSource", "ProcessUsage"]


@attrs.frozen
class ProcessUsage:
    pid: int
    name: str
    cpu_percent: float
    rss_bytes: int


@attrs.frozen
class HostSnapshot:
    """What the machine looked like at ``at``; percentages are 0..100, ``None`` when unknown."""

    at: datetime
    host: str
    cpu_percent: float
    cpu_count: int
    load_1m: float | None
    memory_percent: float
    memory_available_bytes: int
    swap_percent: float
    disks: dict[str, float]
    fds_open: int | None
    fds_max: int | None
    top_cpu: tuple[ProcessUsage, ...]
    top_memory: tuple[ProcessUsage, ...]

    @property
    def fds_percent(self) -> float | None:
        if not self.fds_open or not self.fds_max:
            return None
        return 100.0 * self.fds_open / self.fds_max


def _fds() -> tuple[int | None, int | None]:
    """System-wide open file handles and their limit (Linux ``/proc/sys/fs/file-nr``)."""
    try:
        allocated, _free, maximum = Path("/proc/sys/fs/file-nr").read_text().split()
        return int(allocated), int(maximum)
    except (OSError, ValueError):
        return None, None


def _top(processes: Sequence[ProcessUsage], key: str, count: int) -> tuple[ProcessUsage, ...]:
    return tuple(sorted(processes, key=lambda p: -getattr(p, key))[:count])


class HostSource(Source):
    """The machine the run is on."""

    def __init__(
        self, name: str, *, component: str | None, disk_paths: Sequence[str], top: int, sample_s: float
    ) -> None:
        super().__init__(name)
        self.component = component or socket.gethostname()
        self.disk_paths = list(disk_paths)
        self.top = top
        self.sample_s = sample_s

    def snapshot(self) -> HostSnapshot:
        """Sample the machine now (CPU over ``sample_s`` seconds)."""
        try:
            processes = list(psutil.process_iter(["pid", "name", "memory_info"]))
            for process in processes:  # prime per-process CPU counters for the sample below
                with contextlib.suppress(psutil.Error):
                    process.cpu_percent(None)
            cpu = psutil.cpu_percent(interval=self.sample_s)
            usages = []
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    info = process.info
                    memory = info.get("memory_info")
                    usages.append(
                        ProcessUsage(
                            pid=int(info["pid"]),
                            name=str(info.get("name") or "?"),
                            cpu_percent=float(process.cpu_percent(None)),
                            rss_bytes=int(memory.rss) if memory else 0,
                        )
                    )
            memory = psutil.virtual_memory()
            disks = {}
            for path in self.disk_paths:
                try:
                    disks[path] = float(psutil.disk_usage(path).percent)
                except OSError as exc:
                    self.warn(f"disk {path}: {exc.strerror or exc}")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            fds_open, fds_max = _fds()
            return HostSnapshot(
                at=datetime.now(UTC),
                host=self.component,
                cpu_percent=float(cpu),
                cpu_count=psutil.cpu_count() or 1,
                load_1m=load,
                memory_percent=float(memory.percent),
                memory_available_bytes=int(memory.available),
                swap_percent=float(psutil.swap_memory().percent),
                disks=disks,
                fds_open=fds_open,
                fds_max=fds_max,
                top_cpu=_top(usages, "cpu_percent", self.top),
                top_memory=_top(usages, "rss_bytes", self.top),
            )
        except psutil.Error as exc:
            raise SourceError(f"host {self.component}: cannot read the machine's state: {exc}") from None


def create_host_source(spec: SourceSpec) -> HostSource:
    options = spec.options
    return HostSource(
        spec.name,
        component=options.get("component"),
        disk_paths=options.get("disk_paths") or ["/"],
        top=int(options.get("top") or 5),
        sample_s=float(options.get("sample_s") or 0.5),
    )


HOST_SOURCE_TYPE = SourceType(
    name="host",
    factory=create_host_source,
    description="the machine the run is on (CPU, memory, disks, file descriptors, top processes)",
    options={
        "component": Option(types=(str,), doc="the component name of this machine (default: its hostname)"),
        "disk_paths": Option(types=(list,), doc="mount points whose usage is checked", default=["/"]),
        "top": Option(types=(int,), doc="how many top processes (by CPU and by memory) to show", default=5),
        "sample_s": Option(types=(int, float), doc="seconds over which CPU use is sampled", default=0.5),
    },
)
