"""Formats whose lines are key/value records: JSON lines and logfmt.

Both name their own keys, so the record's fields are the line's keys (nested JSON objects flattened
to dotted keys, ``{"log": {"level": "x"}}`` becomes ``log.level``, which is also how a literal
``"log.level"`` key reads). The time, level and message come from the usual keys below unless the
source names them with ``time_field``, ``level_field`` and ``message_field``; a stack trace in one of
the stack keys is appended to the record's text, since it belongs to the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from incident_flow.logs.base import FieldNames, LineFormat, Parsed, strip_ansi
from incident_flow.logs.levels import normalize_level
from incident_flow.logs.timestamps import TimeParser

__all__ = [
    "COMPONENT_KEYS",
    "LEVEL_KEYS",
    "MESSAGE_KEYS",
    "STACK_KEYS",
    "TIME_KEYS",
    "JsonFormat",
    "LogfmtFormat",
    "flatten_json",
]

#: Keys read for the time, in order, when ``time_field`` is not set.
TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "datetime", "asctime")
#: Keys read for the level when ``level_field`` is not set.
LEVEL_KEYS = ("level", "severity", "lvl", "log.level", "levelname", "loglevel")
#: Keys read for the message when ``message_field`` is not set.
MESSAGE_KEYS = ("message", "msg", "log", "@message")
#: Keys whose value is a stack trace that belongs to the record.
STACK_KEYS = ("exception", "exc_info", "stack_trace", "error.stack_trace", "stacktrace", "stack", "err.stack")
#: Keys read for the component when neither ``component`` nor ``component_field`` is set.
COMPONENT_KEYS = ("component", "service", "service.name", "app")

_MAX_DEPTH = 16


def _scalar(value: Any) -> str:
    """A JSON value as field text: strings as they are, ``true``/``false``, numbers, JSON otherwise."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def flatten_json(obj: Mapping[str, Any], out: dict[str, str], prefix: str = "", depth: int = 0) -> None:
    """Copy a JSON object into ``out`` as text fields, nested objects under dotted keys."""
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict) and value and depth < _MAX_DEPTH:
            flatten_json(value, out, name + ".", depth + 1)
        else:
            out[name] = _scalar(value)


class _KeyedFormat(LineFormat):
    """The part JSON and logfmt share: reading the time, level, message and stack from keys."""

    def __init__(self, times: TimeParser, names: FieldNames | None = None) -> None:
        super().__init__(times)
        names = names or FieldNames()
        self.time_keys = (names.time,) if names.time else TIME_KEYS
        self.level_keys = (names.level,) if names.level else LEVEL_KEYS
        self.message_keys = (names.message,) if names.message else MESSAGE_KEYS

    def _time(self, value: str) -> datetime | None:
        if len(value) >= 10 and value[4] == "-" and value[:4].isdigit():
            return self.times.iso(value)
        return self.times.parse(value)

    def build(self, line: str, fields: dict[str, str]) -> Parsed:
        """The parse result for a line whose keys are ``fields``."""
        at = None
        for key in self.time_keys:
            value = fields.get(key)
            if value:
                at = self._time(value)
                break
        level = None
        for key in self.level_keys:
            value = fields.get(key)
            if value:
                level = normalize_level(value)
                break
        message = None
        for key in self.message_keys:
            value = fields.get(key)
            if value is not None:
                message = strip_ansi(value.rstrip())
                break
        extra = None
        for key in STACK_KEYS:
            value = fields.get(key)
            if value:
                extra = value.rstrip()
                break
        component = None
        for key in COMPONENT_KEYS:
            value = fields.get(key)
            if value:
                component = value
                break
        return (line if message is None else message, at, level, component, fields, extra)


class JsonFormat(_KeyedFormat):
    """One JSON object per line (structlog, pino, bunyan, zap, logstash, ECS, Docker's json-file)."""

    name = "json"

    def parse(self, line: str) -> Parsed | None:
        if not line or line[0] != "{":
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        fields: dict[str, str] = {}
        try:
            flatten_json(obj, fields)
        except (ValueError, RecursionError):  # an integer too long to print, say
            return None
        return self.build(line, fields)


_PAIR = re.compile(r'([^\s="]+)(?:=("(?:[^"\\]|\\.)*(?:"|$)|\S*))?\s*')
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(value: str) -> str:
    if not value or value[0] != '"':
        return value
    inner = value[1:-1] if len(value) >= 2 and value[-1] == '"' else value[1:]
    if "\\" in inner:
        inner = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), inner)
    return inner


class LogfmtFormat(_KeyedFormat):
    """``key=value`` pairs (logfmt, logrus and zerolog text, Heroku router lines).

    A line is logfmt when it starts with a ``key=value`` pair and holds at least two of them, so a
    sentence with one ``=`` in it stays plain text.
    """

    name = "logfmt"

    def parse(self, line: str) -> Parsed | None:
        match = _PAIR.match
        m = match(line)
        if m is None or m.group(2) is None:
            return None
        fields: dict[str, str] = {}
        pairs = 0
        end = len(line)
        while m is not None:
            key, value = m.groups()
            if value is None:
                fields[key] = "true"
            else:
                fields[key] = _unquote(value)
                pairs += 1
            pos = m.end()
            if pos >= end:
                break
            m = match(line, pos)
        else:
            return None  # a token that is neither key=value nor a bare key
        if pairs < 2:
            return None
        return self.build(line, fields)
