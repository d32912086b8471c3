"""Meta-tests: the documentation follows the code (datasette's tests/test_docs.py does the same).

Each test names what is missing, so a failure says which page to fix and how.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from incident_flow import hookspecs
from incident_flow.cli import build_parser
from incident_flow.config import Settings
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import SourceType

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _read(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


def _hookspecs() -> dict[str, object]:
    return {
        name: func
        for name, func in vars(hookspecs).items()
        if callable(func) and hasattr(func, f"{hookspecs.PROJECT}_spec")
    }


def _section(text: str, heading: re.Pattern[str]) -> str | None:
    """The text under the first heading matching ``heading``, up to the next heading of its level or
    a higher one (headings inside code fences do not count)."""
    lines = text.splitlines()
    in_fence = False
    start: int | None = None
    level = 0
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = re.match(r"^(#{1,6}) (.*)$", line)
        if match is None:
            continue
        if start is None:
            if heading.fullmatch(match.group(2).strip()):
                start, level = index, len(match.group(1))
        elif len(match.group(1)) <= level:
            return "\n".join(lines[start + 1 : index])
    return None if start is None else "\n".join(lines[start + 1 :])


def _normalise(code: str) -> str:
    text = re.sub(r"\s+", " ", code).strip()
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r",?\s*\)", ")", text)
    text = re.sub(r"\s*(:\s*\.\.\.|:)$", "", text)
    return text


def _expected_signature(name: str, func: object) -> str:
    """``def name(arg: Annotation, ...) -> Return`` as written in hookspecs.py (string annotations)."""
    signature = inspect.signature(func)  # type: ignore[arg-type]
    params = []
    for param in signature.parameters.values():
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {param.annotation}"
        if param.default is not inspect.Parameter.empty:
            text += (
                f" = {param.default!r}"
                if param.annotation is not inspect.Parameter.empty
                else f"={param.default!r}"
            )
        params.append(text)
    result = f"def {name}({', '.join(params)})"
    if signature.return_annotation is not inspect.Signature.empty:
        result += f" -> {signature.return_annotation}"
    return _normalise(result)


# -- docs/hooks.md ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_hookspecs()))
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    text = _read("hooks.md")
    section = _section(text, re.compile(re.escape(name)))
    heading = re.search(rf"^## {re.escape(name)}\s*$", text, re.M)
    assert section is not None and heading is not None, (
        f"docs/hooks.md has no '## {name}' heading for the hook {name}"
    )
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, (
        f"docs/hooks.md: the section '## {name}' has no ```python block with the signature"
    )
    expected = _expected_signature(name, _hookspecs()[name])
    documented = _normalise(block.group(1))
    assert documented == expected, (
        f"docs/hooks.md: the signature of {name} differs from incident_flow/hookspecs.py\n"
        f"  documented: {documented}\n  in the code: {expected}"
    )


def test_hooks_md_documents_no_hook_that_does_not_exist() -> None:
    text = _read("hooks.md")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    documented = set(re.findall(r"^## ([a-z_][a-z0-9_]*)\s*$", text, re.M))
    stale = sorted(documented - set(_hookspecs()))
    assert not stale, f"docs/hooks.md documents hooks that incident_flow/hookspecs.py does not have: {stale}"


def test_hooks_md_names_the_entry_point_group_and_the_environment_variables() -> None:
    from incident_flow.plugins import ALLOW_ENV, BLOCK_ENV, ENTRY_POINT_GROUP

    text = _read("hooks.md")
    missing = [
        item
        for item in (f"[project.entry-points.{ENTRY_POINT_GROUP}]", ALLOW_ENV, BLOCK_ENV)
        if item not in text
    ]
    assert not missing, f"docs/hooks.md does not mention: {missing}"


def test_the_plugin_tutorial_quotes_the_example_plugin_as_it_is() -> None:
    """A block after ``<!-- from: PATH -->`` appears verbatim in PATH; after ``<!-- file: PATH -->``
    it is the whole of PATH."""
    text = _read("plugins.md")
    quoted = re.findall(r"<!-- (from|file): (\S+) -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert quoted, "docs/plugins.md quotes nothing from examples/healthcheck-plugin"
    stale = []
    for how, name, block in quoted:
        content = (ROOT / name).read_text(encoding="utf-8")
        if (how == "file" and block != content) or (how == "from" and block not in content):
            first = block.strip().splitlines()[0]
            stale.append(f"{name}: the block starting {first!r}")
    assert not stale, f"docs/plugins.md quotes code that is no longer in the example plugin: {stale}"


def _first_cell_names(section: str) -> set[str]:
    """Every ``name`` in backticks in the first cell of a table row; ``path(value)`` gives ``path``."""
    names: set[str] = set()
    for row in re.findall(r"^\|([^|\n]*)\|", section, re.M):
        names.update(re.findall(r"`([A-Za-z_]\w*)(?:\([^`]*\))?`", row))
    return names


def _documented_types() -> list[tuple[str, type]]:
    from incident_flow import Evidence, Finding, Investigator, Mitigation
    from incident_flow.sources import Option, SourceSpec

    return [
        ("Investigator", Investigator),
        ("SourceType", SourceType),
        ("Option", Option),
        ("SourceSpec", SourceSpec),
        ("Finding", Finding),
        ("Evidence", Evidence),
        ("Mitigation", Mitigation),
    ]


@pytest.mark.parametrize(("title", "cls"), _documented_types(), ids=[t for t, _ in _documented_types()])
def test_every_field_of_the_registered_types_is_in_the_hook_reference(title: str, cls: type) -> None:
    import attrs

    section = _section(_read("hooks.md"), re.compile(re.escape(title)))
    assert section is not None, f"docs/hooks.md has no '### {title}' heading"
    fields = {field.name for field in attrs.fields(cls)}
    documented = _first_cell_names(section)
    assert not fields - documented, (
        f"docs/hooks.md's table for {title} lacks the fields {sorted(fields - documented)}"
    )


def test_every_public_member_of_the_investigation_context_is_in_the_hook_reference() -> None:
    from incident_flow.testing import make_context

    section = _section(_read("hooks.md"), re.compile("InvestigationContext"))
    assert section is not None, "docs/hooks.md has no '### InvestigationContext' heading"
    public = {name for name in dir(make_context()) if not name.startswith("_")}
    missing = sorted(public - _first_cell_names(section))
    assert not missing, f"docs/hooks.md's InvestigationContext tables lack: {missing}"


# -- docs/guide.md: the command line ---------------------------------------------------------------


def _subparsers(parser: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, (*path, name))


def _cli_flags() -> list[tuple[str, str, list[str]]]:
    """(command, flag, choices) for every option string of every (sub)command."""
    flags = []
    for path, parser in _subparsers(build_parser()):
        command = " ".join(("incident-flow", *path))
        for action in parser._actions:  # type: ignore[attr-defined]
            for flag in action.option_strings:
                flags.append((command, flag, [str(c) for c in action.choices or ()]))
    return flags


def test_every_cli_flag_is_in_the_guide() -> None:
    text = _read("guide.md")
    missing = []
    for command, flag, choices in _cli_flags():
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
            missing.append(f"{command} {flag}")
        for choice in choices:
            if choice not in text:
                missing.append(f"{command} {flag} {choice}")
    assert not missing, f"docs/guide.md does not document these command-line flags: {missing}"


def test_every_subcommand_is_in_the_guide() -> None:
    text = _read("guide.md")
    missing = [
        " ".join(("incident-flow", *path))
        for path, _parser in _subparsers(build_parser())
        if path and " ".join(("incident-flow", *path)) not in text
    ]
    assert not missing, f"docs/guide.md does not show these commands: {missing}"


# -- docs/config.md --------------------------------------------------------------------------------


def _built_in_source_types() -> dict[str, SourceType]:
    """The source types of the core and of the built-in plugins (the entry points of pyproject.toml),
    not those of third-party plugins that happen to be installed in the test environment."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    built_in = ",".join(project.get("entry-points", {}).get("incident_flow", {})) or "-"
    host = make_plugin_host(environ={"INCIDENT_FLOW_PLUGINS": built_in})
    assert not host.failures, f"a built-in plugin failed to load: {host.failures}"
    return dict(host.source_types())


def _table_keys(section: str) -> set[str]:
    """The keys in the first column of the Markdown tables of a section: ``| `key` | ...``."""
    return set(re.findall(r"^\|\s*`([A-Za-z_][\w.-]*)`\s*\|", section, re.M))


def test_every_settings_key_is_in_the_config_reference() -> None:
    import attrs

    text = _read("config.md")
    section = _section(text, re.compile(r"`\[settings\]`.*"))
    assert section is not None, "docs/config.md has no heading for `[settings]`"
    fields = {field.name for field in attrs.fields(Settings)}
    documented = _table_keys(section)
    assert not fields - documented, (
        f"docs/config.md's [settings] table lacks the keys {sorted(fields - documented)} "
        "(fields of incident_flow.config.Settings)"
    )
    assert not documented - fields, (
        f"docs/config.md's [settings] table documents keys that Settings does not have: "
        f"{sorted(documented - fields)}"
    )


def test_every_source_type_and_option_is_in_the_config_reference() -> None:
    text = _read("config.md")
    problems = []
    for name, source_type in sorted(_built_in_source_types().items()):
        section = _section(text, re.compile(rf".*`type = \"{re.escape(name)}\"`.*"))
        if section is None:
            problems.append(f'no heading for the source type `type = "{name}"`')
            continue
        options = set(source_type.options)
        documented = _table_keys(section)
        for option in sorted(options - documented):
            problems.append(f"source type {name!r}: option `{option}` is not in its table")
        for option in sorted(documented - options - {"name", "type"}):
            problems.append(
                f"source type {name!r}: the table documents `{option}`, which the type does not accept"
            )
    assert not problems, "docs/config.md is out of date:\n  " + "\n  ".join(problems)


def test_the_source_option_defaults_in_the_config_reference_match_the_code() -> None:
    text = _read("config.md")
    problems = []
    for name, source_type in sorted(_built_in_source_types().items()):
        section = _section(text, re.compile(rf".*`type = \"{re.escape(name)}\"`.*"))
        if section is None:
            continue  # reported by the test above
        for option_name, option in source_type.options.items():
            row = re.search(rf"^\|\s*`{re.escape(option_name)}`\s*\|(.*)$", section, re.M)
            if row is None:
                continue
            cells = row.group(1)
            if option.required:
                if "required" not in cells:
                    problems.append(f"{name}.{option_name} is required but its row does not say so")
            elif option.default not in (None, [], (), {}, ""):
                shown = _toml(option.default)
                if shown not in cells:
                    problems.append(f"{name}.{option_name}: its row does not show the default {shown}")
    assert not problems, "docs/config.md's option tables disagree with the code:\n  " + "\n  ".join(problems)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


# -- links -----------------------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    broken = []
    for match in _LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # a URL
        path, _, anchor = target.partition("#")
        file = page.parent / path if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)} links to files or headings that do not exist: {broken}"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to ``-``."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", text, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors
