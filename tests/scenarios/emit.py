"""Log records and the text formats real software writes them in.

A scenario builds :class:`Record` values (a time, a level, a message, a logger, a stack trace) and
:class:`Access` values (one HTTP request through a web server); the writers here turn them into the
lines that the named software would have written: Python ``logging`` and gunicorn, logback and Spring
Boot, logstash-logback JSON, structlog JSON, Go's ``log`` package, logrus and go-kit logfmt, zap JSON,
pino JSON, nginx's access and error logs, syslog (RFC 3164 and 5424), PostgreSQL's server log and
Docker's ``json-file`` driver. They are written from how that software formats its output, not from
what incident-flow's readers expect, so a reader that mis-reads one of them shows up as a failing case.

Each writer returns the text of one record, possibly several lines (a stack trace stays under its
record, the way the software prints it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "LOG_WRITERS",
    "Access",
    "Record",
    "Writer",
    "config_format",
    "render",
]

#: Syslog priorities (facility * 8 + severity) use these severities.
_SYSLOG_SEVERITY = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "error": 3, "critical": 2}


@dataclass
class Record:
    """One log event of an application, a database, a daemon or the kernel.

    ``level`` is one of ``debug info notice warning error critical``; each writer spells it the way
    its software does (``WARN``, ``ERROR:``, pino's 50...). ``trace`` is a stack trace or any
    continuation text, printed under the first line (or in the format's own stack-trace key).
    ``fields`` are structured context (logfmt pairs, JSON keys); text formats fold the important ones
    into the message already, so they are not repeated there.
    """

    at: datetime
    level: str
    message: str
    logger: str = ""
    thread: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    trace: str | None = None
    app: str = ""  # syslog tag / program name
    pid: int | None = None
    host: str = ""


@dataclass
class Access:
    """One HTTP request as a web server logs it (nginx's ``combined`` plus two timings)."""

    at: datetime
    remote_addr: str
    method: str
    path: str
    status: int
    body_bytes: int
    user_agent: str
    request_time: float
    upstream_time: float | None
    referer: str = "-"
    protocol: str = "HTTP/1.1"


Writer = Callable[[object, "Context"], str]


@dataclass(frozen=True)
class Context:
    """What a writer needs to know about the process writing the log."""

    service: str
    host: str
    pid: int
    app_name: str = ""


# -- time helpers -----------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ms(at: datetime) -> str:
    return f"{at.microsecond // 1000:03d}"


def iso_z(at: datetime, digits: int = 3) -> str:
    """``2026-01-05T14:02:12.755Z`` with ``digits`` fractional digits (0 for none)."""
    at = at.astimezone(UTC)
    base = at.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        base += "." + f"{at.microsecond:06d}"[:digits]
    return base + "Z"


def _epoch(at: datetime) -> float:
    return at.timestamp()


# -- application formats ----------------------------------------------------------------------------


def python_text(rec: Record, ctx: Context) -> str:
    """``logging.Formatter('%(asctime)s %(levelname)s [%(name)s] %(message)s')``; traceback below."""
    level = {"warning": "WARNING", "critical": "CRITICAL"}.get(rec.level, rec.level.upper())
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + "," + _ms(rec.at)
    line = f"{stamp} {level} [{rec.logger or ctx.service}] {rec.message}"
    return line + ("\n" + rec.trace if rec.trace else "")


def python_dashed(rec: Record, ctx: Context) -> str:
    """``'%(asctime)s - %(name)s - %(levelname)s - %(message)s'``, the logging cookbook's layout."""
    level = rec.level.upper()
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + "," + _ms(rec.at)
    line = f"{stamp} - {rec.logger or ctx.service} - {level} - {rec.message}"
    return line + ("\n" + rec.trace if rec.trace else "")


def gunicorn_text(rec: Record, ctx: Context) -> str:
    """gunicorn's error log: ``[2026-01-05 14:02:13 +0000] [12] [INFO] message``."""
    level = rec.level.upper()
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + " +0000"
    line = f"[{stamp}] [{rec.pid or ctx.pid}] [{level}] {rec.message}"
    return line + ("\n" + rec.trace if rec.trace else "")


def structlog_json(rec: Record, ctx: Context) -> str:
    """structlog's ``JSONRenderer`` after ``TimeStamper(fmt="iso")``: the message is under ``event``."""
    obj: dict[str, object] = {"event": rec.message}
    obj.update(rec.fields)
    obj["logger"] = rec.logger or ctx.service
    obj["level"] = rec.level
    obj["timestamp"] = rec.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if rec.trace:
        obj["exception"] = rec.trace
    return json.dumps(obj)


def logback_text(rec: Record, ctx: Context) -> str:
    """logback ``%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n``."""
    level = {"warning": "WARN", "critical": "ERROR", "notice": "INFO"}.get(rec.level, rec.level.upper())
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + "." + _ms(rec.at)
    line = f"{stamp} [{rec.thread or 'main'}] {level:<5} {rec.logger} - {rec.message}"
    return line + ("\n" + rec.trace if rec.trace else "")


def spring_text(rec: Record, ctx: Context) -> str:
    """Spring Boot 2's console layout: ``2026-01-05 14:02:13.000 ERROR 1 --- [thread] logger : msg``."""
    level = {"warning": "WARN", "critical": "ERROR", "notice": "INFO"}.get(rec.level, rec.level.upper())
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + "." + _ms(rec.at)
    thread = (rec.thread or "main")[-15:]
    line = f"{stamp} {level:>5} {ctx.pid} --- [{thread:>15}] {rec.logger:<40} : {rec.message}"
    return line + ("\n" + rec.trace if rec.trace else "")


def logstash_json(rec: Record, ctx: Context) -> str:
    """logstash-logback-encoder's ``LogstashEncoder`` (Java services shipping to ELK)."""
    level = {"warning": "WARN", "critical": "ERROR", "notice": "INFO"}.get(rec.level, rec.level.upper())
    values = {"DEBUG": 10000, "INFO": 20000, "WARN": 30000, "ERROR": 40000}
    obj: dict[str, object] = {
        "@timestamp": rec.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "@version": "1",
        "message": rec.message,
        "logger_name": rec.logger,
        "thread_name": rec.thread or "main",
        "level": level,
        "level_value": values.get(level, 20000),
    }
    obj.update(rec.fields)
    if rec.trace:
        obj["stack_trace"] = rec.trace
    return json.dumps(obj, separators=(",", ":"))


def go_std(rec: Record, ctx: Context) -> str:
    """Go's ``log`` package with ``log.LstdFlags | log.Lshortfile`` and a ``[LEVEL]`` tag the service
    prints itself (the package has no levels); context as ``key=value`` pairs; panics print below.

    The standard library's own messages (``http: panic serving ...``) carry no tag, as in real life.
    """
    stamp = rec.at.strftime("%Y/%m/%d %H:%M:%S")
    caller = rec.fields.get("caller") or (
        "server.go:3212" if rec.message.startswith("http: ") else "main.go:64"
    )
    tag = (
        ""
        if rec.message.startswith("http: ")
        else "[" + {"warning": "WARN", "critical": "FATAL"}.get(rec.level, rec.level.upper()) + "] "
    )
    pairs = "".join(f" {k}={_logfmt_value(v)}" for k, v in rec.fields.items() if k != "caller")
    line = f"{stamp} {caller}: {tag}{rec.message}{pairs}"
    return line + ("\n" + rec.trace if rec.trace else "")


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\\') or "\n" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def logrus_text(rec: Record, ctx: Context) -> str:
    """logrus's ``TextFormatter`` with ``FullTimestamp`` when not on a terminal (logfmt)."""
    level = {"warning": "warning", "critical": "fatal", "notice": "info"}.get(rec.level, rec.level)
    parts = [f'time="{iso_z(rec.at, 0)}"', f"level={level}", f"msg={_logfmt_value(rec.message)}"]
    parts += [f"{k}={_logfmt_value(v)}" for k, v in rec.fields.items() if k != "caller"]
    line = " ".join(parts)
    return line + ("\n" + rec.trace if rec.trace else "")


def gokit_logfmt(rec: Record, ctx: Context) -> str:
    """go-kit's logfmt logger with ``ts``, ``caller`` and ``level`` first."""
    level = {"warning": "warn", "critical": "error", "notice": "info"}.get(rec.level, rec.level)
    parts = [f"ts={iso_z(rec.at, 3)}"]
    if "caller" in rec.fields:
        parts.append(f"caller={rec.fields['caller']}")
    parts += [f"level={level}", f"msg={_logfmt_value(rec.message)}"]
    parts += [f"{k}={_logfmt_value(v)}" for k, v in rec.fields.items() if k != "caller"]
    line = " ".join(parts)
    return line + ("\n" + rec.trace if rec.trace else "")


def zap_json(rec: Record, ctx: Context) -> str:
    """zap's production JSON encoder: epoch seconds in ``ts``, ``caller``, ``stacktrace`` on errors."""
    level = {"warning": "warn", "critical": "fatal", "notice": "info"}.get(rec.level, rec.level)
    obj: dict[str, object] = {"level": level, "ts": round(_epoch(rec.at), 6)}
    if "caller" in rec.fields:
        obj["caller"] = rec.fields["caller"]
    obj["msg"] = rec.message
    obj.update({k: v for k, v in rec.fields.items() if k != "caller"})
    if rec.trace:
        obj["stacktrace"] = rec.trace
    return json.dumps(obj, separators=(",", ":"))


def pino_json(rec: Record, ctx: Context) -> str:
    """pino's default JSON: numeric levels, epoch milliseconds, ``err`` with its ``stack``."""
    level = {"debug": 20, "info": 30, "notice": 30, "warning": 40, "error": 50, "critical": 60}[rec.level]
    obj: dict[str, object] = {
        "level": level,
        "time": int(_epoch(rec.at) * 1000),
        "pid": rec.pid or ctx.pid,
        "hostname": ctx.host,
    }
    obj.update(rec.fields)
    if rec.trace:
        first = rec.trace.split("\n", 1)[0]
        kind, _, text = first.partition(": ")
        obj["err"] = {"type": kind, "message": text, "stack": rec.trace}
    obj["msg"] = rec.message
    return json.dumps(obj, separators=(",", ":"))


def docker_json(rec: Record, ctx: Context) -> str:
    """Docker's ``json-file`` driver: the process's raw output line under ``log``, no level key."""
    text = rec.message + ("\n" + rec.trace if rec.trace else "")
    stamp = rec.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{rec.at.microsecond:06d}123Z"
    stream = "stderr" if rec.level != "info" else "stdout"
    return json.dumps({"log": text + "\n", "stream": stream, "time": stamp}, separators=(",", ":"))


# -- servers and daemons ----------------------------------------------------------------------------


def nginx_combined(acc: Access, ctx: Context) -> str:
    """``log_format`` combined followed by ``$request_time $upstream_response_time``."""
    at = acc.at.astimezone(UTC)
    stamp = f"{at.day:02d}/{_MONTHS[at.month - 1]}/{at.year}:{at.strftime('%H:%M:%S')} +0000"
    upstream = "-" if acc.upstream_time is None else f"{acc.upstream_time:.3f}"
    return (
        f'{acc.remote_addr} - - [{stamp}] "{acc.method} {acc.path} {acc.protocol}" {acc.status} '
        f'{acc.body_bytes} "{acc.referer}" "{acc.user_agent}" {acc.request_time:.3f} {upstream}'
    )


def nginx_error(rec: Record, ctx: Context) -> str:
    """nginx's error log: ``2026/01/05 14:02:12 [error] 31#31: *8812 message``."""
    level = {"warning": "warn", "critical": "crit"}.get(rec.level, rec.level)
    stamp = rec.at.strftime("%Y/%m/%d %H:%M:%S")
    connection = rec.fields.get("connection")
    conn = f"*{connection} " if connection else ""
    return f"{stamp} [{level}] {ctx.pid}#{ctx.pid}: {conn}{rec.message}"


def syslog_3164(rec: Record, ctx: Context) -> str:
    """rsyslog's default file format (RFC 3164 without a priority): ``Jan  5 14:02:12 host app[pid]: msg``."""
    at = rec.at.astimezone(UTC)
    stamp = f"{_MONTHS[at.month - 1]} {at.day:>2} {at.strftime('%H:%M:%S')}"
    tag = rec.app or ctx.service
    tag = f"{tag}[{rec.pid}]" if rec.pid else tag
    text = rec.message if not rec.trace else rec.message + " " + rec.trace.replace("\n", " ")
    return f"{stamp} {rec.host or ctx.host} {tag}: {text}"


def syslog_5424(rec: Record, ctx: Context) -> str:
    """RFC 5424 as rsyslog's ``RSYSLOG_SyslogProtocol23Format`` writes it, facility by program."""
    facility = 0 if rec.app == "kernel" else 4 if rec.app in ("sshd", "sudo", "su") else 3
    prio = facility * 8 + _SYSLOG_SEVERITY.get(rec.level, 6)
    stamp = rec.at.astimezone(UTC).isoformat(timespec="microseconds")
    pid = rec.pid if rec.pid else "-"
    text = rec.message if not rec.trace else rec.message + " " + rec.trace.replace("\n", " ")
    return f"<{prio}>1 {stamp} {rec.host or ctx.host} {rec.app or ctx.service} {pid} - - {text}"


def postgres_text(rec: Record, ctx: Context) -> str:
    """PostgreSQL's server log with ``log_line_prefix = '%m [%p] %q%u@%d '``.

    ``fields['detail']`` and friends print as their own prefixed lines (DETAIL, HINT, STATEMENT),
    each repeating the prefix, as the server does.
    """
    severity = rec.fields.get("severity") or {
        "info": "LOG",
        "notice": "LOG",
        "warning": "WARNING",
        "error": "ERROR",
        "critical": "FATAL",
        "debug": "DEBUG",
    }.get(rec.level, "LOG")
    pid = rec.pid or ctx.pid
    stamp = rec.at.strftime("%Y-%m-%d %H:%M:%S") + "." + _ms(rec.at) + " UTC"
    who = rec.fields.get("who")
    prefix = f"{stamp} [{pid}] " + (f"{who} " if who else "")
    lines = [f"{prefix}{severity}:  {rec.message}"]
    for key in ("detail", "hint", "context", "statement"):
        value = rec.fields.get(key)
        if value:
            lines.append(f"{prefix}{key.upper()}:  {value}")
    text = "\n".join(lines)
    return text + ("\n" + rec.trace if rec.trace else "")


LOG_WRITERS: dict[str, Callable[..., str]] = {
    "python": python_text,
    "python-dashed": python_dashed,
    "gunicorn": gunicorn_text,
    "structlog": structlog_json,
    "logback": logback_text,
    "spring": spring_text,
    "logstash": logstash_json,
    "go": go_std,
    "logrus": logrus_text,
    "gokit": gokit_logfmt,
    "zap": zap_json,
    "pino": pino_json,
    "docker": docker_json,
    "nginx": nginx_combined,
    "nginx-error": nginx_error,
    "syslog": syslog_3164,
    "syslog5424": syslog_5424,
    "postgres": postgres_text,
}


def config_format(writer: str) -> tuple[str, dict[str, str]]:
    """The ``format`` a team would configure for a file written by ``writer``, and any extra keys.

    structlog puts its message under ``event``, which no JSON convention reads, so such a source
    names it with ``message_field`` as its team would.
    """
    table: dict[str, tuple[str, dict[str, str]]] = {
        "python": ("python", {}),
        "python-dashed": ("python", {}),
        "gunicorn": ("python", {}),
        "structlog": ("json", {"message_field": "event"}),
        "logback": ("log4j", {}),
        "spring": ("log4j", {}),
        "logstash": ("json", {}),
        "go": ("go", {}),
        "logrus": ("logfmt", {}),
        "gokit": ("logfmt", {}),
        "zap": ("json", {}),
        "pino": ("json", {}),
        "docker": ("json", {}),
        "nginx": ("nginx", {}),
        "nginx-error": ("nginx-error", {}),
        "syslog": ("syslog", {}),
        "syslog5424": ("syslog", {}),
        "postgres": ("postgres", {}),
    }
    return table[writer]


def render(writer: str, items: list[Record] | list[Access], ctx: Context) -> str:
    """The file's text: every item in time order, written by ``writer``."""
    fn = LOG_WRITERS[writer]
    ordered = sorted(items, key=lambda item: item.at)
    return "".join(fn(item, ctx) + "\n" for item in ordered)
