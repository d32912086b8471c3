"""One vocabulary of levels, whatever the log wrote.

Investigators ask "how many errors?" across sources that write ``ERROR``, ``err``, ``E``, ``50``,
``SEVERE`` or a syslog priority. Every format maps its level to one of :data:`LEVELS`; a value this
module does not know becomes ``None`` (it stays in the record's ``fields`` under its own name), so a
hostname that a loose layout put in the level position is never counted as a level.
"""

from __future__ import annotations

__all__ = ["LEVELS", "level_from_status", "level_from_syslog", "normalize_level"]

#: The canonical levels, least to most severe.
LEVELS = ("trace", "debug", "info", "notice", "warning", "error", "critical")

_ALIASES = {
    "trace": "trace",
    "finest": "trace",
    "verbose": "trace",
    "debug": "debug",
    "finer": "debug",
    "fine": "debug",
    "config": "debug",
    "debug1": "debug",
    "debug2": "debug",
    "debug3": "debug",
    "debug4": "debug",
    "debug5": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "log": "info",  # PostgreSQL's LOG
    "notice": "notice",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "severe": "error",
    "crit": "critical",
    "critical": "critical",
    "fatal": "critical",
    "alert": "critical",
    "emerg": "critical",
    "emergency": "critical",
    "panic": "critical",
    "dpanic": "critical",
    # one-letter levels: klog/glog, Android, zerolog's console writer
    "t": "trace",
    "v": "trace",
    "d": "debug",
    "i": "info",
    "n": "notice",
    "w": "warning",
    "e": "error",
    "f": "critical",
    "c": "critical",
    # pino and bunyan write numbers
    "10": "trace",
    "20": "debug",
    "30": "info",
    "40": "warning",
    "50": "error",
    "60": "critical",
}

# Exact spellings looked up first, so the common case costs one dict lookup and no lower().
_FAST = {
    **_ALIASES,
    **{k.upper(): v for k, v in _ALIASES.items()},
    **{k.title(): v for k, v in _ALIASES.items()},
}

_SYSLOG_SEVERITY = ("critical", "critical", "critical", "error", "warning", "notice", "info", "debug")


def normalize_level(value: str | None) -> str | None:
    """The canonical level for a level as written, or None when it is not a level."""
    if not value:
        return None
    found = _FAST.get(value)
    if found is None:
        found = _ALIASES.get(value.strip().strip("[]<>:").lower())
    return found


def level_from_syslog(priority: int) -> str:
    """The level of a syslog PRI value (facility * 8 + severity)."""
    return _SYSLOG_SEVERITY[priority % 8]


def level_from_status(status: str) -> str:
    """An HTTP status as a level: 5xx is an error, 4xx a warning, anything else info."""
    first = status[:1]
    if first == "5":
        return "error"
    if first == "4":
        return "warning"
    return "info"
