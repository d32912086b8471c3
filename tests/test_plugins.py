"""The plugin host: entry points, allow- and block-lists, validation, isolation of plugin bugs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from incident_flow import Investigator, hookimpl
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import SourceType


def test_the_built_in_plugins_load_through_entry_points() -> None:
    host = make_plugin_host()
    names = {info.name for info in host.plugins()}
    assert {"incident_flow.builtin", "ops"} <= names
    assert "ops" in host.investigators()
    assert "logs" in host.source_types()
    assert host.investigators()["ops"].plugin == "ops"


def test_the_block_list_disables_a_plugin() -> None:
    host = make_plugin_host(environ={"INCIDENT_FLOW_DISABLE_PLUGINS": "ops"})
    assert "ops" not in host.investigators()
    assert "logs" in host.source_types(), "the core's own source types are always there"


def test_the_allow_list_keeps_only_the_named_plugins() -> None:
    host = make_plugin_host(environ={"INCIDENT_FLOW_PLUGINS": "nothing-by-that-name"})
    assert host.investigators() == {}


class Misspelt:
    @hookimpl
    def register_investigator(self, register: Callable[[Investigator], None]) -> None:  # missing "s"
        raise AssertionError("never called")


def test_a_misspelt_hook_is_caught_and_the_plugin_skipped() -> None:
    host = make_plugin_host([Misspelt()])
    assert any("register_investigator" in f.error for f in host.failures)
    assert "Misspelt-0" not in {p.name for p in host.plugins()}


class Broken:
    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        raise RuntimeError("bug in a team's plugin")


def test_a_plugin_whose_hook_raises_does_not_stop_the_others() -> None:
    host = make_plugin_host([Broken()])
    investigators = host.investigators()
    assert "ops" in investigators
    assert any("bug in a team's plugin" in f.error for f in host.failures)


class Duplicate:
    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        register(Investigator(name="ops", investigate=lambda ctx: []))


def test_a_duplicate_name_is_rejected_with_the_plugin_that_holds_it() -> None:
    host = make_plugin_host([Duplicate()])
    assert host.investigators()["ops"].plugin == "ops"
    assert any("already registered by ops" in f.error for f in host.failures)


class Custom:
    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        register(SourceType(name="custom", factory=lambda spec: None))  # type: ignore[arg-type,return-value]


def test_a_passed_in_plugin_registers_a_source_type() -> None:
    host = make_plugin_host([Custom()])
    assert host.source_types()["custom"].plugin == "Custom-0"


def test_register_rejects_the_wrong_type() -> None:
    class Wrong:
        @hookimpl
        def register_investigators(self, register: Callable[[object], None]) -> None:
            register("not an investigator")

    host = make_plugin_host([Wrong()])
    host.investigators()
    assert any("takes a Investigator" in f.error for f in host.failures)


@pytest.mark.parametrize("name", ["Bad Name", "", "UPPER"])
def test_investigator_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError):
        Investigator(name=name, investigate=lambda ctx: [])
