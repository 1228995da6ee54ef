"""The plugin manager: entry points, FEEDBACKLOOP_PLUGINS, registries and loud failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pluggy
import pytest

import feedbackloop
from feedbackloop import Signal, hookimpl, plugins
from feedbackloop.connectors import Message, TicketDraft, Tracker, _builtin
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError, PluginError
from feedbackloop.rules import Action
from tests.plugin_package.fixtures import echo_installed, fresh_plugins, site
from tests.plugin_package.installer import install_module

__all__ = ["echo_installed", "fresh_plugins", "site"]  # fixtures used by name below


def manager(*objects: object) -> pluggy.PluginManager:
    """A loaded manager with `objects` registered as extra plugins (names p0, p1...)."""
    pm = plugins.new_plugin_manager()
    plugins.load_plugins(pm, env={plugins.PLUGINS_ENV: ""})
    for index, plugin in enumerate(objects):
        pm.register(plugin, name=f"p{index}")
    return pm


def signal(**changes: Any) -> Signal:
    values: dict[str, Any] = {
        "source": "sentry",
        "kind": "error",
        "title": "TimeoutError in checkout",
        "service": "checkout",
        "occurred_at": datetime(2025, 3, 1, tzinfo=UTC),
    }
    return Signal(**(values | changes))


class TestThirdPartyPlugin:
    def test_an_installed_plugin_s_tracker_is_usable_by_name(
        self, echo_installed: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """feedbackloop-echo's tracker is found, built from the env, and files tickets."""
        monkeypatch.setenv("FEEDBACKLOOP_ECHO_PROJECT", "OPS")
        tracker = plugins.connector("tracker", "echo").from_env()
        assert isinstance(tracker, Tracker)
        draft = TicketDraft(title="Checkout times out", body="details", marker="fl:abc")
        ref = anyio.run(tracker.create, draft)
        assert ref.key == "OPS-1"
        assert anyio.run(lambda: tracker.find("fl:abc", fields={})) == ref

    def test_an_installed_plugin_s_notifier_registered_as_a_class_is_usable(
        self, echo_installed: Path
    ) -> None:
        """A factory registered directly (not by path) is called to build the connector."""
        notifier = plugins.connector("notifier", "echo")()
        anyio.run(notifier.send, Message(title="hello"))
        assert [message.title for message in notifier.sent] == ["hello"]

    def test_an_installed_plugin_s_lazy_factory_is_imported_only_when_used(
        self, echo_installed: Path
    ) -> None:
        """Registering by 'module:attribute' keeps the target a string until `load()`."""
        entry = plugins.connectors("tracker")["echo"]
        assert entry.target == "feedbackloop_echo:EchoTracker"
        assert entry.load().__name__ == "EchoTracker"

    def test_an_installed_plugin_enriches_signals(self, echo_installed: Path) -> None:
        """Its `enrich_signal` hook runs in the chain."""
        assert plugins.enrich_signal(signal()).labels["echo"] == "seen"

    def test_an_installed_plugin_is_listed_with_its_version_hooks_and_connectors(
        self, echo_installed: Path
    ) -> None:
        """`plugins()` describes what each plugin brings."""
        info = {item.name: item for item in plugins.plugins()}["echo"]
        assert info.version == "0.3.1"
        assert not info.builtin
        assert info.hooks == ("enrich_signal", "register_connectors")
        assert info.connectors == ("notifier:echo", "tracker:echo")


class TestBuiltinPlugin:
    def test_built_in_connectors_register_through_the_same_hook(self, fresh_plugins: None) -> None:
        """Sentry and the local tracker come from the built-in plugin `feedbackloop`."""
        sources = plugins.connectors("source")
        assert sources["sentry"].plugin == plugins.BUILTIN_PLUGIN
        assert plugins.connector("tracker", "local").load() is LocalTracker

    def test_the_built_in_plugin_is_listed_first_with_feedbackloop_s_version(
        self, fresh_plugins: None
    ) -> None:
        """`feedbackloop plugins` shows the built-ins like any other plugin."""
        first = plugins.plugins()[0]
        assert (first.name, first.version, first.builtin) == (
            "feedbackloop",
            feedbackloop.__version__,
            True,
        )
        assert "tracker:local" in first.connectors

    def test_a_built_in_row_whose_module_is_absent_is_skipped(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A connector not in this installation is not offered; the others still are."""
        rows = (
            *_builtin.BUILTIN_CONNECTORS,
            ("notifier", "carrier-pigeon", "feedbackloop.connectors.pigeon:PigeonNotifier"),
        )
        monkeypatch.setattr(_builtin, "BUILTIN_CONNECTORS", rows)
        notifiers = plugins.connectors("notifier", pm=manager())
        assert "carrier-pigeon" not in notifiers
        assert "local" in plugins.connectors("tracker", pm=manager())

    def test_a_registered_path_that_does_not_import_fails_when_used(self) -> None:
        """A wrong 'module:attribute' is a PluginError naming it, at first use."""

        class Plugin:
            @hookimpl
            def register_connectors(self, register: Any) -> None:
                register("tracker", "ghost", "feedbackloop.connectors.local:NoSuchTracker")

        entry = plugins.connector("tracker", "ghost", pm=manager(Plugin()))
        with pytest.raises(PluginError, match="NoSuchTracker"):
            entry.load()


class TestLoading:
    def test_a_misspelled_hook_fails_at_load_naming_the_hook(self, site: Path) -> None:
        """`register_conectors` is reported, with the hook that was probably meant."""
        install_module(
            site,
            dist="feedbackloop-typo",
            module="feedbackloop_typo",
            source=(
                "import feedbackloop\n\n"
                "@feedbackloop.hookimpl\n"
                "def register_conectors(register):\n"
                "    register('tracker', 'typo', object)\n"
            ),
        )
        with pytest.raises(PluginError) as caught:
            plugins.get_plugin_manager()
        message = str(caught.value)
        assert "'register_conectors'" in message
        assert "did you mean 'register_connectors'" in message
        assert caught.value.plugin == "feedbackloop_typo"

    def test_a_hook_with_a_parameter_the_spec_lacks_fails_at_load(self, site: Path) -> None:
        """Declaring an argument the hook does not pass is a PluginError."""
        install_module(
            site,
            dist="feedbackloop-args",
            module="feedbackloop_args",
            source=(
                "import feedbackloop\n\n"
                "@feedbackloop.hookimpl\n"
                "def enrich_signal(signal, team):\n"
                "    return None\n"
            ),
        )
        with pytest.raises(PluginError, match="team"):
            plugins.get_plugin_manager()

    def test_a_plugin_that_fails_to_import_is_named(self, site: Path) -> None:
        """An ImportError inside a plugin says which plugin and what failed."""
        install_module(
            site, dist="feedbackloop-broken", module="feedbackloop_broken", source="import nope\n"
        )
        with pytest.raises(PluginError, match="'feedbackloop_broken' failed to import"):
            plugins.get_plugin_manager()

    def test_the_manager_is_loaded_once_and_reused(
        self, fresh_plugins: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Entry points are scanned on the first call only."""
        scans: list[int] = []
        original = plugins._entry_points

        def counting() -> list[Any]:
            scans.append(1)
            return original()

        monkeypatch.setattr(plugins, "_entry_points", counting)
        first = plugins.get_plugin_manager()
        assert plugins.get_plugin_manager() is first
        assert len(scans) == 1

    def test_an_empty_plugins_variable_loads_only_the_built_ins(
        self, echo_installed: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`FEEDBACKLOOP_PLUGINS=` disables every installed plugin."""
        monkeypatch.setenv(plugins.PLUGINS_ENV, "")
        assert [info.name for info in plugins.plugins()] == ["feedbackloop"]
        assert "echo" not in plugins.connectors("tracker")

    @pytest.mark.parametrize("name", ["echo", "feedbackloop-echo"])
    def test_the_plugins_variable_selects_by_entry_point_or_distribution_name(
        self, echo_installed: Path, monkeypatch: pytest.MonkeyPatch, name: str
    ) -> None:
        """Either name of a plugin selects it."""
        monkeypatch.setenv(plugins.PLUGINS_ENV, f" {name} ,")
        assert "echo" in plugins.connectors("tracker")

    def test_the_plugins_variable_naming_an_absent_plugin_fails(
        self, echo_installed: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A typo in FEEDBACKLOOP_PLUGINS does not silently load nothing."""
        monkeypatch.setenv(plugins.PLUGINS_ENV, "echo,ecko")
        with pytest.raises(PluginError, match=r"not installed: ecko \(installed: echo\)"):
            plugins.get_plugin_manager()


class TestConnectorRegistry:
    def test_two_plugins_registering_the_same_name_is_an_error_naming_both(self) -> None:
        """A clash is never resolved silently by load order."""

        class Plugin:
            @hookimpl
            def register_connectors(self, register: Any) -> None:
                register("tracker", "local", LocalTracker)

        with pytest.raises(PluginError, match="both plugin 'feedbackloop' and plugin 'p0'"):
            plugins.connectors("tracker", pm=manager(Plugin()))

    def test_the_same_name_for_different_kinds_is_fine(self) -> None:
        """`jira` is a source and a tracker; names are unique per kind."""

        class Plugin:
            @hookimpl
            def register_connectors(self, register: Any) -> None:
                register("source", "local", object)

        pm = manager(Plugin())
        assert "local" in plugins.connectors("source", pm=pm)
        assert "local" in plugins.connectors("tracker", pm=pm)

    @pytest.mark.parametrize(
        ("kind", "factory", "problem"),
        [("ticketer", object, "unknown kind 'ticketer'"), ("tracker", 42, "expected a class")],
    )
    def test_an_invalid_registration_is_a_plugin_error(
        self, kind: str, factory: object, problem: str
    ) -> None:
        """Unknown kinds and non-callable factories are refused, naming the plugin."""

        class Plugin:
            @hookimpl
            def register_connectors(self, register: Any) -> None:
                register(kind, "x", factory)

        with pytest.raises(PluginError, match=problem):
            plugins.connectors("tracker", pm=manager(Plugin()))

    def test_an_unknown_connector_name_lists_the_known_ones(self) -> None:
        """The error suggests the closest name and lists the rest."""
        with pytest.raises(ConfigurationError, match="did you mean 'local'") as caught:
            plugins.connector("tracker", "locl", pm=manager())
        assert "local" in str(caught.value)

    def test_from_env_falls_back_to_calling_the_factory(self) -> None:
        """A factory without `from_env` is simply called."""
        assert isinstance(
            plugins.connector("tracker", "local", pm=manager()).from_env(), LocalTracker
        )


@dataclass(frozen=True)
class Page(Action):
    """A custom action for the tests."""

    who: str = "oncall"


class TestActionRegistry:
    def test_a_custom_action_and_its_executor_are_registered(self) -> None:
        """`actions()` lists it and `action_for` finds it by the action's type."""

        async def page(action: Any, signal: Any) -> None:
            return None

        class Plugin:
            @hookimpl
            def register_actions(self, register: Any) -> None:
                register(Page, page)

        pm = manager(Plugin())
        entry = plugins.actions(pm=pm)["Page"]
        assert (entry.action_type, entry.executor, entry.plugin) == (Page, page, "p0")
        assert plugins.action_for(Page(who="me"), pm=pm) == entry
        assert plugins.action_for(object(), pm=pm) is None

    def test_an_action_that_is_not_an_action_subclass_is_refused(self) -> None:
        """Only `feedbackloop.rules.Action` subclasses can be actions."""

        class Plugin:
            @hookimpl
            def register_actions(self, register: Any) -> None:
                register(dict, lambda action, signal: None)

        with pytest.raises(PluginError, match=r"subclass of feedbackloop\.rules\.Action"):
            plugins.actions(pm=manager(Plugin()))


class TestEnrichment:
    def test_each_enricher_sees_the_previous_one_s_result(self) -> None:
        """The chain runs in call order (last registered first), passing the signal on."""

        class AddTeam:
            @hookimpl
            def enrich_signal(self, signal: Signal) -> Signal:
                return signal.model_copy(update={"labels": {**signal.labels, "team": "pay"}})

        class AddOwner:
            @hookimpl
            def enrich_signal(self, signal: Signal) -> Signal:
                team = signal.labels["team"]
                return signal.model_copy(update={"labels": {**signal.labels, "owner": f"@{team}"}})

        enriched = plugins.enrich_signal(signal(), pm=manager(AddOwner(), AddTeam()))
        assert enriched.labels == {"team": "pay", "owner": "@pay"}

    def test_an_enricher_returning_none_leaves_the_signal_unchanged(self) -> None:
        """None means "nothing to add"."""

        class Quiet:
            @hookimpl
            def enrich_signal(self) -> None:
                return None

        original = signal()
        assert plugins.enrich_signal(original, pm=manager(Quiet())) is original

    def test_an_enricher_returning_something_else_is_a_plugin_error(self) -> None:
        """A dict instead of a Signal is caught, naming the plugin."""

        class Wrong:
            @hookimpl
            def enrich_signal(self, signal: Signal) -> dict[str, str]:
                return {"team": "pay"}

        with pytest.raises(PluginError, match="'p0': enrich_signal returned dict"):
            plugins.enrich_signal(signal(), pm=manager(Wrong()))


class TestNotifications:
    def test_observers_receive_lifecycle_notifications(self) -> None:
        """`notify` calls each implementation with the arguments it declares."""
        seen: list[Any] = []

        class Observer:
            @hookimpl
            def action_failed(self, kind: str, final: bool) -> None:
                seen.append((kind, final))

        plugins.notify(
            "action_failed",
            pm=manager(Observer()),
            kind="create_ticket",
            payload={},
            error=RuntimeError("x"),
            final=True,
        )
        assert seen == [("create_ticket", True)]

    def test_a_failing_observer_is_logged_not_raised(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A broken dashboard plugin cannot stop the loop."""

        class Broken:
            @hookimpl
            def signal_received(self, event: Any) -> None:
                raise RuntimeError("dashboard down")

        with caplog.at_level(logging.WARNING, logger="feedbackloop.plugins"):
            plugins.notify("signal_received", pm=manager(Broken()), event=signal())
        assert "plugin hook failed" in caplog.text

    def test_notify_refuses_hooks_that_are_not_notifications(self) -> None:
        """Registration hooks are not called through `notify`."""
        with pytest.raises(ValueError, match="not a notification hook"):
            plugins.notify("register_connectors", pm=manager())
