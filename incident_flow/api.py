"""The public entry points: ``run_incident`` for scripts, ``arun_incident`` for async embedders."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from incident_flow.actions.gate import Approver
from incident_flow.config import Config, find_default_config, load_config
from incident_flow.model import Incident, Report, Severity
from incident_flow.pipeline import EventListener, execute
from incident_flow.plugins import PluginHost, make_plugin_host
from incident_flow.timeutil import parse_time

__all__ = ["arun_incident", "new_incident_id", "resolve_config", "run_incident"]


def new_incident_id(at: datetime) -> str:
    """``inc-20240102T030405Z-3f2a9c``: sortable by time, unique across concurrent runs."""
    return f"inc-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def resolve_config(config: Config | Path | str | None, host: PluginHost) -> Config:
    """A path is loaded (validated against the registered source types), a Config is used as is,
    and nothing means ``./incident-flow.toml`` when present, else the empty environment."""
    if isinstance(config, Config):
        return config
    if config is None:
        found = find_default_config()
        return load_config(found, host.source_types()) if found is not None else Config()
    return load_config(Path(config), host.source_types())


def _incident(
    description: str,
    severity: Severity | str | None,
    system: str | None,
    at: datetime | str | None,
    incident_id: str | None,
    config: Config,
) -> Incident:
    # The contract: a detection time without an offset is UTC (the config's timezone is for logs).
    if isinstance(at, str):
        detected = parse_time(at, UTC)
    elif at is None:
        detected = datetime.now(UTC)
    elif at.tzinfo is None:
        detected = at.replace(tzinfo=UTC)
    else:
        detected = at
    return Incident(
        id=incident_id or new_incident_id(detected),
        description=description,
        detected_at=detected,
        severity_hint=Severity(severity) if severity is not None else None,
        system=system,
    )


async def arun_incident(
    description: str,
    *,
    severity: Severity | str | None = None,
    system: str | None = None,
    config: Config | Path | str | None = None,
    at: datetime | str | None = None,
    plugins: Sequence[object] = (),
    on_event: EventListener | None = None,
    incident_id: str | None = None,
    host: PluginHost | None = None,
    only: Sequence[str] | None = None,
    llm: str | None = None,
    llm_http_client: Any = None,
    approve: Approver | None = None,
    dry_run: bool = False,
    replay: bool | None = None,
) -> Report:
    """Investigate an incident and return its report.

    :param description: what was observed, in the reporter's words.
    :param severity: the declared severity; the report shows it beside the assessed one.
    :param system: the component to focus on (``--system``).
    :param config: a path to an ``incident-flow.toml``, a parsed :class:`Config`, or None.
    :param at: when the incident was detected (default: now); RFC 3339 text or a datetime.
    :param plugins: plugin objects to register for this run only (tests, embedding code).
    :param on_event: called with each progress :class:`Event`, on the event loop's thread.
    :param host: a prepared plugin host (otherwise one is built from the entry points + ``plugins``).
    :param only: run only the investigators with these names.
    :param llm: ``"off"``, ``"auto"`` or ``"anthropic"`` to override the config's ``[settings] llm``.
    :param llm_http_client: an ``httpx.AsyncClient`` for the Claude layer (a proxy, or a mock
        transport in tests); by default the SDK makes its own.
    :param approve: called with an :class:`~incident_flow.model.ActionRequest` for each step an
        action can carry out; only ``Approval.grant(request, by=...)`` lets it run. Without it
        nothing runs, ever. Plain callbacks run in a thread; ``async`` ones on the loop.
    :param dry_run: offer every step as a dry run only: nothing is changed.
    :param replay: whether the run replays a past incident (no action is offered at all);
        default: the detection time lies more than 6 hours before the run.
    :raises ConfigError: when the config file is invalid (nothing has run yet).
    """
    host = host or make_plugin_host(plugins)
    resolved = resolve_config(config, host)
    if llm is not None:
        settings = resolved.settings
        resolved = attrs.evolve(
            resolved, settings=attrs.evolve(settings, llm=attrs.evolve(settings.llm, mode=llm))
        )
    incident = _incident(description, severity, system, at, incident_id, resolved)
    listeners = [on_event] if on_event is not None else []
    return await execute(
        incident,
        resolved,
        host,
        listeners=listeners,
        only=only,
        llm_http_client=llm_http_client,
        approve=approve,
        dry_run=dry_run,
        replay=replay,
    )


def run_incident(description: str, **kwargs: Any) -> Report:
    """The synchronous form of :func:`arun_incident`, with the same arguments.

    Inside a running event loop (a webhook handler), it runs the investigation on a thread of its
    own; prefer ``await arun_incident(...)`` there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_incident(description, **kwargs))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["report"] = asyncio.run(arun_incident(description, **kwargs))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="incident-flow-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    report: Report = box["report"]
    return report
