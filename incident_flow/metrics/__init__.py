"""Metric source types: ``metrics-csv`` (CSV exports) and ``prometheus`` (a live Prometheus HTTP API).

Both yield :class:`~incident_flow.sources.MetricSeries` for the window an investigator asks for;
the scoring lives in :mod:`incident_flow.analysis.anomaly`. Register them with::

    register(METRICS_CSV_SOURCE_TYPE)
    register(PROMETHEUS_SOURCE_TYPE)
"""

from incident_flow.metrics.csv import METRICS_CSV_SOURCE_TYPE, CsvMetricSource, read_csv_points
from incident_flow.metrics.prometheus import (
    PROMETHEUS_SOURCE_TYPE,
    PrometheusClient,
    PrometheusSource,
    parse_matrix,
    parse_series_list,
)

__all__ = [
    "METRICS_CSV_SOURCE_TYPE",
    "PROMETHEUS_SOURCE_TYPE",
    "CsvMetricSource",
    "PrometheusClient",
    "PrometheusSource",
    "parse_matrix",
    "parse_series_list",
    "read_csv_points",
]
