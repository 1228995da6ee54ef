"""GitHubSource: issue webhooks into ticket changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedbackloop import TicketChange, TicketChangeKind
from feedbackloop.connectors.github import GitHubSource
from feedbackloop.errors import PayloadError, SignatureError
from tests.connectors.payloads import body, github_closed, load

SOURCE = GitHubSource(verify=False)


def test_the_official_test_vector_verifies() -> None:
    """GitHub's documented secret, body and signature pass verification."""
    source = GitHubSource(webhook_secret="It's a Secret to Everybody")
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    source.verify({"X-Hub-Signature-256": signature}, b"Hello, World!")


def test_the_official_test_vector_fails_with_one_byte_changed() -> None:
    """The same signature over a changed body is rejected."""
    source = GitHubSource(webhook_secret="It's a Secret to Everybody")
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    with pytest.raises(SignatureError, match="does not match"):
        source.verify({"X-Hub-Signature-256": signature}, b"Hello, World?")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("completed", "completed"), ("not_planned", "not_planned"), (None, None)],
)
def test_a_closed_issue_is_a_closed_change_with_its_state_reason(
    reason: str | None, expected: str | None
) -> None:
    """issues closed: keyed owner/repo#number, the state reason as resolution."""
    (change,) = SOURCE.parse({"X-GitHub-Event": "issues"}, body(github_closed(reason)))
    assert isinstance(change, TicketChange)
    assert (change.tracker, change.key, change.change) == (
        "github",
        "Codertocat/Hello-World#1",
        TicketChangeKind.CLOSED,
    )
    assert change.resolution == expected
    assert change.occurred_at == datetime(2021, 10, 12, 9, tzinfo=UTC)
    assert change.actor == "Codertocat"


def test_a_reopened_issue_is_a_reopened_change() -> None:
    """issues reopened: a reopened change at the issue's update time."""
    document = load("github/webhook-examples/issues/reopened.payload.json")
    (change,) = SOURCE.parse({"X-GitHub-Event": "issues"}, body(document))
    assert isinstance(change, TicketChange)
    assert change.change is TicketChangeKind.REOPENED
    assert change.resolution is None


def test_a_new_comment_is_a_commented_change_with_its_text() -> None:
    """issue_comment created: the comment's body, author and link."""
    document = load("github/webhook-examples/issue_comment/created.payload.json")
    (change,) = SOURCE.parse({"X-GitHub-Event": "issue_comment"}, body(document))
    assert isinstance(change, TicketChange)
    assert change.change is TicketChangeKind.COMMENTED
    assert change.comment == "You are totally right! I'll get this fixed right away."
    assert change.url == "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400"


def test_a_comment_on_a_pull_request_is_ignored() -> None:
    """Pull requests share the issue_comment event but are not tickets."""
    document = load("github/webhook-examples/issue_comment/created.payload.json")
    document["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    assert SOURCE.parse({"X-GitHub-Event": "issue_comment"}, body(document)) == []


def test_a_ping_is_answered_with_nothing_to_route() -> None:
    """ping: no events, no error."""
    document = load("github/webhook-examples/ping/payload.json")
    assert SOURCE.parse({"X-GitHub-Event": "ping"}, body(document)) == []


@pytest.mark.parametrize("action", ["opened", "edited", "labeled", "deleted"])
def test_other_issue_actions_are_ignored(action: str) -> None:
    """Only closed and reopened move a ticket's state."""
    document = load(f"github/webhook-examples/issues/{action}.payload.json")
    assert SOURCE.parse({"X-GitHub-Event": "issues"}, body(document)) == []


def test_the_tracker_name_is_configurable() -> None:
    """Changes name the tracker the loop knows these tickets by."""
    source = GitHubSource(verify=False, tracker="github-enterprise")
    (change,) = source.parse({"X-GitHub-Event": "issues"}, body(github_closed()))
    assert isinstance(change, TicketChange)
    assert change.tracker == "github-enterprise"


def test_a_delivery_without_its_event_header_is_a_payload_error() -> None:
    """Without X-GitHub-Event the kind of body is unknown: said so."""
    with pytest.raises(PayloadError, match="missing X-GitHub-Event header"):
        SOURCE.parse({}, body(github_closed()))


def test_a_closed_issue_without_a_repository_names_the_field() -> None:
    """The key needs the repository's full name; its absence is named."""
    document = github_closed()
    del document["repository"]
    with pytest.raises(PayloadError, match=r"github: repository\.full_name: is missing"):
        SOURCE.parse({"X-GitHub-Event": "issues"}, body(document))


def test_from_env_reads_the_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """FEEDBACKLOOP_GITHUB_WEBHOOK_SECRET configures verification."""
    monkeypatch.setenv("FEEDBACKLOOP_GITHUB_WEBHOOK_SECRET", "It's a Secret to Everybody")
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    GitHubSource.from_env().verify({"X-Hub-Signature-256": signature}, b"Hello, World!")
