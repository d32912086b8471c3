"""Loggers for the library and its plugins: structlog on top of the standard library's logging.

A library must not configure logging globally, and structlog's unconfigured default prints to
stdout, where an embedding script prints its report. Wrapping a stdlib logger sends our lines
where the application routes ``logging`` (and, unconfigured, warnings to stderr), while keeping
structlog's key-value API. The CLI, an application, configures both.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger"]


def get_logger(name: str) -> Any:
    """A lazy structlog logger named ``name`` that writes through :mod:`logging`."""
    return structlog.wrap_logger(logging.getLogger(name), wrapper_class=structlog.stdlib.BoundLogger)
