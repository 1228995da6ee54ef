"""`feedbackloop report` from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackloop import FeedbackLoop, Incident
from feedbackloop.cli import app
from feedbackloop.cli._report import parse_moment
from feedbackloop.rules import RuleSet

runner = CliRunner()
NOW = datetime(2026, 11, 9, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A store with two incidents of the week before NOW."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with FeedbackLoop(RuleSet(), store=url, sources=[]) as loop:
        for n, minutes in enumerate((30, 90)):
            created = NOW - timedelta(days=3 + n)
            loop.ingest(
                Incident(
                    id=f"PD{n}",
                    title="down",
                    service="api",
                    status="resolved",
                    created_at=created,
                    resolved_at=created + timedelta(minutes=minutes),
                )
            )
    return url


def test_durations_and_dates_are_read_as_moments() -> None:
    """7d is a week back; a bare date is midnight UTC."""
    assert parse_moment("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_moment("2026-11-02", now=NOW) == datetime(2026, 11, 2, tzinfo=UTC)


def test_the_report_prints_markdown_by_default(store: str) -> None:
    """Two incidents, MTTR median one hour."""
    result = runner.invoke(
        app, ["report", "--store", store, "--since", "7d", "--until", NOW.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "**Incidents:** 2" in result.output
    assert "**MTTR:** median 60 min" in result.output


def test_the_report_as_json(store: str) -> None:
    """--format json prints the contract keys."""
    result = runner.invoke(
        app,
        [
            "report",
            "--store",
            store,
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-09",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["incidents"], data["mttr"]["median"]) == (2, 3600)


def test_the_html_report_is_written_to_a_file(store: str, tmp_path: Path) -> None:
    """--output writes the self-contained page."""
    target = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["report", "--store", store, "--until", NOW.isoformat(), "-f", "html", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert target.read_text().count("<svg") == 3


def test_a_bad_since_is_refused_with_advice(store: str) -> None:
    """The error says what a duration or a date looks like."""
    result = runner.invoke(app, ["report", "--store", store, "--since", "last week"])
    assert result.exit_code == 2
    assert "neither a duration" in result.output


@pytest.mark.parametrize("since", ["99999999d", "0001-01-01", "9" * 5000 + "d"])
def test_a_moment_out_of_range_is_refused(store: str, since: str) -> None:
    result = runner.invoke(app, ["report", "--store", store, "--since", since])
    assert result.exit_code == 2
    assert "is not between" in result.output  # 1970 and 9999 (the box may wrap it)


def test_an_output_that_cannot_be_written_is_one_line(store: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--store", store, "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert f"Error: cannot write {tmp_path}: Is a directory" in result.output


def test_a_file_that_is_not_a_store_is_one_line(tmp_path: Path) -> None:
    """A store URL naming some other file: said so, not a database error's traceback."""
    other = tmp_path / "notes.txt"
    other.write_text("not a database " * 100)
    result = runner.invoke(app, ["report", "--store", f"sqlite:///{other}"])
    assert result.exit_code == 1
    assert "file is not a database" in result.output


def test_a_period_whose_previous_one_cannot_be_dated_is_one_line(store: str) -> None:
    result = runner.invoke(
        app, ["report", "--store", store, "--since", "1970-01-02", "--until", "9000-01-01"]
    )
    assert result.exit_code == 1
    assert "too long to compare with the one before it" in result.output
