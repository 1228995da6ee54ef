"""The plugin manager and the registries it feeds: connectors and custom actions.

One pluggy `PluginManager` per process, built on first use by `get_plugin_manager()`:
the built-in plugin first (it registers the built-in connectors through the same hooks
as everyone else), then every plugin installed under the `feedbackloop` entry-point
group. `FEEDBACKLOOP_PLUGINS` restricts the installed plugins that load:

- unset: every installed plugin loads;
- empty (`FEEDBACKLOOP_PLUGINS=`): none does, only the built-in connectors are there;
- `a,b`: only the plugins named (entry-point or distribution name); naming a plugin that
  is not installed is an error, so a typo never goes unnoticed.

Loading fails loudly with `PluginError`: a plugin that does not import, implements a
hook that does not exist (a misspelling), or declares parameters a hook does not offer.

```python
from feedbackloop import plugins

tracker = plugins.connector("tracker", "jira").from_env()
for name, entry in plugins.connectors("source").items():
    print(name, entry.plugin)
```
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, get_args

import pluggy

from feedbackloop import hookspecs
from feedbackloop._models import Signal
from feedbackloop._version import __version__
from feedbackloop.errors import ConfigurationError, PluginError
from feedbackloop.hookspecs import ActionExecutor, ConnectorKind
from feedbackloop.logs import get_logger

__all__ = [
    "BUILTIN_PLUGIN",
    "CONNECTOR_KINDS",
    "ENTRY_POINT_GROUP",
    "PLUGINS_ENV",
    "ActionEntry",
    "ConnectorEntry",
    "PluginInfo",
    "action_for",
    "actions",
    "connector",
    "connectors",
    "enrich_signal",
    "get_plugin_manager",
    "load_plugins",
    "new_plugin_manager",
    "notify",
    "plugin_manager_with",
    "plugins",
]

ENTRY_POINT_GROUP: Final = hookspecs.PROJECT_NAME
"""The entry-point group plugins are listed under: `[project.entry-points.feedbackloop]`."""

PLUGINS_ENV: Final = "FEEDBACKLOOP_PLUGINS"
"""The environment variable that restricts which installed plugins load."""

BUILTIN_PLUGIN: Final = "feedbackloop"
"""The name the built-in plugin is registered under."""

CONNECTOR_KINDS: Final[tuple[ConnectorKind, ...]] = get_args(ConnectorKind)
"""The kinds of connector, in the order they are listed."""

_BUILTIN_MODULE: Final = "feedbackloop.connectors._builtin"
_LIFECYCLE_HOOKS: Final = frozenset(
    {"signal_received", "decision_made", "action_executed", "action_failed"}
)

_log = get_logger("plugins")
_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
# Plugin name -> version, per manager (pluggy keeps no versions for our own loading).
_versions: weakref.WeakKeyDictionary[pluggy.PluginManager, dict[str, str]] = (
    weakref.WeakKeyDictionary()
)


# -- the manager ---------------------------------------------------------------------


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows feedbackloop's hooks and has no plugin yet."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, built and loaded on first use, then reused.

    Raises:
        PluginError: a plugin failed to load (raised again on every call until fixed).
    """
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                pm = new_plugin_manager()
                load_plugins(pm)
                _manager = pm
    return _manager


def plugin_manager_with(
    *extra: object, env: Mapping[str, str] | None = None
) -> pluggy.PluginManager:
    """A new manager with the installed plugins plus `extra` plugin objects.

    For plugins that live in the application rather than in a package (an enrichment
    function in `feedback.py`, say): any object or module with `@hookimpl` functions.

    Raises:
        PluginError: a plugin does not load, or implements an unknown hook.
    """
    pm = new_plugin_manager()
    load_plugins(pm, env=env)
    for plugin in extra:
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{id(plugin):x}"
        _register(pm, plugin, name)
        _versions[pm][name] = "local"
    _check_hooks(pm)
    return pm


def load_plugins(pm: pluggy.PluginManager, *, env: Mapping[str, str] | None = None) -> None:
    """Register the built-in plugin and the installed plugins on `pm`, then check them.

    Args:
        pm: A manager from `new_plugin_manager()`.
        env: Where `FEEDBACKLOOP_PLUGINS` is read (default: `os.environ`).

    Raises:
        PluginError: a plugin does not import, a requested plugin is not installed, or
            a plugin implements a hook that does not exist or with parameters it lacks.
    """
    versions = _versions.setdefault(pm, {})
    if not pm.has_plugin(BUILTIN_PLUGIN):
        _register(pm, importlib.import_module(_BUILTIN_MODULE), BUILTIN_PLUGIN)
        versions[BUILTIN_PLUGIN] = __version__
    wanted = _wanted((os.environ if env is None else env).get(PLUGINS_ENV))
    found: set[str] = set()
    for entry_point in _entry_points():
        names = {entry_point.name, _dist_name(entry_point)} - {None}
        if wanted is not None and not names & wanted:
            continue
        found |= {name for name in names if name is not None}
        if pm.has_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} failed to import {entry_point.value}: "
                f"{type(exc).__name__}: {exc}",
                plugin=entry_point.name,
            ) from exc
        _register(pm, plugin, entry_point.name)
        dist = entry_point.dist
        versions[entry_point.name] = dist.version if dist is not None else "unknown"
    missing = (wanted or set()) - found
    if missing:
        installed = sorted({ep.name for ep in _entry_points()}) or ["none"]
        raise PluginError(
            f"{PLUGINS_ENV} names plugins that are not installed: {', '.join(sorted(missing))} "
            f"(installed: {', '.join(installed)})",
            plugin=sorted(missing)[0],
        )
    _check_hooks(pm)


def _wanted(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    unique: dict[tuple[str, str], importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        unique.setdefault((entry_point.name, entry_point.value), entry_point)
    return list(unique.values())


def _dist_name(entry_point: importlib.metadata.EntryPoint) -> str | None:
    dist = entry_point.dist
    return dist.name if dist is not None else None


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r} is invalid: {exc}", plugin=name) from exc
    except ValueError as exc:  # pluggy: the name or the object is registered already
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}", plugin=name) from exc


def _check_hooks(pm: pluggy.PluginManager) -> None:
    known = sorted(
        name for name in vars(pm.hook) if not name.startswith("_") and _caller(pm, name).spec
    )
    for name in sorted(vars(pm.hook)):
        if name.startswith("_"):
            continue
        caller = _caller(pm, name)
        if caller.spec is not None:
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hooks are: {', '.join(known)}"
            raise PluginError(
                f"plugin {impl.plugin_name!r} implements unknown hook {name!r}{hint}",
                plugin=impl.plugin_name,
            )
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # pragma: no cover - caught above
        raise PluginError(str(exc)) from exc


def _caller(pm: pluggy.PluginManager, name: str) -> pluggy.HookCaller:
    caller: pluggy.HookCaller = getattr(pm.hook, name)
    return caller


def _impls(
    pm: pluggy.PluginManager, hook: str, *, registration_order: bool = False
) -> list[pluggy.HookImpl]:
    """The plain implementations of a hook, in pluggy's call order (last registered first).

    Registries read them in registration order instead, so that the built-in plugin
    comes first and a clash names the earlier plugin first.
    """
    impls = _caller(pm, hook).get_hookimpls()
    ordered = impls if registration_order else list(reversed(impls))
    return [impl for impl in ordered if not (impl.hookwrapper or impl.wrapper)]


def _call(impl: pluggy.HookImpl, **arguments: Any) -> Any:
    # A plugin may declare fewer parameters than the hook offers.
    return impl.function(**{name: arguments[name] for name in impl.argnames})


# -- connectors ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorEntry:
    """A registered connector: call it (or `from_env()`) to build one.

    Attributes:
        kind: `source`, `tracker`, `notifier` or `escalator`.
        name: Its name, unique per kind.
        target: The factory, or the `"module:attribute"` it is imported from on first use.
        plugin: The plugin that registered it.
    """

    kind: ConnectorKind
    name: str
    target: Callable[..., Any] | str = field(repr=False)
    plugin: str

    @property
    def path(self) -> str:
        """Where the factory lives, as `module:attribute`."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{getattr(self.target, '__qualname__', self.target)}"

    def load(self) -> Callable[..., Any]:
        """The factory, imported now if it was registered by path.

        Raises:
            PluginError: the module or attribute cannot be imported.
        """
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            factory: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise PluginError(
                f"{self.kind} {self.name!r} (plugin {self.plugin!r}) cannot be loaded from "
                f"{self.target}: {type(exc).__name__}: {exc}",
                plugin=self.plugin,
            ) from exc
        return factory

    def __call__(self, **options: Any) -> Any:
        """Build the connector from keyword arguments."""
        return self.load()(**options)

    def from_env(self, **options: Any) -> Any:
        """Build the connector from its `FEEDBACKLOOP_<NAME>_*` settings.

        Uses the factory's `from_env` when it has one; otherwise calls it with `options`.
        """
        factory = self.load()
        from_env = getattr(factory, "from_env", None)
        return from_env(**options) if callable(from_env) else factory(**options)


def _all_connectors(pm: pluggy.PluginManager) -> list[ConnectorEntry]:
    entries: dict[tuple[str, str], ConnectorEntry] = {}
    for impl in _impls(pm, "register_connectors", registration_order=True):
        plugin = impl.plugin_name

        def register(
            kind: ConnectorKind, name: str, factory: Callable[..., Any] | str, _plugin: str = plugin
        ) -> None:
            if kind not in CONNECTOR_KINDS:
                raise PluginError(
                    f"plugin {_plugin!r} registers connector {name!r} of unknown kind "
                    f"{kind!r}; kinds are: {', '.join(CONNECTOR_KINDS)}",
                    plugin=_plugin,
                )
            if not isinstance(name, str) or not name:
                raise PluginError(
                    f"plugin {_plugin!r} registers a {kind} without a name", plugin=_plugin
                )
            valid = ":" in factory if isinstance(factory, str) else callable(factory)
            if not valid:
                raise PluginError(
                    f"plugin {_plugin!r} registers {kind} {name!r} with {factory!r}: expected "
                    "a class, a function or a 'module:attribute' string",
                    plugin=_plugin,
                )
            clash = entries.get((kind, name))
            if clash is not None:
                raise PluginError(
                    f"{kind} {name!r} is registered by both plugin {clash.plugin!r} and "
                    f"plugin {_plugin!r}",
                    plugin=_plugin,
                )
            entries[kind, name] = ConnectorEntry(kind, name, factory, _plugin)

        _call(impl, register=register)
    return list(entries.values())


def connectors(
    kind: ConnectorKind, *, pm: pluggy.PluginManager | None = None
) -> dict[str, ConnectorEntry]:
    """The registered connectors of one kind, by name.

    Args:
        kind: `"source"`, `"tracker"`, `"notifier"` or `"escalator"`.
        pm: A plugin manager (default: `get_plugin_manager()`).

    Returns:
        Name -> entry; nothing is imported until an entry is used.

    Raises:
        PluginError: a plugin registers an invalid or clashing connector.
    """
    if kind not in CONNECTOR_KINDS:
        raise ConfigurationError(
            f"unknown connector kind {kind!r}; kinds are: {', '.join(CONNECTOR_KINDS)}"
        )
    found = _all_connectors(pm or get_plugin_manager())
    return {entry.name: entry for entry in sorted(found, key=_by_name) if entry.kind == kind}


def connector(
    kind: ConnectorKind, name: str, *, pm: pluggy.PluginManager | None = None
) -> ConnectorEntry:
    """The connector of `kind` registered as `name`.

    Raises:
        ConfigurationError: no such connector; the message lists the known ones.
    """
    known = connectors(kind, pm=pm)
    try:
        return known[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigurationError(
            f"no {kind} named {name!r}; {hint}known: {', '.join(known) or 'none'} "
            "(a plugin may be missing or excluded by FEEDBACKLOOP_PLUGINS)"
        ) from None


def _by_name(entry: ConnectorEntry) -> str:
    return entry.name


# -- actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionEntry:
    """A registered custom action.

    Attributes:
        name: The action's name (default: its class name).
        action_type: The action class, a `feedbackloop.rules.Action` subclass.
        executor: `async def execute(action, signal)` carrying it out.
        plugin: The plugin that registered it.
    """

    name: str
    action_type: type[Any]
    executor: ActionExecutor = field(repr=False)
    plugin: str


def actions(*, pm: pluggy.PluginManager | None = None) -> dict[str, ActionEntry]:
    """The custom actions registered by plugins, by name.

    Raises:
        PluginError: a plugin registers something that is not an `Action` subclass, an
            executor that is not callable, or a name or type twice.
    """
    from feedbackloop.rules import Action  # the rules import connectors' neighbours

    found: dict[str, ActionEntry] = {}
    for impl in _impls(pm or get_plugin_manager(), "register_actions", registration_order=True):
        plugin = impl.plugin_name

        def register(
            action_type: type[Any],
            executor: ActionExecutor,
            *,
            name: str | None = None,
            _plugin: str = plugin,
        ) -> None:
            if not (isinstance(action_type, type) and issubclass(action_type, Action)):
                raise PluginError(
                    f"plugin {_plugin!r} registers {action_type!r} as an action: it must be "
                    "a subclass of feedbackloop.rules.Action",
                    plugin=_plugin,
                )
            if not callable(executor):
                raise PluginError(
                    f"plugin {_plugin!r} registers {action_type.__name__} with an executor "
                    f"that is not callable: {executor!r}",
                    plugin=_plugin,
                )
            action_name = name or action_type.__name__
            for existing in found.values():
                if existing.name == action_name or existing.action_type is action_type:
                    raise PluginError(
                        f"action {action_name!r} is registered by both plugin "
                        f"{existing.plugin!r} and plugin {_plugin!r}",
                        plugin=_plugin,
                    )
            found[action_name] = ActionEntry(action_name, action_type, executor, _plugin)

        _call(impl, register=register)
    return dict(sorted(found.items()))


def action_for(action: object, *, pm: pluggy.PluginManager | None = None) -> ActionEntry | None:
    """The registered entry whose type `action` is an instance of (the most specific)."""
    registered = {entry.action_type: entry for entry in actions(pm=pm).values()}
    for cls in type(action).__mro__:
        if cls in registered:
            return registered[cls]
    return None


# -- the signal's way through the loop ---------------------------------------------------


def enrich_signal(signal: Signal, *, pm: pluggy.PluginManager | None = None) -> Signal:
    """Run the `enrich_signal` chain: each plugin sees the previous one's result.

    Args:
        signal: The signal as it arrived.
        pm: A plugin manager (default: `get_plugin_manager()`).

    Returns:
        The enriched signal (the same object when no plugin changed it).

    Raises:
        PluginError: a plugin returned something other than a `Signal` or None.
    """
    current = signal
    for impl in _impls(pm or get_plugin_manager(), "enrich_signal"):
        result = _call(impl, signal=current)
        if result is None:
            continue
        if not isinstance(result, Signal):
            raise PluginError(
                f"plugin {impl.plugin_name!r}: enrich_signal returned "
                f"{type(result).__name__}; expected a Signal or None",
                plugin=impl.plugin_name,
            )
        current = result
    return current


def notify(hook: str, /, *, pm: pluggy.PluginManager | None = None, **arguments: Any) -> None:
    """Call a lifecycle notification hook on every plugin that implements it.

    An observer's failure is logged, never raised: a broken dashboard plugin must not
    stop tickets from being filed.

    Args:
        hook: `signal_received`, `decision_made`, `action_executed` or `action_failed`.
        pm: A plugin manager (default: `get_plugin_manager()`).
        **arguments: The hook's arguments, by name.

    Raises:
        ValueError: `hook` is not a lifecycle notification.
    """
    if hook not in _LIFECYCLE_HOOKS:
        raise ValueError(f"{hook!r} is not a notification hook: {sorted(_LIFECYCLE_HOOKS)}")
    for impl in _impls(pm or get_plugin_manager(), hook):
        try:
            _call(impl, **arguments)
        except Exception as exc:
            _log.warning(
                "plugin hook failed",
                plugin=impl.plugin_name,
                hook=hook,
                error=f"{type(exc).__name__}: {exc}",
            )


# -- what is loaded ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A loaded plugin, as `feedbackloop plugins` shows it.

    Attributes:
        name: The plugin's name (its entry-point name; `feedbackloop` for the built-in one).
        version: Its distribution's version.
        builtin: Whether it ships with feedbackloop.
        hooks: The hooks it implements.
        connectors: The connectors it registers, as `kind:name`.
        actions: The custom actions it registers.
    """

    name: str
    version: str | None
    builtin: bool
    hooks: tuple[str, ...]
    connectors: tuple[str, ...]
    actions: tuple[str, ...]


def plugins(*, pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """The loaded plugins, the built-in one first, then by name."""
    pm = pm or get_plugin_manager()
    versions = _versions.get(pm, {})
    by_plugin: dict[str, list[str]] = {}
    for entry in _all_connectors(pm):
        by_plugin.setdefault(entry.plugin, []).append(f"{entry.kind}:{entry.name}")
    actions_by_plugin: dict[str, list[str]] = {}
    for action in actions(pm=pm).values():
        actions_by_plugin.setdefault(action.plugin, []).append(action.name)
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        infos.append(
            PluginInfo(
                name=name,
                version=versions.get(name),
                builtin=name == BUILTIN_PLUGIN,
                hooks=hooks,
                connectors=tuple(sorted(by_plugin.get(name, ()))),
                actions=tuple(sorted(actions_by_plugin.get(name, ()))),
            )
        )
    return sorted(infos, key=lambda info: (not info.builtin, info.name))
