"""Loading `--app`: the user's mistakes become one clear line, unless --debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackloop.cli import app
from feedbackloop.cli._appload import AppLoadError, load_loop

runner = CliRunner()


def test_a_file_path_spec_loads_the_loop(app_file: Path) -> None:
    """`path/to/feedback.py:loop` loads the loop from the file."""
    loop = load_loop(f"{app_file}:loop")
    loop.close()  # type: ignore[union-attr]


def test_a_missing_module_is_one_clear_line() -> None:
    """An unknown module: an error naming it, no traceback."""
    result = runner.invoke(app, ["check", "--app", "nosuchmodule_xyz:loop"])
    assert result.exit_code == 1
    assert "no module named 'nosuchmodule_xyz'" in result.output
    assert "Traceback" not in result.output


def test_a_missing_attribute_is_named(app_file: Path) -> None:
    """An attribute the module lacks: named in the error."""
    result = runner.invoke(app, ["check", "--app", f"{app_file}:lop"])
    assert result.exit_code == 1
    assert "has no attribute 'lop'" in result.output


def test_an_attribute_of_the_wrong_type_is_explained(app_file: Path) -> None:
    """An attribute that is not a loop: its type is named, with the fix."""
    result = runner.invoke(app, ["check", "--app", f"{app_file}:not_a_loop"])
    assert result.exit_code == 1
    assert "is a int, not a FeedbackLoop" in result.output


def test_an_error_raised_by_the_module_names_file_and_line(tmp_path: Path) -> None:
    """The module raising on import: the exception and the line it came from."""
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('boom in config')\n")
    result = runner.invoke(app, ["check", "--app", f"{broken}:loop"])
    assert result.exit_code == 1
    assert "broken.py:2" in result.output
    assert "RuntimeError: boom in config" in result.output


def test_debug_shows_the_real_exception(tmp_path: Path) -> None:
    """With --debug the error propagates with its traceback."""
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    result = runner.invoke(app, ["check", "--app", f"{broken}:loop", "--debug"])
    assert isinstance(result.exception, AppLoadError)
    assert isinstance(result.exception.__cause__, RuntimeError)


def test_a_spec_without_colon_is_refused() -> None:
    """`feedback` alone is not a spec."""
    with pytest.raises(AppLoadError, match="module:attribute"):
        load_loop("feedback")
