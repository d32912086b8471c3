"""The plugin host: loads plugins, validates them and calls their hooks one plugin at a time.

A factory, not a module global, so each run (and each test) gets its own host. The rest of the code
calls the typed methods here, never the untyped ``pm.hook.*`` (tox 4 does the same). Hooks are
called plugin by plugin so that one plugin's exception is recorded against its name and the others
still run: an incident tool must not fall over because a team's plugin has a bug.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import pluggy

from incident_flow import hookspecs
from incident_flow.actions import Action
from incident_flow.investigators import Investigator
from incident_flow.logger import get_logger
from incident_flow.model import Event, Report
from incident_flow.sources import SourceType

__all__ = ["PluginFailure", "PluginHost", "PluginInfo", "make_plugin_host"]

ENTRY_POINT_GROUP = hookspecs.PROJECT
ALLOW_ENV = "INCIDENT_FLOW_PLUGINS"
BLOCK_ENV = "INCIDENT_FLOW_DISABLE_PLUGINS"
#: The core's own plugin: the source types the core itself needs (``patterns`` reads logs).
CORE_PLUGINS = ("incident_flow.builtin",)

log = get_logger(__name__)
T = TypeVar("T", Investigator, SourceType, Action)


@attrs.frozen
class PluginFailure:
    """A plugin that was skipped, or a hook of it that raised: one clear line naming it."""

    plugin: str
    error: str
    skipped: bool = False


@attrs.frozen
class PluginInfo:
    """What ``incident-flow plugins`` lists."""

    name: str
    origin: str
    hooks: tuple[str, ...]
    version: str | None = None


def _names(env_value: str | None) -> set[str] | None:
    if env_value is None or not env_value.strip():
        return None
    return {part.strip() for part in env_value.split(",") if part.strip()}


class PluginHost:
    """A pluggy manager with the project's hooks, and typed access to what plugins register."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self._info: dict[str, PluginInfo] = {}

    # -- loading ---------------------------------------------------------------------------------

    def add(self, plugin: object, name: str, origin: str, version: str | None = None) -> bool:
        """Register one plugin; a plugin that fails validation is skipped and recorded."""
        if self.pm.is_registered(plugin):  # passed in and also installed: one registration is enough
            return True
        try:
            registered = self.pm.register(plugin, name=name)
            if registered is None:  # blocked
                return False
            self.pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self.pm.has_plugin(name) and self.pm.get_plugin(name) is plugin:
                self.pm.unregister(plugin)
            self._fail(name, f"invalid plugin: {exc}", skipped=True)
            return False
        hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
        self._info[name] = PluginInfo(name=name, origin=origin, hooks=hooks, version=version)
        return True

    def load_entry_points(self, allow: set[str] | None, block: set[str]) -> None:
        """Load the ``incident_flow`` entry-point group, honouring the allow- and block-lists."""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in block or (allow is not None and ep.name not in allow):
                continue
            if self.pm.has_plugin(ep.name):
                continue
            version = ep.dist.version if ep.dist is not None else None
            try:
                plugin = ep.load()
            except Exception as exc:  # any import error of a third-party plugin
                self._fail(
                    ep.name, f"could not be loaded ({ep.value}): {type(exc).__name__}: {exc}", skipped=True
                )
                continue
            self.add(plugin, ep.name, origin=f"entry point {ep.value}", version=version)

    def _fail(self, plugin: str, error: str, *, skipped: bool = False) -> None:
        """Record a plugin's failure once; ``skipped`` means the whole plugin is out of the run."""
        failure = PluginFailure(plugin=plugin, error=error, skipped=skipped)
        if failure in self.failures:
            return
        self.failures.append(failure)
        log.warning("plugin skipped" if skipped else "plugin hook failed", plugin=plugin, error=error)

    # -- calling ---------------------------------------------------------------------------------

    def _each(
        self, hook_name: str, kwargs_for: Callable[[str], Mapping[str, Any]]
    ) -> Iterator[tuple[str, Any]]:
        """Call a hook plugin by plugin; an exception is recorded against its plugin.

        ``kwargs_for(plugin_name)`` gives the call's arguments, so a ``register`` callback can
        know which plugin it registers for; each implementation gets only the names it takes.
        """
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order: core, entry points, passed in
            kwargs = kwargs_for(impl.plugin_name)
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                yield impl.plugin_name, impl.function(**args)
            except Exception as exc:
                # A plugin whose register hook fails contributes nothing: it is out of the run.
                self._fail(
                    impl.plugin_name,
                    f"hook {hook_name} raised {type(exc).__name__}: {exc}",
                    skipped=hook_name.startswith("register_"),
                )

    def _collect(self, hook_name: str, kind: type[T]) -> dict[str, T]:
        found: dict[str, T] = {}

        def registrar(plugin: str) -> Callable[[T], None]:
            def register(item: T) -> None:
                if not isinstance(item, kind):
                    raise TypeError(f"register() takes a {kind.__name__}, got {type(item).__name__}")
                if item.name in found:
                    other = found[item.name].plugin
                    raise ValueError(f"{kind.__name__} {item.name!r} is already registered by {other}")
                found[item.name] = attrs.evolve(item, plugin=plugin)

            return register

        for _ in self._each(hook_name, lambda plugin: {"register": registrar(plugin)}):
            pass
        return found

    def investigators(self) -> dict[str, Investigator]:
        """Every registered investigator by name, each stamped with its plugin."""
        return self._collect("register_investigators", Investigator)

    def source_types(self) -> dict[str, SourceType]:
        """Every registered source type by name."""
        return self._collect("register_source_types", SourceType)

    def actions(self) -> dict[str, Action]:
        """Every registered action by name, each stamped with its plugin."""
        return self._collect("register_actions", Action)

    def emit(self, event: Event) -> None:
        """Hand an event to every ``on_event`` implementation; their errors never stop a run."""
        for _ in self._each("on_event", lambda _plugin: {"event": event}):
            pass

    def extend_report(self, report: Report) -> list[dict[str, str]]:
        """The extra report sections plugins return, each checked for its two keys."""
        sections: list[dict[str, str]] = []
        for plugin, section in self._each("extend_report", lambda _plugin: {"report": report}):
            if section is None:
                continue
            if not isinstance(section, Mapping) or not {"title", "markdown"} <= set(section):
                self._fail(plugin, "extend_report must return {'title': ..., 'markdown': ...} or None")
                continue
            sections.append({"title": str(section["title"]), "markdown": str(section["markdown"])})
        return sections

    def plugins(self) -> list[PluginInfo]:
        """The loaded plugins, core first."""
        return list(self._info.values())


def make_plugin_host(
    plugins: Sequence[object] = (),
    *,
    entry_points: bool = True,
    environ: Mapping[str, str] | None = None,
) -> PluginHost:
    """Build a host: the core's plugin, the entry-point group (filtered), then ``plugins``.

    ``INCIDENT_FLOW_PLUGINS`` (comma-separated entry-point names) is an allow-list and
    ``INCIDENT_FLOW_DISABLE_PLUGINS`` a block-list; plugin objects passed in are always added.
    """
    env = os.environ if environ is None else environ
    host = PluginHost()
    for module_name in CORE_PLUGINS:
        module = importlib.import_module(module_name)
        host.add(module, module_name, origin="core")
    if entry_points:
        host.load_entry_points(_names(env.get(ALLOW_ENV)), _names(env.get(BLOCK_ENV)) or set())
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        if host.pm.has_plugin(name):
            name = f"{name}-{index}"
        host.add(plugin, name, origin="passed in")
    return host
