"""The ticket lifecycle end to end against a (respx) GitHub that keeps its issues.

Closures arrive the way they do in production: as signed `issues` webhooks, built from
GitHub's own example payload, through the GitHub source.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.connectors.github import GitHubSource, GitHubTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

API = "https://api.github.com"
REPO = "acme/api"
SECRET = "github-webhook-secret-for-tests"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
EXAMPLE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "vendor"
    / "github"
    / "webhook-examples"
    / "issues"
    / "reopened.payload.json"
)


class FakeGitHub:
    """Just enough of GitHub's issues API, keeping state between calls."""

    def __init__(self) -> None:
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}

    def route(self, router: respx.MockRouter) -> None:
        base = f"/repos/{REPO}/issues"
        router.post(base).mock(side_effect=self.create)
        router.get(base).mock(side_effect=self.list)
        router.post(url__regex=rf"{base}/(?P<number>\d+)/comments$").mock(side_effect=self.comment)
        router.patch(url__regex=rf"{base}/(?P<number>\d+)$").mock(side_effect=self.update)
        router.get(url__regex=rf"{base}/(?P<number>\d+)$").mock(side_effect=self.get)

    def _issue(self, number: int) -> dict[str, Any]:
        return self.issues[number]

    def create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        number = len(self.issues) + 1
        self.issues[number] = {
            "number": number,
            "html_url": f"https://github.com/{REPO}/issues/{number}",
            "title": body["title"],
            "body": body["body"],
            "labels": [{"name": name} for name in body.get("labels", [])],
            "state": "open",
            "state_reason": None,
        }
        self.comments[number] = []
        return httpx.Response(201, json=self.issues[number])

    def list(self, request: httpx.Request) -> httpx.Response:
        wanted = request.url.params["labels"]
        found = [
            issue
            for issue in reversed(self.issues.values())
            if any(label["name"] == wanted for label in issue["labels"])
        ]
        return httpx.Response(200, json=found)

    def comment(self, request: httpx.Request, number: str) -> httpx.Response:
        self.comments[int(number)].append(json.loads(request.content)["body"])
        return httpx.Response(201, json={"id": len(self.comments[int(number)])})

    def update(self, request: httpx.Request, number: str) -> httpx.Response:
        issue = self._issue(int(number))
        issue.update(json.loads(request.content))
        return httpx.Response(200, json=issue)

    def get(self, request: httpx.Request, number: str) -> httpx.Response:
        return httpx.Response(200, json=self._issue(int(number)))

    def close_by_hand(
        self, number: int, reason: str, *, repository: str = REPO
    ) -> tuple[dict[str, str], bytes]:
        """A developer closes the issue on github.com: GitHub sends the webhook, naming
        the repository as GitHub spells it."""
        issue = self._issue(number)
        issue.update(state="closed", state_reason=reason)
        payload = json.loads(EXAMPLE.read_text())
        payload["action"] = "closed"
        payload["repository"]["full_name"] = repository
        payload["issue"].update(
            number=number,
            state="closed",
            state_reason=reason,
            closed_at="2026-11-02T10:00:00Z",
            html_url=issue["html_url"],
        )
        body = json.dumps(payload).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": f"delivery-{number}-{reason}-{len(self.comments[number])}",
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        return headers, body


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with respx.mock(base_url=API, assert_all_called=False) as router:
        fake.route(router)
        yield fake


@pytest.fixture
def loop(github: FakeGitHub) -> Iterator[FeedbackLoop]:
    action = OpenTicket(
        "github", repo=REPO, update_every=HOUR, reopen_within=timedelta(days=1), labels=["ops"]
    )
    rules = RuleSet(Rule("errors", when=F.source == "sentry", then=action))
    tracker = GitHubTracker(token="ghp_test_token_0123456789", write_interval=0)
    with FeedbackLoop(
        rules,
        trackers={"github": tracker},
        sources=[GitHubSource(webhook_secret=SECRET)],
        store="sqlite://",
    ) as running:
        yield running


def error(at: timedelta) -> Signal:
    return Signal(source="sentry", service="api", title="timeout", occurred_at=T0 + at)


def test_the_whole_lifecycle_against_github(loop: FeedbackLoop, github: FakeGitHub) -> None:
    """Create, throttled comments, close by webhook, regression reopen, won't-fix kept closed."""
    loop.ingest(error(timedelta(0)))
    for minutes in (10, 30, 61, 90):
        loop.ingest(error(timedelta(minutes=minutes)))
    assert list(github.issues) == [1]
    assert len(github.comments[1]) == 1  # one comment in the first update_every window

    loop.handle_webhook("github", *github.close_by_hand(1, "completed"))
    assert loop.tickets()[0].status == "closed"

    loop.ingest(error(3 * HOUR))  # a regression within reopen_within
    assert github.issues[1]["state"] == "open"
    assert "Regressed" in github.comments[1][-1]

    loop.handle_webhook("github", *github.close_by_hand(1, "not_planned"))
    loop.ingest(error(4 * HOUR))  # closed as not planned: stays closed
    assert (github.issues[1]["state"], list(github.issues)) == ("closed", [1])


def test_a_late_recurrence_opens_a_new_issue_naming_the_old(
    loop: FeedbackLoop, github: FakeGitHub
) -> None:
    """After reopen_within, a second issue is opened and links back."""
    loop.ingest(error(timedelta(0)))
    loop.handle_webhook("github", *github.close_by_hand(1, "completed"))
    loop.ingest(error(timedelta(days=3)))
    assert list(github.issues) == [1, 2]
    assert f"Previously: {REPO}#1" in github.issues[2]["body"]
    assert [link.generation for link in loop.tickets()] == [1, 2]


def test_a_closure_reported_with_the_repositorys_own_letter_case_closes_the_link(
    loop: FeedbackLoop, github: FakeGitHub
) -> None:
    """The rule names `acme/api`, GitHub's webhook says `Acme/API`: the same issue."""
    loop.ingest(error(timedelta(0)))
    loop.handle_webhook("github", *github.close_by_hand(1, "completed", repository="Acme/API"))
    assert loop.tickets()[0].status == "closed"
