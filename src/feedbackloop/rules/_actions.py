"""Actions: what a matching rule plans. Frozen data; the loop carries them out.

Evaluating rules only *plans* actions, so rules stay pure and testable; the loop's
executor performs them later (with retries, an outbox and dead letters). A plugin adds
its own action by subclassing `Action` as a frozen dataclass.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, TypeAlias

from feedbackloop._models import Severity, Signal
from feedbackloop.errors import RuleError
from feedbackloop.rules._predicates import field_names

__all__ = [
    "Action",
    "Comment",
    "Drop",
    "Escalate",
    "Notify",
    "OpenTicket",
    "Template",
    "render",
]

Template: TypeAlias = str | Callable[[Signal], str]
"""Text from a signal: a `str.format` template over the signal's fields (`"{title}"`,
`"{labels[team]}"`) or a callable taking the signal and returning a str."""


class _Labels(dict[str, str]):
    """Labels inside a template: a missing label renders as an empty string."""

    def __missing__(self, key: str) -> str:
        return ""


def _check_template(value: object, what: str) -> None:
    if value is None or callable(value):
        return
    if not isinstance(value, str):
        raise RuleError(
            f"{what} must be a str template or a callable(signal) -> str; got {value!r}"
        )
    valid = field_names()
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise RuleError(f"{what} template {value!r} is malformed: {exc}") from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        root = name.split(".", 1)[0].split("[", 1)[0]
        if root not in valid:
            fields = ", ".join(valid)
            raise RuleError(
                f"{what} template {value!r} refers to unknown field {{{name}}}; "
                f"valid fields: {fields}"
            )


def render(template: Template, signal: Signal) -> str:
    """Render a template for `signal`; missing labels and fields render empty."""
    if callable(template):
        return template(signal)
    values: dict[str, Any] = {name: getattr(signal, name) for name in field_names()}
    values["labels"] = _Labels(signal.labels)
    for name, value in values.items():
        if value is None:
            values[name] = ""
    return template.format_map(values)


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{what} must be a non-empty name; got {value!r}")
    return value


def _positive(value: object, what: str) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise RuleError(f"{what} must be a positive timedelta; got {value!r}")
    return value


@dataclass(frozen=True)
class Action:
    """Base class of every planned action. Subclass it (frozen) to add your own."""

    def describe(self) -> str:
        """One line for explanations; the repr by default."""
        return repr(self)


@dataclass(frozen=True, init=False)
class OpenTicket(Action):
    """Keep one living ticket per group key in `tracker`.

    Not a plain "create": with no linked ticket one is created; while it is open the
    loop comments at most once per `update_every`; when it was closed and the signal
    recurs within `reopen_within` it is reopened ("regressed"), later a new ticket
    linked to the old one is opened. Tickets closed as won't-fix or duplicate stay
    closed unless their resolution is listed in `reopen_closed_as`.

    Args:
        tracker: The tracker's name in the loop (`"jira"`, `"github"`, `"local"`).
        title: A template (`"{service}: {title}"`) or a callable; default: the signal's title.
        body: A template or a callable; default: the loop's standard body.
        labels: Labels to set on the ticket.
        update_every: At most one "still happening" comment per this period.
        reopen_within: A recurrence this soon after closing reopens the ticket.
        reopen_closed_as: Resolutions (e.g. `{"duplicate"}`) that are reopened too.
        sync_origin: Two-way sync: closing the ticket resolves the origin issue.
        correlate: Let the loop attach related signals to the same ticket.
        **fields: Tracker-specific fields: `project`, `issue_type`, `priority`,
            `components` (Jira), `repo`, `assignees` (GitHub)…

    Raises:
        RuleError: an empty tracker name, a template naming an unknown field, or a
            non-positive period.
    """

    tracker: str
    title: Template | None = None
    body: Template | None = None
    labels: tuple[str, ...] = ()
    update_every: timedelta = timedelta(hours=24)
    reopen_within: timedelta = timedelta(days=14)
    reopen_closed_as: frozenset[str] = frozenset()
    sync_origin: bool = False
    correlate: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __init__(
        self,
        tracker: str,
        *,
        title: Template | None = None,
        body: Template | None = None,
        labels: Iterable[str] = (),
        update_every: timedelta = timedelta(hours=24),
        reopen_within: timedelta = timedelta(days=14),
        reopen_closed_as: Iterable[str] = frozenset(),
        sync_origin: bool = False,
        correlate: bool = False,
        **fields: Any,
    ) -> None:
        _check_template(title, "OpenTicket title")
        _check_template(body, "OpenTicket body")
        if isinstance(labels, str):
            raise RuleError(f"OpenTicket labels must be a list of str, not the str {labels!r}")
        set_ = object.__setattr__
        set_(self, "tracker", _name(tracker, "OpenTicket tracker"))
        set_(self, "title", title)
        set_(self, "body", body)
        set_(self, "labels", tuple(_name(label, "a ticket label") for label in labels))
        set_(self, "update_every", _positive(update_every, "update_every"))
        set_(self, "reopen_within", _positive(reopen_within, "reopen_within"))
        set_(self, "reopen_closed_as", frozenset(str(r).lower() for r in reopen_closed_as))
        set_(self, "sync_origin", bool(sync_origin))
        set_(self, "correlate", bool(correlate))
        set_(self, "fields", MappingProxyType(dict(fields)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, OpenTicket)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash((self.tracker, self.labels, tuple(sorted(self.fields))))

    def _compared(self) -> tuple[Any, ...]:
        return (
            self.tracker,
            self.title,
            self.body,
            self.labels,
            self.update_every,
            self.reopen_within,
            self.reopen_closed_as,
            self.sync_origin,
            self.correlate,
            dict(self.fields),
        )

    def __repr__(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.fields.items())
        title = f", title={self.title!r}" if self.title is not None else ""
        labels = f", labels={list(self.labels)!r}" if self.labels else ""
        return f"OpenTicket({self.tracker!r}{extra}{title}{labels})"

    def render_title(self, signal: Signal) -> str:
        """The ticket title for `signal`: the template rendered, or the signal's title."""
        return signal.title if self.title is None else render(self.title, signal)

    def render_body(self, signal: Signal) -> str | None:
        """The body template rendered for `signal`; None leaves the body to the loop."""
        return None if self.body is None else render(self.body, signal)


@dataclass(frozen=True)
class Comment(Action):
    """Comment on the ticket linked to the group key in `tracker`.

    Args:
        tracker: The tracker's name in the loop.
        body: A template or a callable giving the comment's Markdown.
    """

    tracker: str
    body: Template

    def __post_init__(self) -> None:
        _name(self.tracker, "Comment tracker")
        if self.body is None:
            raise RuleError("Comment needs a body")
        _check_template(self.body, "Comment body")

    def render_body(self, signal: Signal) -> str:
        """The comment for `signal`."""
        return render(self.body, signal)


@dataclass(frozen=True)
class Notify(Action):
    """Send a message through a notifier (Slack or a plugin's).

    Args:
        notifier: The notifier's name in the loop (`"slack"`).
        text: A template or a callable; default: the loop's standard summary.
        channel: Where to post, when the notifier supports several.
    """

    notifier: str
    text: Template | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        _name(self.notifier, "Notify notifier")
        _check_template(self.text, "Notify text")

    def render_text(self, signal: Signal) -> str | None:
        """The message for `signal`; None leaves it to the loop."""
        return None if self.text is None else render(self.text, signal)


@dataclass(frozen=True)
class Escalate(Action):
    """Page someone through an escalator (PagerDuty Events v2), de-duplicated by group key.

    Args:
        escalator: The escalator's name in the loop.
        severity: Override the signal's severity for the page.
    """

    escalator: str = "pagerduty"
    severity: Severity | None = None

    def __post_init__(self) -> None:
        _name(self.escalator, "Escalate escalator")
        if self.severity is not None:
            try:
                object.__setattr__(self, "severity", Severity.coerce(self.severity))
            except ValueError as exc:
                raise RuleError(f"Escalate severity: {exc}") from None


@dataclass(frozen=True)
class Drop(Action):
    """Deliberately do nothing with the signal (noise), and say why.

    Args:
        reason: Shown in explanations and counted as noise in the insights.
    """

    reason: str | None = None

    def describe(self) -> str:
        """`Drop()` or `Drop('reason')`."""
        return "Drop()" if self.reason is None else f"Drop({self.reason!r})"
