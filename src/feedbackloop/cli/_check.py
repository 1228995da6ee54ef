"""`feedbackloop check`: load the app, validate rules and connectors, print the rule table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from feedbackloop._loop import AsyncFeedbackLoop
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import AppOption, DebugOption, core_of, loop_from
from feedbackloop.connectors._http import is_http_url
from feedbackloop.connectors._webhooks import WebhookSource
from feedbackloop.rules import Escalate, Notify, OpenTicket, Rule


def _then(rule: Rule) -> str:
    function = getattr(rule, "_function", None)
    if function is not None:
        return f"{function.__name__}(signal, ctx) (a function rule)"
    return "\n".join(action.describe() for action in rule.actions)


def _target_problems(loop: AsyncFeedbackLoop) -> Iterator[str]:
    """Actions aimed at trackers, notifiers or escalators the loop does not have."""
    for rule in loop.rules:
        for action in rule.actions:
            kind, name = "", ""
            known: Mapping[str, object] = {}
            if isinstance(action, OpenTicket):
                kind, name, known = "tracker", action.tracker, loop.trackers
            elif isinstance(action, Notify):
                kind, name, known = "notifier", action.notifier, loop.notifiers
            elif isinstance(action, Escalate):
                kind, name, known = "escalator", action.escalator, loop.escalators
            if kind and name not in known:
                configured = ", ".join(sorted(known)) or "none"
                yield (
                    f"rule {rule.name!r} uses {kind} {name!r}, which the loop does not have "
                    f"(configured: {configured})"
                )


def _url_problems(owner: str, connector: Any) -> Iterator[str]:
    """Attributes that hold a URL and are not a well-formed http(s) URL."""
    for attribute, value in vars(connector).items():
        if not attribute.lstrip("_").endswith("url") or value is None:
            continue
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str | httpx.URL):
            continue
        if not is_http_url(str(text)):
            shown = "(secret)" if isinstance(value, SecretStr) else repr(str(text))
            yield f"{owner}: {attribute.lstrip('_')} is not a well-formed http(s) URL: {shown}"


def _source_problems(loop: AsyncFeedbackLoop) -> Iterator[tuple[str, str]]:
    """(severity, message) for sources that refuse everything or accept anything."""
    for name, source in sorted(loop.sources.items()):
        if isinstance(source, WebhookSource):
            if not getattr(source, "_verify", True):
                yield "warning", f"source {name!r} accepts unsigned deliveries (verify=False)"
            elif not source._configured():
                yield (
                    "error",
                    f"source {name!r} has no webhook secret, so it refuses every delivery: "
                    f"{source.configure_hint}",
                )


@app.command()
def check(app_spec: AppOption, debug: DebugOption = False) -> None:
    """Check your app before deploying it: load it, validate rules and connectors.

    Reports rules that send work to trackers, notifiers or escalators the loop does not
    have, sources without a webhook secret, and malformed URLs; prints the rule table.
    Exits 1 when something must be fixed.
    """
    console = Console(highlight=False, width=140)
    with loop_from(app_spec, debug=debug) as loop:
        core = core_of(loop)
        table = Table(title=f"Rules of {app_spec}", title_justify="left")
        for column in ("#", "Rule", "When", "Group by", "Threshold", "Then"):
            table.add_column(column)
        for number, rule in enumerate(core.rules, start=1):
            threshold = rule.threshold
            table.add_row(
                str(number),
                rule.name + (" (continue)" if rule.continue_ else ""),
                repr(rule.when),
                ", ".join(rule.group_by),
                f"{threshold.count} within {threshold.within}" if threshold else "-",
                _then(rule),
            )
        console.print(table)
        connectors = Table(title="Connectors", title_justify="left")
        for column in ("Kind", "Name", "Connector"):
            connectors.add_column(column)
        errors = list(_target_problems(core))
        warnings: list[str] = []
        for kind, group in (
            ("source", core.sources),
            ("tracker", core.trackers),
            ("notifier", core.notifiers),
            ("escalator", core.escalators),
        ):
            for name, connector in sorted(group.items()):
                connectors.add_row(kind, name, repr(connector))
                errors.extend(_url_problems(f"{kind} {name!r}", connector))
        for severity, message in _source_problems(core):
            (errors if severity == "error" else warnings).append(message)
        console.print(connectors)
        for message in warnings:
            console.print(f"[yellow]warning[/yellow]: {message}")
        for message in errors:
            console.print(f"[red]error[/red]: {message}")
        if errors:
            console.print(f"{len(errors)} problem(s) to fix.")
            raise typer.Exit(1)
        console.print(f"[green]OK[/green]: {len(core.rules)} rule(s), connectors configured.")
