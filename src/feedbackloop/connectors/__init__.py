"""Connectors: where signals come from and where work goes.

Three kinds of connector, each a `typing.Protocol` so that a plugin implements it
without inheriting from anything:

- a **`Source`** turns a vendor's webhook deliveries into model events. It must have
  `name`, `verify`, `parse` and `delivery_id`; `poll` is optional (`PollingSource`).
  `verify` and `parse` are pure functions of the headers and the raw body.
- a **`Tracker`** keeps tickets: `find` by marker, `create`, `comment`, `close`,
  `reopen` and `state` are all required, and all async.
- a **`Notifier`** sends a `Message` (Slack, Datadog events…). An **`Escalator`** pages
  someone with a de-duplication key (PagerDuty Events).

A source may also implement `OriginSync` (`resolve_origin` / `reopen_origin`) so that a
closed ticket resolves the vendor's issue (two-way sync).

A tracker may also implement `TicketReader` (optional: `read`), which gives a ticket's
text back as Markdown, so that a postmortem written in a ticket can be recorded as a
learning (`FeedbackLoop.learn_from_ticket`).

Built-in and third-party connectors register the same way: through the
`register_connectors` plugin hook.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

from feedbackloop._models import Incident, Severity, Signal, TicketChange, TicketRef

__all__ = [
    "Escalator",
    "Event",
    "HTTPClient",
    "Headers",
    "Message",
    "Notifier",
    "OriginSync",
    "PollingSource",
    "RetryPolicy",
    "Source",
    "TicketDraft",
    "TicketReader",
    "TicketState",
    "Tracker",
    "create_client",
    "paginate_cursor",
    "paginate_link",
    "paginate_offset",
    "paginate_token",
]

Event: TypeAlias = Signal | Incident | TicketChange
"""What a source produces: a signal, an incident update or a ticket change."""

Headers: TypeAlias = Mapping[str, str]
"""HTTP headers of a delivery. Sources look names up case-insensitively."""


@runtime_checkable
class Source(Protocol):
    """Turns a vendor's webhook deliveries into model events.

    Required: `name`, `verify`, `parse`, `delivery_id`.
    """

    @property
    def name(self) -> str:
        """The source's name, as in `POST /webhooks/{name}` (a class attribute will do)."""
        ...

    def verify(self, headers: Headers, body: bytes) -> None:
        """Check the delivery's signature against the raw body.

        Raises:
            SignatureError: the signature is missing, malformed or wrong, or no secret
                is configured (unless the source was built with `verify=False`).
        """
        ...

    def parse(self, headers: Headers, body: bytes) -> list[Event]:
        """Read a verified delivery into events; an empty list for deliveries to ignore.

        Raises:
            PayloadError: the payload cannot be read; names the field to blame.
        """
        ...

    def delivery_id(self, headers: Headers, body: bytes) -> str:
        """A stable id of the delivery, the same when the vendor redelivers it.

        Sources whose vendor sends no id derive one from the body (a SHA-256 digest).
        """
        ...


@runtime_checkable
class PollingSource(Source, Protocol):
    """A source that can also be polled, for vendors without webhooks or to catch up."""

    def poll(self, since: datetime) -> AsyncIterator[Event]:
        """Yield the events that happened since `since`, oldest first where possible."""
        ...


@runtime_checkable
class OriginSync(Protocol):
    """A source whose origin can be resolved or reopened when its ticket moves."""

    async def resolve_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Resolve the vendor's issue or incident `external_id` (two-way sync)."""
        ...

    async def reopen_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Reopen (unresolve) the vendor's issue or incident `external_id`."""
        ...


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """What a tracker needs to create a ticket.

    `body` is Markdown (paragraphs, bullet lists, code blocks, links, bold); trackers
    convert it to their format. `marker` is the hidden identity of the ticket's group:
    trackers store it so that `find(marker)` finds the ticket again. `fields` carries
    what is specific to one tracker (Jira `project`, `issue_type`, `priority`,
    `components`; GitHub `repo`, `assignees`).
    """

    title: str
    body: str
    marker: str
    labels: tuple[str, ...] = ()
    severity: Severity | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketState:
    """A ticket as its tracker sees it now.

    `resolution` says why a closed ticket closed, in the tracker's words (GitHub
    `completed`/`not_planned`/`duplicate`, Jira `Won't Do`, `Duplicate`, `Done`…).
    """

    ref: TicketRef
    resolution: str | None = None


@runtime_checkable
class Tracker(Protocol):
    """Keeps tickets: Jira, GitHub Issues, the built-in local tracker, or a plugin's.

    Every method is required and async. `fields` are the same tracker-specific fields a
    `TicketDraft` carries (for GitHub, the repository to search).
    """

    name: str

    async def find(self, marker: str, *, fields: Mapping[str, Any]) -> TicketRef | None:
        """The ticket carrying `marker`, or None. The newest one when there are several."""
        ...

    async def create(self, draft: TicketDraft) -> TicketRef:
        """Create a ticket and return a reference to it."""
        ...

    async def comment(self, key: str, body: str) -> None:
        """Add a comment (Markdown) to ticket `key`."""
        ...

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        """Close ticket `key`, with a resolution where the tracker supports one."""
        ...

    async def reopen(self, key: str) -> None:
        """Reopen the closed ticket `key`."""
        ...

    async def state(self, key: str) -> TicketState:
        """Read ticket `key`'s status and resolution back from the tracker."""
        ...


@runtime_checkable
class TicketReader(Protocol):
    """A tracker that can give a ticket's text back (optional, beside `Tracker`).

    Built in: `LocalTracker`, `GitHubTracker`, `JiraTracker`.
    """

    async def read(self, key: str) -> str:
        """Ticket `key`'s text as Markdown: its title as a `# ` heading line, then its body.

        Raises:
            NotFoundError: no ticket has this key.
        """
        ...


@dataclass(frozen=True, slots=True)
class Message:
    """A notification: a title, Markdown text, a link back and key fields."""

    title: str
    text: str = ""
    url: str | None = None
    severity: Severity | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    channel: str | None = None


@runtime_checkable
class Notifier(Protocol):
    """Sends messages: Slack, Datadog events, e-mail through a plugin…"""

    name: str

    async def send(self, message: Message) -> None:
        """Deliver `message`."""
        ...


@runtime_checkable
class Escalator(Protocol):
    """Pages a human: PagerDuty Events v2, or a plugin for another paging service."""

    name: str

    async def escalate(
        self,
        message: Message,
        *,
        dedup_key: str,
        action: Literal["trigger", "acknowledge", "resolve"] = "trigger",
    ) -> None:
        """Trigger, acknowledge or resolve the alert identified by `dedup_key`."""
        ...


# The HTTP layer, for built-in and plugin connectors alike. Imported on first use: httpx
# and tenacity are heavy, and the loop imports this module for its protocols alone.
if TYPE_CHECKING:
    from feedbackloop.connectors._http import HTTPClient, RetryPolicy, create_client
    from feedbackloop.connectors._pagination import (
        paginate_cursor,
        paginate_link,
        paginate_offset,
        paginate_token,
    )

_LAZY: dict[str, str] = {
    "HTTPClient": "_http",
    "RetryPolicy": "_http",
    "create_client": "_http",
    "paginate_cursor": "_pagination",
    "paginate_link": "_pagination",
    "paginate_offset": "_pagination",
    "paginate_token": "_pagination",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value
