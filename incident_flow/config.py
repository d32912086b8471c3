"""The config file (a contract, see DESIGN.md): one environment's settings, components and sources.

Loading validates everything before a run starts: an unknown key, a wrong type or an unknown
source type is a :class:`ConfigError` naming the file, the key and what was expected. An outage is
the worst time to discover a typo in a config, so nothing is ignored and every message is one line
that says how to fix it.

Key paths in errors follow TOML's dotted notation, with one style for the ``[[sources]]`` array:
its tables are addressed by their 0-based position, ``sources[2].paths``, because that always
exists (a table whose ``name`` is missing, mistyped or duplicated has no usable name); the message
then names the source (``source 'orders-logs' (type 'logs')``) so both are on the line. Keys that
are not bare TOML keys are quoted (``components."a.b".paths``).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from incident_flow.llm.settings import LlmConfigError, LlmSettings
from incident_flow.sources import Option, SourceSpec, SourceType
from incident_flow.timeutil import format_duration, parse_duration, parse_timezone

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ComponentSpec",
    "Config",
    "ConfigError",
    "RunbookEntry",
    "Settings",
    "SourceConfig",
    "build_source_specs",
    "config_to_dict",
    "default_audit_dir",
    "find_default_config",
    "load_config",
    "parse_config",
]

#: The file ``--config`` defaults to, looked up in the current folder.
DEFAULT_CONFIG_NAME = "incident-flow.toml"

TOP_LEVEL_KEYS = ("settings", "components", "sources", "runbook", "llm")
SETTINGS_KEYS = (
    "lookback",
    "change_lookback",
    "timezone",
    "investigator_timeout",
    "phase_budgets",
    "audit_dir",
    "llm",
)
PHASE_KEYS = ("assess", "investigate", "mitigate", "verify")
COMPONENT_KEYS = ("paths",)
SOURCE_KEYS = ("name", "type")
RUNBOOK_KEYS = (
    "name",
    "command",
    "components",
    "category",
    "description",
    "risk",
    "timeout",
    "dry_run_command",
)
#: How long a runbook command may run when its entry sets no ``timeout``.
DEFAULT_RUNBOOK_TIMEOUT = 60.0
_RUNBOOK_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,60}")
_CATEGORIES = ("infrastructure", "code", "performance", "security")

# Everything str.splitlines() treats as a line break: a ConfigError must stay on one line even when
# it quotes a key or value that contains one.
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_LINE_BREAKS["\u2028"] = "\\u2028"
_LINE_BREAKS["\u2029"] = "\\u2029"
_LINE_BREAK_TABLE = str.maketrans(_LINE_BREAKS)


def _one_line(text: str) -> str:
    return text.translate(_LINE_BREAK_TABLE)


class ConfigError(Exception):
    """A config problem a user can fix; ``str()`` is one line: file, key, what was expected.

    ``path`` is the file as the user named it (so the message matches what they typed), ``key``
    the dotted key path, ``line``/``column`` the position when known (TOML syntax errors). The
    text reads ``file:line:column: key: message``, the layout editors and terminals make clickable.
    """

    def __init__(
        self,
        path: Path | str | None,
        key: str | None,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        self.message = _one_line(message)
        self.line = line
        self.column = column
        where = _one_line(self.path or "<config>")
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        if key:
            where += f": {_one_line(key)}"
        super().__init__(f"{where}: {self.message}")


def default_audit_dir() -> Path:
    """``$XDG_STATE_HOME/incident-flow/audit``, as DESIGN.md says."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "incident-flow" / "audit"


def _default_budgets() -> dict[str, float]:
    # The seed's phase times: assessment 0-5 min, root cause 5-15, mitigation 15-30; verification
    # re-checks the signals for at most as long as mitigation may take.
    return {"assess": 300.0, "investigate": 600.0, "mitigate": 900.0, "verify": 900.0}


@attrs.frozen
class Settings:
    """``[settings]``: durations are stored as timedeltas and seconds."""

    lookback: timedelta = timedelta(hours=2)
    change_lookback: timedelta = timedelta(hours=24)
    timezone: tzinfo | None = None
    investigator_timeout: float = 60.0
    phase_budgets: Mapping[str, float] = attrs.field(factory=_default_budgets)
    audit_dir: Path = attrs.field(factory=default_audit_dir)
    #: ``[settings] llm`` and the ``[llm]`` table: the optional Claude layer (docs/llm.md).
    llm: LlmSettings = attrs.field(factory=LlmSettings)


@attrs.frozen
class ComponentSpec:
    """``[components]``: which repository paths (globs) belong to a component."""

    name: str
    paths: tuple[str, ...] = ()


@attrs.frozen
class RunbookEntry:
    """One ``[[runbook]]`` table: a command the team trusts for a kind of cause.

    ``command`` and ``dry_run_command`` are argument lists run without a shell, exactly as written:
    nothing from the run (a log line, a component name) is ever put into them. The entry fits a
    cause whose component is in ``components`` (when given) and whose category is ``category``
    (when given); at least one of the two is set.
    """

    name: str
    command: tuple[str, ...]
    components: tuple[str, ...] = ()
    category: str | None = None
    description: str = ""
    risk: str = "medium"
    timeout: float = DEFAULT_RUNBOOK_TIMEOUT
    dry_run_command: tuple[str, ...] | None = None
    index: int = 0


@attrs.frozen
class SourceConfig:
    """One ``[[sources]]`` table as written, before its type validates the options.

    When the config was loaded with the registered source types, ``options`` holds every option of
    the type, the absent ones at their defaults; without them, the keys as written.
    """

    name: str
    type: str
    options: Mapping[str, Any]
    index: int


@attrs.frozen
class Config:
    """A parsed config file; ``path`` is None for the empty environment."""

    path: Path | None = None
    settings: Settings = attrs.field(factory=Settings)
    components: Mapping[str, ComponentSpec] = attrs.field(factory=dict)
    sources: tuple[SourceConfig, ...] = ()
    #: ``[[runbook]]``: the commands the built-in ``runbook`` action may run once approved.
    runbook: tuple[RunbookEntry, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


# -- public functions ------------------------------------------------------------------------------


def find_default_config(cwd: Path | None = None) -> Path | None:
    """``./incident-flow.toml`` when it exists, else None (the run then has no sources).

    Without ``cwd`` the path returned is relative (``incident-flow.toml``), so an error message
    names the file the way the user sees it. A folder of that name is returned too: loading it then
    says it is not a file, instead of silently running without the user's config.
    """
    candidate = (cwd / DEFAULT_CONFIG_NAME) if cwd is not None else Path(DEFAULT_CONFIG_NAME)
    return candidate if candidate.exists() else None


def load_config(path: Path | str, source_types: Mapping[str, SourceType] | None = None) -> Config:
    """Read and validate a config file.

    :param path: the TOML file; errors name it as given here.
    :param source_types: the registered source types (the plugin host's); with them, each source's
        ``type`` and options are validated and defaults filled in. None skips that (the options
        are stored as written), for tools that only need settings.
    :raises ConfigError: the file cannot be read, is not TOML, or breaks a rule; one line.
    """
    shown = str(path)
    file = Path(path)
    with contextlib.suppress(RuntimeError):  # "~nosuchuser/...": the read below reports the file
        file = file.expanduser()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(shown, None, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(shown, None, "is a folder; expected a TOML file") from None
    except PermissionError:
        raise ConfigError(shown, None, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise ConfigError(shown, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows add a byte-order mark that TOML parsers reject.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(shown, None, "not UTF-8 text; TOML files are UTF-8", line=line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(shown, text, exc) from None
    return _Parser(shown, source_types).config(data, file.absolute())


def parse_config(
    data: Mapping[str, Any],
    *,
    path: Path | None,
    source_types: Mapping[str, SourceType] | None = None,
) -> Config:
    """Validate an already-parsed TOML document (``tomllib``'s dict) as :func:`load_config` does.

    ``path`` is where the document came from: errors name it, and relative paths (``audit_dir``,
    and later the sources' own) resolve against its folder; None means the current folder.
    """
    shown = str(path) if path is not None else None
    config_path = Path(path).absolute() if path is not None else None
    return _Parser(shown, source_types).config(data, config_path)


def build_source_specs(config: Config) -> list[SourceSpec]:
    """What each source type's factory receives: the validated options, the folder relative paths
    resolve against (``spec.path()``), and the settings (time zone, look-back)."""
    return [
        SourceSpec(
            name=source.name,
            type=source.type,
            options=source.options,
            base_dir=config.base_dir,
            settings=config.settings,
        )
        for source in config.sources
    ]


def config_to_dict(config: Config) -> dict[str, Any]:
    """The TOML document (as a dict) that :func:`parse_config` reads back to an equal ``Config``.

    For showing the effective configuration and recording it in the audit trail: every default is
    spelt out, durations are written as ``"1h30m"``, paths are absolute. Options whose value is
    None are left out (TOML has no null); parsing fills them back in from their defaults.
    """
    settings = config.settings
    out: dict[str, Any] = {
        "settings": {
            "lookback": format_duration(settings.lookback),
            "change_lookback": format_duration(settings.change_lookback),
            "investigator_timeout": format_duration(timedelta(seconds=settings.investigator_timeout)),
            "phase_budgets": {
                k: format_duration(timedelta(seconds=v)) for k, v in settings.phase_budgets.items()
            },
            "audit_dir": str(settings.audit_dir),
            "llm": settings.llm.mode,
        },
        "components": {name: {"paths": list(spec.paths)} for name, spec in config.components.items()},
        "sources": [
            {
                "name": source.name,
                "type": source.type,
                **{key: _option_to_toml(value) for key, value in source.options.items() if value is not None},
            }
            for source in config.sources
        ],
    }
    if config.runbook:
        out["runbook"] = [_runbook_to_toml(entry) for entry in config.runbook]
    if settings.timezone is not None:
        out["settings"]["timezone"] = _timezone_name(settings.timezone)
    return out


# -- helpers ---------------------------------------------------------------------------------------

_TOML_ERROR_AT = re.compile(
    r"^(?P<message>.*) \(at line (?P<line>[0-9]+), column (?P<column>[0-9]+)\)$", re.S
)
_TOML_ERROR_END = re.compile(r"^(?P<message>.*) \(at end of document\)$", re.S)


def _syntax_error(shown: str, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """A ConfigError at tomllib's position; Python 3.11 only gives it inside the message."""
    message = str(exc)
    match = _TOML_ERROR_AT.match(message)
    if match is not None:
        return ConfigError(
            shown,
            None,
            f"invalid TOML: {match['message']}",
            line=int(match["line"]),
            column=int(match["column"]),
        )
    match = _TOML_ERROR_END.match(message)
    if match is not None:
        # Point after the last character written, not at the empty line a final newline opens.
        lines = text.rstrip("\r\n").split("\n")
        return ConfigError(
            shown,
            None,
            f"invalid TOML: {match['message']} at end of file",
            line=len(lines),
            column=len(lines[-1]) + 1,
        )
    return ConfigError(shown, None, f"invalid TOML: {message}")


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(prefix: str, key: str) -> str:
    """``prefix.key``, quoting ``key`` as TOML would when it is not a bare key."""
    part = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{prefix}.{part}" if prefix else part


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: Any) -> str:
    """What the user wrote, in TOML's words: ``an integer (5)``, ``a table``."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({_short(value)})"
    if isinstance(value, float):
        return f"a float ({_short(value)})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, datetime):
        return f"a date-time ({value.isoformat()})"
    if isinstance(value, date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, time):
        return f"a time ({value.isoformat()})"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _timezone_name(zone: tzinfo) -> str:
    if isinstance(zone, ZoneInfo):
        return zone.key
    if zone is UTC:
        return "UTC"
    offset = zone.utcoffset(None)
    if isinstance(zone, timezone) and offset is not None:
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(offset) // timedelta(minutes=1)
        return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return str(zone)


def _runbook_to_toml(entry: RunbookEntry) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": entry.name,
        "command": list(entry.command),
        "description": entry.description,
        "risk": entry.risk,
        "timeout": format_duration(timedelta(seconds=entry.timeout)),
    }
    if entry.components:
        table["components"] = list(entry.components)
    if entry.category is not None:
        table["category"] = entry.category
    if entry.dry_run_command is not None:
        table["dry_run_command"] = list(entry.dry_run_command)
    return table


def _option_to_toml(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return [_option_to_toml(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


_PLURALS = {str: "strings", int: "integers", float: "numbers", bool: "booleans", dict: "tables"}


def _element_type(kind: Any) -> Any:
    """The element type of a list option: ``list[int]`` gives int, a bare ``list`` means strings."""
    args = typing.get_args(kind)
    return args[0] if args and isinstance(args[0], type) else str


def _type_name(kind: Any) -> str:
    origin = typing.get_origin(kind) or kind
    if origin in (list, tuple):
        element = _element_type(kind)
        return f"an array of {_PLURALS.get(element, getattr(element, '__name__', 'value') + ' values')}"
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a table",
        timedelta: 'a duration (such as "30s")',
        datetime: "a date-time",
    }
    if origin in names:
        return names[origin]
    if isinstance(origin, type) and issubclass(origin, PurePath):
        return "a path (a string)"
    return f"a {getattr(origin, '__name__', str(origin))}"


def _is(value: Any, kind: Any) -> bool:
    """isinstance() with TOML's view of the types: a boolean is not a number."""
    if isinstance(value, bool):
        return kind is bool
    try:
        return isinstance(value, kind)
    except TypeError:  # a typing construct a plugin used as a type
        return False


# -- the parser ------------------------------------------------------------------------------------


class _Parser:
    """Walks the document once, raising the first problem as a ConfigError naming ``self.file``."""

    def __init__(self, file: str | None, source_types: Mapping[str, SourceType] | None) -> None:
        self.file = file
        self.source_types = source_types

    def error(self, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.file, key, message)

    # generic checks

    def table(self, value: Any, key: str, example: str = "") -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            hint = f" such as {example}" if example else ""
            raise self.error(key or None, f"expected a table{hint}, got {_describe(value)}")
        for name in value:
            if not isinstance(name, str):  # only from parse_config with a hand-made dict
                raise self.error(key or None, f"keys must be strings, got {_short(name)}")
        return value

    def check_keys(
        self, table: Mapping[str, Any], allowed: Sequence[str], prefix: str, context: str = ""
    ) -> None:
        for key in table:
            if key not in allowed:
                expected = ", ".join(allowed)
                raise self.error(
                    _key(prefix, str(key)),
                    f"unknown key{context}; expected one of: {expected}{_suggest(str(key), allowed)}",
                )

    def string(self, value: Any, key: str, what: str = "a string") -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected {what}, got {_describe(value)}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            hint = f" (write [{json.dumps(value, ensure_ascii=False)}])" if isinstance(value, str) else ""
            raise self.error(key, f"expected an array of strings, got {_describe(value)}{hint}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.error(f"{key}[{i}]", f"expected a non-empty string, got {_describe(item)}")
        return tuple(value)

    def duration(self, value: Any, key: str) -> timedelta:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(
                key, f'expected a duration such as "2h" or a number of seconds, got {_describe(value)}'
            )
        try:
            delta = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if delta <= timedelta(0):
            raise self.error(key, f"expected a positive duration, got {_describe(value)}")
        return delta

    # sections

    def config(self, data: Any, config_path: Path | None) -> Config:
        document = self.table(data, "")
        self.check_keys(document, TOP_LEVEL_KEYS, "")
        base_dir = config_path.parent if config_path is not None else Path.cwd()
        settings = self.settings(document.get("settings", {}), base_dir)
        settings = attrs.evolve(settings, llm=self.llm(settings.llm.mode, document))
        components = self.components(document.get("components", {}))
        sources = self.sources(document.get("sources", []))
        runbook = self.runbook(document.get("runbook", []))
        return Config(
            path=config_path, settings=settings, components=components, sources=sources, runbook=runbook
        )

    def settings(self, value: Any, base_dir: Path) -> Settings:
        table = self.table(value, "settings")
        self.check_keys(table, SETTINGS_KEYS, "settings")
        kwargs: dict[str, Any] = {}
        for name in ("lookback", "change_lookback"):
            if name in table:
                kwargs[name] = self.duration(table[name], f"settings.{name}")
        if "investigator_timeout" in table:
            timeout = self.duration(table["investigator_timeout"], "settings.investigator_timeout")
            kwargs["investigator_timeout"] = timeout.total_seconds()
        if "timezone" in table:
            name = self.string(table["timezone"], "settings.timezone", 'a time zone name such as "UTC"')
            try:
                kwargs["timezone"] = parse_timezone(name)
            except ValueError as exc:
                raise self.error("settings.timezone", str(exc)) from None
        if "phase_budgets" in table:
            budgets_table = self.table(
                table["phase_budgets"], "settings.phase_budgets", '{ assess = "5m", investigate = "10m" }'
            )
            self.check_keys(budgets_table, PHASE_KEYS, "settings.phase_budgets")
            budgets = _default_budgets()
            for phase, budget in budgets_table.items():
                budgets[phase] = self.duration(budget, f"settings.phase_budgets.{phase}").total_seconds()
            kwargs["phase_budgets"] = budgets
        if "audit_dir" in table:
            kwargs["audit_dir"] = self.folder(table["audit_dir"], "settings.audit_dir", base_dir)
        if "llm" in table:
            mode = self.string(table["llm"], "settings.llm", '"off", "auto" or "anthropic"')
            kwargs["llm"] = self.llm(mode, {})
        return Settings(**kwargs)

    def llm(self, mode: str, document: Mapping[str, Any]) -> LlmSettings:
        """``[settings] llm`` (the switch) and the ``[llm]`` table (model and budgets)."""
        table = self.table(document.get("llm", {}), "llm") if "llm" in document else None
        try:
            return LlmSettings.from_config(mode, table)
        except LlmConfigError as exc:
            raise self.error("settings.llm" if exc.key == "llm" else f"llm.{exc.key}", exc.message) from None

    def folder(self, value: Any, key: str, base_dir: Path) -> Path:
        text = self.string(value, key, "a folder path (a string)")
        if not text.strip():
            raise self.error(key, "expected a folder path, got an empty string")
        try:
            folder = Path(text).expanduser()
        except RuntimeError:
            raise self.error(
                key, f"cannot expand '~' in {_short(text)}: no such user or no home folder"
            ) from None
        return folder if folder.is_absolute() else base_dir / folder

    def components(self, value: Any) -> dict[str, ComponentSpec]:
        table = self.table(value, "components")
        components: dict[str, ComponentSpec] = {}
        for name, spec in table.items():
            key = _key("components", name)
            if not name.strip():
                raise self.error(key, "a component name must not be empty")
            entry = self.table(spec, key, '{ paths = ["services/orders/**"] }')
            self.check_keys(entry, COMPONENT_KEYS, key)
            paths = self.strings(entry["paths"], f"{key}.paths") if "paths" in entry else ()
            components[name] = ComponentSpec(name=name, paths=paths)
        return components

    def sources(self, value: Any) -> tuple[SourceConfig, ...]:
        if isinstance(value, Mapping):
            raise self.error(
                "sources", "expected an array of tables ([[sources]]), got a single table ([sources])"
            )
        if not isinstance(value, list):
            raise self.error("sources", f"expected an array of tables ([[sources]]), got {_describe(value)}")
        seen: dict[str, int] = {}
        result = []
        for index, item in enumerate(value):
            source = self.source(index, item)
            if source.name in seen:
                raise self.error(
                    f"sources[{index}].name",
                    f"duplicate source name {source.name!r}; sources[{seen[source.name]}] already has it",
                )
            seen[source.name] = index
            result.append(source)
        return tuple(result)

    def runbook(self, value: Any) -> tuple[RunbookEntry, ...]:
        """``[[runbook]]``: every entry checked before anything runs, names unique."""
        if isinstance(value, Mapping):
            raise self.error(
                "runbook", "expected an array of tables ([[runbook]]), got a single table ([runbook])"
            )
        if not isinstance(value, list):
            raise self.error("runbook", f"expected an array of tables ([[runbook]]), got {_describe(value)}")
        seen: dict[str, int] = {}
        entries = []
        for index, item in enumerate(value):
            entry = self.runbook_entry(index, item)
            if entry.name in seen:
                raise self.error(
                    f"runbook[{index}].name",
                    f"duplicate runbook name {entry.name!r}; runbook[{seen[entry.name]}] already has it",
                )
            seen[entry.name] = index
            entries.append(entry)
        return tuple(entries)

    def runbook_entry(self, index: int, item: Any) -> RunbookEntry:
        prefix = f"runbook[{index}]"
        table = self.table(item, prefix, '[[runbook]] name = "..." command = ["..."]')
        self.check_keys(table, RUNBOOK_KEYS, prefix)
        for required in ("name", "command"):
            if required not in table:
                raise self.error(f"{prefix}.{required}", "required key missing for a runbook entry")
        name = self.string(table["name"], f"{prefix}.name")
        if not _RUNBOOK_NAME.fullmatch(name):
            raise self.error(
                f"{prefix}.name",
                f"{_short(name)} is not a runbook name: use lower-case letters, digits, '.', '_' and '-' "
                "(it becomes the step id runbook-<name> that people type to approve it)",
            )
        kwargs: dict[str, Any] = {"name": name, "index": index}
        kwargs["command"] = self.argv(table["command"], f"{prefix}.command")
        if "dry_run_command" in table:
            kwargs["dry_run_command"] = self.argv(table["dry_run_command"], f"{prefix}.dry_run_command")
        if "components" in table:
            kwargs["components"] = self.strings(table["components"], f"{prefix}.components")
        if "category" in table:
            category = self.string(table["category"], f"{prefix}.category")
            if category not in _CATEGORIES:
                raise self.error(
                    f"{prefix}.category",
                    f"unknown category {category!r}; expected one of: {', '.join(_CATEGORIES)}"
                    f"{_suggest(category, _CATEGORIES)}",
                )
            kwargs["category"] = category
        if "components" not in kwargs and "category" not in kwargs:
            raise self.error(
                prefix,
                f"runbook entry {name!r} says neither components nor category: "
                'say which causes it fits, e.g. components = ["orders"]',
            )
        if "description" in table:
            kwargs["description"] = self.string(table["description"], f"{prefix}.description")
        if "risk" in table:
            risk = self.string(table["risk"], f"{prefix}.risk")
            if risk not in ("low", "medium", "high"):
                raise self.error(f"{prefix}.risk", f'expected "low", "medium" or "high", got {_short(risk)}')
            kwargs["risk"] = risk
        if "timeout" in table:
            kwargs["timeout"] = self.duration(table["timeout"], f"{prefix}.timeout").total_seconds()
        return RunbookEntry(**kwargs)

    def argv(self, value: Any, key: str) -> tuple[str, ...]:
        """A command as an argument list: never a shell string, so nothing is ever re-parsed."""
        if isinstance(value, str):
            raise self.error(
                key,
                'expected an argument list such as ["systemctl", "restart", "orders"], got a string '
                "(commands never go through a shell)",
            )
        args = self.strings(value, key)
        if not args:
            raise self.error(key, "expected at least the program to run, got an empty array")
        for i, arg in enumerate(args):
            if "\x00" in arg:
                raise self.error(f"{key}[{i}]", "an argument must not contain a NUL character")
        return args

    def source(self, index: int, item: Any) -> SourceConfig:
        prefix = f"sources[{index}]"
        table = self.table(item, prefix, '[[sources]] name = "..." type = "..."')
        if "name" not in table:
            raise self.error(f"{prefix}.name", "required key missing: every source needs a unique name")
        name = self.string(table["name"], f"{prefix}.name")
        if not name.strip():
            raise self.error(f"{prefix}.name", "a source name must not be empty")
        if "type" not in table:
            raise self.error(
                f"{prefix}.type", f"required key missing for source {name!r}{self.known_types()}"
            )
        type_name = self.string(table["type"], f"{prefix}.type")
        raw = {key: option for key, option in table.items() if key not in SOURCE_KEYS}
        if self.source_types is None:
            return SourceConfig(name=name, type=type_name, options=raw, index=index)
        source_type = self.source_types.get(type_name)
        if source_type is None:
            if not self.source_types:
                message = (
                    f"unknown source type {type_name!r}: no source types are installed (is a plugin missing?)"
                )
            else:
                known = ", ".join(sorted(self.source_types))
                message = (
                    f"unknown source type {type_name!r} for source {name!r}; expected one of: {known}"
                    f"{_suggest(type_name, self.source_types)}"
                )
            raise self.error(f"{prefix}.type", message)
        return SourceConfig(
            name=name, type=type_name, options=self.options(prefix, name, source_type, raw), index=index
        )

    def known_types(self) -> str:
        if not self.source_types:
            return ""
        return f"; known types: {', '.join(sorted(self.source_types))}"

    def options(
        self, prefix: str, name: str, source_type: SourceType, raw: Mapping[str, Any]
    ) -> dict[str, Any]:
        about = f"source {name!r} (type {source_type.name!r})"
        allowed = [*SOURCE_KEYS, *(k for k in source_type.options if k not in SOURCE_KEYS)]
        self.check_keys(raw, allowed, prefix, f" for {about}")
        options: dict[str, Any] = {}
        for key, option in source_type.options.items():
            if key in SOURCE_KEYS:
                continue
            where = _key(prefix, key)
            if key in raw:
                options[key] = self.option_value(raw[key], option, where, about)
            elif option.required:
                doc = f": {option.doc}" if option.doc else ""
                raise self.error(where, f"required key missing for {about}{doc}")
            else:
                # A copy: a list default must not be shared by every source of the type.
                options[key] = copy.deepcopy(option.default)
        return options

    def option_value(self, value: Any, option: Option, key: str, about: str) -> Any:
        """Check ``value`` against the option's types and convert it (int to float, text to duration).

        The exact types are tried first so that ``types=(int, float)`` keeps an integer an integer.
        """
        kinds: tuple[Any, ...] = option.types if isinstance(option.types, tuple) else (option.types,)
        if not kinds:
            return value
        for kind in kinds:
            origin = typing.get_origin(kind) or kind
            if origin in (list, tuple):
                continue
            if _is(value, origin):
                return value
        for kind in kinds:
            origin = typing.get_origin(kind) or kind
            if origin in (list, tuple) and isinstance(value, list):
                element = _element_type(kind)
                for i, item in enumerate(value):
                    if not _is(item, element):
                        raise self.error(
                            f"{key}[{i}]", f"expected {_type_name(element)} in {about}, got {_describe(item)}"
                        )
                return list(value) if origin is list else tuple(value)
            if origin is float and _is(value, int):
                return float(value)
            if origin is timedelta and (isinstance(value, str) or _is(value, int) or _is(value, float)):
                try:
                    return parse_duration(value)
                except ValueError as exc:
                    raise self.error(key, f"{exc} (in {about})") from None
            if isinstance(origin, type) and issubclass(origin, PurePath) and isinstance(value, str):
                # Kept as text: the source type resolves it with spec.path() against the file's folder.
                return value
        expected = " or ".join(_type_name(kind) for kind in kinds)
        hint = ""
        if isinstance(value, str) and any((typing.get_origin(k) or k) in (list, tuple) for k in kinds):
            hint = f" (write [{json.dumps(value, ensure_ascii=False)}])"
        raise self.error(key, f"expected {expected} for {about}, got {_describe(value)}{hint}")
