"""feedbackloop-echo: an in-memory tracker and notifier, registered as a plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import feedbackloop
from feedbackloop.connectors import Message, TicketDraft, TicketState
from feedbackloop.settings import ConnectorSettings


class EchoSettings(ConnectorSettings, connector="echo"):
    """Read from FEEDBACKLOOP_ECHO_PROJECT."""

    project: str = "ECHO"


class EchoTracker:
    """Keeps tickets in a dict: enough to show a tracker plugin end to end."""

    def __init__(self, *, project: str = "ECHO", name: str = "echo") -> None:
        self.name = name
        self.project = project
        self.tickets: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_env(cls, **overrides: Any) -> EchoTracker:
        return cls(**EchoSettings.load(**overrides).model_dump())

    async def find(
        self, marker: str, *, fields: Mapping[str, Any]
    ) -> feedbackloop.TicketRef | None:
        for key, ticket in reversed(self.tickets.items()):
            if ticket["marker"] == marker:
                return self._ref(key)
        return None

    async def create(self, draft: TicketDraft) -> feedbackloop.TicketRef:
        key = f"{self.project}-{len(self.tickets) + 1}"
        self.tickets[key] = {
            "title": draft.title,
            "marker": draft.marker,
            "open": True,
            "comments": [],
        }
        return self._ref(key)

    async def comment(self, key: str, body: str) -> None:
        self.tickets[key]["comments"].append(body)

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        self.tickets[key]["open"] = False

    async def reopen(self, key: str) -> None:
        self.tickets[key]["open"] = True

    async def state(self, key: str) -> TicketState:
        return TicketState(ref=self._ref(key))

    def _ref(self, key: str) -> feedbackloop.TicketRef:
        status = (
            feedbackloop.TicketStatus.OPEN
            if self.tickets[key]["open"]
            else feedbackloop.TicketStatus.CLOSED
        )
        return feedbackloop.TicketRef(
            tracker=self.name, key=key, url=f"https://echo.example/{key}", status=status
        )


class EchoNotifier:
    """Remembers the messages it was asked to send."""

    name = "echo"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)


@feedbackloop.hookimpl
def register_connectors(register: Any) -> None:
    register("tracker", "echo", "feedbackloop_echo:EchoTracker")  # imported on first use
    register("notifier", "echo", EchoNotifier)


@feedbackloop.hookimpl
def enrich_signal(signal: feedbackloop.Signal) -> feedbackloop.Signal:
    return signal.model_copy(update={"labels": {**signal.labels, "echo": "seen"}})
