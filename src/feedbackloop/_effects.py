"""Carrying out planned effects: tracker, notifier, escalator and two-way sync calls.

Each effect comes from the outbox, leased to one worker. Creating a ticket is made
exactly-once in effect: the link counts its attempts before the tracker is called, and
any attempt after the first (a retry, a redelivery after a crash, an answer lost to a
timeout) first searches the tracker for the link's marker.

Failures are sorted: vendor trouble that may pass (rate limits, 5xx after the HTTP
layer's own retries, lost connections) leaves the effect in the outbox for a later try,
up to `max_attempts`; anything else, and the last try, goes to the dead letters with the
vendor's error. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import TypeAdapter

from feedbackloop._models import Severity, Signal, TicketRef
from feedbackloop.connectors import (
    Escalator,
    Message,
    Notifier,
    OriginSync,
    Source,
    TicketDraft,
    Tracker,
)
from feedbackloop.errors import (
    AmbiguousRequestError,
    ConfigurationError,
    HTTPError,
    RateLimitError,
    ServerError,
    TransportError,
)
from feedbackloop.logs import get_logger
from feedbackloop.plugins import ActionEntry
from feedbackloop.store import Effect, Store, TicketLink

__all__ = ["EffectResult", "EffectRunner"]

_log = get_logger("effects")

_TRANSIENT = (RateLimitError, ServerError, TransportError)

_UNSAID_RATE_LIMIT_WAIT = 60.0
"""Seconds before the next try of an effect refused by a rate limit that did not say
when it ends (doubled at each try, up to an hour): GitHub asks for at least a minute."""


@dataclass(frozen=True, slots=True)
class EffectResult:
    """What became of one effect: `done`, `retrying` (left in the outbox) or `dead`."""

    effect_id: int
    kind: str
    status: Literal["done", "retrying", "dead"]
    ticket: TicketRef | None = None
    error: str | None = None


class EffectRunner:
    """Executes outbox effects against the loop's connectors."""

    def __init__(
        self,
        store: Store,
        *,
        trackers: Mapping[str, Tracker],
        notifiers: Mapping[str, Notifier],
        escalators: Mapping[str, Escalator],
        sources: Mapping[str, Source],
        custom: Mapping[str, ActionEntry],
        clock: Callable[[], datetime],
        max_attempts: int = 3,
        on_done: Callable[[Effect, EffectResult], None] | None = None,
        on_failed: Callable[[Effect, BaseException, bool], None] | None = None,
    ) -> None:
        self.store = store
        self.trackers = trackers
        self.notifiers = notifiers
        self.escalators = escalators
        self.sources = sources
        self.custom = custom
        self.clock = clock
        self.max_attempts = max_attempts
        self._on_done = on_done
        self._on_failed = on_failed

    async def run_all(self, effects: Sequence[Effect]) -> list[EffectResult]:
        """Carry out leased effects in order, and record how each went.

        The ticket creations among them count their attempt together, in one
        transaction, before the first tracker call (one by one, each creation would
        cost a transaction of its own for it).
        """
        creating = [int(e.payload["link_id"]) for e in effects if e.kind == "create"]
        counted = self._count_attempts(creating) if creating else {}
        return [await self.run(effect, counted=counted) for effect in effects]

    async def run(
        self, effect: Effect, *, counted: dict[int, TicketLink] | None = None
    ) -> EffectResult:
        """Carry out one leased effect and record how it went.

        `counted`: links whose creation attempt `run_all` already counted, as they were
        before; each is used once (taken out of the mapping).
        """
        try:
            ticket = await self._perform(effect, counted or {})
        except Exception as exc:
            return self._failed(effect, exc)
        if isinstance(ticket, _Created):
            # Outside the try: a store error here is not the tracker's failure, and must
            # not bury an effect whose ticket exists. The effect stays leased; its retry
            # finds the ticket by its marker.
            ticket = ticket.save(self.store, effect.id, now=self.clock())
        else:
            self.store.finish_effect(effect.id, now=self.clock())
        result = EffectResult(effect.id, effect.kind, "done", ticket=ticket)
        _log.info("effect.done", kind=effect.kind, effect_id=effect.id, ticket=_key(ticket))
        if self._on_done is not None:
            self._on_done(effect, result)
        return result

    def _failed(self, effect: Effect, exc: BaseException) -> EffectResult:
        error = f"{type(exc).__name__}: {exc}"
        transient = isinstance(exc, _TRANSIENT)
        final = not (transient and effect.attempts < self.max_attempts)
        if self._on_failed is not None:
            self._on_failed(effect, exc, final)
        if not final:
            # A vendor that asked for a wait (Retry-After, beyond what the HTTP layer
            # waits itself) gets it: the effect is not claimed again before then. A
            # rate limit that does not say when it ends waits a minute, then two, ...
            now = self.clock()
            wait = exc.retry_after if isinstance(exc, RateLimitError) else None
            if isinstance(exc, RateLimitError) and wait is None:
                doublings = min(max(effect.attempts - 1, 0), 6)  # an hour at most
                wait = min(_UNSAID_RATE_LIMIT_WAIT * 2**doublings, 3600.0)
            retry_at = now + timedelta(seconds=wait) if wait else None
            self.store.release_effect(effect.id, now=now, error=error, retry_at=retry_at)
            _log.warning("effect.retrying", kind=effect.kind, effect_id=effect.id, error=error)
            return EffectResult(effect.id, effect.kind, "retrying", error=error)
        status_code = exc.status_code if isinstance(exc, HTTPError) else None
        self.store.bury_effect(
            effect,
            now=self.clock(),
            error=error,
            error_type=type(exc).__name__,
            status_code=status_code,
        )
        _log.error("effect.dead", kind=effect.kind, effect_id=effect.id, error=error)
        return EffectResult(effect.id, effect.kind, "dead", error=error)

    async def _perform(
        self, effect: Effect, counted: dict[int, TicketLink]
    ) -> TicketRef | _Created | None:
        payload = effect.payload
        kind = effect.kind
        if kind == "create":
            link_id = int(payload["link_id"])
            link = counted.pop(link_id, None)
            return await self._create(link_id) if link is None else await self._created(link)
        if kind in ("comment", "comment_ticket"):
            # A recurrence comment is written when it runs, with the link's latest count.
            link = self._link(payload)
            body = _recurrence_text(link) if kind == "comment" else str(payload["body"])
            await self._tracker(link.tracker).comment(_require_key(link), body)
            return link.ref()
        if kind == "reopen":
            return await self._reopen(self._link(payload))
        if kind == "notify":
            notifier = _lookup(self.notifiers, str(payload["notifier"]), "notifier")
            await notifier.send(_message(payload))
            return None
        if kind == "escalate":
            escalator = _lookup(self.escalators, str(payload["escalator"]), "escalator")
            await escalator.escalate(
                _message(payload),
                dedup_key=str(payload["dedup_key"]),
                action=payload.get("action", "trigger"),
            )
            return None
        if kind in ("resolve_origin", "reopen_origin"):
            source = _lookup(self.sources, str(payload["source"]), "source")
            if not isinstance(source, OriginSync):
                raise ConfigurationError(
                    f"source {source.name!r} cannot resolve its issues (two-way sync): "
                    "it does not implement resolve_origin/reopen_origin"
                )
            call = source.resolve_origin if kind == "resolve_origin" else source.reopen_origin
            await call(str(payload["external_id"]), note=payload.get("note"))
            return None
        entry = self.custom.get(kind)
        if entry is None:
            raise ConfigurationError(
                f"no executor for action type {kind!r}; is the plugin that defines it installed?"
            )
        action = TypeAdapter(entry.action_type).validate_python(payload["action"])
        signal = Signal.model_validate(payload["signal"]) if payload.get("signal") else None
        await entry.executor(action, signal)
        return None

    # --- tickets ------------------------------------------------------------------------

    def _count_attempts(self, link_ids: Sequence[int]) -> dict[int, TicketLink]:
        """Count a creation attempt on each pending link of `link_ids`, in one
        transaction; the links as they were before."""
        with self.store.transaction() as tx:
            found = tx.links_by_id(link_ids)
            pending = {i: link for i, link in found.items() if link.status == "pending"}
            for link in pending.values():
                tx.update_link(link.id, attempts=link.attempts + 1)
        return pending

    async def _create(self, link_id: int) -> TicketRef | _Created | None:
        # Count the attempt before calling: after a crash, the next try reconciles.
        counted = self._count_attempts([link_id])
        if link_id in counted:
            return await self._created(counted[link_id])
        return _existing(self.store.link(link_id), link_id).ref()  # created already

    async def _created(self, link: TicketLink) -> _Created:
        """Create the ticket of a pending link whose attempt is counted (`link` as it was
        before): look for it first when an earlier attempt may have made it."""
        tracker = self._tracker(link.tracker)
        ref: TicketRef | None = None
        if link.attempts > 0:
            ref = await tracker.find(link.marker, fields=link.fields)
        if ref is None:
            draft = _draft(link, self.store)
            try:
                ref = await tracker.create(draft)
            except AmbiguousRequestError:
                ref = await tracker.find(link.marker, fields=link.fields)
                if ref is None:
                    raise
        return _Created(link.id, ref.model_copy(update={"tracker": link.tracker}))

    async def _reopen(self, link: TicketLink) -> TicketRef | None:
        tracker = self._tracker(link.tracker)
        key = _require_key(link)
        state = await tracker.state(key)
        if state.ref.status == "closed":
            await tracker.reopen(key)
        await tracker.comment(key, _regression_text(link))
        return link.ref()

    def _link(self, payload: Mapping[str, Any]) -> TicketLink:
        link_id = int(payload["link_id"])
        return _existing(self.store.link(link_id), link_id)

    def _tracker(self, name: str) -> Tracker:
        tracker: Tracker = _lookup(self.trackers, name, "tracker")
        return tracker


@dataclass(frozen=True, slots=True)
class _Created:
    """A ticket the tracker created, to be linked as its effect completes."""

    link_id: int
    ref: TicketRef

    def save(self, store: Store, effect_id: int, *, now: datetime) -> TicketRef:
        """Link the ticket and finish the effect, in one transaction."""
        with store.transaction() as tx:
            tx.update_link(
                self.link_id,
                key=self.ref.key,
                url=self.ref.url,
                status="open",
                created_at=now,
                updated_at=now,
            )
            tx.finish_effect(effect_id, now=now)
        return self.ref


def _existing(link: TicketLink | None, link_id: int) -> TicketLink:
    if link is None:
        raise ConfigurationError(f"ticket link {link_id} no longer exists")
    return link


def _lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise ConfigurationError(
            f"no {what} named {name!r} in this loop (configured: {known})"
        ) from None


def _require_key(link: TicketLink) -> str:
    if link.key is None:
        raise TransportError(
            f"ticket for {link.group_key} is not created yet", connector=link.tracker
        )
    return link.key


def _key(ref: TicketRef | None) -> str | None:
    return None if ref is None else ref.key


def _when(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _draft(link: TicketLink, store: Store) -> TicketDraft:
    fields = dict(link.fields)
    custom_body = fields.pop("body", None)
    labels = tuple(str(label) for label in fields.pop("labels", ()))
    severity = fields.pop("severity", None)
    url = fields.pop("url", None)
    service = fields.pop("service", None)
    environment = fields.pop("environment", None)
    lines = [str(custom_body), ""] if custom_body else []
    facts = [
        f"**Service:** {service or 'unknown'}",
        f"**Environment:** {environment or 'unknown'}",
        f"**Severity:** {severity or 'unknown'}",
    ]
    lines.append(" · ".join(facts))
    lines.append("")
    lines.append(f"- First seen: {_when(link.first_seen_at)}")
    lines.append(f"- Last seen: {_when(link.last_seen_at)}")
    lines.append(f"- Occurrences: {link.occurrences}")
    if link.origin_source:
        origin = f"- Source: {link.origin_source}"
        if url:
            origin += f" — [open in {link.origin_source}]({url})"
        lines.append(origin)
    if link.previous_id is not None:
        previous = store.link(link.previous_id)
        if previous is not None and previous.key:
            closed = _when(previous.closed_at)
            lines.append(f"- Previously: {previous.key} (closed {closed}), recurring since")
    lines.append("")
    lines.append(f"_Kept up to date by feedbackloop (group `{link.group_key}`)._")
    return TicketDraft(
        title=link.title,
        body="\n".join(lines),
        marker=link.marker,
        labels=labels,
        severity=Severity.coerce(severity) if severity else None,
        fields=fields,
    )


def _recurrence_text(link: TicketLink) -> str:
    return (
        f"Still happening: **{link.occurrences}** occurrences so far "
        f"(last seen {_when(link.last_seen_at)})."
    )


def _regression_text(link: TicketLink) -> str:
    return (
        f"**Regressed**: seen again at {_when(link.last_seen_at)} after the ticket was "
        f"closed. {link.occurrences} occurrences in total."
    )


def _message(payload: Mapping[str, Any]) -> Message:
    severity = payload.get("severity")
    return Message(
        title=str(payload.get("title") or ""),
        text=str(payload.get("text") or ""),
        url=payload.get("url"),
        severity=Severity.coerce(severity) if severity else None,
        fields={str(k): str(v) for k, v in (payload.get("fields") or {}).items()},
        channel=payload.get("channel"),
    )
