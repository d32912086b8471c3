"""The ``metrics-csv`` source type: metric series from CSV exports (wide or long layout).

Two layouts, the two that metric exports use in practice:

* **wide** (DESIGN.md, the RCAEval / sock-shop layout): a time column, then one column per series
  named ``<component>_<metric>``; the component is everything before the *first* underscore
  (``carts-db_cpu`` is component ``carts-db``, metric ``cpu``); an empty cell is a gap.
* **long**: ``time,series,value`` and optionally more columns, each a label (``service``,
  ``instance``...), one row per point: what a query result or a TSDB dump flattens to.

``layout = "auto"`` (the default) takes the long layout when the header has both the series and the
value columns, else the wide one. Times are unix seconds (milliseconds, microseconds and nanoseconds
are recognised by their size) or ISO 8601 / RFC 3339 (without an offset: the config's time zone).

Files are read with the ``csv`` module one row at a time and only the points inside the asked window
are kept, so a long export costs what the window holds. Bad data never raises: a cell that is not a
number is a gap, a row whose time cannot be read is skipped and counted, and a file that cannot be
read at all becomes one warning on the source (the run lists it) while the other files still count.
Several files (or a glob) merge: a series split over ``normal.csv`` and ``anomalous.csv`` is one
series, ordered by time.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO

import attrs

from incident_flow.config import ConfigError
from incident_flow.sources import MetricSeries, MetricSource, Option, SourceSpec, SourceType
from incident_flow.timeutil import parse_time

__all__ = [
    "DEFAULT_COMPONENT_LABELS",
    "METRICS_CSV_SOURCE_TYPE",
    "CsvMetricSource",
    "CsvPoints",
    "parse_time_cell",
    "parse_value_cell",
    "read_csv_points",
    "split_series_name",
]

LAYOUTS = ("auto", "wide", "long")
#: Label columns that name the component in the long layout, tried in this order.
DEFAULT_COMPONENT_LABELS = ("component", "service", "job", "app", "container", "pod", "instance")
_MAX_QUERY = 300


def split_series_name(column: str, fallback: str) -> tuple[str, str]:
    """``<component>_<metric>`` split at the first underscore; without one, ``fallback`` is the component.

    ``fallback`` is the file's name, so a column ``cpu`` in ``orders.csv`` is component ``orders``.
    """
    component, sep, metric = column.partition("_")
    if sep and component.strip() and metric.strip():
        return component.strip(), metric.strip()
    return fallback, column.strip()


def parse_value_cell(cell: str) -> float:
    """A numeric cell, or NaN (a gap) for anything else: empty, text, infinities."""
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def parse_time_cell(cell: str, timezone: tzinfo | None = None) -> float | None:
    """Unix seconds from a time cell, or None when it is not a time.

    A number is unix time; its size tells the unit (seconds until the year 5138, then
    milliseconds, microseconds, nanoseconds) because exports write all four. Anything else is
    read as RFC 3339 / ISO 8601 with ``timezone`` for times without an offset.
    """
    text = cell.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
        try:
            return parse_time(text, timezone).timestamp()
        except (ValueError, OverflowError):
            return None
    if not math.isfinite(number):
        return None
    magnitude = abs(number)
    if magnitude >= 1e17:
        number /= 1e9
    elif magnitude >= 1e14:
        number /= 1e6
    elif magnitude >= 1e11:
        number /= 1e3
    return number


@attrs.define
class _Accumulator:
    """The points of one series gathered so far, over one or more files."""

    component: str
    metric: str
    labels: dict[str, str]
    files: list[str] = attrs.field(factory=list)
    column: str = ""
    times: list[float] = attrs.field(factory=list)
    values: list[float] = attrs.field(factory=list)


#: Series key: its display name and its labels, sorted.
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


@attrs.define
class CsvPoints:
    """What reading CSV files gathered: the points per series, and what went wrong."""

    series: dict[SeriesKey, _Accumulator] = attrs.field(factory=dict)
    rows: int = 0
    skipped_rows: int = 0

    def accumulator(self, key: SeriesKey, make: Callable[[], _Accumulator], file: str) -> _Accumulator:
        """The series' accumulator (made on first use), noting that ``file`` holds some of it."""
        entry = self.series.get(key)
        if entry is None:
            entry = self.series[key] = make()
        if (not entry.files or entry.files[-1] != file) and file not in entry.files:
            entry.files.append(file)
        return entry

    def add(
        self, key: SeriesKey, make: Callable[[], _Accumulator], t: float, value: float, file: str
    ) -> None:
        """Add one point to a series."""
        entry = self.accumulator(key, make, file)
        entry.times.append(t)
        entry.values.append(value)


def _detect_layout(header: Sequence[str], series_column: str, value_column: str) -> str:
    names = {h.strip().lower() for h in header}
    return "long" if series_column.lower() in names and value_column.lower() in names else "wide"


def _index(header: Sequence[str], name: str) -> int | None:
    """The position of a column by name, exact first, then ignoring case and spaces."""
    stripped = [h.strip() for h in header]
    if name in stripped:
        return stripped.index(name)
    lowered = [h.lower() for h in stripped]
    return lowered.index(name.lower()) if name.lower() in lowered else None


def read_csv_points(
    rows: Iterable[Sequence[str]],
    *,
    file: str,
    points: CsvPoints,
    since: float = -math.inf,
    until: float = math.inf,
    layout: str = "auto",
    time_column: str = "time",
    component: str | None = None,
    series_column: str = "series",
    value_column: str = "value",
    component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS,
    timezone: tzinfo | None = None,
    warn: Callable[[str], None] = lambda _message: None,
) -> None:
    """Parse CSV rows (the header first) into ``points``, keeping those in ``[since, until]``.

    Never raises on content: a missing time column is one warning and nothing read; rows whose
    time cannot be read are counted in ``points.skipped_rows``. ``file`` names the file in queries
    and warnings; its stem is the component of columns without an underscore.
    """
    iterator = iter(rows)
    header = next(iterator, None)
    if not header:
        warn(f"{file}: empty file, no header")
        return
    header = [h.lstrip("\ufeff") for h in header]
    time_index = _index(header, time_column)
    if time_index is None:
        warn(f"{file}: no {time_column!r} column in the header (set time_column)")
        return
    chosen = _detect_layout(header, series_column, value_column) if layout == "auto" else layout
    fallback = component or Path(file).name.split(".")[0] or file
    if chosen == "long":
        _read_long(
            iterator,
            header,
            time_index,
            file=file,
            points=points,
            since=since,
            until=until,
            component=component,
            fallback=fallback,
            series_column=series_column,
            value_column=value_column,
            component_labels=component_labels,
            timezone=timezone,
            warn=warn,
        )
        return
    columns: list[tuple[int, SeriesKey, str, str]] = []
    seen: set[str] = set()
    for i, name in enumerate(header):
        name = name.strip()
        if i == time_index or not name:
            continue
        if name in seen:
            warn(f"{file}: column {name!r} appears twice; the first is used")
            continue
        seen.add(name)
        comp, metric = split_series_name(name, fallback)
        columns.append((i, (name, ()), component or comp, metric))
    # The accumulators are looked up once per file, on its first row in the window, not per cell:
    # a wide file is rows x columns cells and this loop is the whole cost of reading it.
    targets: list[tuple[int, _Accumulator]] | None = None
    nan = math.nan
    for row in iterator:
        points.rows += 1
        t = parse_time_cell(row[time_index], timezone) if time_index < len(row) else None
        if t is None:
            if any(cell.strip() for cell in row):
                points.skipped_rows += 1
            continue
        if not since <= t <= until:
            continue
        if targets is None:
            targets = [
                (i, points.accumulator(key, _maker(comp, metric, {}, key[0]), file))
                for i, key, comp, metric in columns
            ]
        cells = len(row)
        for i, entry in targets:
            value = nan
            if i < cells:
                try:
                    value = float(row[i])
                except ValueError:
                    value = nan
                if value - value != 0.0:  # NaN or an infinity: a gap
                    value = nan
            entry.times.append(t)
            entry.values.append(value)


def _maker(component: str, metric: str, labels: dict[str, str], column: str) -> Callable[[], _Accumulator]:
    return lambda: _Accumulator(component=component, metric=metric, labels=labels, column=column)


def _read_long(
    rows: Iterator[Sequence[str]],
    header: Sequence[str],
    time_index: int,
    *,
    file: str,
    points: CsvPoints,
    since: float,
    until: float,
    component: str | None,
    fallback: str,
    series_column: str,
    value_column: str,
    component_labels: Sequence[str],
    timezone: tzinfo | None,
    warn: Callable[[str], None],
) -> None:
    series_index = _index(header, series_column)
    value_index = _index(header, value_column)
    if series_index is None or value_index is None:
        warn(f"{file}: the long layout needs {series_column!r} and {value_column!r} columns")
        return
    label_columns = [
        (i, name.strip())
        for i, name in enumerate(header)
        if i not in (time_index, series_index, value_index) and name.strip()
    ]
    wanted = [label.lower() for label in component_labels]
    for row in rows:
        points.rows += 1
        cells = len(row)
        t = parse_time_cell(row[time_index], timezone) if time_index < cells else None
        name = row[series_index].strip() if series_index < cells else ""
        if t is None or not name:
            if any(cell.strip() for cell in row):
                points.skipped_rows += 1
            continue
        if not since <= t <= until:
            continue
        labels = {label: row[i].strip() for i, label in label_columns if i < cells and row[i].strip()}
        key: SeriesKey = (name, tuple(sorted(labels.items())))
        comp = component
        if comp is None:
            lowered = {k.lower(): v for k, v in labels.items()}
            comp = next((lowered[w] for w in wanted if lowered.get(w)), None)
        metric = name
        if comp is None:
            comp, metric = split_series_name(name, fallback)
        value = parse_value_cell(row[value_index]) if value_index < cells else math.nan
        points.add(key, _maker(comp, metric, labels, name), t, value, file)


def _display_name(key: SeriesKey) -> str:
    name, labels = key
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}"


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return path.open(encoding="utf-8-sig", errors="replace", newline="")


class CsvMetricSource(MetricSource):
    """Metric series read from CSV files (see the module's docstring for the layouts)."""

    def __init__(
        self,
        name: str,
        paths: Sequence[str | Path],
        *,
        layout: str = "auto",
        time_column: str = "time",
        component: str | None = None,
        delimiter: str = ",",
        series_column: str = "series",
        value_column: str = "value",
        component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS,
        timezone: tzinfo | None = None,
    ) -> None:
        super().__init__(name)
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        self.patterns = [str(p) for p in paths]
        self.layout = layout
        self.time_column = time_column
        self.component = component
        self.delimiter = delimiter
        self.series_column = series_column
        self.value_column = value_column
        self.component_labels = tuple(component_labels)
        self.timezone = timezone

    def describe(self) -> str:
        return f"metrics-csv {self.name} ({', '.join(self.patterns)})"

    def files(self) -> list[Path]:
        """The files the patterns match now, in a stable order; a pattern matching none is a warning."""
        found: list[Path] = []
        for pattern in self.patterns:
            matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
            matches = [m for m in matches if Path(m).is_file()]
            if not matches:
                self.warn(f"no file matches {pattern!r}")
            for match in matches:
                path = Path(match)
                if path not in found:
                    found.append(path)
        return found

    def read(self, since: float = -math.inf, until: float = math.inf) -> CsvPoints:
        """Read every file's points in ``[since, until]`` (unix seconds)."""
        points = CsvPoints()
        for path in self.files():
            before_skipped = points.skipped_rows
            try:
                with _open_text(path) as handle:
                    reader = csv.reader(handle, delimiter=self.delimiter)
                    read_csv_points(
                        _rows_past_errors(reader, str(path), self.warn),
                        file=str(path),
                        points=points,
                        since=since,
                        until=until,
                        layout=self.layout,
                        time_column=self.time_column,
                        component=self.component,
                        series_column=self.series_column,
                        value_column=self.value_column,
                        component_labels=self.component_labels,
                        timezone=self.timezone,
                        warn=self.warn,
                    )
            except (OSError, EOFError, csv.Error, UnicodeError, ValueError) as exc:
                self.warn(f"{path}: cannot read ({type(exc).__name__}: {_one_line(str(exc))})")
            skipped = points.skipped_rows - before_skipped
            if skipped:
                self.warn(f"{path}: {skipped} row(s) without a readable time were skipped")
        return points

    def series(self, since: datetime, until: datetime) -> Iterator[MetricSeries]:
        """The series with points in ``[since, until]``, each ordered by time."""
        points = self.read(since.timestamp(), until.timestamp())
        for key, entry in points.series.items():
            merged: dict[float, float] = {}
            for t, v in zip(entry.times, entry.values, strict=True):
                if not math.isnan(v) or t not in merged:
                    merged[t] = v
            if not any(not math.isnan(v) for v in merged.values()):
                continue
            ordered = sorted(merged.items())
            files = ", ".join(entry.files)
            query = f"column {entry.column!r} of {files}"
            if len(query) > _MAX_QUERY:
                query = query[: _MAX_QUERY - 1] + "…"
            yield MetricSeries(
                name=_display_name(key),
                component=entry.component,
                metric=entry.metric,
                times=tuple(t for t, _ in ordered),
                values=tuple(v for _, v in ordered),
                source=self.name,
                labels=dict(entry.labels),
                query=query,
            )


def _rows_past_errors(
    reader: Iterator[list[str]], file: str, warn: Callable[[str], None], limit: int = 100
) -> Iterator[list[str]]:
    """The reader's rows, skipping the few the csv module rejects (a field over its size limit).

    One bad line must not cost the rest of the file; past ``limit`` errors the file is not CSV and
    the error propagates (the caller turns it into a warning).
    """
    errors = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors += 1
            if errors > limit:
                raise
            if errors == 1:
                warn(f"{file}: skipped a malformed line ({_one_line(str(exc))})")
            continue
        yield row
    if errors > 1:
        warn(f"{file}: {errors} malformed lines were skipped")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _from_spec(spec: SourceSpec) -> CsvMetricSource:
    options = spec.options
    layout = str(options.get("layout") or "auto")
    if layout not in LAYOUTS:
        raise ConfigError(
            None,
            "layout",
            f"must be one of {', '.join(LAYOUTS)} for source {spec.name!r} (type 'metrics-csv'), "
            f"got {layout!r}",
        )
    labels = options.get("component_label")
    if isinstance(labels, str):
        component_labels: tuple[str, ...] = (labels,)
    elif labels:
        component_labels = tuple(labels)
    else:
        component_labels = DEFAULT_COMPONENT_LABELS
    return CsvMetricSource(
        spec.name,
        [str(spec.path(p)) for p in options.get("paths") or ()],
        layout=layout,
        time_column=str(options.get("time_column") or "time"),
        component=options.get("component") or None,
        delimiter=str(options.get("delimiter") or ","),
        series_column=str(options.get("series_column") or "series"),
        value_column=str(options.get("value_column") or "value"),
        component_labels=component_labels,
        timezone=spec.settings.timezone,
    )


METRICS_CSV_SOURCE_TYPE = SourceType(
    name="metrics-csv",
    factory=_from_spec,
    description="Metric series from CSV files: wide (time, then <component>_<metric> columns) or long",
    options={
        "paths": Option(
            (list[str],), "CSV files or globs (relative to the config file; .gz allowed)", required=True
        ),
        "layout": Option(
            (str,), '"wide", "long" or "auto" (long when the header has series and value)', default="auto"
        ),
        "time_column": Option(
            (str,), "the column holding unix seconds (or ms) or ISO 8601 times", default="time"
        ),
        "component": Option((str,), "a fixed component for every series, overriding the column prefix"),
        "delimiter": Option((str,), "the field separator", default=","),
        "series_column": Option((str,), "long layout: the column naming the series", default="series"),
        "value_column": Option((str,), "long layout: the column holding the value", default="value"),
        "component_label": Option(
            (str, list[str]),
            "long layout: the label column(s) naming the component (default: component, service, job, "
            "app, container, pod, instance; else the series name's prefix)",
        ),
    },
)
