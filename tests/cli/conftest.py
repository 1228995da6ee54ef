"""App modules for the CLI tests, written to a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

APP = """
from feedbackloop import FeedbackLoop
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

rules = RuleSet(Rule("errors", when=F.kind == "error", then=OpenTicket("jira", project="OPS")))
loop = FeedbackLoop(
    rules,
    trackers={{"jira": LocalTracker(name="jira", project="OPS")}},
    sources=[SentrySource(client_secret="s3cret", token="tok", organization="acme")],
    store="sqlite:///{db}",
)
not_a_loop = 42
"""


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    """A user's app file with a loop on a SQLite file in tmp_path."""
    path = tmp_path / "feedback.py"
    path.write_text(textwrap.dedent(APP.format(db=tmp_path / "app.db")))
    return path
