"""The hook specifications: markers, names, and documentation a plugin author relies on."""

from __future__ import annotations

import inspect
from typing import Any

import pluggy
import pytest

import feedbackloop
from feedbackloop import hookspecs, plugins

HOOKS = [
    "register_connectors",
    "register_actions",
    "enrich_signal",
    "signal_received",
    "decision_made",
    "action_executed",
    "action_failed",
]


def test_hookimpl_is_exported_from_the_package() -> None:
    """A plugin needs only `import feedbackloop` to mark its hooks."""
    assert feedbackloop.hookimpl is hookspecs.hookimpl
    assert feedbackloop.hookimpl.project_name == "feedbackloop"


def test_the_manager_knows_exactly_the_documented_hooks() -> None:
    """Every hook in this list has a spec, and there are no others."""
    pm = plugins.new_plugin_manager()
    specified = {name for name in vars(pm.hook) if getattr(pm.hook, name).spec is not None}
    assert specified == set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_documents_each_of_its_parameters(name: str) -> None:
    """Each hook's docstring has a summary and a `:param` line per parameter."""
    function = getattr(hookspecs, name)
    doc = inspect.getdoc(function) or ""
    assert doc.splitlines()[0].endswith(".")
    for parameter in inspect.signature(function).parameters:
        assert f":param {parameter}:" in doc, parameter


def test_the_enrich_hook_documents_its_chain_and_return_value() -> None:
    """The one hook with a result says how results combine."""
    doc = inspect.getdoc(hookspecs.enrich_signal) or ""
    assert ":return:" in doc
    assert "chain" in doc


def test_an_implementation_may_declare_fewer_parameters_than_the_hook() -> None:
    """pluggy passes only the arguments an implementation asks for."""

    class Plugin:
        @feedbackloop.hookimpl
        def action_executed(self, kind: str) -> None:
            seen.append(kind)

    seen: list[str] = []
    pm = plugins.new_plugin_manager()
    pm.register(Plugin())
    pm.hook.action_executed(kind="comment", payload={}, result=None)
    assert seen == ["comment"]


def test_an_implementation_of_another_project_s_hook_is_ignored() -> None:
    """Markers of another pluggy project do not register here."""
    other = pluggy.HookimplMarker("someone-else")

    class Plugin:
        @other
        def enrich_signal(self, signal: Any) -> None:
            raise AssertionError

    pm = plugins.new_plugin_manager()
    pm.register(Plugin())
    assert pm.hook.enrich_signal.get_hookimpls() == []
