"""JiraSource: issue webhooks into ticket changes."""

from __future__ import annotations

import pytest

from feedbackloop import TicketChange, TicketChangeKind
from feedbackloop.connectors.jira import JiraSource
from feedbackloop.errors import PayloadError
from tests.connectors.payloads import body, hub_signature, jira_comment_created, jira_status_changed

SOURCE = JiraSource(verify=False)


def change_of(document: object, source: JiraSource = SOURCE) -> TicketChange:
    (change,) = source.parse({}, body(document))
    assert isinstance(change, TicketChange)
    return change


def test_a_delivery_signed_with_the_webhook_secret_passes() -> None:
    """X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>."""
    payload = body(jira_status_changed())
    header = {"X-Hub-Signature": "sha256=" + hub_signature("jira-secret", payload)}
    JiraSource(webhook_secret="jira-secret").verify(header, payload)


def test_a_move_to_done_is_a_closed_change_with_the_resolution() -> None:
    """A status change into the done category closes the ticket; the resolution says why."""
    change = change_of(jira_status_changed(resolution="Won't Do"))
    assert (change.tracker, change.key, change.change) == (
        "jira",
        "OPS-42",
        TicketChangeKind.CLOSED,
    )
    assert change.resolution == "Won't Do"
    assert change.url == "https://acme.atlassian.net/browse/OPS-42"
    assert change.actor == "Mia Krystof"


def test_without_a_resolution_the_new_status_is_the_resolution() -> None:
    """Workflows without resolutions: the status name tells why it closed."""
    document = jira_status_changed(to_status="Shipped", resolution=None)
    assert change_of(document).resolution == "Shipped"


def test_without_a_status_category_done_status_names_decide() -> None:
    """Payloads lacking statusCategory fall back to the configured done statuses."""
    document = jira_status_changed(to_status="Closed", resolution=None)
    del document["issue"]["fields"]["status"]["statusCategory"]
    assert change_of(document).change is TicketChangeKind.CLOSED


def test_leaving_a_done_status_is_a_reopened_change() -> None:
    """Done -> To Do reopens the ticket."""
    document = jira_status_changed("Done", "To Do", category="new", resolution=None)
    change = change_of(document)
    assert change.change is TicketChangeKind.REOPENED
    assert change.resolution is None


def test_a_move_between_open_statuses_is_ignored() -> None:
    """To Do -> In Progress moves nothing the loop cares about."""
    document = jira_status_changed(
        "To Do", "In Progress", category="indeterminate", resolution=None
    )
    assert SOURCE.parse({}, body(document)) == []


def test_an_update_without_a_status_change_is_ignored() -> None:
    """An edit of the summary is not a state change."""
    document = jira_status_changed()
    document["changelog"]["items"] = [{"field": "summary", "fromString": "a", "toString": "b"}]
    assert SOURCE.parse({}, body(document)) == []


@pytest.mark.parametrize(
    ("comment", "text"),
    [
        ("Fixed by the retry budget change.", "Fixed by the retry budget change."),
        (
            {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "ADF"}]}],
            },
            "ADF",
        ),
    ],
)
def test_a_new_comment_is_a_commented_change_with_its_text(comment: object, text: str) -> None:
    """comment_created: wiki text as it is, or the text of an ADF document."""
    change = change_of(jira_comment_created(comment))
    assert (change.change, change.comment) == (TicketChangeKind.COMMENTED, text)


def test_the_atlassian_webhook_identifier_is_the_delivery_id() -> None:
    """X-Atlassian-Webhook-Identifier is stable across Jira's retries."""
    assert SOURCE.delivery_id({"X-Atlassian-Webhook-Identifier": "77"}, b"{}") == "77"


def test_a_configured_site_url_builds_the_link() -> None:
    """FEEDBACKLOOP_JIRA_URL wins over the address found in the payload."""
    source = JiraSource(verify=False, url="https://jira.example.com/")
    assert change_of(jira_status_changed(), source).url == "https://jira.example.com/browse/OPS-42"


def test_a_change_without_an_issue_key_names_the_field() -> None:
    """The key is required: its absence is reported by path."""
    document = jira_status_changed()
    del document["issue"]["key"]
    with pytest.raises(PayloadError, match=r"jira: issue\.key: is missing"):
        SOURCE.parse({}, body(document))
