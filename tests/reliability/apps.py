"""The loops the reliability tests serve with `feedbackloop serve --app ...`.

`tests.reliability.apps:crash_loop`: the scripted stream's rules, Sentry deliveries
signed with the demo secret, a local tracker named "jira" in the same SQLite store
(FEEDBACKLOOP_RELIABILITY_DB), and a one-second lease so that work a killed server held
is taken up again quickly after a restart.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from feedbackloop import AsyncFeedbackLoop
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.demo import SECRETS
from tests.reliability import stream

LEASE = timedelta(seconds=1)


def build_crash_loop(db: str) -> AsyncFeedbackLoop:
    """The crash test's loop over the SQLite file `db`."""
    return AsyncFeedbackLoop(
        stream.rules(),
        trackers={"jira": LocalTracker(name="jira", project="OPS")},
        sources=[SentrySource(client_secret=SECRETS["sentry"])],
        store=f"sqlite:///{db}",
        lease=LEASE,
    )


def __getattr__(name: str) -> Any:
    # Built on first access, so that importing the module needs no environment.
    if name == "crash_loop":
        return build_crash_loop(os.environ["FEEDBACKLOOP_RELIABILITY_DB"])
    raise AttributeError(name)
