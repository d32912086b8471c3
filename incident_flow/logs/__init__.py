"""Reading log files into :class:`~incident_flow.sources.LogRecord` streams (the ``logs`` source type).

The pieces, each in its own module:

- :mod:`~incident_flow.logs.reader`: globs, gzip, decoding, line caps; problems become warnings.
- :mod:`~incident_flow.logs.structured`, :mod:`~incident_flow.logs.nginx`,
  :mod:`~incident_flow.logs.syslog`, :mod:`~incident_flow.logs.postgres`,
  :mod:`~incident_flow.logs.applogs`, :mod:`~incident_flow.logs.pattern`: one module per family of
  formats; each says whether a line starts a record and what it holds.
- :mod:`~incident_flow.logs.layout`: loghub layouts matched with loghub's meaning in bounded time.
- :mod:`~incident_flow.logs.detect`: ``format = "auto"``.
- :mod:`~incident_flow.logs.multiline`: stack traces and other continuation lines.
- :mod:`~incident_flow.logs.timestamps` and :mod:`~incident_flow.logs.levels`: one time and one
  level vocabulary for all formats.
- :mod:`~incident_flow.logs.source`: :func:`read_records`, :class:`LogsSource`, :data:`LOGS_SOURCE_TYPE`.
- :mod:`~incident_flow.logs.shared`: one scan of a source shared by the investigators that read it
  together.
"""

from incident_flow.logs.detect import detect_format
from incident_flow.logs.formats import DETECTED_FORMATS, FORMATS
from incident_flow.logs.levels import LEVELS, normalize_level
from incident_flow.logs.pattern import compile_pattern
from incident_flow.logs.source import LOGS_SOURCE_TYPE, LogsSource, create_logs_source, read_records

__all__ = [
    "DETECTED_FORMATS",
    "FORMATS",
    "LEVELS",
    "LOGS_SOURCE_TYPE",
    "LogsSource",
    "compile_pattern",
    "create_logs_source",
    "detect_format",
    "normalize_level",
    "read_records",
]
