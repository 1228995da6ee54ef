"""Fixtures for tests that load plugins: a fresh manager, feedbackloop-echo installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feedbackloop import plugins
from tests.plugin_package.installer import ECHO_PROJECT, forget_modules, install_project

__all__ = ["echo_installed", "fresh_plugins", "site"]


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-wide plugin manager is rebuilt on next use; FEEDBACKLOOP_PLUGINS unset."""
    monkeypatch.setattr(plugins, "_manager", None)
    monkeypatch.delenv(plugins.PLUGINS_ENV, raising=False)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None) -> Iterator[Path]:
    """An empty site-packages directory on `sys.path`."""
    directory = tmp_path / "site-packages"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    yield directory
    forget_modules(*(path.stem for path in directory.iterdir() if not path.name.endswith("-info")))


@pytest.fixture
def echo_installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """feedbackloop-echo (tests/plugin_package) installed into `site`."""
    install_project(ECHO_PROJECT, site)
    monkeypatch.delenv("FEEDBACKLOOP_ECHO_PROJECT", raising=False)
    return site
