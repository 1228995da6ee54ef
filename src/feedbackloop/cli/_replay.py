"""`feedbackloop replay`: feed saved payloads through the rules (or only explain them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from feedbackloop._models import Signal
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import (
    AppOption,
    DebugOption,
    Loop,
    call,
    core_of,
    fail,
    loop_from,
    read_text,
)
from feedbackloop.connectors import Event
from feedbackloop.errors import FeedbackLoopError, ValidationError
from feedbackloop.rules import InMemoryWindowCounts


@dataclass(frozen=True)
class _Saved:
    where: str
    document: Any


def _documents(path: Path) -> Iterator[_Saved]:
    text = read_text(path)
    try:
        whole = json.loads(text)
    except ValueError:  # not JSON as a whole (or a number too long to read)
        whole = None
    else:
        for index, item in enumerate(whole if isinstance(whole, list) else [whole]):
            yield _Saved(f"{path}[{index}]" if isinstance(whole, list) else str(path), item)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ValidationError(f"{path}:{number}: not JSON: {reason}") from None
        yield _Saved(f"{path}:{number}", document)


def _events(loop: Loop, saved: _Saved, source: str | None, headers: dict[str, str]) -> list[Event]:
    """A saved document as events: a delivery envelope, a vendor body, or a Signal."""
    document = saved.document
    if (
        isinstance(document, dict)
        and {"source", "body"} <= document.keys()
        and ("headers" in document)
    ):
        name, body, saved_headers = str(document["source"]), document["body"], document["headers"]
        if not isinstance(saved_headers, dict):
            raise ValidationError(f"{saved.where}: headers must be an object of names and values")
        headers = {**{str(k): str(v) for k, v in saved_headers.items()}, **headers}
    elif source is not None:
        name, body = source, document
    else:
        try:
            return [Signal.model_validate(document)]
        except ValidationError as exc:
            raise ValidationError(
                f"{saved.where}: not a Signal ({exc}); for a vendor payload pass --source"
            ) from None
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    try:
        return core_of(loop).source(name).parse(headers, raw)
    except FeedbackLoopError as exc:
        raise FeedbackLoopError(f"{saved.where}: {exc}") from None


def _header_pairs(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise fail(f"--header {value!r} is not of the form 'Name: value'", code=2)
        headers[name.strip()] = content.strip()
    return headers


@app.command()
def replay(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, help="JSON files (one document or a list) or JSON lines."
        ),
    ],
    app_spec: AppOption,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Only print each decision and why; change nothing, call nothing."
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(
            help="The source the payloads come from (sentry, datadog...), for raw bodies."
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", "-H", help="A header the source needs, e.g. 'Sentry-Hook-Resource: issue'."
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Feed saved payloads through your rules, in order, as if they arrived now.

    Each document is a Signal (as `feedbackloop schema Signal` describes), a vendor
    payload (with --source), or a saved delivery {"source": ..., "headers": {...},
    "body": ...}. Signatures are not checked: these are your own files.
    """
    console = Console(highlight=False, width=120)
    extra = _header_pairs(header or [])
    counts = InMemoryWindowCounts()
    with loop_from(app_spec, debug=debug) as loop:
        rules = core_of(loop).rules
        total = 0
        for path in files:
            for saved in _documents(path):
                for event in _events(loop, saved, source, extra):
                    total += 1
                    if not isinstance(event, Signal):
                        label = type(event).__name__
                        note = "recorded, not routed" if not dry_run else "would be recorded"
                        console.print(f"[bold]{saved.where}[/bold]: {label} — {note}")
                        if not dry_run:
                            call(loop, "ingest", event)
                        continue
                    if dry_run:
                        decision = rules.evaluate(event, counts=counts)
                        console.print(f"[bold]{saved.where}[/bold]: {event.title}")
                        console.print(decision.explain(), markup=False)
                        continue
                    outcome = call(loop, "ingest", event)
                    tickets = ", ".join(ref.key for ref in outcome.tickets) or "no ticket"
                    verdict = (
                        "duplicate"
                        if outcome.duplicate
                        else ", ".join(outcome.decision.rules if outcome.decision else ())
                        or "no rule matched"
                    )
                    console.print(
                        f"[bold]{saved.where}[/bold]: {event.title} → {verdict} ({tickets})"
                    )
        console.print(
            f"{total} event(s) {'explained, nothing performed' if dry_run else 'replayed'}."
        )
