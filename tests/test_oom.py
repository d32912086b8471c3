"""The OOM killer's reports, attributed to the service whose memory ran out (not the host that killed it)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from incident_flow_ops import investigate
from incident_flow_ops.oom import analyse_oom, attribute, kills_in

from incident_flow import Category, Finding
from incident_flow.correlate import correlate
from incident_flow.sources import LogRecord
from incident_flow.testing import make_context

DETECTED = datetime(2026, 3, 5, 12, 5, tzinfo=UTC)
# Syslog as RFC 5424 writes it (with the year), as rsyslog and journald forward it.

KERNEL = """\
<4>1 2026-03-05T11:54:29+00:00 app-1 kernel - - - [3474447.535872] gunicorn invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
<4>1 2026-03-05T11:54:29+00:00 app-1 kernel - - - [3474447.536279] memory: usage 1048576kB, limit 1048576kB, failcnt 2534
<4>1 2026-03-05T11:54:29+00:00 app-1 kernel - - - [3474447.536316] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=docker-3e2ae3c3ee48.scope,mems_allowed=0,oom_memcg=/system.slice/docker-ad2256cfdae7.scope,task_memcg=/system.slice/docker-2a2ffc7c49dc.scope,task=gunicorn,pid=25123,uid=1000
<4>1 2026-03-05T11:54:29+00:00 app-1 kernel - - - [3474447.536353] Memory cgroup out of memory: Killed process 25123 (gunicorn) total-vm:2139715kB, anon-rss:1040635kB, file-rss:26557kB, shmem-rss:0kB, UID:1000 pgtables:6012kB oom_score_adj:0
"""  # noqa: E501
SYSTEMD = """\
<30>1 2026-03-05T11:54:30+00:00 app-1 systemd 1 - - catalog.service: A process of this unit has been killed by the OOM killer.
<30>1 2026-03-05T11:54:30+00:00 app-1 systemd 1 - - catalog.service: Failed with result 'oom-kill'.
"""  # noqa: E501
KUBELET = """\
<30>1 2026-03-05T11:54:31+00:00 app-1 kubelet 1234 - - I0305 11:54:29.000000    1234 kubelet.go:2457] "SyncLoop (PLEG): event for pod" pod="store/catalog-2d325e753-9b7c13" event={"ID":"d63101e5","Type":"ContainerDied"}
"""  # noqa: E501
GUNICORN = """\
[2026-03-05 11:40:00 +0000] [1] [INFO] Booting worker with pid: 25123
[2026-03-05 11:54:30 +0000] [1] [ERROR] Worker (pid:25123) was sent SIGKILL! Perhaps out of memory?
"""
QUIET = "[2026-03-05 11:50:00 +0000] [7] [INFO] GET /health 200\n"


def _findings(logs: dict[str, str]) -> list[Finding]:
    return analyse_oom(make_context(detected_at=DETECTED, logs=logs).for_investigator("ops"))


def test_a_systemd_unit_names_the_service_that_gunicorn_ran() -> None:
    (finding,) = _findings({"app-1": KERNEL + SYSTEMD, "catalog": QUIET, "orders": QUIET})
    assert finding.component == "catalog" and finding.category is Category.INFRASTRUCTURE
    assert finding.title == "killed by the OOM killer on app-1: gunicorn (pid 25123)"
    evidence = finding.evidence[0]
    assert evidence.kind == "oom_kill" and evidence.figures["host"] == "app-1"
    assert any("Killed process 25123 (gunicorn)" in line for line in evidence.lines)
    assert any("catalog.service" in line for line in evidence.lines)
    assert finding.onset == datetime(2026, 3, 5, 11, 54, 29, tzinfo=UTC)


def test_a_kubelet_pod_names_its_deployment() -> None:
    (finding,) = _findings({"app-1": KERNEL + KUBELET, "catalog": QUIET, "cart": QUIET})
    assert finding.component == "catalog" and "kubelet pod" in finding.summary


def test_the_service_own_log_naming_the_killed_pid_is_enough() -> None:
    (finding,) = _findings({"app-1": KERNEL, "catalog": GUNICORN, "orders": QUIET})
    assert finding.component == "catalog" and "pid" in finding.summary


def test_more_witnesses_make_a_stronger_case() -> None:
    (one,) = _findings({"app-1": KERNEL + SYSTEMD, "catalog": QUIET})
    (three,) = _findings({"app-1": KERNEL + SYSTEMD + KUBELET, "catalog": GUNICORN})
    assert three.confidence > one.confidence


def test_a_kill_nothing_attributes_gives_no_finding() -> None:
    assert _findings({"app-1": KERNEL, "catalog": QUIET}) == []
    # The unit line comes from another machine: it says nothing about app-1's kill.
    assert (
        _findings({"app-1": KERNEL, "app-2": SYSTEMD.replace(" app-1 ", " app-2 "), "catalog": QUIET}) == []
    )
    # ... and a unit reported an hour later is another event.
    assert _findings({"app-1": KERNEL + SYSTEMD.replace("11:54:30", "12:54:30"), "catalog": QUIET}) == []
    assert _findings({"catalog": QUIET}) == []


def test_the_ranking_names_the_service_not_the_host() -> None:
    ctx = make_context(detected_at=DETECTED, logs={"app-1": KERNEL + SYSTEMD, "catalog": GUNICORN})
    findings = investigate(ctx.for_investigator("ops"))
    assert correlate(findings)[0].component == "catalog"


def test_the_kernel_prints_one_kill_twice() -> None:
    records = [
        LogRecord(message=line, source="s", line=i, text=line, at=DETECTED, component="app-1")
        for i, line in enumerate(KERNEL.splitlines(), 1)
    ]
    kills, clues = kills_in(records)
    assert len(kills) == 1 and kills[0].pid == 25123 and kills[0].process == "gunicorn"
    assert kills[0].cgroup == "/system.slice/docker-2a2ffc7c49dc.scope" and len(kills[0].lines) == 2
    assert attribute(kills[0], clues, {"catalog", "app-1"}) is None


def test_a_process_named_as_the_service_and_a_unit_cgroup_name_it() -> None:
    line = "oom-kill:constraint=CONSTRAINT_NONE,task_memcg=/system.slice/orders-api.service,task=java,pid=7"
    record = LogRecord(message=line, source="s", line=1, text=line, at=DETECTED, component="db-1")
    (kill,), _ = kills_in([record])
    found = attribute(kill, [], {"orders-api", "db-1"})
    assert found is not None and found.service == "orders-api" and found.how == {"cgroup"}
    named = LogRecord(
        message="Killed process 9 (shipping)", source="s", line=1, text="", at=DETECTED, component="app-2"
    )
    (kill,), _ = kills_in([named])
    found = attribute(kill, [], {"shipping", "app-2"})
    assert found is not None and found.service == "shipping" and found.how == {"process name"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=8), st.sampled_from(["app-1", "catalog", ""]))
def test_reading_kills_never_crashes(messages: list[str], component: str) -> None:
    records = [
        LogRecord(message=m, source="s", line=i, text=m, at=DETECTED, component=component or None)
        for i, m in enumerate(messages, 1)
    ]
    kills, clues = kills_in(records)
    for kill in kills:
        attribute(kill, clues, {"catalog", "app-1"})
