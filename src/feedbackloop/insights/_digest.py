"""The digest action: post a report's Markdown to a notifier or as a tracker issue.

The loop does not schedule anything: the user's own scheduler (cron, a CI schedule,
Kubernetes CronJob) calls `loop.post_digest(...)`. Posting as an issue is idempotent
per period and scope: the issue carries a marker, and a second run for the same
period finds it instead of opening another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feedbackloop._models import TicketRef
from feedbackloop.connectors import Message, Notifier, TicketDraft, Tracker
from feedbackloop.errors import ConfigurationError
from feedbackloop.insights._markdown import title_of
from feedbackloop.insights._report import Report

__all__ = ["DigestPost", "post_digest", "resolve_target"]

DIGEST_LABEL = "feedbackloop-digest"


@dataclass(frozen=True, slots=True)
class DigestPost:
    """What posting the digest did: the report, and the issue when posted to a tracker."""

    report: Report
    target: str
    ticket: TicketRef | None = None
    created: bool = False


def resolve_target(
    to: str | Notifier | Tracker,
    notifiers: Mapping[str, Notifier],
    trackers: Mapping[str, Tracker],
) -> Notifier | Tracker:
    """The notifier or tracker `to` names (or is).

    Raises:
        ConfigurationError: no such name, or the name is both a notifier and a tracker.
    """
    if not isinstance(to, str):
        return to
    if to in notifiers and to in trackers:
        raise ConfigurationError(
            f"{to!r} is both a notifier and a tracker in this loop; pass the object itself"
        )
    if to in notifiers:
        return notifiers[to]
    if to in trackers:
        return trackers[to]
    known = ", ".join(sorted({*notifiers, *trackers})) or "none"
    raise ConfigurationError(f"no notifier or tracker named {to!r} (configured: {known})")


def _marker(report: Report) -> str:
    period, scope = report.period, report.scope
    identity = "\x1f".join(
        [
            period.since.isoformat(),
            period.until.isoformat(),
            scope.service or "",
            scope.team or "",
            scope.source or "",
        ]
    )
    return "fl-digest-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


async def post_digest(
    report: Report,
    target: Notifier | Tracker,
    *,
    title: str | None = None,
    channel: str | None = None,
    fields: Mapping[str, Any] | None = None,
    labels: tuple[str, ...] = (DIGEST_LABEL,),
) -> DigestPost:
    """Post `report` as Markdown through a notifier, or as an issue in a tracker.

    Args:
        report: The report to post.
        target: A `Notifier` (Slack…) or a `Tracker` (GitHub, Jira, local).
        title: The message or issue title; by default "Ops digest <since> → <until>".
        channel: The notifier's channel, when it has several.
        fields: Tracker fields for the issue (GitHub `repo`, Jira `project`…).
        labels: Labels of the issue.
    """
    heading = title or title_of(report)
    body = report.to_markdown()
    if isinstance(target, Tracker):
        marker = _marker(report)
        extra = dict(fields or {})
        found = await target.find(marker, fields=extra)
        if found is not None:
            return DigestPost(report, target.name, found, created=False)
        draft = TicketDraft(title=heading, body=body, marker=marker, labels=labels, fields=extra)
        ref = await target.create(draft)
        return DigestPost(report, target.name, ref, created=True)
    if isinstance(target, Notifier):
        await target.send(Message(title=heading, text=body, channel=channel))
        return DigestPost(report, target.name)
    raise ConfigurationError(
        f"post_digest needs a Notifier or a Tracker, not {type(target).__name__}"
    )
