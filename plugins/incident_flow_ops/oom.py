"""The kernel's OOM killer, read back to the service whose memory it was.

DESIGN.md names the service whose memory grew, not only the host that killed it. The kernel reports
the kill on the machine and names a process (``gunicorn``, ``java``, ``node``...), rarely the
service. What names the service is printed around the kill, by the software that ran the process:
systemd (``<unit>.service: A process of this unit has been killed by the OOM killer``, ``Failed with
result 'oom-kill'``), kubelet (``ContainerDied`` or ``OOMKilled`` for pod ``<deployment>-<hash>-<id>``),
the cgroup path (``task_memcg=/system.slice/<unit>.service``), the service's own log naming the
killed pid (gunicorn's ``Worker (pid:N) was sent SIGKILL! Perhaps out of memory?``), or the process
name itself when it is the service's. A kill that nothing attributes gives no finding here (the log
patterns still show it on the host).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import attrs

from incident_flow import Category, Evidence, Finding, Severity
from incident_flow.context import InvestigationContext
from incident_flow.sources import LogRecord

__all__ = ["Attribution", "OomKill", "analyse_oom", "attribute", "kills_in"]

#: How long after the kill the software that ran the process reports it (systemd, kubelet, gunicorn).
ATTRIBUTION_WINDOW = timedelta(minutes=2)
#: Evidence lines kept per kill.
MAX_LINES = 6

_KILLED = re.compile(r"\bKilled process (?P<pid>\d+) \((?P<name>[^)\s]{1,64})\)")
_OOM_KILL = re.compile(
    r"\boom-kill:.*?\btask_memcg=(?P<cgroup>[^,\s]*).*?\btask=(?P<name>[^,\s]+),pid=(?P<pid>\d+)"
)
_UNIT = re.compile(
    r"(?P<unit>[\w@:.-]{1,128}?)\.service: (?:A process of this unit has been killed by the OOM killer"
    r"|Failed with result 'oom-kill')"
)
_POD = re.compile(r"\bpod=\\?\"(?:[\w.-]+/)?(?P<pod>[\w.-]+)\\?\".*\b(?:ContainerDied|OOMKilled)\b")
_CGROUP_UNIT = re.compile(r"/(?P<unit>[\w@:.-]+?)\.service\b")
_PID = re.compile(r"\bpid[:= ]\s*(?P<pid>\d+)\b", re.IGNORECASE)


@attrs.frozen
class OomKill:
    """One kill: where, when, which process, and the lines that say whose it was."""

    host: str
    at: datetime
    pid: int
    process: str
    cgroup: str | None
    lines: tuple[LogRecord, ...]


def _line(record: LogRecord) -> str:
    first = record.text.splitlines()[0] if record.text else record.message
    return f"{record.path or record.source}:{record.line}: {first[:300]}"


def kills_in(records: Iterable[LogRecord]) -> tuple[list[OomKill], list[LogRecord]]:
    """The kernel's OOM kills among ``records``, and the records that may attribute them.

    The kernel prints the victim twice (``oom-kill:... task=NAME,pid=PID`` with its cgroup, then
    ``Killed process PID (NAME)``); both lines of one kill become one :class:`OomKill`.
    """
    kills: dict[tuple[str, int], OomKill] = {}
    clues: list[LogRecord] = []
    for record in records:
        message = record.message
        if record.at is None or not message:
            continue
        # Substring tests first: the patterns are tried only on the few lines that can match them.
        match = ("oom-kill:" in message and _OOM_KILL.search(message)) or (
            "Killed process" in message and _KILLED.search(message)
        )
        if match and record.component:
            key = (record.component, int(match.group("pid")))
            cgroup = match.groupdict().get("cgroup")
            known = kills.get(key)
            if known is None:
                kills[key] = OomKill(
                    record.component, record.at, key[1], match.group("name"), cgroup, (record,)
                )
            else:
                kills[key] = attrs.evolve(
                    known, cgroup=known.cgroup or cgroup, lines=(*known.lines, record)[:MAX_LINES]
                )
        elif (
            (".service: " in message and _UNIT.search(message))
            or ("pod=" in message and _POD.search(message))
            or ("pid" in message.lower() and _PID.search(message))
        ):
            clues.append(record)
    return sorted(kills.values(), key=lambda k: k.at), clues


def _named(name: str, known: set[str]) -> str | None:
    """The known component a unit, pod or process name stands for: itself, or its deployment."""
    name = name.lower().split("@", 1)[0]
    if name in known:
        return name
    # A pod is <deployment>-<replicaset hash>-<id>: the longest known prefix followed by a dash.
    prefixes = [k for k in known if name.startswith(k + "-")]
    return max(prefixes, key=len) if prefixes else None


@attrs.frozen
class Attribution:
    """Whose a kill was, what named it (``systemd unit``, ``kubelet pod``...), the lines that did."""

    service: str
    how: frozenset[str]
    lines: tuple[LogRecord, ...]


def attribute(kill: OomKill, clues: Iterable[LogRecord], known: set[str]) -> Attribution | None:
    """The service (one of ``known``, lower case) a kill belongs to, or None when nothing names it."""
    candidates = known - {kill.host.lower()}
    votes: dict[str, list[tuple[str, LogRecord | None]]] = {}
    for record in clues:
        assert record.at is not None  # kills_in keeps only timed records
        if not kill.at - timedelta(seconds=5) <= record.at <= kill.at + ATTRIBUTION_WINDOW:
            continue
        component = (record.component or "").lower()
        unit, pod, pid = (
            _UNIT.search(record.message),
            _POD.search(record.message),
            _PID.search(record.message),
        )
        if unit and component == kill.host.lower():
            named, how = _named(unit.group("unit"), candidates), "systemd unit"
        elif pod and component == kill.host.lower():
            named, how = _named(pod.group("pod"), candidates), "kubelet pod"
        elif pid and int(pid.group("pid")) == kill.pid and component in candidates:
            named, how = component, "the service's own log naming the pid"
        else:
            continue
        if named is not None:
            votes.setdefault(named, []).append((how, record))
    cgroup_unit = _CGROUP_UNIT.search(kill.cgroup or "")
    for name, how in (
        (cgroup_unit.group("unit") if cgroup_unit else "", "cgroup"),
        (kill.process, "process name"),
    ):
        named = _named(name, candidates) if name else None
        if named is not None:
            votes.setdefault(named, []).append((how, None))
    if not votes:
        return None
    service, reasons = max(votes.items(), key=lambda item: (len(item[1]), item[0]))
    return Attribution(
        service, frozenset(how for how, _ in reasons), tuple(r for _, r in reasons if r is not None)
    )


def analyse_oom(ctx: InvestigationContext) -> list[Finding]:
    """One finding per service whose process the kernel's OOM killer killed in the window."""
    # Components as the sources spell them, found by their lower-case names; the records stream by
    # once (a large log is never held in memory), noting every component on the way.
    names = {c.lower(): c for c in ctx.components}

    def noting(records: Iterable[LogRecord]) -> Iterator[LogRecord]:
        for record in records:
            if record.component:
                names.setdefault(record.component.lower(), record.component)
            yield record

    kills, clues = kills_in(noting(ctx.log_records()))
    if not kills:
        return []
    by_service: dict[str, list[tuple[OomKill, Attribution]]] = {}
    for kill in kills:
        found = attribute(kill, clues, set(names))
        if found is not None:
            by_service.setdefault(names[found.service], []).append((kill, found))
    ctx.audit("ops.oom", kills=len(kills), attributed={s: len(k) for s, k in by_service.items()})
    return [_finding(service, attributed) for service, attributed in sorted(by_service.items())]


def _finding(service: str, attributed: list[tuple[OomKill, Attribution]]) -> Finding:
    first, named = attributed[0]
    last = attributed[-1][0]
    hows = sorted({how for _, a in attributed for how in a.how})
    lines = [_line(r) for kill, a in attributed[:2] for r in (*kill.lines, *a.lines)][:MAX_LINES]
    count = len(attributed)
    summary = (
        f"{service}: the kernel on {first.host} killed {first.process} (pid {first.pid}) at "
        f"{first.at:%H:%M:%S} UTC when its memory ran out"
        + (f", {count} kills up to {last.at:%H:%M:%S} UTC" if count > 1 else "")
        + f"; named {service}'s by {', '.join(hows)}"
    )
    return Finding(
        investigator="ops",
        component=service,
        title=f"killed by the OOM killer on {first.host}: {first.process} (pid {first.pid})",
        summary=summary,
        # Where memory ran out, certainly; that it is the incident's cause, likely: more sources
        # naming the service, and repeated kills, make the case stronger.
        confidence=round(min(0.8, 0.5 + 0.1 * (len(hows) - 1) + 0.05 * (count - 1)), 3),
        evidence=[
            Evidence(
                source=first.lines[0].source,
                kind="oom_kill",
                summary=f"OOM kill of {first.process} (pid {first.pid}) on {first.host}, named {service}'s "
                f"by {', '.join(sorted(named.how))}",
                at_from=first.at,
                at_to=last.at,
                query=f"kernel 'Killed process {first.pid} ({first.process})' and the lines naming it",
                lines=lines,
                figures={"kills": count, "host": first.host, "process": first.process, "pid": first.pid},
            )
        ],
        category=Category.INFRASTRUCTURE,
        severity=Severity.HIGH,
        indicator="kernel OOM kill",
        onset=first.at,
    )
