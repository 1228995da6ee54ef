"""The command line's entry points: --version, --help and schema."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from feedbackloop import __version__
from feedbackloop.cli import app

runner = CliRunner()


def test_version_prints_the_installed_version() -> None:
    """`feedbackloop --version` answers with the package version."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"feedbackloop {__version__}"


def test_help_describes_the_tool() -> None:
    """`feedbackloop --help` says what the tool is for."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "operations to development" in result.output


def test_the_console_script_is_installed() -> None:
    """The `feedbackloop` entry point runs as a module of the installed package."""
    out = subprocess.run(
        [sys.executable, "-m", "feedbackloop", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout


def test_schema_prints_the_json_schema_of_every_model() -> None:
    """`feedbackloop schema` prints one document with a definition per model."""
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    definitions = json.loads(result.output)["$defs"]
    assert {"Signal", "Incident", "TicketChange", "Learning"} <= definitions.keys()


def test_schema_of_an_unknown_model_is_a_clear_error() -> None:
    """A misspelled model name lists the known ones and exits with 2."""
    result = runner.invoke(app, ["schema", "Signl"])
    assert result.exit_code == 2
    assert "unknown model 'Signl'; known: Signal" in result.output
