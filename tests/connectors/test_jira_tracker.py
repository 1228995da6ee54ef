"""The Jira tracker against respx, every request checked against Jira's OpenAPI description."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from feedbackloop import FeedbackLoop, Severity, Signal, TicketRef
from feedbackloop.connectors import TicketDraft, TicketReader, Tracker
from feedbackloop.connectors.jira import JiraTracker, jira_label, markdown_to_adf
from feedbackloop.connectors.jira._adf import paragraph
from feedbackloop.errors import AuthenticationError, ConfigurationError, NotFoundError
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet
from tests.connectors.contract import load, record_sleeps, vendor

pytestmark = pytest.mark.anyio

SITE = "https://acme.atlassian.net"
TOKEN = "ATATT3xFfGF0-secret-token"
SPEC = load("jira")
ISSUE = "/rest/api/3/issue"
TRANSITIONS = "/rest/api/3/issue/{issueIdOrKey}/transitions"
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
def jira() -> Iterator[respx.MockRouter]:
    """A fake Jira site; afterwards every request it received is checked against the spec."""
    with vendor("jira", SITE) as router:
        yield router


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The HTTP layer's waits, recorded instead of slept."""
    return record_sleeps(monkeypatch)


def tracker(**options: Any) -> JiraTracker:
    values: dict[str, Any] = {
        "url": SITE,
        "email": "sre@acme.example",
        "api_token": TOKEN,
        "project": "OPS",
    }
    return JiraTracker(**{**values, **options})


def draft(**options: Any) -> TicketDraft:
    values: dict[str, Any] = {
        "title": "Checkout: timeout calling payments",
        "body": "**Service:** checkout\n\n- Occurrences: 5",
        "marker": "fl-0123456789abcdef0123",
        "labels": ("ops feedback",),
    }
    return TicketDraft(**{**values, **options})


def created(key: str) -> dict[str, Any]:
    body = SPEC.example("post", ISSUE, 201)
    body.update(id="10042", key=key, self=f"{SITE}/rest/api/3/issue/10042")
    return SPEC.check_response("post", ISSUE, 201, body)


def status(name: str, category: str) -> dict[str, Any]:
    # The description's examples use made-up category keys; Jira's are new, indeterminate, done.
    return {
        "name": name,
        "id": "10001",
        "statusCategory": {"key": category, "name": category.title(), "id": 3},
    }


def transition(id_: str, name: str, to: str, category: str, *, resolution: bool = False) -> Any:
    template = copy.deepcopy(SPEC.example("get", TRANSITIONS, 200)["transitions"][0])
    template.update(id=id_, name=name, to=status(to, category), fields={})
    if resolution:
        template["fields"]["resolution"] = {
            "key": "resolution",
            "name": "Resolution",
            "required": True,
            "operations": ["set"],
            "schema": {"type": "resolution", "system": "resolution"},
            "allowedValues": [{"name": "Done"}, {"name": "Won't Do"}, {"name": "Duplicate"}],
        }
    return template


def transitions(*items: Any) -> dict[str, Any]:
    return SPEC.check_response("get", TRANSITIONS, 200, {"transitions": list(items)})


def issue(key: str, *, category: str, resolution: str | None = None) -> dict[str, Any]:
    body = SPEC.example("get", "/rest/api/3/issue/{issueIdOrKey}", 200)
    body["key"] = key
    body["fields"]["status"] = status("Done" if category == "done" else "To Do", category)
    body["fields"]["resolution"] = {"name": resolution, "id": "10000"} if resolution else None
    return SPEC.check_response("get", "/rest/api/3/issue/{issueIdOrKey}", 200, body)


def search_page(*issues: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    body = SPEC.example("post", SEARCH, 200)
    template = body["issues"][0]
    body["issues"] = [{**copy.deepcopy(template), **found} for found in issues]
    if next_token is None:
        body["isLast"] = True
        body.pop("nextPageToken", None)
    else:
        body["isLast"] = False
        body["nextPageToken"] = next_token
    return SPEC.check_response("post", SEARCH, 200, body)


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def test_the_tracker_meets_the_tracker_protocol() -> None:
    """JiraTracker is a Tracker."""
    assert isinstance(tracker(), Tracker)


class TestLifecycle:
    async def test_create_comment_close_and_reopen_go_through_jira(
        self, jira: respx.MockRouter
    ) -> None:
        """A ticket is created, commented, closed with Done and reopened, each via its call."""
        create = jira.post(ISSUE).respond(201, json=created("OPS-7"))
        comment = jira.post(f"{ISSUE}/OPS-7/comment").respond(
            201, json=SPEC.example("post", "/rest/api/3/issue/{issueIdOrKey}/comment", 201)
        )
        listing = jira.get(f"{ISSUE}/OPS-7/transitions").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json=transitions(
                        transition("11", "Start Progress", "In Progress", "indeterminate"),
                        transition("31", "Done", "Done", "done", resolution=True),
                    ),
                ),
                httpx.Response(
                    200, json=transitions(transition("41", "Reopen Issue", "To Do", "new"))
                ),
            ]
        )
        move = jira.post(f"{ISSUE}/OPS-7/transitions").respond(204)
        jira_tracker = tracker()

        ref = await jira_tracker.create(draft())
        await jira_tracker.comment("OPS-7", "Still happening: **12** occurrences")
        await jira_tracker.close("OPS-7")
        await jira_tracker.reopen("OPS-7")
        await jira_tracker.aclose()

        assert ref == TicketRef(tracker="jira", key="OPS-7", url=f"{SITE}/browse/OPS-7")
        assert create.call_count == 1
        assert sent(comment)["body"]["content"][0]["content"][1] == {
            "type": "text",
            "text": "12",
            "marks": [{"type": "strong"}],
        }
        assert listing.call_count == 2
        assert sent(move, 0) == {
            "transition": {"id": "31"},
            "fields": {"resolution": {"name": "Done"}},
        }
        assert sent(move, 1) == {"transition": {"id": "41"}}

    async def test_create_sends_the_fields_the_draft_names(self, jira: respx.MockRouter) -> None:
        """Project, issue type, summary, ADF description, labels, priority, components, extras."""
        route = jira.post(ISSUE).respond(201, json=created("PAY-1"))
        fields = {
            "project": "PAY",
            "issue_type": "Bug",
            "priority": "High",
            "components": ["checkout"],
            "customfield_10010": "team-a",
        }

        await tracker().create(draft(fields=fields))

        sent_fields = sent(route)["fields"]
        assert sent_fields["project"] == {"key": "PAY"}
        assert sent_fields["issuetype"] == {"name": "Bug"}
        assert sent_fields["summary"] == "Checkout: timeout calling payments"
        assert sent_fields["priority"] == {"name": "High"}
        assert sent_fields["components"] == [{"name": "checkout"}]
        assert sent_fields["customfield_10010"] == "team-a"
        assert sent_fields["description"]["type"] == "doc"

    async def test_the_marker_is_a_label_and_the_last_line_of_the_description(
        self, jira: respx.MockRouter
    ) -> None:
        """The hidden marker is stored twice: as a label and as the description's last line."""
        route = jira.post(ISSUE).respond(201, json=created("OPS-8"))

        await tracker().create(draft())

        sent_fields = sent(route)["fields"]
        assert sent_fields["labels"] == ["ops-feedback", "fl-0123456789abcdef0123"]
        assert sent_fields["description"]["content"][-1] == {
            "type": "paragraph",
            "content": [{"type": "text", "text": "feedbackloop marker: fl-0123456789abcdef0123"}],
        }

    async def test_a_severity_maps_to_a_priority_only_when_configured(
        self, jira: respx.MockRouter
    ) -> None:
        """Without `priorities` no priority is sent; with them the severity picks one."""
        route = jira.post(ISSUE).respond(201, json=created("OPS-9"))

        await tracker().create(draft(severity=Severity.CRITICAL))
        await tracker(priorities={"critical": "Highest"}).create(draft(severity=Severity.CRITICAL))

        assert "priority" not in sent(route, 0)["fields"]
        assert sent(route, 1)["fields"]["priority"] == {"name": "Highest"}

    async def test_a_long_multiline_title_becomes_one_summary_line_of_255_characters(
        self, jira: respx.MockRouter
    ) -> None:
        """Jira summaries are one line of at most 255 characters."""
        route = jira.post(ISSUE).respond(201, json=created("OPS-10"))

        await tracker().create(draft(title="line one\nline two " + "x" * 300))

        summary = sent(route)["fields"]["summary"]
        assert len(summary) == 255
        assert summary.startswith("line one line two x")
        assert summary.endswith("…")

    async def test_create_without_a_project_names_the_settings_to_use(self) -> None:
        """No project anywhere is a configuration error, raised before any call."""
        with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_JIRA_PROJECT"):
            await tracker(project=None).create(draft())

    async def test_close_maps_not_planned_to_wont_do(self, jira: respx.MockRouter) -> None:
        """The loop's `not_planned` becomes Jira's "Won't Do" resolution."""
        jira.get(f"{ISSUE}/OPS-7/transitions").respond(
            200, json=transitions(transition("31", "Done", "Done", "done", resolution=True))
        )
        move = jira.post(f"{ISSUE}/OPS-7/transitions").respond(204)

        await tracker().close("OPS-7", resolution="not_planned")

        assert sent(move)["fields"] == {"resolution": {"name": "Won't Do"}}

    async def test_a_transition_matches_by_its_target_status_too(
        self, jira: respx.MockRouter
    ) -> None:
        """A transition named otherwise but leading to status "Done" closes the issue."""
        jira.get(f"{ISSUE}/OPS-7/transitions").respond(
            200, json=transitions(transition("51", "Ship it", "Done", "done"))
        )
        move = jira.post(f"{ISSUE}/OPS-7/transitions").respond(204)

        await tracker().close("OPS-7")

        assert sent(move) == {"transition": {"id": "51"}}


class TestTransitions:
    async def test_a_missing_transition_lists_the_available_ones(
        self, jira: respx.MockRouter
    ) -> None:
        """No transition of the configured names: the error lists those that exist."""
        jira.get(f"{ISSUE}/OPS-7/transitions").respond(
            200,
            json=transitions(
                transition("11", "Start Progress", "In Progress", "indeterminate"),
                transition("21", "Block", "Blocked", "indeterminate"),
            ),
        )

        with pytest.raises(ConfigurationError) as raised:
            await tracker(resolve_transitions=["Finish"]).close("OPS-7")

        message = str(raised.value)
        assert "'finish'" in message
        assert "'Start Progress', 'Block'" in message
        assert "FEEDBACKLOOP_JIRA_RESOLVE_TRANSITIONS" in message

    async def test_configured_names_are_tried_in_order(self, jira: respx.MockRouter) -> None:
        """The first configured name that is available wins, whatever Jira's order."""
        jira.get(f"{ISSUE}/OPS-7/transitions").respond(
            200,
            json=transitions(
                transition("1", "To Do", "To Do", "new"),
                transition("2", "Reopen Issue", "Reopened", "new"),
            ),
        )
        move = jira.post(f"{ISSUE}/OPS-7/transitions").respond(204)

        await tracker().reopen("OPS-7")

        assert sent(move) == {"transition": {"id": "2"}}


class TestState:
    async def test_a_done_issue_reads_closed_with_its_resolution(
        self, jira: respx.MockRouter
    ) -> None:
        """Status category done -> closed; the resolution name comes along."""
        jira.get(f"{ISSUE}/OPS-7").respond(
            200, json=issue("OPS-7", category="done", resolution="Won't Do")
        )

        state = await tracker().state("OPS-7")

        assert state.ref.status == "closed"
        assert state.resolution == "Won't Do"

    async def test_an_open_issue_reads_open_without_resolution(
        self, jira: respx.MockRouter
    ) -> None:
        """Any other status category is open."""
        route = jira.get(f"{ISSUE}/OPS-7").respond(200, json=issue("OPS-7", category="new"))

        state = await tracker().state("OPS-7")

        assert (state.ref.status, state.resolution) == ("open", None)
        assert route.calls[0].request.url.params["fields"] == "status,resolution"


class TestFind:
    async def test_find_searches_the_marker_label_with_the_jql_endpoint(
        self, jira: respx.MockRouter
    ) -> None:
        """find posts JQL for the marker label to /search/jql and returns the newest issue."""
        route = jira.post(SEARCH).respond(
            200,
            json=search_page(
                {"key": "OPS-9", "fields": {"status": status("To Do", "new")}},
                {"key": "OPS-3", "fields": {"status": status("Done", "done")}},
            ),
        )

        found = await tracker().find("fl-0123456789abcdef0123", fields={})

        assert found == TicketRef(tracker="jira", key="OPS-9", url=f"{SITE}/browse/OPS-9")
        assert sent(route)["jql"] == (
            'project = "OPS" AND labels = "fl-0123456789abcdef0123" ORDER BY created DESC'
        )

    async def test_find_returns_none_when_nothing_carries_the_marker(
        self, jira: respx.MockRouter
    ) -> None:
        """No issue with the label: None."""
        jira.post(SEARCH).respond(200, json=search_page())

        assert await tracker().find("fl-x", fields={"project": "PAY"}) is None

    async def test_search_walks_every_page_with_the_next_page_token(
        self, jira: respx.MockRouter
    ) -> None:
        """search follows nextPageToken until the last page and yields every issue once."""
        route = jira.post(SEARCH).mock(
            side_effect=[
                httpx.Response(200, json=search_page({"key": "OPS-1"}, next_token="tok-2")),
                httpx.Response(200, json=search_page({"key": "OPS-2"}, next_token="tok-3")),
                httpx.Response(200, json=search_page({"key": "OPS-3"})),
            ]
        )

        keys = [found["key"] async for found in tracker().search('labels = "ops"', page_size=1)]

        assert keys == ["OPS-1", "OPS-2", "OPS-3"]
        assert [sent(route, i).get("nextPageToken") for i in range(3)] == [None, "tok-2", "tok-3"]

    def test_labels_lose_their_spaces(self) -> None:
        """Jira labels cannot hold spaces: whitespace runs become dashes."""
        assert jira_label("  ops  feedback\tteam ") == "ops-feedback-team"


class TestFailures:
    async def test_a_401_says_which_settings_to_check_and_hides_the_token(
        self, jira: respx.MockRouter
    ) -> None:
        """Refused credentials raise AuthenticationError naming the settings, not the token."""
        jira.post(ISSUE).respond(401, json={"errorMessages": ["Client must be authenticated"]})

        with pytest.raises(AuthenticationError) as raised:
            await tracker().create(draft())

        message = str(raised.value)
        assert "Client must be authenticated" in message
        assert "FEEDBACKLOOP_JIRA_API_TOKEN" in message
        assert raised.value.status_code == 401
        assert TOKEN not in message

    async def test_a_429_is_waited_out_then_the_call_succeeds(
        self, jira: respx.MockRouter, waits: list[float]
    ) -> None:
        """429 with Retry-After: the HTTP layer waits that long and tries again."""
        route = jira.post(f"{ISSUE}/OPS-7/comment").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "3"}),
                httpx.Response(
                    201, json=SPEC.example("post", "/rest/api/3/issue/{issueIdOrKey}/comment", 201)
                ),
            ]
        )

        await tracker().comment("OPS-7", "again")

        assert route.call_count == 2
        assert waits == [3.0]


class TestConfiguration:
    def test_from_env_reads_the_jira_settings(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FEEDBACKLOOP_JIRA_* configure the tracker; transition names are comma-separated."""
        monkeypatch.setenv("FEEDBACKLOOP_JIRA_URL", SITE)
        monkeypatch.setenv("FEEDBACKLOOP_JIRA_EMAIL", "sre@acme.example")
        monkeypatch.setenv("FEEDBACKLOOP_JIRA_API_TOKEN", TOKEN)
        monkeypatch.setenv("FEEDBACKLOOP_JIRA_RESOLVE_TRANSITIONS", "Close, Finish")

        built = JiraTracker.from_env(project="OPS")

        assert (built.url, built.project) == (SITE, "OPS")
        assert built.resolve_transitions == ("close", "finish")

    def test_from_env_names_the_missing_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing setting raises ConfigurationError naming its variable."""
        for name in ("URL", "EMAIL", "API_TOKEN"):
            monkeypatch.delenv(f"FEEDBACKLOOP_JIRA_{name}", raising=False)

        with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_JIRA_API_TOKEN"):
            JiraTracker.from_env(url=SITE, email="sre@acme.example")

    def test_the_repr_shows_no_secret(self) -> None:
        """The tracker's repr names the site, never the token."""
        assert TOKEN not in repr(tracker())
        assert "acme.atlassian.net" in repr(tracker())

    def test_an_url_without_scheme_is_refused(self) -> None:
        """A site given without https:// is a configuration error."""
        with pytest.raises(ConfigurationError, match=r"https://acme\.atlassian\.net"):
            tracker(url="acme.atlassian.net")


class TestThroughTheLoop:
    def test_a_rule_opens_a_jira_issue_that_the_loop_links(self) -> None:
        """End to end: a signal matches OpenTicket("jira"), Jira gets a valid create call."""
        received: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            received.append(request)
            return httpx.Response(201, json=created("OPS-1"))

        rules = RuleSet(
            Rule("errors", when=F.kind == "error", then=OpenTicket("jira", labels=["ops feedback"]))
        )
        jira_tracker = tracker(transport=httpx.MockTransport(handler))
        signal = Signal(
            source="sentry",
            service="checkout",
            title="timeout calling payments",
            occurred_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        )

        with FeedbackLoop(rules, trackers={"jira": jira_tracker}, store="sqlite://") as loop:
            loop.ingest(signal)
            links = loop.tickets()

        assert [(link.key, link.status) for link in links] == [("OPS-1", "open")]
        SPEC.check_requests(received)
        fields = json.loads(received[0].content)["fields"]
        assert fields["summary"] == "timeout calling payments"
        assert fields["labels"][0] == "ops-feedback"
        assert fields["labels"][1].startswith("fl-")


class TestRead:
    async def test_read_converts_the_description_to_markdown_under_the_summary(
        self, jira: respx.MockRouter
    ) -> None:
        """Only summary and description are asked for; the ADF reads as Markdown, no marker."""
        body = SPEC.example("get", "/rest/api/3/issue/{issueIdOrKey}", 200)
        description = markdown_to_adf("Checkout was down.\n\n- Add a canary @alice")
        description["content"].append(paragraph("feedbackloop marker: fl-0123"))
        body["fields"] = {"summary": "Postmortem: checkout", "description": description}
        route = jira.get(f"{ISSUE}/OPS-12").respond(
            200, json=SPEC.check_response("get", "/rest/api/3/issue/{issueIdOrKey}", 200, body)
        )

        text = await tracker().read("OPS-12")

        assert isinstance(tracker(), TicketReader)
        assert text == "# Postmortem: checkout\n\nCheckout was down.\n\n- Add a canary @alice\n"
        assert route.calls[0].request.url.params["fields"] == "summary,description"

    async def test_an_issue_without_description_reads_as_its_summary(
        self, jira: respx.MockRouter
    ) -> None:
        """A null description gives just the heading."""
        body = SPEC.example("get", "/rest/api/3/issue/{issueIdOrKey}", 200)
        body["fields"] = {"summary": "Checkout outage", "description": None}
        jira.get(f"{ISSUE}/OPS-12").respond(200, json=body)

        assert await tracker().read("OPS-12") == "# Checkout outage\n"

    async def test_reading_a_missing_issue_is_not_found(self, jira: respx.MockRouter) -> None:
        """Jira's 404 becomes NotFoundError."""
        jira.get(f"{ISSUE}/OPS-404").respond(
            404, json={"errorMessages": ["Issue does not exist"], "errors": {}}
        )

        with pytest.raises(NotFoundError):
            await tracker().read("OPS-404")
