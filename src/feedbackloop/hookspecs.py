"""The plugin hooks feedbackloop calls, and the markers to implement them.

A plugin is a module (or any object) with functions marked `@feedbackloop.hookimpl`
whose names are hooks below; it is found through the `feedbackloop` entry-point
group. The built-in connectors register through these very hooks.

```python
import feedbackloop

@feedbackloop.hookimpl
def register_connectors(register):
    register("tracker", "linear", "feedbackloop_linear:LinearTracker")
```

A plugin implements only the hooks it needs, and may declare fewer parameters than
the hook offers. A misspelled hook name makes loading fail with `PluginError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

import pluggy

if TYPE_CHECKING:
    from feedbackloop._models import Signal
    from feedbackloop.connectors import Event
    from feedbackloop.rules import Action, Decision

__all__ = [
    "PROJECT_NAME",
    "ActionExecutor",
    "ConnectorKind",
    "RegisterAction",
    "RegisterConnector",
    "action_executed",
    "action_failed",
    "decision_made",
    "enrich_signal",
    "hookimpl",
    "hookspec",
    "register_actions",
    "register_connectors",
    "signal_received",
]

PROJECT_NAME = "feedbackloop"
"""The pluggy project name, and the entry-point group plugins are listed under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (feedbackloop's own use)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementation; also importable as `feedbackloop.hookimpl`."""

ConnectorKind: TypeAlias = Literal["source", "tracker", "notifier", "escalator"]
"""What a connector does: turn deliveries into events, keep tickets, notify, page."""

ActionExecutor: TypeAlias = Callable[["Action", "Signal | None"], Awaitable[Any]]
"""Carries out a custom action: `await executor(action, signal)`, where `signal` is the
signal the action was planned for (None when it is not known)."""


class RegisterConnector(Protocol):
    """The `register` callback `register_connectors` receives."""

    def __call__(self, kind: ConnectorKind, name: str, factory: Callable[..., Any] | str) -> None:
        """Register a connector.

        Args:
            kind: `"source"`, `"tracker"`, `"notifier"` or `"escalator"`.
            name: Its name, unique per kind (`"jira"`, `POST /webhooks/{name}`).
            factory: A class or function building the connector from keyword
                arguments (ideally with a `from_env()` classmethod), or a
                `"module:attribute"` string imported only when the connector is used.
        """
        ...


class RegisterAction(Protocol):
    """The `register` callback `register_actions` receives."""

    def __call__(
        self, action_type: type[Action], executor: ActionExecutor, *, name: str | None = None
    ) -> None:
        """Register a custom action type and the coroutine function that carries it out.

        Args:
            action_type: A frozen dataclass subclassing `feedbackloop.rules.Action`.
            executor: `async def execute(action, signal)`; raising a
                `feedbackloop.errors` exception sends the action to the retry or the
                dead letters like any other.
            name: The action's name (default: the class name).
        """
        ...


# -- registration ---------------------------------------------------------------------


@hookspec
def register_connectors(register: RegisterConnector) -> None:
    """Register sources, trackers, notifiers and escalators by name.

    Called when the registry is read. Each name is unique per kind across all plugins;
    registering one twice is a `PluginError`.

    :param register: Call `register(kind, name, factory)` once per connector.
    """


@hookspec
def register_actions(register: RegisterAction) -> None:
    """Register custom action types and their executors.

    A rule's `then=` may then use the action; the loop hands it to its executor.

    :param register: Call `register(action_type, executor)` once per action type.
    """


# -- the signal's way through the loop ---------------------------------------------------


@hookspec
def enrich_signal(signal: Signal) -> Signal | None:
    """Add to a signal before it is recorded and routed (owner, team, labels...).

    The implementations form a chain: each receives the signal as the previous one
    left it, in plugin call order (`tryfirst`/`trylast` apply). Returning None leaves
    the signal unchanged. Signals are immutable: return `signal.model_copy(update=...)`.

    :param signal: The signal so far.
    :return: The updated signal, or None to pass it on as it is.
    """


@hookspec
def signal_received(event: Event) -> None:
    """Notification: an event was accepted by the loop (before enrichment).

    :param event: The signal, incident or ticket change.
    """


@hookspec
def decision_made(signal: Signal, decision: Decision) -> None:
    """Notification: the rules were evaluated for a signal.

    :param signal: The enriched signal.
    :param decision: The rules' decision, with its planned actions and explanation.
    """


@hookspec
def action_executed(kind: str, payload: Mapping[str, Any], result: Any) -> None:
    """Notification: a planned action was carried out.

    :param kind: What was done (`create_ticket`, `comment`, `notify`, `escalate`...,
        or a custom action's name).
    :param payload: The action as it was planned (tracker, group key, message...).
    :param result: What it produced (a `TicketRef` for tickets), or None.
    """


@hookspec
def action_failed(kind: str, payload: Mapping[str, Any], error: BaseException, final: bool) -> None:
    """Notification: a planned action failed.

    :param kind: What was attempted, as in `action_executed`.
    :param payload: The action as it was planned.
    :param error: The error, usually from `feedbackloop.errors`.
    :param final: True when the action went to the dead letters, False when it will
        be tried again.
    """
