"""The webhook app through httpx's ASGI transport: answers, inbox, worker, metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from feedbackloop import AsyncFeedbackLoop, FeedbackLoop
from feedbackloop.demo import build_demo_loop
from feedbackloop.demo._vendor import Delivery
from feedbackloop.errors import ConfigurationError
from feedbackloop.server import create_app
from tests.server.conftest import sentry_issue


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    anyio.run(test)


def clock() -> datetime:
    return datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def loop(tmp_path: Path) -> AsyncFeedbackLoop:
    return build_demo_loop(f"sqlite:///{tmp_path / 'app.db'}", clock)


@asynccontextmanager
async def client(app: Starlette, *, lifespan: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        if lifespan:
            async with app.router.lifespan_context(app):
                yield http
        else:
            yield http


async def post(http: httpx.AsyncClient, delivery: Delivery, **changes: Any) -> httpx.Response:
    headers = {**delivery.headers, **changes.pop("headers", {})}
    body = changes.pop("body", delivery.body)
    return await http.post(f"/webhooks/{delivery.source}", content=body, headers=headers)


def test_a_signed_delivery_is_accepted_with_202_and_waits_in_the_inbox(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """A valid delivery answers 202 with a small JSON body and is persisted, not processed."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            answer = await post(http, delivery)
        assert answer.status_code == 202
        assert answer.json() == {
            "accepted": True,
            "duplicate": False,
            "delivery_id": delivery.headers["Request-ID"],
            "events": 1,
        }
        assert [d.status for d in loop.store.deliveries()] == ["pending"]

    run(test)


def test_a_redelivery_answers_202_duplicate_and_changes_nothing(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """The same delivery id again: 202 with duplicate true, one inbox row, one ticket."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            await post(http, delivery)
            await loop.process_pending()
            before = (loop.store.deliveries(), loop.tickets(), loop.store.effects())
            again = await post(http, delivery)
            await loop.process_pending()
        assert again.status_code == 202
        assert again.json()["duplicate"] is True
        assert (loop.store.deliveries(), loop.tickets(), loop.store.effects()) == before

    run(test)


def test_a_wrong_signature_is_refused_with_401(loop: AsyncFeedbackLoop, delivery: Delivery) -> None:
    """A signature that does not match the body: 401 naming the header, nothing stored."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            answer = await post(http, delivery, body=delivery.body.replace(b"error", b"fatal"))
        assert answer.status_code == 401
        assert answer.json()["error"] == "bad_signature"
        assert "Sentry-Hook-Signature" in answer.json()["detail"]
        assert loop.store.deliveries() == []

    run(test)


def test_a_missing_signature_is_refused_with_401(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """No signature header at all: 401."""

    async def test() -> None:
        headers = {k: v for k, v in delivery.headers.items() if k != "Sentry-Hook-Signature"}
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.post("/webhooks/sentry", content=delivery.body, headers=headers)
        assert answer.status_code == 401

    run(test)


def test_an_unknown_source_is_answered_404(loop: AsyncFeedbackLoop, delivery: Delivery) -> None:
    """POST /webhooks/zendesk when no such source is configured: 404 listing the known ones."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.post("/webhooks/zendesk", content=delivery.body)
        assert answer.status_code == 404
        assert answer.json()["error"] == "unknown_source"
        assert "sentry" in answer.json()["detail"]

    run(test)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not JSON"),
        (b'{"action": "created", "data": {"issue": {"id": ' + b"9" * 5000 + b"}}}", "unreadable"),
    ],
)
def test_a_signed_body_that_cannot_be_read_is_answered_400_naming_the_problem(
    loop: AsyncFeedbackLoop, body: bytes, problem: str
) -> None:
    """A correctly signed body that is not JSON, or holds a number Python will not
    convert: 400 saying so."""

    async def test() -> None:
        from feedbackloop.connectors._webhooks import hmac_sha256_hex
        from feedbackloop.demo import SECRETS

        headers = {
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Signature": hmac_sha256_hex(SECRETS["sentry"], body),
        }
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.post("/webhooks/sentry", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"] == "malformed_payload"
        assert problem in answer.json()["detail"]

    run(test)


def test_a_signed_payload_missing_a_field_is_answered_400_naming_the_field(
    loop: AsyncFeedbackLoop,
) -> None:
    """A signed issue webhook without `data.issue.firstSeen`: 400 with the field path."""

    async def test() -> None:
        from feedbackloop.connectors._webhooks import hmac_sha256_hex
        from feedbackloop.demo import SECRETS

        body = json.dumps({"action": "created", "data": {"issue": {"id": "1"}}}).encode()
        headers = {
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Signature": hmac_sha256_hex(SECRETS["sentry"], body),
        }
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.post("/webhooks/sentry", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["field"] == "data.issue.firstSeen"

    run(test)


def test_a_body_over_the_limit_is_refused_with_413(loop: AsyncFeedbackLoop) -> None:
    """A body larger than max_body_size: 413, before any verification."""

    async def test() -> None:
        async with client(create_app(loop, worker=False, max_body_size=100)) as http:
            answer = await http.post("/webhooks/sentry", content=b"x" * 101)
        assert answer.status_code == 413
        assert answer.json()["error"] == "too_large"

    run(test)


def test_the_limit_holds_for_a_streamed_body_without_content_length(
    loop: AsyncFeedbackLoop,
) -> None:
    """A chunked body that claims no length is cut off once it passes the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 50

    async def test() -> None:
        async with client(create_app(loop, worker=False, max_body_size=100)) as http:
            answer = await http.post("/webhooks/sentry", content=chunks())
        assert answer.status_code == 413

    run(test)


def test_the_worker_processes_deliveries_into_tickets(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """With the lifespan running, an accepted delivery becomes a ticket shortly after."""

    async def test() -> None:
        from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

        loop.rules = RuleSet(Rule("all", when=F.kind == "error", then=OpenTicket("jira")))
        app = create_app(loop, tick=0.05)
        async with client(app, lifespan=True) as http:
            await post(http, delivery)
            with anyio.fail_after(5):
                while not loop.tickets(status="open"):
                    await anyio.sleep(0.01)
        assert [link.key for link in loop.tickets()] == ["OPS-1"]

    run(test)


def test_the_worker_drains_deliveries_persisted_before_the_app_started(
    loop: AsyncFeedbackLoop,
) -> None:
    """Deliveries already in the inbox (a crash before processing) are processed on start."""

    async def test() -> None:
        for number in (1, 2, 3):
            d = sentry_issue(number)
            loop.accept_webhook(d.source, d.headers, d.body)
        app = create_app(loop, tick=10)
        async with client(app, lifespan=True):
            with anyio.fail_after(5):
                while loop.store.inbox_backlog()[0]:
                    await anyio.sleep(0.01)
        assert {d.status for d in loop.store.deliveries()} == {"done"}

    run(test)


def test_healthz_says_ok_while_the_store_answers(loop: AsyncFeedbackLoop) -> None:
    """GET /healthz: 200 when the store is reachable."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.get("/healthz")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "store": "reachable"}

    run(test)


def test_a_delivery_the_store_cannot_save_is_answered_503(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """A broken inbox is the server's trouble, not the vendor's: 503, so it retries."""

    async def test() -> None:
        with loop.store.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE deliveries")
        async with client(create_app(loop, worker=False)) as http:
            answer = await post(http, delivery)
        assert answer.status_code == 503
        assert answer.json()["error"] == "unavailable"

    run(test)


def test_healthz_says_503_when_the_store_is_unreachable(tmp_path: Path) -> None:
    """GET /healthz: 503 when the database cannot be reached."""

    async def test() -> None:
        loop = build_demo_loop(f"sqlite:///{tmp_path / 'gone.db'}", clock)
        loop.store.ping = lambda: False  # type: ignore[method-assign]
        async with client(create_app(loop, worker=False)) as http:
            answer = await http.get("/healthz")
        assert answer.status_code == 503

    run(test)


def test_metrics_count_deliveries_by_source_and_outcome(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """GET /metrics: Prometheus text with accepted, duplicate and refused deliveries."""

    async def test() -> None:
        async with client(create_app(loop, worker=False)) as http:
            await post(http, delivery)
            await post(http, delivery)
            await post(http, delivery, body=b"{}")
            text = (await http.get("/metrics")).text
        assert 'feedbackloop_deliveries_total{outcome="accepted",source="sentry"} 1.0' in text
        assert 'feedbackloop_deliveries_total{outcome="duplicate",source="sentry"} 1.0' in text
        assert 'feedbackloop_deliveries_total{outcome="bad_signature",source="sentry"} 1.0' in text
        assert "feedbackloop_inbox_backlog 1.0" in text

    run(test)


def test_metrics_report_actions_dead_letters_and_lag_from_the_store(
    loop: AsyncFeedbackLoop, delivery: Delivery
) -> None:
    """After processing: actions by kind and outcome, zero dead letters, zero lag."""

    async def test() -> None:
        from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

        loop.rules = RuleSet(Rule("all", when=F.kind == "error", then=OpenTicket("jira")))
        async with client(create_app(loop, worker=False)) as http:
            await post(http, delivery)
            loop.clock = lambda: clock() + timedelta(minutes=1)
            waiting = (await http.get("/metrics")).text
            await loop.process_pending()
            text = (await http.get("/metrics")).text
        assert "feedbackloop_processing_lag_seconds 60.0" in waiting
        assert 'feedbackloop_actions{kind="create",outcome="done"} 1.0' in text
        assert "feedbackloop_dead_letters 0.0" in text
        assert "feedbackloop_processing_lag_seconds 0.0" in text

    run(test)


def test_two_apps_keep_separate_metrics(loop: AsyncFeedbackLoop, delivery: Delivery) -> None:
    """Each app has its own registry: building two never clashes, counts stay apart."""

    async def test() -> None:
        first, second = create_app(loop, worker=False), create_app(loop, worker=False)
        async with client(first) as http:
            await post(http, delivery)
        async with client(second) as http:
            text = (await http.get("/metrics")).text
        assert 'outcome="accepted"' not in text

    run(test)


def test_a_sync_feedback_loop_is_served_through_its_core(tmp_path: Path) -> None:
    """create_app takes a FeedbackLoop too, and uses its async core."""
    from feedbackloop.rules import RuleSet

    with FeedbackLoop(RuleSet(), store=f"sqlite:///{tmp_path / 's.db'}") as loop:
        app = create_app(loop)
        assert app.state.feedbackloop is loop.core


def test_create_app_refuses_something_that_is_not_a_loop() -> None:
    """Passing anything else is a ConfigurationError naming the type."""
    with pytest.raises(ConfigurationError, match="not dict"):
        create_app({})  # type: ignore[arg-type]


def test_an_unexpected_error_is_a_500_without_details(
    loop: AsyncFeedbackLoop, delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A genuine bug in the app answers 500 with no internals in the body."""

    def broken(*args: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(loop, "check_webhook", broken)

    async def test() -> None:
        transport = httpx.ASGITransport(
            app=create_app(loop, worker=False), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await post(http, delivery)
        assert answer.status_code == 500
        assert "secret internals" not in answer.text

    run(test)


def test_concurrent_deliveries_share_commits_and_each_gets_its_own_answer(
    loop: AsyncFeedbackLoop,
) -> None:
    """Many requests at once (some redelivered) are persisted together, answered one by one."""
    deliveries = [sentry_issue(n) for n in range(20)]

    async def test() -> None:
        answers: list[httpx.Response] = []
        async with client(create_app(loop, worker=False)) as http:

            async def send(d: Delivery) -> None:
                answers.append(await post(http, d))

            async with anyio.create_task_group() as group:
                for d in deliveries + deliveries[:5]:
                    group.start_soon(send, d)
        assert {a.status_code for a in answers} == {202}
        assert sum(a.json()["duplicate"] for a in answers) == 5
        assert len(loop.store.deliveries()) == 20

    run(test)
