"""The run's sources as read-only tools for the model, each answer redacted and capped.

What the model may ask, and only this (no tool writes, runs or reaches anything):

- ``search_logs``: records by text, template, component, level and time;
- ``list_log_templates``: the log templates of the window with their counts before and after the
  pivot (the onset the deterministic investigators measured), new and surging ones first;
- ``query_metric``: the metric catalogue ranked by departure from baseline, or one series downsampled;
- ``list_changes``: commits, deploys, flag flips in the change window;
- ``show_diff``: a commit's patch (from a source that has diffs: ``git``);
- ``top_statements``: the database statements that took the most time (``postgres``).

A tool is offered only when a source can answer it. Every answer is JSON: log text travels as
string values, never as prose the model might read as instructions. Every string is redacted before
serialisation (:class:`~incident_flow.llm.redaction.SafeText`), and every answer is cut to
``tool_result_chars`` with a note that tells the model to narrow its query. The payload that was
finally shown is kept (:attr:`ToolResult.payload`): citations are checked against it.

The work runs in daemon threads (sources are blocking), bounded by the agent's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from incident_flow.analysis.templates import TemplateMiner
from incident_flow.llm.redaction import SafeText
from incident_flow.logs.levels import normalize_level
from incident_flow.model import Change
from incident_flow.sources import ChangeSource, LogRecord, LogSource, MetricSeries, MetricSource, Source
from incident_flow.timeutil import format_time, parse_time

if TYPE_CHECKING:
    from incident_flow.context import InvestigationContext

__all__ = ["READ_ONLY_TOOLS", "SourceIndex", "ToolError", "ToolResult", "Toolbox", "cap_payload"]

READ_ONLY_TOOLS = (
    "search_logs",
    "list_log_templates",
    "query_metric",
    "list_changes",
    "show_diff",
    "top_statements",
)

#: Keys of a payload that echo the model's own words or are our notes: never citable evidence.
UNCITABLE_KEYS = frozenset({"request", "note"})

_MAX_RECORD_CHARS = 600
_NARROW = (
    "Result cut to fit {limit} characters ({shown} of {total} items shown): narrow your query "
    "(a component, a template id, a level, a shorter time range or a lower limit) instead of repeating it."
)


class ToolError(Exception):
    """A call the tool cannot answer (bad argument, nothing to read); the model is told why."""


@attrs.frozen
class ToolResult:
    """What a tool call gave the model: ``text`` went into the ``tool_result`` block."""

    name: str
    text: str
    payload: Any = None
    is_error: bool = False
    truncated: bool = False
    changes: Mapping[str, Change] = attrs.field(factory=dict)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def _sig(value: float | None, digits: int = 4) -> float | int | None:
    """A figure rounded to a few significant digits (readable, and citable exactly as shown)."""
    if value is None or not math.isfinite(value):
        return None
    rounded = float(f"{value:.{digits}g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded


def _shorten_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, dict):
        return {k: _shorten_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(v, limit) for v in value]
    return value


def cap_payload(payload: dict[str, Any], items_key: str | None, limit: int) -> tuple[dict[str, Any], bool]:
    """``payload`` cut to at most ``limit`` characters of JSON, with a note saying how to narrow.

    Whole items go first (the tail of ``payload[items_key]``), then long strings are shortened; a
    cut never produces broken JSON or half an escape sequence.
    """
    if len(_dumps(payload)) <= limit:
        return payload, False
    items = list(payload.get(items_key) or []) if items_key else []
    total = len(items)

    def with_items(n: int, strings: int | None = None) -> dict[str, Any]:
        cut = dict(payload)
        if items_key:
            cut[items_key] = items[:n]
            if "shown" in cut:
                cut["shown"] = n
        if strings is not None:
            cut = _shorten_strings(cut, strings)
        cut["truncated"] = True
        cut["note"] = _NARROW.format(limit=limit, shown=n, total=total)
        return cut

    if items_key and total:
        lo, hi = 0, total
        while lo < hi:  # the largest n that fits
            mid = (lo + hi + 1) // 2
            if len(_dumps(with_items(mid))) <= limit:
                lo = mid
            else:
                hi = mid - 1
        if lo > 0:
            return with_items(lo), True
    n = min(total, 5)
    for strings in (2000, 1000, 500, 250, 120, 60):
        cut = with_items(n, strings)
        if len(_dumps(cut)) <= limit:
            return cut, True
        n = max(n - 1, 0) if n > 1 else n
    return {"truncated": True, "note": _NARROW.format(limit=limit, shown=0, total=total)}, True


def _ref(record: LogRecord) -> str:
    where = os.path.basename(record.path) if record.path else record.source
    return f"{where}:{record.line}"


def _record_item(record: LogRecord) -> dict[str, Any]:
    text = (
        record.text if len(record.text) <= _MAX_RECORD_CHARS else record.text[: _MAX_RECORD_CHARS - 1] + "…"
    )
    # The raw text already carries the time and the level: not repeated, to spare tokens.
    return {"ref": _ref(record), "component": record.component or record.source, "text": text}


@attrs.define
class _TemplateStats:
    template: str
    components: dict[str, int] = attrs.field(factory=dict)
    before: int = 0
    after: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    example: str = ""
    example_after: str = ""


def _status(stats: _TemplateStats, minutes_before: float, minutes_after: float) -> str:
    rate_before = stats.before / minutes_before if minutes_before > 0 else 0.0
    rate_after = stats.after / minutes_after if minutes_after > 0 else 0.0
    if stats.before == 0 and stats.after > 0:
        return "new"
    if stats.after == 0 and stats.before > 0:
        return "gone"
    if stats.after >= 3 and rate_after >= 3 * rate_before:
        return "surging"
    if stats.before >= 3 and rate_after * 3 <= rate_before:
        return "dropping"
    return "steady"


_STATUS_ORDER = {"new": 0, "surging": 1, "gone": 2, "dropping": 3, "steady": 4}


class SourceIndex:
    """What the agents of one run share: the templates mined once over the window.

    Mining reads every record of the window once, so it is done lazily, once per run, under a lock
    (the agents' tools run in threads); the miner then classifies messages for ``search_logs``.
    """

    def __init__(self, ctx: InvestigationContext, pivot: datetime) -> None:
        self._ctx = ctx
        self.pivot = pivot
        self._lock = threading.Lock()
        self._miner: TemplateMiner | None = None
        self._templates: dict[str, _TemplateStats] = {}
        self._span: tuple[datetime, datetime] | None = None

    def _mine(self) -> None:
        if self._miner is not None:
            return
        miner = TemplateMiner()
        raw: dict[str, _TemplateStats] = {}
        first: datetime | None = None
        last: datetime | None = None
        for record in self._ctx.log_records():
            template = miner.add(record.message)
            stats = raw.get(template.id)
            if stats is None:
                stats = raw[template.id] = _TemplateStats(template=template.template)
            component = record.component or record.source
            stats.components[component] = stats.components.get(component, 0) + 1
            if record.at is not None:
                first = record.at if first is None or record.at < first else first
                last = record.at if last is None or record.at > last else last
                stats.first_at = (
                    record.at if stats.first_at is None or record.at < stats.first_at else stats.first_at
                )
                stats.last_at = (
                    record.at if stats.last_at is None or record.at > stats.last_at else stats.last_at
                )
            if record.at is not None and record.at >= self.pivot:
                stats.after += 1
                if not stats.example_after:
                    stats.example_after = record.message[:300]
            else:
                stats.before += 1
            if not stats.example:
                stats.example = record.message[:300]
        merged: dict[str, _TemplateStats] = {}
        for tid, stats in raw.items():
            live = miner.get(tid)
            target = merged.get(live.id)
            if target is None:
                merged[live.id] = attrs.evolve(
                    stats, template=live.template, components=dict(stats.components)
                )
                continue
            for name, count in stats.components.items():
                target.components[name] = target.components.get(name, 0) + count
            target.before += stats.before
            target.after += stats.after
            if stats.first_at and (target.first_at is None or stats.first_at < target.first_at):
                target.first_at = stats.first_at
            if stats.last_at and (target.last_at is None or stats.last_at > target.last_at):
                target.last_at = stats.last_at
            target.example = target.example or stats.example
            target.example_after = target.example_after or stats.example_after
        self._templates = merged
        self._miner = miner
        if first is not None and last is not None:
            self._span = (first, last)

    def templates(self) -> tuple[dict[str, _TemplateStats], tuple[datetime, datetime] | None]:
        with self._lock:
            self._mine()
            return self._templates, self._span

    def template_of(self, message: str) -> str | None:
        """The id of the template ``message`` belongs to (after mining), or None."""
        with self._lock:
            self._mine()
            assert self._miner is not None
            found = self._miner.match(message)
            return None if found is None else self._miner.resolve(found.id)


_TIME_PROPS = {
    "since": {"type": "string", "description": "RFC 3339"},
    "until": {"type": "string"},
}

_SPECS: dict[str, dict[str, Any]] = {
    "search_logs": {
        "description": "Log records matching every filter given, and how many matched.",
        "input_schema": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "case-insensitive substring"},
                "template": {"type": "string", "description": "id from list_log_templates"},
                "component": {"type": "string"},
                "level": {"type": "string"},
                **_TIME_PROPS,
                "limit": {"type": "integer"},
            },
        },
    },
    "list_log_templates": {
        "description": "Log templates with counts before/after the pivot; new and surging first.",
        "input_schema": {
            "type": "object",
            "properties": {
                "component": {"type": "string"},
                "status": {"type": "string", "enum": ["new", "surging", "gone", "dropping", "steady"]},
                "limit": {"type": "integer"},
            },
        },
    },
    "query_metric": {
        "description": "No series: all series ranked by departure from baseline. A series: its points.",
        "input_schema": {
            "type": "object",
            "properties": {
                "series": {"type": "string"},
                "component": {"type": "string"},
                "limit": {"type": "integer"},
                **_TIME_PROPS,
                "points": {"type": "integer"},
            },
        },
    },
    "list_changes": {
        "description": "Commits, deploys, config and flag changes, newest first.",
        "input_schema": {
            "type": "object",
            "properties": {
                "component": {"type": "string"},
                **_TIME_PROPS,
                "limit": {"type": "integer"},
            },
        },
    },
    "show_diff": {
        "description": "The patch of a commit from list_changes, optionally of one file.",
        "input_schema": {
            "type": "object",
            "properties": {"change_id": {"type": "string"}, "path": {"type": "string"}},
            "required": ["change_id"],
        },
    },
    "top_statements": {
        "description": "Database statements by total execution time.",
        "input_schema": {
            "type": "object",
            "properties": {"limit": {"type": "integer"}},
        },
    },
}


def _has(source: object, method: str) -> bool:
    return callable(getattr(source, method, None))


def available_tools(ctx: InvestigationContext) -> list[str]:
    """The read-only tools some configured source can answer, in a fixed order."""
    names = []
    if ctx.sources(LogSource):
        names += ["search_logs", "list_log_templates"]
    if ctx.sources(MetricSource):
        names.append("query_metric")
    if ctx.sources(ChangeSource):
        names.append("list_changes")
        if any(_has(s, "diff") for s in ctx.sources(ChangeSource)):
            names.append("show_diff")
    if any(_has(s, "statements") for s in ctx.sources(Source)):
        names.append("top_statements")
    return names


def tool_specs(names: Sequence[str]) -> list[dict[str, Any]]:
    """The Messages API ``tools`` entries for ``names``."""
    return [{"name": name, **_SPECS[name]} for name in names]


async def _in_daemon_thread(func: Callable[[], Any], timeout: float) -> Any:
    """Run blocking source work off the loop; a hung source is abandoned at ``timeout``."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def target() -> None:
        try:
            result, error = func(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed while this thread was abandoned
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name="incident-flow-llm-tool", daemon=True).start()
    return await asyncio.wait_for(future, timeout)


def _text(args: Mapping[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ToolError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _int(args: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"{key}: expected an integer, got {type(value).__name__}")
    return max(low, min(high, int(value)))


class Toolbox:
    """One agent's tools over the run's sources (its own context, so the audit names the agent)."""

    def __init__(
        self,
        ctx: InvestigationContext,
        index: SourceIndex,
        safe: SafeText,
        *,
        result_chars: int = 4000,
    ) -> None:
        self.ctx = ctx
        self.index = index
        self.safe = safe
        self.result_chars = result_chars
        self.names = available_tools(ctx)

    def specs(self) -> list[dict[str, Any]]:
        return tool_specs(self.names)

    async def call(self, name: str, args: Mapping[str, Any], *, timeout: float) -> ToolResult:
        """Answer one call; every failure is an error result for the model, never an exception."""
        if name not in self.names:
            offered = ", ".join(self.names) or "none"
            return self._error(name, f"unknown tool {name!r}; the tools are read-only: {offered}")
        handler: Callable[[Mapping[str, Any]], tuple[dict[str, Any], str | None, dict[str, Change]]]
        handler = getattr(self, f"_{name}")
        self.ctx.audit("llm.tool", tool=name, arguments=self.safe.redact_value(dict(args)))
        try:
            payload, items_key, changes = await _in_daemon_thread(lambda: handler(args), max(timeout, 0.01))
        except ToolError as exc:
            return self._error(name, str(exc))
        except TimeoutError:
            return self._error(name, "the source did not answer within the time budget; narrow the query")
        except Exception as exc:  # a source's bug must not end the conversation
            return self._error(name, f"the source failed: {type(exc).__name__}: {exc}")
        safe_payload = self.safe.redact_value(payload)
        shown, truncated = cap_payload(safe_payload, items_key, self.result_chars)
        return ToolResult(name, _dumps(shown), payload=shown, truncated=truncated, changes=changes)

    def _error(self, name: str, message: str) -> ToolResult:
        text = _dumps({"error": self.safe.redact(message)})
        return ToolResult(name, text, payload=None, is_error=True)

    # -- time ------------------------------------------------------------------------------------

    def _window(self, args: Mapping[str, Any]) -> tuple[datetime, datetime | None]:
        since, until = self.ctx.window_start, self.ctx.window_end
        try:
            if (text := _text(args, "since")) is not None:
                since = parse_time(text, UTC)
            if (text := _text(args, "until")) is not None:
                until = parse_time(text, UTC)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return since, until

    def _query(self, args: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        # The model's own arguments, echoed for its reading only (not citable).
        return {key: args[key] for key in keys if key in args}

    # -- tools -----------------------------------------------------------------------------------

    def _search_logs(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        text = _text(args, "text")
        needle = self.safe.restore(text).lower() if text else None  # a placeholder searches its secret
        template = _text(args, "template")
        component = _text(args, "component")
        wanted = _text(args, "level")
        level = (normalize_level(wanted) or wanted.lower()) if wanted else None
        limit = _int(args, "limit", 10, 1, 50)
        since, until = self._window(args)
        if template is not None:
            known, _ = self.index.templates()
            if template not in known:
                raise ToolError(f"unknown template id {template!r}: take one from list_log_templates")
        matched = 0
        items: list[dict[str, Any]] = []
        by_component: dict[str, int] = {}
        first: datetime | None = None
        last: datetime | None = None
        for record in self.ctx.log_records(since, until):
            if component is not None and (record.component or record.source) != component:
                continue
            if level is not None and (record.level or "") != level:
                continue
            if needle is not None and needle not in record.text.lower():
                continue
            if template is not None and self.index.template_of(record.message) != template:
                continue
            matched += 1
            name = record.component or record.source
            by_component[name] = by_component.get(name, 0) + 1
            if record.at is not None:
                first = record.at if first is None or record.at < first else first
                last = record.at if last is None or record.at > last else last
            if len(items) < limit:
                items.append(_record_item(record))
        payload = {
            "request": self._query(
                args, ("text", "template", "component", "level", "since", "until", "limit")
            ),
            "matched": matched,
            "by_component": by_component,
            "first_at": format_time(first) if first else None,
            "last_at": format_time(last) if last else None,
            "shown": len(items),
            "records": items,
        }
        return payload, "records", {}

    def _list_log_templates(
        self, args: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        component = _text(args, "component")
        status = _text(args, "status")
        limit = _int(args, "limit", 10, 1, 50)
        templates, span = self.index.templates()
        if span is None:
            return {"templates": [], "note": "no timed log records in the window"}, "templates", {}
        pivot = self.index.pivot
        minutes_before = max((pivot - span[0]).total_seconds() / 60, 0.0)
        minutes_after = max((span[1] - pivot).total_seconds() / 60, 0.0)
        rows = []
        for tid, stats in templates.items():
            if component is not None and component not in stats.components:
                continue
            state = _status(stats, minutes_before, minutes_after)
            if status is not None and state != status:
                continue
            rows.append((tid, stats, state))
        rows.sort(key=lambda r: (_STATUS_ORDER[r[2]], -r[1].after, -r[1].before, r[0]))
        items = []
        for tid, stats, state in rows[:limit]:
            item: dict[str, Any] = {
                "id": tid,
                "template": stats.template[:240],
                "status": state,
                "before": stats.before,
                "after": stats.after,
                "components": stats.components,
                "first_at": format_time(stats.first_at) if stats.first_at else None,
            }
            example = stats.example_after or stats.example
            if example != stats.template:  # a template without variables is its own example
                item["example"] = example[:240]
            items.append(item)
        payload = {
            "request": self._query(args, ("component", "status", "limit")),
            "pivot": format_time(pivot),
            "window": {"from": format_time(span[0]), "to": format_time(span[1])},
            "minutes": {"before": _sig(minutes_before, 3), "after": _sig(minutes_after, 3)},
            "templates_total": len(rows),
            "templates": items,
        }
        return payload, "templates", {}

    def _series(self, args: Mapping[str, Any]) -> Iterator[MetricSeries]:
        since, until = self._window(args)
        if until is None:
            until = self.ctx.detected_at + max(self.ctx.settings.lookback, timedelta(minutes=30))
        yield from self.ctx.metric_series(since, until)

    def _query_metric(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        from incident_flow.analysis.anomaly import rank_series

        name = _text(args, "series")
        component = _text(args, "component")
        series = [s for s in self._series(args) if component is None or s.component == component]
        pivot = self.index.pivot
        request = self._query(args, ("series", "component", "since", "until", "points"))
        if name is None:
            items = []
            ranked = rank_series(series, pivot)
            for score in ranked[: _int(args, "limit", 15, 1, 50)]:
                items.append(
                    {
                        "series": score.series.name,
                        "component": score.series.component,
                        "baseline": _sig(score.baseline),
                        "after": _sig(score.after),
                        "score": _sig(score.score, 3),
                        "direction": score.direction,
                    }
                )
            payload = {
                "request": request,
                "pivot": format_time(pivot),
                "series_total": len(ranked),
                "series": items,
            }
            return payload, "series", {}
        chosen = [s for s in series if s.name == name] or [s for s in series if name in s.name]
        if not chosen:
            raise ToolError(f"no series named {name!r}: call query_metric without series for the catalogue")
        if len(chosen) > 1:
            names = ", ".join(s.name for s in chosen[:10])
            raise ToolError(f"{len(chosen)} series match {name!r} ({names}); give the full name")
        target = chosen[0]
        points = _int(args, "points", 30, 5, 60)
        pairs = [(t, v) for t, v in zip(target.times, target.values, strict=True) if math.isfinite(v)]
        if not pairs:
            raise ToolError(f"series {target.name!r} has no values in the window")
        start, end = pairs[0][0], pairs[-1][0]
        width = (end - start) / points if end > start else 1.0
        buckets: dict[int, list[float]] = {}
        for t, v in pairs:
            buckets.setdefault(min(int((t - start) / width), points - 1), []).append(v)
        cut = pivot.timestamp()
        before = [v for t, v in pairs if t < cut]
        after = [v for t, v in pairs if t >= cut]

        def summary(values: list[float]) -> dict[str, Any]:
            if not values:
                return {"points": 0}
            return {
                "points": len(values),
                "median": _sig(statistics.median(values)),
                "min": _sig(min(values)),
                "max": _sig(max(values)),
            }

        payload = {
            "request": request,
            "series": target.name,
            "component": target.component,
            "metric": target.metric,
            "query": target.query,
            "pivot": format_time(pivot),
            "before_pivot": summary(before),
            "after_pivot": summary(after),
            "points": [
                [
                    format_time(datetime.fromtimestamp(start + (i + 0.5) * width, UTC)),
                    _sig(statistics.fmean(vs)),
                ]
                for i, vs in sorted(buckets.items())
            ],
        }
        return payload, "points", {}

    def _list_changes(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        component = _text(args, "component")
        limit = _int(args, "limit", 10, 1, 50)
        since, until = self._window(args) if ("since" in args or "until" in args) else (None, None)
        if "since" not in args:
            since = self.ctx.change_since
        changes = [
            c
            for c in self.ctx.changes(since, until)
            if component is None or c.component == component or any(component in f for f in c.files)
        ]
        changes.sort(key=lambda c: c.at, reverse=True)
        items = [
            {
                "id": c.id,
                "at": format_time(c.at),
                "kind": c.kind,
                "component": c.component,
                "author": c.author,
                "summary": c.summary[:300],
                "files": list(c.files[:10]),
                "files_total": len(c.files),
            }
            for c in changes[:limit]
        ]
        payload = {
            "request": self._query(args, ("component", "since", "until", "limit")),
            "changes_total": len(changes),
            "changes": items,
        }
        return payload, "changes", {c.id: c for c in changes[:limit]}

    def _show_diff(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        change_id = _text(args, "change_id")
        if change_id is None:
            raise ToolError("change_id is required")
        path = _text(args, "path")
        problems = []
        for source in self.ctx.sources(ChangeSource):
            diff = getattr(source, "diff", None)
            if not callable(diff):
                continue
            self.ctx.audit("source.query", source=source.name, what="diff", change=change_id)
            try:
                text = str(diff(change_id, max_bytes=200_000))
            except Exception as exc:
                problems.append(f"{source.name}: {exc}")
                continue
            if path is not None:
                parts = ["diff --git " + p for p in text.split("diff --git ")[1:]]
                text = "".join(p for p in parts if path in p.partition("\n")[0]) or ""
                if not text:
                    raise ToolError(f"change {change_id} does not touch a file matching {path!r}")
            lines = text.splitlines()
            payload = {
                "request": self._query(args, ("change_id", "path")),
                "lines_total": len(lines),
                "diff": lines,
            }
            return payload, "diff", {}
        if problems:
            raise ToolError("; ".join(problems))
        raise ToolError("no source holds diffs for this change (deploys and flag flips have none)")

    def _top_statements(
        self, args: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None, dict[str, Change]]:
        limit = _int(args, "limit", 10, 1, 30)
        for source in self.ctx.sources(Source):
            statements = getattr(source, "statements", None)
            if not callable(statements):
                continue
            self.ctx.audit("source.query", source=source.name, what="statements")
            workload = statements(interval=0)
            if not workload.available:
                raise ToolError(f"{source.name}: {workload.reason}")
            rows = sorted(workload.statements, key=lambda s: -s.stats.total_ms)
            items = [
                {
                    "query": row.stats.query[:400],
                    "role": row.stats.role,
                    "calls": row.stats.calls,
                    "total_ms": _sig(row.stats.total_ms),
                    "mean_ms": _sig(row.stats.mean_ms),
                    "max_ms": _sig(row.stats.max_ms),
                    "rows": row.stats.rows,
                }
                for row in rows[:limit]
            ]
            payload = {"request": self._query(args, ("limit",)), "source": source.name, "statements": items}
            return payload, "statements", {}
        raise ToolError("no database source is configured")
