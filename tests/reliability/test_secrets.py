"""Secrets: the demo run with recognisable fake secrets leaks none of them anywhere.

Every webhook secret and every connector credential is a canary
(`SECRET-canary-7f3a-...`): in the environment (`FEEDBACKLOOP_*`), in code, and as the
secrets the demo's vendors sign with. Then nothing may contain one: the logs (all of
them, at DEBUG), exception messages, reprs, settings, `/metrics`, any row of any table
in the store, or the HTML report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select

from feedbackloop import AsyncFeedbackLoop
from feedbackloop.connectors.github import GitHubTracker
from feedbackloop.connectors.jira import JiraTracker
from feedbackloop.connectors.pagerduty import PagerDutyEscalator
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.connectors.slack import SlackNotifier
from feedbackloop.demo import SECRETS, START, build_demo_loop, run_demo
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.server import create_app
from feedbackloop.store import _schema as s
from tests.reliability.canary import CANARY, canary, captured_logs, forms, leaks

ENVIRONMENT = {
    "FEEDBACKLOOP_SENTRY_CLIENT_SECRET": canary("sentry-client-secret"),
    "FEEDBACKLOOP_SENTRY_TOKEN": canary("sentry-token"),
    "FEEDBACKLOOP_DATADOG_WEBHOOK_TOKEN": canary("datadog-webhook-token"),
    "FEEDBACKLOOP_PAGERDUTY_WEBHOOK_SECRETS": f"{canary('pd-old')},{canary('pd-new')}",
    "FEEDBACKLOOP_PAGERDUTY_ROUTING_KEY": canary("pd-routing-key"),
    "FEEDBACKLOOP_JIRA_URL": "https://acme.atlassian.net",
    "FEEDBACKLOOP_JIRA_EMAIL": "ops@example.com",
    "FEEDBACKLOOP_JIRA_API_TOKEN": canary("jira-api-token"),
    "FEEDBACKLOOP_JIRA_WEBHOOK_SECRET": canary("jira-webhook-secret"),
    "FEEDBACKLOOP_GITHUB_TOKEN": canary("github-token"),
    "FEEDBACKLOOP_GITHUB_WEBHOOK_SECRET": canary("github-webhook-secret"),
    "FEEDBACKLOOP_SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/{canary('slack')}",
}


def table_texts(loop: AsyncFeedbackLoop) -> list[str]:
    """Every row of every table, as text (bytes decoded)."""
    texts = []
    with loop.store.transaction() as tx:
        for table in s.metadata.sorted_tables:
            for row in tx.connection.execute(select(table)):
                values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in row]
                texts.append(f"{table.name}: {values!r}")
    return texts


def refused(call: Any) -> str:
    """The message of the error `call` raises (a wrong-credentials answer, say)."""
    try:
        anyio.run(call)
    except FeedbackLoopError as exc:
        return f"{exc!s} {exc!r} {exc.__cause__!r}"
    raise AssertionError("expected an error")


@pytest.mark.slow
def test_the_demo_and_the_connectors_leak_no_secret_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, Any]
) -> None:
    """No canary in logs, errors, reprs, settings, /metrics, the store or the HTML report."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for source in SECRETS:
        monkeypatch.setitem(SECRETS, source, canary(f"demo-{source}"))
    db = tmp_path / "demo.db"
    texts: list[str] = []
    with captured_logs() as logs:
        summary = anyio.run(lambda: run_demo(seed=7, db=db))
        assert summary.created > 0

        loop = build_demo_loop(f"sqlite:///{db}", lambda: START)
        app = create_app(loop, worker=False)

        async def scrape() -> str:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                forged = {"Sentry-Hook-Signature": canary("sentry-client-secret")}
                await http.post("/webhooks/sentry", content=b"{}", headers=forged)
                await http.post(
                    "/webhooks/datadog", content=b"{}", headers={"X-Feedbackloop-Token": "no"}
                )
                return (await http.get("/metrics")).text

        texts.append(anyio.run(scrape))
        texts += table_texts(loop)
        texts.append(loop.insights(since=START, until=START.replace(day=START.day + 7)).to_html())
        connectors: list[Any] = [
            JiraTracker.from_env(),
            GitHubTracker.from_env(),
            SlackNotifier.from_env(),
            PagerDutyEscalator.from_env(),
            SentrySource.from_env(),
            *loop.sources.values(),
        ]
        texts += [repr(loop), *map(repr, connectors), *map(str, connectors)]
        texts += [repr(type(c).settings.load()) for c in connectors if hasattr(type(c), "settings")]
        texts += [
            repr(type(c).settings.load().model_dump())
            for c in connectors
            if hasattr(type(c), "settings")
        ]

        def unauthorized(request: httpx.Request) -> httpx.Response:
            # A vendor that echoes the credentials it refused.
            echoed = request.headers.get("authorization", "")
            return httpx.Response(401, json={"message": f"bad credentials {echoed}"})

        mock = httpx.MockTransport(unauthorized)
        jira = JiraTracker.from_env(transport=mock, project="OPS")
        github = GitHubTracker.from_env(transport=mock, repo="acme/api")
        texts.append(refused(lambda: jira.comment("OPS-1", "hello")))
        texts.append(refused(lambda: github.comment("acme/api#1", "hello")))
        anyio.run(loop.aclose)
    texts += logs
    secrets = [
        CANARY,
        *forms(canary("jira-api-token"), user="ops@example.com"),
    ]
    found = leaks(texts, secrets)
    assert found == []
    figures.update(texts_checked=len(texts), log_records=len(logs), leaks=0)
