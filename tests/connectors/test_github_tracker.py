"""The GitHub Issues tracker against respx, every request checked against GitHub's description."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from feedbackloop import TicketRef
from feedbackloop.connectors import TicketDraft, TicketReader, Tracker
from feedbackloop.connectors.github import GitHubTracker, github_label
from feedbackloop.errors import AuthenticationError, ConfigurationError, ValidationError
from tests.connectors.contract import load, record_sleeps, vendor

pytestmark = pytest.mark.anyio

API = "https://api.github.com"
TOKEN = "github_pat_11ABCDEFG0123456789_secret"
SPEC = load("github")
ISSUES = "/repos/{owner}/{repo}/issues"
ONE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
MARKER = "fl-0123456789abcdef0123"


@pytest.fixture
def github() -> Iterator[respx.MockRouter]:
    """A fake GitHub API; afterwards every request it received is checked against the spec."""
    with vendor("github", API) as router:
        yield router


class Pauses:
    """The tracker's write pacing, on a fake clock: records waits, advances time by them."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


def tracker(pauses: Pauses, **options: Any) -> GitHubTracker:
    values: dict[str, Any] = {"token": TOKEN, "repo": "acme/api"}
    return GitHubTracker(**{**values, **options}, clock=pauses.clock, sleep=pauses.sleep)


def draft(**options: Any) -> TicketDraft:
    values: dict[str, Any] = {
        "title": "Checkout: timeout calling payments",
        "body": "**Service:** checkout",
        "marker": MARKER,
        "labels": ("ops feedback",),
    }
    return TicketDraft(**{**values, **options})


def an_issue(number: int, *, state: str = "open", reason: str | None = None) -> dict[str, Any]:
    issue = SPEC.example("get", ONE, 200)
    issue.pop("pull_request")  # the documented example is a pull request's issue
    issue.update(
        number=number,
        state=state,
        state_reason=reason,
        html_url=f"https://github.com/acme/api/issues/{number}",
    )
    return SPEC.check_response("get", ONE, 200, issue)


def a_pull_request(number: int) -> dict[str, Any]:
    item = SPEC.example("get", ISSUES, 200)[0]  # the documented item is a pull request
    item["number"] = number
    return dict(item)


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def test_the_tracker_meets_the_tracker_protocol(pauses: Pauses) -> None:
    """GitHubTracker is a Tracker."""
    assert isinstance(tracker(pauses), Tracker)


class TestLifecycle:
    async def test_create_comment_close_and_reopen_go_through_github(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """Create, comment, close as completed and reopen: one documented call each."""
        create = github.post("/repos/acme/api/issues").respond(201, json=an_issue(12))
        comment = github.post("/repos/acme/api/issues/12/comments").respond(
            201, json=SPEC.example("post", COMMENTS, 201)
        )
        patch = github.patch("/repos/acme/api/issues/12").mock(
            side_effect=[
                httpx.Response(200, json=an_issue(12, state="closed", reason="completed")),
                httpx.Response(200, json=an_issue(12, reason="reopened")),
            ]
        )
        github_tracker = tracker(pauses)

        ref = await github_tracker.create(draft())
        await github_tracker.comment(ref.key, "Still happening: **12** occurrences")
        await github_tracker.close(ref.key)
        await github_tracker.reopen(ref.key)
        await github_tracker.aclose()

        assert ref == TicketRef(
            tracker="github", key="acme/api#12", url="https://github.com/acme/api/issues/12"
        )
        assert create.call_count == 1
        assert sent(comment) == {"body": "Still happening: **12** occurrences"}
        assert sent(patch, 0) == {"state": "closed", "state_reason": "completed"}
        assert sent(patch, 1) == {"state": "open", "state_reason": "reopened"}

    async def test_the_marker_is_a_label_and_an_html_comment_in_the_body(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """The hidden marker goes in twice: an invisible comment and a label."""
        route = github.post("/repos/acme/api/issues").respond(201, json=an_issue(3))

        await tracker(pauses).create(draft(fields={"assignees": ["octocat"]}))

        request = sent(route)
        assert request["body"] == f"**Service:** checkout\n\n<!-- feedbackloop:marker {MARKER} -->"
        assert request["labels"] == ["ops-feedback", MARKER]
        assert request["assignees"] == ["octocat"]

    async def test_the_draft_repository_wins_over_the_default(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """fields["repo"] names the repository the issue is filed in."""
        route = github.post("/repos/acme/postmortems/issues").respond(201, json=an_issue(4))

        ref = await tracker(pauses).create(draft(fields={"repo": "acme/postmortems"}))

        assert route.called
        assert ref.key == "acme/postmortems#4"

    @pytest.mark.parametrize(
        ("resolution", "reason"),
        [("not_planned", "not_planned"), ("Won't Do", "not_planned"), ("duplicate", "duplicate")],
    )
    async def test_a_resolution_becomes_a_state_reason(
        self, github: respx.MockRouter, pauses: Pauses, resolution: str, reason: str
    ) -> None:
        """Resolution names from any tracker map onto GitHub's state_reason."""
        route = github.patch("/repos/acme/api/issues/12").respond(
            200, json=an_issue(12, state="closed", reason=reason)
        )

        await tracker(pauses).close("acme/api#12", resolution=resolution)

        assert sent(route)["state_reason"] == reason

    async def test_an_unknown_resolution_is_refused_before_any_call(self, pauses: Pauses) -> None:
        """A resolution GitHub has no reason for raises ValidationError listing the known ones."""
        with pytest.raises(ValidationError, match="not_planned"):
            await tracker(pauses).close("acme/api#12", resolution="shrug")

    async def test_state_reads_the_state_and_reason(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """A closed issue reads closed, its state_reason as the resolution."""
        github.get("/repos/acme/api/issues/12").respond(
            200, json=an_issue(12, state="closed", reason="not_planned")
        )

        state = await tracker(pauses).state("acme/api#12")

        assert (state.ref.status, state.resolution) == ("closed", "not_planned")

    async def test_an_open_issue_has_no_resolution(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """An open (even reopened) issue reports no resolution."""
        github.get("/repos/acme/api/issues/12").respond(200, json=an_issue(12, reason="reopened"))

        state = await tracker(pauses).state("acme/api#12")

        assert (state.ref.status, state.resolution) == ("open", None)


class TestFind:
    async def test_find_lists_the_marker_label_in_every_state(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """find lists issues with the marker label, open or closed, newest first."""
        route = github.get("/repos/acme/api/issues").respond(
            200, json=[an_issue(9, state="closed", reason="completed"), an_issue(2)]
        )

        found = await tracker(pauses).find(MARKER, fields={})

        assert found is not None
        assert (found.key, found.status) == ("acme/api#9", "closed")
        params = route.calls[0].request.url.params
        assert (params["labels"], params["state"], params["direction"]) == (MARKER, "all", "desc")

    async def test_find_skips_pull_requests_across_pages(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """Pull requests share the label namespace: find follows the Link header past them."""
        next_page = f"{API}/repos/acme/api/issues?labels={MARKER}&state=all&page=2"
        route = github.get("/repos/acme/api/issues").mock(
            side_effect=[
                httpx.Response(
                    200, json=[a_pull_request(30)], headers={"Link": f'<{next_page}>; rel="next"'}
                ),
                httpx.Response(200, json=[an_issue(21)]),
            ]
        )

        found = await tracker(pauses).find(MARKER, fields={"repo": "acme/api"})

        assert found is not None
        assert found.key == "acme/api#21"
        assert route.calls[1].request.url.params["page"] == "2"

    async def test_find_returns_none_when_no_issue_has_the_label(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """An empty listing: None."""
        github.get("/repos/acme/api/issues").respond(200, json=[])

        assert await tracker(pauses).find(MARKER, fields={}) is None

    def test_labels_lose_commas_and_spaces(self) -> None:
        """The labels filter is comma-separated: commas and spaces become dashes."""
        assert github_label("ops, feedback team") == "ops-feedback-team"


class TestPacing:
    async def test_writes_are_at_least_a_second_apart(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """Each write after the first waits out the rest of the second since the last one."""
        github.post("/repos/acme/api/issues/12/comments").respond(
            201, json=SPEC.example("post", COMMENTS, 201)
        )
        github_tracker = tracker(pauses)

        for text in ("one", "two", "three"):
            await github_tracker.comment("acme/api#12", text)

        assert pauses.waits == [1.0, 1.0]

    async def test_reads_are_not_paced(self, github: respx.MockRouter, pauses: Pauses) -> None:
        """Reading a ticket's state never waits for the write pacing."""
        github.get("/repos/acme/api/issues/12").respond(200, json=an_issue(12))
        github_tracker = tracker(pauses)

        await github_tracker.state("acme/api#12")
        await github_tracker.state("acme/api#12")

        assert pauses.waits == []


class TestFailures:
    async def test_a_401_says_which_setting_to_check_and_hides_the_token(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """Bad credentials raise AuthenticationError naming the setting, never the token."""
        github.post("/repos/acme/api/issues").respond(
            401,
            json={
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
            },
        )

        with pytest.raises(AuthenticationError) as raised:
            await tracker(pauses).create(draft())

        assert "Bad credentials" in str(raised.value)
        assert "FEEDBACKLOOP_GITHUB_TOKEN" in str(raised.value)
        assert TOKEN not in str(raised.value)

    async def test_a_429_is_waited_out_then_the_call_succeeds(
        self, github: respx.MockRouter, pauses: Pauses, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """429 with retry-after: the HTTP layer waits that long and tries again."""
        waits = record_sleeps(monkeypatch)
        route = github.get("/repos/acme/api/issues/12").mock(
            side_effect=[
                httpx.Response(429, headers={"retry-after": "2"}, json={"message": "slow down"}),
                httpx.Response(200, json=an_issue(12)),
            ]
        )

        await tracker(pauses).state("acme/api#12")

        assert route.call_count == 2
        assert waits == [2.0]


class TestConfiguration:
    async def test_a_malformed_key_is_refused(self, pauses: Pauses) -> None:
        """Keys look like owner/repo#number."""
        with pytest.raises(ValidationError, match="owner/repo#42"):
            await tracker(pauses).comment("acme-api-12", "x")

    async def test_no_repository_names_the_settings_to_use(self, pauses: Pauses) -> None:
        """Without a repository anywhere, create fails before any call."""
        with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_GITHUB_REPO"):
            await tracker(pauses, repo=None).create(draft())

    async def test_an_unknown_field_is_refused(self, pauses: Pauses) -> None:
        """A Jira-only field given to GitHub is a configuration error, not silently dropped."""
        with pytest.raises(ConfigurationError, match="'project'"):
            await tracker(pauses).create(draft(fields={"project": "OPS"}))

    def test_from_env_reads_the_token_and_api_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FEEDBACKLOOP_GITHUB_TOKEN and _API_URL (GitHub Enterprise Server) configure it."""
        monkeypatch.setenv("FEEDBACKLOOP_GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("FEEDBACKLOOP_GITHUB_API_URL", "https://ghe.acme.example/api/v3")

        built = GitHubTracker.from_env(repo="acme/api")

        assert built.http.base_url == "https://ghe.acme.example/api/v3"
        assert built.repo == "acme/api"
        assert TOKEN not in repr(built)


class TestRead:
    async def test_read_gives_the_title_as_a_heading_then_the_body_without_the_marker(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """The issue reads as `# title` and its body, without the loop's hidden marker comment."""
        issue = an_issue(7)
        issue.update(
            title="Postmortem: checkout outage",
            body=f"## Action items\r\n- [ ] Add a canary @alice\n\n"
            f"<!-- feedbackloop:marker {MARKER} -->",
        )
        github.get("/repos/acme/postmortems/issues/7").respond(
            200, json=SPEC.check_response("get", ONE, 200, issue)
        )

        text = await tracker(pauses).read("acme/postmortems#7")

        assert isinstance(tracker(pauses), TicketReader)
        assert text == (
            "# Postmortem: checkout outage\n\n## Action items\n- [ ] Add a canary @alice\n"
        )

    async def test_an_issue_without_body_reads_as_its_title(
        self, github: respx.MockRouter, pauses: Pauses
    ) -> None:
        """GitHub's null body gives just the heading."""
        issue = an_issue(7)
        issue.update(title="Checkout outage", body=None)
        github.get("/repos/acme/api/issues/7").respond(
            200, json=SPEC.check_response("get", ONE, 200, issue)
        )

        assert await tracker(pauses).read("acme/api#7") == "# Checkout outage\n"
