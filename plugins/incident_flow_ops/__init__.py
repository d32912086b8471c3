"""The ops investigator: the seed's System Diagnostics (log analysis, metric anomalies, resources)."""
