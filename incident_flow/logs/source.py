"""The ``logs`` source type: log files, globs and ``.gz`` files read as :class:`LogRecord` streams.

:func:`read_records` is the whole pipeline as a function (the ``patterns`` command and tests use it);
:class:`LogsSource` is the same pipeline behind the :class:`~incident_flow.sources.LogSource`
interface, with the source's warnings collected for the report; :data:`LOGS_SOURCE_TYPE` registers it
as ``type = "logs"`` in ``[[sources]]``.

Records stream in file order, then line order: nothing is sorted globally, so memory stays flat
whatever the size of the logs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import attrs

from incident_flow.config import ConfigError
from incident_flow.logs.base import FieldNames
from incident_flow.logs.detect import choose_format, sample
from incident_flow.logs.formats import FORMATS, FormatOptions, make_format
from incident_flow.logs.multiline import assemble
from incident_flow.logs.nginx import compile_log_format
from incident_flow.logs.pattern import compile_pattern
from incident_flow.logs.reader import Warn, expand_paths, iter_lines
from incident_flow.logs.timestamps import TimeParser
from incident_flow.sources import LogRecord, LogSource, Option, SourceSpec, SourceType, within

__all__ = ["LOGS_SOURCE_TYPE", "LogOptions", "LogsSource", "read_records", "resolve_options"]


@attrs.frozen
class LogOptions:
    """A logs source's options, validated: the format to use and what shapes it."""

    format: str
    formatting: FormatOptions
    component: str | None = None
    component_field: str | None = None


def resolve_options(
    source_name: str,
    *,
    format: str = "auto",
    pattern: str | None = None,
    log_format: str | None = None,
    component: str | None = None,
    component_field: str | None = None,
    time_field: str | None = None,
    level_field: str | None = None,
    message_field: str | None = None,
) -> LogOptions:
    """Validate and compile the options; a bad value is a ConfigError naming ``sources.<name>.<key>``.

    ``pattern`` with ``format = "auto"`` means ``pattern``; ``log_format`` with ``auto`` means ``nginx``.
    """

    def fail(key: str, expected: str) -> ConfigError:
        return ConfigError(None, f"sources.{source_name}.{key}", expected)

    if not isinstance(format, str) or format not in FORMATS:
        raise fail("format", f"one of {', '.join(FORMATS)} (got {format!r})")
    texts = {
        "pattern": pattern,
        "log_format": log_format,
        "component": component,
        "component_field": component_field,
        "time_field": time_field,
        "level_field": level_field,
        "message_field": message_field,
    }
    for key, value in texts.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, f"a non-empty string (got {value!r})")
    compiled_pattern = None
    if pattern is not None:
        if format not in ("auto", "pattern"):
            raise fail("pattern", f'a pattern goes with format = "pattern" (this source says "{format}")')
        try:
            compiled_pattern = compile_pattern(pattern)
        except ValueError as exc:
            raise fail("pattern", str(exc)) from None
        format = "pattern"
    elif format == "pattern":
        raise fail("pattern", "a layout such as '<Date> <Time> <Level> <Content>' for format = \"pattern\"")
    compiled_log_format = None
    if log_format is not None:
        if format not in ("auto", "nginx"):
            raise fail("log_format", f'a log_format goes with format = "nginx" (this source says "{format}")')
        try:
            compiled_log_format = compile_log_format(log_format)
        except ValueError:
            raise fail("log_format", "an nginx log_format string with $variables, as in nginx.conf") from None
        format = "nginx"
    names = FieldNames(time=time_field, level=level_field, message=message_field)
    return LogOptions(
        format=format,
        formatting=FormatOptions(pattern=compiled_pattern, log_format=compiled_log_format, names=names),
        component=component,
        component_field=component_field,
    )


def _ignore(_: str) -> None:
    return None


def _read(
    paths: Sequence[Path | str],
    options: LogOptions,
    *,
    timezone: tzinfo | None,
    reference_time: datetime | None,
    source_name: str,
    warn: Warn,
    on_format: Callable[[str, str], None] | None = None,
) -> Iterator[LogRecord]:
    times = TimeParser(timezone, reference_time)
    if isinstance(paths, str | os.PathLike):  # one path given bare: not a sequence of characters
        paths = [paths]
    for path in expand_paths(paths, warn):
        lines: Iterator[str] = iter_lines(path, warn)
        if options.format == "auto":
            head, lines = sample(lines)
            fmt = choose_format(head, times, options.formatting)
        else:
            fmt = make_format(options.format, times, options.formatting)
        if on_format is not None:
            on_format(str(path), fmt.name)
        yield from assemble(
            lines,
            fmt,
            source=source_name,
            path=str(path),
            component=options.component,
            component_field=options.component_field,
            warn=warn,
        )


def read_records(
    paths: Sequence[Path | str],
    *,
    format: str = "auto",
    pattern: str | None = None,
    log_format: str | None = None,
    component: str | None = None,
    component_field: str | None = None,
    time_field: str | None = None,
    level_field: str | None = None,
    message_field: str | None = None,
    timezone: tzinfo | None = None,
    reference_time: datetime | None = None,
    source_name: str = "logs",
    warn: Callable[[str], None] | None = None,
) -> Iterator[LogRecord]:
    """Stream the records of log files, globs and ``.gz`` files, in file order then line order.

    The options are those of the ``logs`` source type (see :data:`LOGS_SOURCE_TYPE`); they are
    checked before anything is read, and a bad one raises :class:`~incident_flow.config.ConfigError`
    for ``sources.<source_name>.<key>``. ``timezone`` is the zone of timestamps without an offset
    (UTC when None); ``reference_time`` places year-less timestamps (now when None). Problems that
    lose data (a missing file, a binary file, a truncated gzip, a cut line) go to ``warn``.
    """
    options = resolve_options(
        source_name,
        format=format,
        pattern=pattern,
        log_format=log_format,
        component=component,
        component_field=component_field,
        time_field=time_field,
        level_field=level_field,
        message_field=message_field,
    )
    return _read(
        paths,
        options,
        timezone=timezone,
        reference_time=reference_time,
        source_name=source_name,
        warn=warn or _ignore,
    )


class LogsSource(LogSource):
    """Log files as a source of records; see :func:`read_records` for the options.

    ``reference_time`` places syslog's year-less timestamps; the run sets it to its detection time.
    ``formats`` maps each file read so far to the format it was read with (what ``auto`` chose).
    A read parses the files whole whatever the window, so the run shares one scan among its
    investigators (``shared_scan``).
    """

    shared_scan = True

    def __init__(
        self,
        name: str,
        paths: Sequence[Path | str],
        *,
        format: str = "auto",
        pattern: str | None = None,
        log_format: str | None = None,
        component: str | None = None,
        component_field: str | None = None,
        time_field: str | None = None,
        level_field: str | None = None,
        message_field: str | None = None,
        timezone: tzinfo | None = None,
        reference_time: datetime | None = None,
    ) -> None:
        super().__init__(name)
        self.options = resolve_options(
            name,
            format=format,
            pattern=pattern,
            log_format=log_format,
            component=component,
            component_field=component_field,
            time_field=time_field,
            level_field=level_field,
            message_field=message_field,
        )
        self.paths = tuple(paths)
        self.timezone = timezone
        self.reference_time = reference_time
        self.formats: dict[str, str] = {}

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogRecord]:
        """The records with ``since <= at < until``, and every record without a time."""
        stream = _read(
            self.paths,
            self.options,
            timezone=self.timezone,
            reference_time=self.reference_time,
            source_name=self.name,
            warn=self.warn,
            on_format=self.formats.__setitem__,
        )
        yield from within(stream, since, until)

    def describe(self) -> str:
        shown = ", ".join(os.fspath(p) for p in self.paths[:3]) + (" ..." if len(self.paths) > 3 else "")
        return f"logs {self.name}: {shown} (format {self.options.format})"


_TEXT_OPTIONS = (
    "pattern",
    "log_format",
    "component",
    "component_field",
    "time_field",
    "level_field",
    "message_field",
)


def create_logs_source(spec: SourceSpec) -> LogsSource:
    """The ``logs`` factory: paths resolve against the config file's folder, the zone from settings."""
    options: dict[str, Any] = dict(spec.options)
    raw = options.get("paths")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw or not all(isinstance(p, str) and p.strip() for p in raw):
        raise ConfigError(None, f"sources.{spec.name}.paths", "a non-empty list of file paths or globs")
    texts = {key: options.get(key) for key in _TEXT_OPTIONS}
    return LogsSource(
        spec.name,
        [spec.path(p) for p in raw],
        format=options.get("format") or "auto",
        timezone=spec.settings.timezone,
        **texts,
    )


#: ``type = "logs"`` in ``[[sources]]``.
LOGS_SOURCE_TYPE = SourceType(
    name="logs",
    factory=create_logs_source,
    description="log files, globs (** recursive) and .gz files: JSON, logfmt, nginx, syslog, PostgreSQL, "
    "Python/Java/Go application logs, or a loghub-style pattern; multi-line stack traces stay one record",
    options={
        "paths": Option(
            (list[str],),
            "files or globs (** is recursive; .gz read transparently), relative to the config file",
            required=True,
        ),
        "format": Option(
            (str,),
            "one of " + ", ".join(FORMATS) + "; auto detects per file",
            default="auto",
        ),
        "pattern": Option(
            (str,),
            "a line layout in loghub notation, e.g. '<Date> <Time> <Level> <Component>: <Content>', "
            'or a regex with (?P<name>...) groups; implies format = "pattern"',
        ),
        "log_format": Option(
            (str,),
            'the nginx log_format string (or directive) pasted from nginx.conf; implies format = "nginx"',
        ),
        "component": Option((str,), "the component every record of this source belongs to"),
        "component_field": Option(
            (str,),
            "the field that holds each record's component (service in JSON, host in syslog, a pattern group)",
        ),
        "time_field": Option((str,), "the key (json, logfmt) or pattern group holding the time"),
        "level_field": Option((str,), "the key (json, logfmt) or pattern group holding the level"),
        "message_field": Option((str,), "the key (json, logfmt) or pattern group holding the message"),
    },
)
