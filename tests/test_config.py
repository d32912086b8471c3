"""The config file contract: loading, validation and one-line errors (incident_flow.config)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_flow.config import (
    ComponentSpec,
    Config,
    ConfigError,
    Settings,
    build_source_specs,
    config_to_dict,
    default_audit_dir,
    find_default_config,
    load_config,
    parse_config,
)
from incident_flow.sources import Option, Source, SourceSpec, SourceType


def _factory(spec: SourceSpec) -> Source:  # pragma: no cover - never called here
    raise NotImplementedError


SOURCE_TYPES: dict[str, SourceType] = {
    "logs": SourceType(
        name="logs",
        factory=_factory,
        options={
            "paths": Option((list,), "log files or globs", required=True),
            "format": Option((str,), "auto | json | logfmt | nginx | syslog | pattern", default="auto"),
            "pattern": Option((str,), "the line layout when format = 'pattern'"),
            "component": Option((str,), "a fixed component"),
            "component_field": Option((str,), "the field holding the component"),
        },
    ),
    "metrics-csv": SourceType(
        name="metrics-csv",
        factory=_factory,
        options={"paths": Option((list,), "CSV files", required=True)},
    ),
    "prometheus": SourceType(
        name="prometheus",
        factory=_factory,
        options={
            "url": Option((str,), "the Prometheus base URL", required=True),
            "timeout": Option((float,), "seconds per query", default=10.0),
            "step": Option((timedelta,), "query resolution", default=timedelta(seconds=30)),
            "headers": Option((dict,), "extra HTTP headers", default={}),
            "verify_tls": Option((bool,), "check certificates", default=True),
            "max_series": Option((int,), "at most this many series", default=500),
            "selector": Option((str, list), "one selector or several"),
        },
    ),
    "git": SourceType(
        name="git",
        factory=_factory,
        options={"path": Option((Path,), "the repository", required=True)},
    ),
}

DESIGN_EXAMPLE = """\
[settings]
lookback = "2h"            # telemetry before detection
change_lookback = "24h"
timezone = "UTC"
investigator_timeout = "60s"
phase_budgets = { assess = "5m", investigate = "10m", mitigate = "15m" }
audit_dir = "~/.local/state/incident-flow/audit"

[components]
orders = { paths = ["services/orders/**"] }

[[sources]]
name = "orders-logs"
type = "logs"
paths = ["logs/orders.log"]
format = "auto"
component = "orders"

[[sources]]
name = "metrics"
type = "metrics-csv"
paths = ["metrics/*.csv"]

[[sources]]
name = "prom"
type = "prometheus"
url = "http://127.0.0.1:9090"

[[sources]]
name = "code"
type = "git"
path = "repo"
"""


def write(tmp_path: Path, text: str, name: str = "incident-flow.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(
    tmp_path: Path, text: str, source_types: Mapping[str, SourceType] | None = SOURCE_TYPES
) -> str:
    """Load a bad config; return the error's text after checking it is one line naming the file."""
    path = write(tmp_path, text, "bad-config.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path, source_types)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{path}:"), message
    return message


# -- a good config ---------------------------------------------------------------------------------


def test_the_design_example_loads(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE)
    config = load_config(path, SOURCE_TYPES)

    assert config.path == path
    assert config.base_dir == tmp_path
    s = config.settings
    assert s.lookback == timedelta(hours=2)
    assert s.change_lookback == timedelta(hours=24)
    assert s.timezone is UTC
    assert s.investigator_timeout == 60.0
    assert dict(s.phase_budgets) == {
        "assess": 300.0,
        "investigate": 600.0,
        "mitigate": 900.0,
        "verify": 900.0,
    }
    assert s.audit_dir == Path.home() / ".local/state/incident-flow/audit"
    assert config.components == {"orders": ComponentSpec("orders", ("services/orders/**",))}

    assert [(src.name, src.type, src.index) for src in config.sources] == [
        ("orders-logs", "logs", 0),
        ("metrics", "metrics-csv", 1),
        ("prom", "prometheus", 2),
        ("code", "git", 3),
    ]
    logs, _, prom, git = config.sources
    assert dict(logs.options) == {
        "paths": ["logs/orders.log"],
        "format": "auto",
        "pattern": None,
        "component": "orders",
        "component_field": None,
    }
    # Defaults are filled in, converted to their declared type.
    assert dict(prom.options) == {
        "url": "http://127.0.0.1:9090",
        "timeout": 10.0,
        "step": timedelta(seconds=30),
        "headers": {},
        "verify_tls": True,
        "max_series": 500,
        "selector": None,
    }
    # Relative paths inside options stay as written: the SourceSpec resolves them.
    assert git.options == {"path": "repo"}


def test_a_good_config_round_trips_through_config_to_dict(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE), SOURCE_TYPES)
    again = parse_config(config_to_dict(config), path=config.path, source_types=SOURCE_TYPES)
    assert again == config


def test_load_config_and_parse_config_agree(tmp_path: Path) -> None:
    import tomllib

    path = write(tmp_path, DESIGN_EXAMPLE)
    data = tomllib.loads(DESIGN_EXAMPLE)
    assert parse_config(data, path=path, source_types=SOURCE_TYPES) == load_config(path, SOURCE_TYPES)


def test_an_empty_file_is_the_default_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), SOURCE_TYPES)
    assert config.settings == Settings()
    assert config.sources == ()
    assert config.components == {}
    assert config.settings.audit_dir == default_audit_dir()


def test_partial_phase_budgets_keep_the_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[settings]\nphase_budgets = { assess = "90s" }\n'))
    assert dict(config.settings.phase_budgets) == {
        "assess": 90.0,
        "investigate": 600.0,
        "mitigate": 900.0,
        "verify": 900.0,
    }


def test_numbers_are_seconds_and_durations_are_flexible(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path, '[settings]\nlookback = 5400\ninvestigator_timeout = 2.5\nchange_lookback = "1d12h"\n'
        )
    )
    assert config.settings.lookback == timedelta(minutes=90)
    assert config.settings.investigator_timeout == 2.5
    assert config.settings.change_lookback == timedelta(hours=36)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Europe/Paris", ZoneInfo("Europe/Paris")), ("+02:00", timezone(timedelta(hours=2))), ("UTC", UTC)],
)
def test_timezone_setting(tmp_path: Path, name: str, expected: Any) -> None:
    config = load_config(write(tmp_path, f'[settings]\ntimezone = "{name}"\n'))
    assert config.settings.timezone == expected


def test_relative_audit_dir_resolves_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "env").mkdir()
    write(tmp_path / "env", '[settings]\naudit_dir = "audit"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config("env/incident-flow.toml")
    assert config.settings.audit_dir == tmp_path / "env" / "audit"
    assert config.path is not None and config.path.is_absolute()


def test_without_source_types_options_are_stored_raw(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "x"\ntype = "anything"\nfoo = 1\nbar = ["a"]\n')
    (source,) = load_config(path).sources
    assert (source.name, source.type, dict(source.options)) == ("x", "anything", {"foo": 1, "bar": ["a"]})


def test_option_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        [[sources]]
        name = "prom"
        type = "prometheus"
        url = "http://p:9090"
        timeout = 3
        step = "1m"
        selector = ["up", "http_requests_total"]
        headers = { Authorization = "Bearer x" }
        """,
    )
    (prom,) = load_config(path, SOURCE_TYPES).sources
    assert prom.options["timeout"] == 3.0 and isinstance(prom.options["timeout"], float)
    assert prom.options["step"] == timedelta(minutes=1)
    assert prom.options["selector"] == ["up", "http_requests_total"]
    assert prom.options["headers"] == {"Authorization": "Bearer x"}


def test_list_defaults_are_not_shared_between_sources() -> None:
    types = {"t": SourceType("t", _factory, {"tags": Option((list,), "tags", default=["a"])})}
    data = {"sources": [{"name": "one", "type": "t"}, {"name": "two", "type": "t"}]}
    one, two = parse_config(data, path=None, source_types=types).sources
    one.options["tags"].append("b")
    assert two.options["tags"] == ["a"]
    assert types["t"].options["tags"].default == ["a"]


def test_build_source_specs(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE), SOURCE_TYPES)
    specs = build_source_specs(config)
    assert [s.name for s in specs] == ["orders-logs", "metrics", "prom", "code"]
    git = specs[3]
    assert git.type == "git"
    assert git.base_dir == tmp_path
    assert git.settings is config.settings
    assert git.path(git.options["path"]) == tmp_path / "repo"


def test_parse_config_without_a_path_uses_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config({"settings": {"audit_dir": "a"}}, path=None)
    assert config.path is None
    assert config.settings.audit_dir == tmp_path / "a"
    with pytest.raises(ConfigError, match=r"^<config>: settings\.lookbak: unknown key"):
        parse_config({"settings": {"lookbak": "1h"}}, path=None)


def test_find_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_default_config(tmp_path) is None
    write(tmp_path, "")
    assert find_default_config(tmp_path) == tmp_path / "incident-flow.toml"
    monkeypatch.chdir(tmp_path)
    assert find_default_config() == Path("incident-flow.toml")


# -- errors: one line, the file, the key, what was expected -----------------------------------------


LOGS = "[[sources]]\nname = 'a'\ntype = 'logs'\n"
PROM = "[[sources]]\nname = 'p'\ntype = 'prometheus'\nurl = 'u'\n"
LOGS_ABOUT = "source 'a' (type 'logs')"
ERROR_CASES = [
    # [settings]
    ("[settings]\nlookbak = '2h'", "settings.lookbak", "expected one of: lookback, change_lookback"),
    ("[settings]\nlookbak = '2h'", "settings.lookbak", "did you mean 'lookback'?"),
    ("[setings]\n", "setings", "did you mean 'settings'?"),
    ("owner = 'me'", "owner", "expected one of: settings, components, sources"),
    ("[settings]\nlookback = true", "settings.lookback", 'expected a duration such as "2h"'),
    ("[settings]\nlookback = 'soon'", "settings.lookback", "invalid duration 'soon'"),
    ("[settings]\nlookback = '-5m'", "settings.lookback", "expected a positive duration"),
    ("[settings]\nlookback = 0", "settings.lookback", "expected a positive duration"),
    ("[settings]\nlookback = inf", "settings.lookback", "duration"),
    ("[settings]\nlookback = 1e300", "settings.lookback", "out of range"),
    ("[settings]\ninvestigator_timeout = [1]", "settings.investigator_timeout", "got an array"),
    ("[settings]\ntimezone = 2", "settings.timezone", "expected a time zone name"),
    ("[settings]\ntimezone = 'Europe/Pari'", "settings.timezone", "did you mean 'Europe/Paris'?"),
    ("[settings]\nphase_budgets = '5m'", "settings.phase_budgets", "expected a table"),
    (
        "[settings]\nphase_budgets = { asess = '5m' }",
        "settings.phase_budgets.asess",
        "did you mean 'assess'?",
    ),
    (
        "[settings]\nphase_budgets = { correlate = 1 }",
        "settings.phase_budgets.correlate",
        "assess, investigate",
    ),
    ("[settings]\nphase_budgets = { assess = 'x' }", "settings.phase_budgets.assess", "invalid duration"),
    ("[settings]\naudit_dir = 5", "settings.audit_dir", "expected a folder path"),
    ("[settings]\naudit_dir = ''", "settings.audit_dir", "empty"),
    ("[settings]\naudit_dir = '~no-such-user-xyz/a'", "settings.audit_dir", "cannot expand '~'"),
    ("settings = 3", "settings", "expected a table, got an integer (3)"),
    # [components]
    ("[components]\norders = ['a']", "components.orders", "expected a table such as { paths"),
    ("[components]\norders = { pahts = ['a'] }", "components.orders.pahts", "did you mean 'paths'?"),
    ("[components]\norders = { owners = ['a'] }", "components.orders.owners", "expected one of: paths"),
    ("[components]\norders = { paths = 'a/**' }", "components.orders.paths", 'write ["a/**"]'),
    ("[components]\norders = { paths = [1] }", "components.orders.paths[0]", "got an integer (1)"),
    ("[components]\n'a.b' = { x = 1 }", 'components."a.b".x', "unknown key"),
    ("components = 1", "components", "expected a table"),
    # [[sources]]: the table itself, name and type
    ("sources = 1", "sources", "expected an array of tables ([[sources]])"),
    ("[sources]\nname = 'x'", "sources", "got a single table ([sources])"),
    ("sources = [1]", "sources[0]", "expected a table"),
    ("[[sources]]\ntype = 'logs'", "sources[0].name", "required key missing"),
    ("[[sources]]\nname = 3\ntype = 'logs'", "sources[0].name", "expected a string, got an integer (3)"),
    ("[[sources]]\nname = ' '\ntype = 'logs'", "sources[0].name", "must not be empty"),
    (
        "[[sources]]\nname = 'a'",
        "sources[0].type",
        "required key missing for source 'a'; known types: git, logs",
    ),
    ("[[sources]]\nname = 'a'\ntype = 'lgos'", "sources[0].type", "unknown source type 'lgos'"),
    (
        "[[sources]]\nname = 'a'\ntype = 'lgos'",
        "sources[0].type",
        "one of: git, logs, metrics-csv, prometheus",
    ),
    ("[[sources]]\nname = 'a'\ntype = 'lgos'", "sources[0].type", "did you mean 'logs'?"),
    (
        LOGS + "paths = ['x']\n[[sources]]\nname = 'a'\ntype = 'git'\npath = '.'",
        "sources[1].name",
        "duplicate source name 'a'; sources[0] already has it",
    ),
    # [[sources]]: the options of the type
    (LOGS, "sources[0].paths", f"required key missing for {LOGS_ABOUT}: log files"),
    (LOGS + "paths = ['x']\nfromat = 'json'", "sources[0].fromat", "did you mean 'format'?"),
    (
        LOGS + "paths = ['x']\nfromat = 'json'",
        "sources[0].fromat",
        f"unknown key for {LOGS_ABOUT}; expected one of: name, type, paths, format",
    ),
    (
        LOGS + "paths = 'x.log'",
        "sources[0].paths",
        f"""expected an array of strings for {LOGS_ABOUT}, got a string ('x.log') (write ["x.log"])""",
    ),
    (
        LOGS + "paths = ['x', 2]",
        "sources[0].paths[1]",
        f"expected a string in {LOGS_ABOUT}, got an integer (2)",
    ),
    (LOGS + "paths = ['x']\nformat = 1", "sources[0].format", f"expected a string for {LOGS_ABOUT}"),
    (PROM + "timeout = 'fast'", "sources[0].timeout", "expected a number"),
    (PROM + "timeout = true", "sources[0].timeout", "got a boolean (true)"),
    (PROM + "max_series = 1.5", "sources[0].max_series", "expected an integer"),
    (PROM + "max_series = false", "sources[0].max_series", "expected an integer"),
    (PROM + "verify_tls = 1", "sources[0].verify_tls", "expected a boolean"),
    (PROM + "step = 'often'", "sources[0].step", "invalid duration 'often'"),
    (PROM + "selector = 3", "sources[0].selector", "expected a string or an array of strings"),
    ("[[sources]]\nname = 'g'\ntype = 'git'\npath = 3", "sources[0].path", "expected a path (a string)"),
]


@pytest.mark.parametrize(("text", "key", "expected"), ERROR_CASES)
def test_errors_name_the_file_the_key_and_what_was_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    message = load_error(tmp_path, text)
    assert f"bad-config.toml: {key}: " in message
    assert expected in message


def test_unknown_type_when_no_type_is_installed(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[[sources]]\nname = 'a'\ntype = 'logs'", source_types={})
    assert "no source types are installed" in message


def test_error_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "[settings]\nlookbak = '2h'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.key == "settings.lookbak"
    assert info.value.message.startswith("unknown key")


def test_errors_name_the_file_as_the_user_wrote_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "[settings]\nlookbak = 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^incident-flow\.toml: settings\.lookbak: "):
        load_config("incident-flow.toml")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[settings]\nlookback = 2h\n", 2, 13),
        ("[settings]\nlookback = '2h'\nlookback = '3h'\n", 3, None),
        ("[[sources]]\nname = 'a\n", 2, 10),
        ("a = ", 1, 5),
    ],
)
def test_toml_syntax_errors_carry_the_line_and_column(
    tmp_path: Path, text: str, line: int, column: int | None
) -> None:
    message = load_error(tmp_path, text)
    assert "invalid TOML" in message
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "bad-config.toml")
    assert info.value.line == line
    if column is not None:
        assert info.value.column == column
        assert message.startswith(f"{tmp_path / 'bad-config.toml'}:{line}:{column}: invalid TOML: ")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[settings]\nlookback = '1h'\n")
    assert load_config(path).settings.lookback == timedelta(hours=1)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[settings]\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.toml:2: not UTF-8") as info:
        load_config(path)
    assert info.value.line == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found$"):
        load_config(tmp_path / "nope.toml")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # chmod 000 does not stop root, so the refusal is simulated.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"incident-flow\.toml: cannot read the file: permission denied$"):
        load_config(path)


def test_error_text_stays_on_one_line_whatever_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"settings": {"look\nback\u2028": 1}}, path=Path("multi\nline.toml"))
    assert len(str(info.value).splitlines()) == 1
    assert "look\\nback" in str(info.value)


def test_config_error_keeps_its_original_constructor() -> None:
    err = ConfigError("f.toml", "settings.x", "bad")
    assert str(err) == "f.toml: settings.x: bad"
    assert str(ConfigError(None, None, "bad")) == "<config>: bad"


# -- properties ------------------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "settings", "components", "sources", "name", "type", "paths", "lookback", "change_lookback",
        "timezone", "investigator_timeout", "phase_budgets", "audit_dir", "assess", "investigate",
        "mitigate", "logs", "prometheus", "git", "url", "timeout", "step", "format", "path",
        "headers", "selector", "max_series", "verify_tls",
    ]
) | st.text(max_size=8)  # fmt: skip

SCALARS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["2h", "5m", "0s", "-1h", "UTC", "Europe/Paris", "+02:00", "logs", "prometheus", "git", "~/x"]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def documents() -> st.SearchStrategy[dict[str, Any]]:
    """TOML-shaped documents, near enough to valid that they get past the first checks."""
    source = st.fixed_dictionaries(
        {"name": st.text(max_size=6) | VALUES, "type": st.sampled_from(sorted(SOURCE_TYPES)) | VALUES},
        optional={k: VALUES for k in ["paths", "url", "timeout", "step", "path", "format", "selector"]},
    )
    settings_table = st.fixed_dictionaries(
        {},
        optional={
            "lookback": VALUES,
            "timezone": VALUES,
            "phase_budgets": st.dictionaries(KEYS, VALUES, max_size=3) | VALUES,
            "audit_dir": VALUES,
            "investigator_timeout": VALUES,
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "settings": settings_table | VALUES,
            "components": st.dictionaries(
                KEYS, st.fixed_dictionaries({}, optional={"paths": VALUES}) | VALUES
            )
            | VALUES,
            "sources": st.lists(source | VALUES, max_size=3) | VALUES,
        },
    ) | st.dictionaries(KEYS, VALUES, max_size=4)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.booleans())
def test_arbitrary_documents_raise_only_config_error(document: dict[str, Any], typed: bool) -> None:
    try:
        config = parse_config(document, path=Path("prop.toml"), source_types=SOURCE_TYPES if typed else None)
    except ConfigError as exc:
        text = str(exc)
        assert len(text.splitlines()) == 1
        assert text.startswith("prop.toml")
    else:
        assert isinstance(config, Config)


durations = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650))
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_. ", min_size=1, max_size=10).filter(
    str.strip
)


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    source_names = draw(st.lists(names, unique=True, max_size=4))
    sources = []
    for name in source_names:
        kind = draw(st.sampled_from(sorted(SOURCE_TYPES)))
        source: dict[str, Any] = {"name": name, "type": kind}
        if kind in ("logs", "metrics-csv"):
            source["paths"] = draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3))
        if kind == "prometheus":
            source["url"] = draw(st.text(max_size=20))
            if draw(st.booleans()):
                source["step"] = f"{draw(st.integers(1, 600))}s"
            if draw(st.booleans()):
                source["timeout"] = draw(st.integers(1, 100) | st.floats(0.1, 100))
        if kind == "git":
            source["path"] = draw(st.text(min_size=1, max_size=8))
        sources.append(source)
    table: dict[str, Any] = {}
    for key in draw(st.sets(st.sampled_from(["lookback", "change_lookback", "investigator_timeout"]))):
        table[key] = f"{draw(st.integers(1, 10**6))}s"
    if draw(st.booleans()):
        table["timezone"] = draw(
            st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "+02:00", "-05:30"])
        )
    if draw(st.booleans()):
        table["phase_budgets"] = {
            k: f"{draw(st.integers(1, 3600))}s"
            for k in draw(st.sets(st.sampled_from(["assess", "investigate", "mitigate"])))
        }
    components = draw(
        st.dictionaries(
            names,
            st.fixed_dictionaries({"paths": st.lists(st.text(min_size=1, max_size=8), max_size=3)}),
            max_size=3,
        )
    )
    return {"settings": table, "components": components, "sources": sources}


@given(valid_documents())
def test_valid_documents_round_trip(document: dict[str, Any]) -> None:
    config = parse_config(document, path=Path("/env/prop.toml"), source_types=SOURCE_TYPES)
    assert parse_config(config_to_dict(config), path=config.path, source_types=SOURCE_TYPES) == config
    assert [s.name for s in config.sources] == [s["name"] for s in document["sources"]]


def test_timezone_round_trips_through_config_to_dict() -> None:
    for name in ("UTC", "Europe/Paris", "+05:30", "-02:00"):
        config = parse_config({"settings": {"timezone": name}}, path=None)
        assert config_to_dict(config)["settings"]["timezone"] == name
        assert datetime(2024, 1, 1, tzinfo=config.settings.timezone).utcoffset() is not None
