"""`feedbackloop plugins`: what is loaded, with versions, connectors and hooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackloop import __version__
from feedbackloop.cli import app
from tests.plugin_package.fixtures import echo_installed, fresh_plugins, site
from tests.plugin_package.installer import install_module

__all__ = ["echo_installed", "fresh_plugins", "site"]  # fixtures used by name below

runner = CliRunner()


def test_the_table_lists_the_built_in_plugin_with_its_connectors(fresh_plugins: None) -> None:
    """The built-ins appear as a plugin named feedbackloop, with the version."""
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "feedbackloop (built-in)" in result.output
    assert __version__ in result.output
    assert "tracker:local" in result.output
    assert "register_connectors" in result.output


def test_an_installed_plugin_is_listed_with_its_version_connectors_and_hooks(
    echo_installed: Path,
) -> None:
    """feedbackloop-echo shows its version, both connectors and both hooks."""
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.output)}
    assert listed["echo"] == {
        "name": "echo",
        "version": "0.3.1",
        "builtin": False,
        "hooks": ["enrich_signal", "register_connectors"],
        "connectors": ["notifier:echo", "tracker:echo"],
        "actions": [],
    }
    assert list(listed) == ["feedbackloop", "echo"]


def test_the_plugins_variable_hides_installed_plugins(
    echo_installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With FEEDBACKLOOP_PLUGINS empty, only the built-ins are listed."""
    monkeypatch.setenv("FEEDBACKLOOP_PLUGINS", "")
    result = runner.invoke(app, ["plugins", "--json"])
    assert [item["name"] for item in json.loads(result.output)] == ["feedbackloop"]


def test_a_broken_plugin_is_reported_with_exit_code_1(site: Path) -> None:
    """A misspelled hook is an error message naming it, not a traceback."""
    install_module(
        site,
        dist="feedbackloop-typo",
        module="feedbackloop_typo",
        source=(
            "import feedbackloop\n\n@feedbackloop.hookimpl\ndef enrich_signals(signal):\n    pass\n"
        ),
    )
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 1
    assert "unknown hook 'enrich_signals'" in result.output
