"""`feedbackloop demo`: a deterministic week, through the real path, into a backlog."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
from typer.testing import CliRunner

from feedbackloop.cli import app
from feedbackloop.demo import run_demo

runner = CliRunner()


def backlog(output: str) -> str:
    """The printed backlog and figures, without the progress bar and the timing line."""
    timed = re.compile(r"\d+\.\ds|\d:\d\d:\d\d")
    return "\n".join(line for line in output.splitlines() if not timed.search(line))


def test_the_demo_prints_the_backlog_and_the_noise_reduction(tmp_path: Path) -> None:
    """The demo ends with tickets created, commented, reopened and signals in vs tickets out."""
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    assert "OPS-1" in result.output
    assert "acme/postmortems#" in result.output
    assert re.search(r"Tickets: \d+ created, \d+ commented .*, 1 reopened", result.output)
    assert re.search(r"Noise reduction: \d+ signals in → \d+ tickets out", result.output)


def test_the_same_seed_gives_the_same_backlog(tmp_path: Path) -> None:
    """Two runs with one seed print the same backlog (fresh database each time)."""
    db = str(tmp_path / "demo.db")
    first = runner.invoke(app, ["demo", "--seed", "3", "--db", db])
    second = runner.invoke(app, ["demo", "--seed", "3", "--db", db])
    assert first.exit_code == second.exit_code == 0
    assert backlog(first.output) == backlog(second.output)


def test_another_seed_gives_another_week(tmp_path: Path) -> None:
    """A different seed moves times and counts."""
    one = anyio.run(lambda: run_demo(seed=1, db=tmp_path / "a.db"))
    two = anyio.run(lambda: run_demo(seed=2, db=tmp_path / "b.db"))
    assert (one.signals, one.tickets) != (two.signals, two.tickets)


def test_the_week_covers_every_lifecycle_step(tmp_path: Path) -> None:
    """Created, commented, reopened, closed by Jira and by GitHub, kept closed as Won't Do."""
    summary = anyio.run(lambda: run_demo(seed=7, db=tmp_path / "d.db"))
    statuses = {row.key: row.status for row in summary.tickets}
    assert summary.created >= 5
    assert summary.commented >= 1
    assert summary.reopened == 1
    assert any(s == "closed (completed)" for k, s in statuses.items() if "#" in k)
    assert "closed (Won't Do)" in statuses.values()
    assert summary.duplicates == 2
    assert summary.signals > 10 * len(summary.tickets)


def test_keep_replays_the_week_as_redeliveries(tmp_path: Path) -> None:
    """With --keep a second run finds every delivery already there: nothing changes."""
    db = tmp_path / "d.db"
    first = anyio.run(lambda: run_demo(seed=5, db=db))
    again = anyio.run(lambda: run_demo(seed=5, db=db, keep=True))
    assert again.tickets == first.tickets
    assert again.duplicates == again.deliveries


def test_the_demo_never_deletes_a_file_it_did_not_write(tmp_path: Path) -> None:
    """--db pointing at anything else (a real store, a source file) is refused, untouched."""
    precious = tmp_path / "feedback.py"
    precious.write_text("loop = ...\n")
    result = runner.invoke(app, ["demo", "--db", str(precious)])
    assert result.exit_code == 1
    assert "is not a database the demo wrote" in result.output
    assert precious.read_text() == "loop = ...\n"


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "missing" / "demo.db")])
    assert result.exit_code == 1
    assert "Error: cannot open the store" in result.output
    assert "Traceback" not in result.output


def test_a_database_the_demo_created_with_keep_is_its_own_to_delete(tmp_path: Path) -> None:
    db = str(tmp_path / "kept #1.db")  # a path SQLite's URIs must escape
    assert runner.invoke(app, ["demo", "--keep", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["demo", "--db", db]).exit_code == 0
