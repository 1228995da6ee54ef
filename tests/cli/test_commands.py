"""Every command through Typer's runner: check, replay, poll, tickets, dead-letters, serve."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from typer.testing import CliRunner

from feedbackloop.cli import app
from feedbackloop.store import Store

runner = CliRunner()

SIGNAL = {
    "source": "sentry",
    "kind": "error",
    "title": "ValueError in checkout",
    "service": "checkout",
    "severity": "high",
    "occurred_at": "2026-03-02T09:00:00Z",
}


def test_check_prints_the_rule_table_and_passes(app_file: Path) -> None:
    """A valid app: the rule table, the connectors and OK."""
    result = runner.invoke(app, ["check", "--app", f"{app_file}:loop"])
    assert result.exit_code == 0, result.output
    assert "errors" in result.output
    assert "OpenTicket('jira'" in result.output
    assert "OK: 1 rule(s)" in result.output


def check(tmp_path: Path, *lines: str) -> Any:
    """`feedbackloop check` of an app file made of `lines`."""
    path = tmp_path / "checked.py"
    path.write_text("\n".join(lines) + "\n")
    return runner.invoke(app, ["check", "--app", f"{path}:loop"])


def test_check_fails_on_a_rule_aimed_at_a_missing_tracker(tmp_path: Path) -> None:
    """A rule opening tickets in a tracker the loop lacks is an error; exit 1."""
    result = check(
        tmp_path,
        "from feedbackloop import FeedbackLoop",
        "from feedbackloop.connectors.sentry import SentrySource",
        "from feedbackloop.rules import OpenTicket, Rule, RuleSet",
        "loop = FeedbackLoop(RuleSet(Rule('r', then=OpenTicket('jira'))), store='sqlite://',",
        "    sources=[SentrySource()])",
    )
    assert result.exit_code == 1
    assert "uses tracker 'jira', which the loop does not have" in result.output
    assert "source 'sentry' has no webhook secret" in result.output


def test_replay_dry_run_explains_and_performs_nothing(app_file: Path, tmp_path: Path) -> None:
    """--dry-run prints each explanation, makes no HTTP call and stores nothing."""
    saved = tmp_path / "signals.jsonl"
    saved.write_text(json.dumps(SIGNAL) + "\n" + json.dumps({**SIGNAL, "title": "other"}) + "\n")
    with respx.mock(assert_all_called=False) as mock:
        result = runner.invoke(
            app, ["replay", str(saved), "--app", f"{app_file}:loop", "--dry-run"]
        )
    assert result.exit_code == 0, result.output
    assert mock.calls.call_count == 0
    assert "errors" in result.output
    assert "2 event(s) explained" in result.output
    store = Store(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        assert store.links() == []
        assert store.signal_rows() == []
    finally:
        store.close()


def test_replay_feeds_signals_into_tickets(app_file: Path, tmp_path: Path) -> None:
    """Without --dry-run the signals are ingested and tickets created."""
    saved = tmp_path / "signals.json"
    saved.write_text(json.dumps([SIGNAL]))
    result = runner.invoke(app, ["replay", str(saved), "--app", f"{app_file}:loop"])
    assert result.exit_code == 0, result.output
    assert "OPS-1" in result.output


def test_replay_reads_a_vendor_payload_with_source_and_header(app_file: Path) -> None:
    """A raw Sentry body with --source and its resource header is parsed and explained."""
    example = Path(__file__).resolve().parents[3] / "shared/vendor/sentry/webhook-examples"
    result = runner.invoke(
        app,
        [
            "replay",
            str(example / "issues.created.json"),
            "--app",
            f"{app_file}:loop",
            "--source",
            "sentry",
            "-H",
            "Sentry-Hook-Resource: issue",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ReferenceError: blooopy is not defined" in result.output


def test_replay_names_a_document_that_is_not_a_signal(app_file: Path, tmp_path: Path) -> None:
    """A document that is neither a Signal nor a delivery: an error naming the file."""
    saved = tmp_path / "odd.json"
    saved.write_text('{"hello": 1}')
    result = runner.invoke(app, ["replay", str(saved), "--app", f"{app_file}:loop", "--dry-run"])
    assert result.exit_code == 1
    assert "odd.json: not a Signal" in result.output


def test_poll_ingests_what_the_source_reports(app_file: Path) -> None:
    """`poll sentry --since 24h` lists Sentry's issues and routes them."""
    issue = {
        "id": "77",
        "title": "KeyError: 'cart'",
        "level": "error",
        "status": "unresolved",
        "firstSeen": "2026-03-02T08:00:00Z",
        "lastSeen": "2026-03-02T09:00:00Z",
        "project": {"slug": "checkout"},
    }
    with respx.mock:
        respx.get("https://sentry.io/api/0/organizations/acme/issues/").mock(
            return_value=httpx.Response(200, json=[issue])
        )
        result = runner.invoke(app, ["poll", "sentry", "--app", f"{app_file}:loop"])
    assert result.exit_code == 0, result.output
    assert "KeyError: 'cart'" in result.output
    assert "OPS-1" in result.output


def test_poll_refuses_a_since_it_cannot_read(app_file: Path) -> None:
    """A malformed --since is a usage error that says what is expected."""
    result = runner.invoke(app, ["poll", "sentry", "--app", f"{app_file}:loop", "--since", "soon"])
    assert result.exit_code == 2
    assert "24h" in result.output


def test_tickets_lists_the_store_tickets(app_file: Path, tmp_path: Path) -> None:
    """After a replay, `tickets --store` lists the ticket; --json gives JSON lines."""
    saved = tmp_path / "signals.json"
    saved.write_text(json.dumps(SIGNAL))
    runner.invoke(app, ["replay", str(saved), "--app", f"{app_file}:loop"])
    url = f"sqlite:///{tmp_path / 'app.db'}"
    table = runner.invoke(app, ["tickets", "--store", url])
    lines = runner.invoke(app, ["tickets", "--store", url, "--json", "--status", "open"])
    assert "OPS-1" in table.output
    assert "1 ticket(s)" in table.output
    assert json.loads(lines.output)["key"] == "OPS-1"


def failing_app(tmp_path: Path) -> Path:
    path = tmp_path / "failing.py"
    path.write_text(
        "import os\n"
        "from feedbackloop import FeedbackLoop\n"
        "from feedbackloop.connectors.local import LocalTracker\n"
        "from feedbackloop.errors import BadRequestError\n"
        "from feedbackloop.rules import F, OpenTicket, Rule, RuleSet\n"
        "class Refusing(LocalTracker):\n"
        "    async def create(self, draft):\n"
        "        if os.environ.get('REFUSE') == '1':\n"
        "            raise BadRequestError('project OPS does not exist', status_code=400)\n"
        "        return await super().create(draft)\n"
        "loop = FeedbackLoop(RuleSet(Rule('r', then=OpenTicket('jira'))),\n"
        f"    trackers={{'jira': Refusing(name='jira')}}, store='sqlite:///{tmp_path / 'f.db'}')\n"
    )
    return path


def test_dead_letters_are_listed_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused create is a dead letter; `list` shows the error, `retry` creates the ticket."""
    path = failing_app(tmp_path)
    saved = tmp_path / "signals.json"
    saved.write_text(json.dumps(SIGNAL))
    monkeypatch.setenv("REFUSE", "1")
    runner.invoke(app, ["replay", str(saved), "--app", f"{path}:loop"])
    listed = runner.invoke(app, ["dead-letters", "list", "--app", f"{path}:loop"])
    monkeypatch.setenv("REFUSE", "0")
    retried = runner.invoke(app, ["dead-letters", "retry", "--app", f"{path}:loop"])
    assert "project OPS does not exist" in listed.output
    assert "1 dead letter(s)" in listed.output
    assert retried.exit_code == 0, retried.output
    assert "create" in retried.output
    assert "0 dead letter(s) left" in retried.output


def test_serve_runs_uvicorn_with_the_app(app_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` builds the webhook app around the loop and hands it to uvicorn."""
    seen: dict[str, Any] = {}

    def fake_run(asgi: Any, **options: Any) -> None:
        seen.update(options, app=asgi)

    monkeypatch.setattr("uvicorn.run", fake_run)
    try:
        result = runner.invoke(
            app, ["serve", "--app", f"{app_file}:loop", "--port", "9001", "--host", "0.0.0.0"]
        )
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 9001)
    assert [route.path for route in seen["app"].routes] == [
        "/webhooks/{source}",
        "/healthz",
        "/metrics",
    ]


def test_serve_freezes_the_startup_heap_before_uvicorn_runs(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop and app built at start-up are out of the garbage collector's walks."""
    frozen: list[int] = []
    monkeypatch.setattr("uvicorn.run", lambda *_, **__: frozen.append(gc.get_freeze_count()))
    assert gc.get_freeze_count() == 0
    try:
        result = runner.invoke(app, ["serve", "--app", f"{app_file}:loop"])
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert frozen[0] > 0


def test_serve_with_workers_uses_the_factory(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--workers 2 hands uvicorn an import string that rebuilds the app in each worker."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **options: seen.update(options, t=target))
    monkeypatch.delenv("FEEDBACKLOOP_SERVE_APP", raising=False)
    result = runner.invoke(app, ["serve", "--app", f"{app_file}:loop", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["t"] == "feedbackloop.cli._serve:app_factory"
    assert seen["factory"] is True
    monkeypatch.delenv("FEEDBACKLOOP_SERVE_APP")


def test_each_worker_process_builds_its_app_and_freezes_its_startup_heap(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What --workers runs in each process: the app from the environment, heap frozen."""
    from feedbackloop.cli._serve import app_factory

    monkeypatch.setenv("FEEDBACKLOOP_SERVE_APP", f"{app_file}:loop")
    assert gc.get_freeze_count() == 0
    try:
        asgi = app_factory()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    async def start_and_stop() -> None:
        async with asgi.router.lifespan_context(asgi):  # closes the loop the factory built
            pass

    anyio.run(start_and_stop)
    assert asgi.routes[0].path == "/webhooks/{source}"
    assert frozen > 0


def test_every_command_has_help_for_newcomers() -> None:
    """Each command's --help says what it does."""
    for command in (
        ["demo"],
        ["serve"],
        ["replay"],
        ["check"],
        ["poll"],
        ["tickets"],
        ["dead-letters", "list"],
        ["dead-letters", "retry"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert len(result.output) > 200


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"id": ' + b"9" * 5000 + b"}", "not JSON: Exceeds the limit"),
        (b'{"source": "sentry", "headers": ["a"], "body": {}}', "headers must be an object"),
    ],
)
def test_replay_names_what_is_wrong_with_a_file(
    app_file: Path, tmp_path: Path, content: bytes, problem: str
) -> None:
    """An unreadable saved file: one line naming it and the problem, exit 1."""
    saved = tmp_path / "saved.json"
    saved.write_bytes(content)
    result = runner.invoke(app, ["replay", "--app", f"{app_file}:loop", str(saved)])
    assert result.exit_code == 1
    assert "saved.json" in result.output
    assert problem in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("option", "value"), [("--port", "70000"), ("--log-level", "loud")])
def test_serve_refuses_an_impossible_option_before_starting(
    app_file: Path, option: str, value: str
) -> None:
    result = runner.invoke(app, ["serve", "--app", f"{app_file}:loop", option, value])
    assert result.exit_code == 2
    assert option in result.output


@pytest.mark.parametrize("command", [["tickets"], ["dead-letters", "list"], ["report"]])
def test_reading_a_store_that_does_not_exist_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    """A mistyped --store path is not turned into an empty store that shows nothing."""
    typo = tmp_path / "feedbak.db"
    result = runner.invoke(app, [*command, "--store", f"sqlite:///{typo}"])
    assert result.exit_code == 1
    assert f"no store at {typo}" in result.output
    assert not typo.exists()


def test_check_fails_on_an_api_url_without_a_scheme(tmp_path: Path) -> None:
    """`api_url="api.github.com"` is named before anything is sent to it."""
    result = check(
        tmp_path,
        "from feedbackloop import FeedbackLoop",
        "from feedbackloop.connectors.github import GitHubTracker",
        "from feedbackloop.rules import RuleSet",
        "loop = FeedbackLoop(RuleSet(), store='sqlite://', sources=[],",
        "    trackers={'github': GitHubTracker(token='t', api_url='api.github.com')})",
    )
    assert result.exit_code == 1
    assert "the API URL must be an http(s) URL" in result.output
    assert "'api.github.com'" in result.output
