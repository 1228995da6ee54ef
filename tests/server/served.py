"""The loop the uvicorn tests serve: `tests.server.served:loop`, configured by environment.

FEEDBACKLOOP_TEST_DB: the SQLite file. FEEDBACKLOOP_TEST_HANG=1: creating a ticket
hangs forever (a worker stuck mid-work when the server is killed). FEEDBACKLOOP_TEST_SLOW=1:
creating a ticket takes half a second (work in flight when the server is asked to stop).
"""

from __future__ import annotations

import os
from datetime import timedelta

import anyio

from feedbackloop import AsyncFeedbackLoop
from feedbackloop.connectors import TicketDraft, TicketRef
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.demo import SECRETS
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet


class HangingTracker(LocalTracker):
    """A local tracker whose create never returns."""

    async def create(self, draft: TicketDraft) -> TicketRef:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


class SlowTracker(LocalTracker):
    """A local tracker that takes half a second to create a ticket."""

    async def create(self, draft: TicketDraft) -> TicketRef:
        await anyio.sleep(0.5)
        return await super().create(draft)


tracker_type: type[LocalTracker] = LocalTracker
if os.environ.get("FEEDBACKLOOP_TEST_HANG") == "1":
    tracker_type = HangingTracker
elif os.environ.get("FEEDBACKLOOP_TEST_SLOW") == "1":
    tracker_type = SlowTracker

loop = AsyncFeedbackLoop(
    RuleSet(Rule("errors", when=F.kind == "error", then=OpenTicket("jira"))),
    trackers={"jira": tracker_type(name="jira", project="OPS")},
    sources=[SentrySource(client_secret=SECRETS["sentry"])],
    store=f"sqlite:///{os.environ['FEEDBACKLOOP_TEST_DB']}",
    lease=timedelta(seconds=1),
)
