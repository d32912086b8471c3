"""What the Claude layer may do: whether it runs, which model, and the budgets that bound it.

Three modes, as the config's ``[settings] llm`` and the CLI's ``--llm/--no-llm`` name them:

- ``"off"``: nothing is sent anywhere and ``anthropic`` is never imported;
- ``"auto"`` (the default): Claude runs when ``ANTHROPIC_API_KEY`` is set and the ``anthropic`` package
  is installed, and otherwise the run is exactly the offline one, without a connection attempt;
- ``"anthropic"``: Claude was asked for explicitly, so a missing key or package is said in the report
  (and :func:`availability` lets the CLI turn it into a usage error).

The key is read from the environment only, never from the config file: config files are committed,
shared and pasted into tickets. Nothing here imports ``anthropic``; the availability check only asks
whether it *could* be imported.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_MODEL",
    "INVESTIGATIONS",
    "LLM_MODES",
    "LLM_TABLE_KEYS",
    "Availability",
    "LlmConfigError",
    "LlmSettings",
    "availability",
]

API_KEY_ENV = "ANTHROPIC_API_KEY"
"""The only place the API key is read from."""

DEFAULT_MODEL = "claude-sonnet-5-5"
"""The current Sonnet as the installed SDK's ``anthropic.types.Model`` lists it (checked 2026-11)."""

LLM_MODES = ("off", "auto", "anthropic")

INVESTIGATIONS = ("system", "code", "performance", "security")
"""The seed's four parallel investigations (phase 2), one Claude agent each."""

LLM_TABLE_KEYS = (
    "model",
    "max_steps",
    "max_run_tokens",
    "max_output_tokens",
    "agent_timeout",
    "synthesis_timeout",
    "request_timeout",
    "max_retries",
    "tool_result_chars",
    "redact_ips",
    "investigations",
)
"""The keys of the config's ``[llm]`` table, for the config loader's unknown-key check."""


class LlmConfigError(ValueError):
    """A bad ``[llm]`` value; ``key`` is the key inside the table, so the loader can name ``llm.<key>``."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _positive_int(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LlmConfigError(attribute.name, f"expected a positive integer, got {value!r}")


def _positive_float(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise LlmConfigError(attribute.name, f"expected a positive number of seconds, got {value!r}")


def _mode(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in LLM_MODES:
        raise LlmConfigError("llm", f"expected one of {', '.join(LLM_MODES)}, got {value!r}")


def _investigations(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = [name for name in value if name not in INVESTIGATIONS]
    if unknown or not value:
        raise LlmConfigError(
            attribute.name,
            f"expected a non-empty list drawn from {', '.join(INVESTIGATIONS)}, got {list(value)!r}",
        )


@attrs.frozen
class LlmSettings:
    """The Claude layer's switch, model and budgets; the defaults suit a live incident.

    Budgets, and why each exists: ``max_steps`` requests per agent (a runaway loop costs money);
    ``max_run_tokens`` input plus output tokens over the whole run (the bill has a ceiling);
    ``agent_timeout`` seconds of wall clock per agent and ``synthesis_timeout`` for the final
    write-up (an outage does not wait for a slow API; retries stop when the next wait would not
    fit); ``tool_result_chars`` per tool answer (a log dump neither fits a prompt nor helps).
    """

    mode: str = attrs.field(default="auto", validator=_mode)
    model: str = DEFAULT_MODEL
    max_steps: int = attrs.field(default=6, validator=_positive_int)
    max_run_tokens: int = attrs.field(default=150_000, validator=_positive_int)
    max_output_tokens: int = attrs.field(default=4096, validator=_positive_int)
    agent_timeout: float = attrs.field(default=120.0, validator=_positive_float)
    synthesis_timeout: float = attrs.field(default=60.0, validator=_positive_float)
    request_timeout: float = attrs.field(default=60.0, validator=_positive_float)
    max_retries: int = attrs.field(default=4, validator=attrs.validators.ge(0))
    tool_result_chars: int = attrs.field(default=4000, validator=attrs.validators.ge(500))
    redact_ips: bool = False
    investigations: tuple[str, ...] = attrs.field(default=INVESTIGATIONS, validator=_investigations)
    #: First wait between retries (doubled each time, with jitter, up to ``retry_max_delay``);
    #: tests shrink it so that backoff is exercised in milliseconds.
    retry_base_delay: float = attrs.field(default=1.0, validator=_positive_float)
    retry_max_delay: float = attrs.field(default=20.0, validator=_positive_float)

    @classmethod
    def from_config(cls, mode: str | None = None, table: Mapping[str, Any] | None = None) -> LlmSettings:
        """Build from ``[settings] llm`` and the ``[llm]`` table; :class:`LlmConfigError` names the key.

        Durations accept what the rest of the config does (``"90s"``, ``"2m"``, or seconds).
        ``api_key`` is refused with the way to set it, so a key never lands in a config file.
        """
        from incident_flow.timeutil import parse_duration

        table = dict(table or {})
        if "api_key" in table:
            raise LlmConfigError(
                "api_key", f"the API key is read from the {API_KEY_ENV} environment variable only"
            )
        for key in table:
            if key not in LLM_TABLE_KEYS:
                raise LlmConfigError(key, f"unknown key; expected one of: {', '.join(LLM_TABLE_KEYS)}")
        kwargs: dict[str, Any] = {}
        if mode is not None:
            kwargs["mode"] = mode
        for key, value in table.items():
            if key in ("agent_timeout", "synthesis_timeout", "request_timeout"):
                if isinstance(value, bool) or not isinstance(value, str | int | float | timedelta):
                    raise LlmConfigError(key, f'expected a duration such as "90s", got {value!r}')
                try:
                    seconds = (
                        value if isinstance(value, timedelta) else parse_duration(value)
                    ).total_seconds()
                except ValueError as exc:
                    raise LlmConfigError(key, str(exc)) from None
                kwargs[key] = seconds
            elif key == "model":
                if not isinstance(value, str) or not value.strip():
                    raise LlmConfigError(
                        key, f'expected a model name such as "{DEFAULT_MODEL}", got {value!r}'
                    )
                kwargs[key] = value.strip()
            elif key == "redact_ips":
                if not isinstance(value, bool):
                    raise LlmConfigError(key, f"expected true or false, got {value!r}")
                kwargs[key] = value
            elif key == "investigations":
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    raise LlmConfigError(key, f"expected an array of strings, got {value!r}")
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        try:
            return cls(**kwargs)
        except LlmConfigError:
            raise
        except (TypeError, ValueError) as exc:  # attrs' own validators (ge) say "'max_retries' must be..."
            key = next((k for k in kwargs if k in str(exc)), "llm")
            raise LlmConfigError(key, str(exc)) from None


@attrs.frozen
class Availability:
    """Whether Claude runs for this run, and the one line that says why (or why not).

    ``problem`` is True when Claude was asked for explicitly (``"anthropic"``) but cannot run: the
    CLI may exit 2 on it; a library run goes on offline and the report carries ``reason``.
    """

    enabled: bool
    reason: str
    problem: bool = False


def _sdk_installed() -> bool:
    return importlib.util.find_spec("anthropic") is not None


def availability(settings: LlmSettings, environ: Mapping[str, str] | None = None) -> Availability:
    """Decide whether to run Claude, without importing ``anthropic`` or touching the network."""
    env = os.environ if environ is None else environ
    if settings.mode == "off":
        return Availability(False, 'Claude is off (llm = "off" or --no-llm): the run stayed offline.')
    explicit = settings.mode == "anthropic"
    if not (env.get(API_KEY_ENV) or "").strip():
        why = f"{API_KEY_ENV} is not set"
        if explicit:
            return Availability(False, f"Claude was requested but {why}: the run stayed offline.", True)
        return Availability(False, f'Claude is off: {why} (llm = "auto").')
    if not _sdk_installed():
        why = "the anthropic package is not installed (pip install 'incident-flow[claude]')"
        return Availability(
            False, f"Claude {'was requested but ' if explicit else 'is off: '}{why}.", explicit
        )
    return Availability(True, f"Claude ({settings.model}) investigated with the run's sources as tools.")
