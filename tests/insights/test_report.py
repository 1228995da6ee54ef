"""The report's renderings, and insights end to end through the loop and its store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from feedbackloop import FeedbackLoop, Incident, Signal, TicketChange
from feedbackloop.connectors import Message
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError
from feedbackloop.insights import History, Period, build_report
from feedbackloop.rules import Drop, Escalate, F, OpenTicket, Rule, RuleSet
from tests.insights.test_figures import HISTORY, WEEK

T0 = datetime(2026, 11, 2, tzinfo=UTC)
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


class Elements(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parsed(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


class TestRenderings:
    def test_json_holds_the_contract_keys(self) -> None:
        """mtta/mttr with median and p90, incidents, recurrence, noise, themes, items, wins."""
        data = json.loads(build_report(HISTORY, WEEK).to_json())
        assert {
            "mtta",
            "mttr",
            "incidents",
            "recurrence_rate",
            "noise_ratio",
            "themes",
            "action_items",
            "wins",
        } <= data.keys()
        assert (data["mttr"]["median"], data["mttr"]["p90"]) == (3600, 5040)
        assert (data["incidents"], data["noise_ratio"], data["recurrence_rate"]) == (4, 0.6, 0.5)
        assert data["previous"]["incidents"] == 1

    def test_markdown_has_the_wins_and_no_tables_or_html(self) -> None:
        """Headings, bullets and bold only, so Slack, GitHub and Jira all read it."""
        markdown = build_report(HISTORY, WEEK).to_markdown()
        assert "- MTTR for checkout down 50% to 60 min" in markdown
        assert "- Overdue: **item 3** — alice, due 2026-11-05" in markdown
        assert "|" not in markdown
        assert "<" not in markdown.replace("<num>", "")

    def test_the_html_report_contains_the_three_charts(self) -> None:
        """MTTR trend, noise trend and top themes are inline SVG elements."""
        elements = parsed(build_report(HISTORY, WEEK).to_html())
        charts = [attrs.get("data-chart") for tag, attrs in elements.tags if tag == "svg"]
        assert charts == ["mttr-trend", "noise-trend", "top-themes"]
        assert sum(tag == "polyline" for tag, _ in elements.tags) >= 2
        assert sum(tag == "rect" for tag, _ in elements.tags) == 5

    def test_the_html_report_loads_no_external_resource(self) -> None:
        """No scripts, stylesheets, images, fonts or URLs: it renders with no network."""
        html = build_report(HISTORY, WEEK).to_html()
        elements = parsed(html)
        assert not {tag for tag, _ in elements.tags} & {"script", "link", "img", "iframe", "object"}
        assert not [attrs for _, attrs in elements.tags if "src" in attrs or "href" in attrs]
        assert "http" not in html
        assert "url(" not in html
        assert "@import" not in html

    def test_the_html_report_escapes_what_it_shows(self) -> None:
        """A theme with markup in it is shown, not run."""
        history = History(signals=HISTORY.signals[:1])
        rogue = type(HISTORY.signals[0])(
            occurred_at=T0 + HOUR, fingerprint="x", theme="<script>alert(1)</script>"
        )
        html = build_report(History(signals=(*history.signals, rogue)), WEEK).to_html()
        assert "<script>" not in html
        assert "&lt;script&gt;" in html

    def test_an_empty_report_still_renders_every_chart(self) -> None:
        """Charts say there is no data instead of disappearing."""
        html = build_report(History(), WEEK).to_html()
        assert html.count("<svg") == 3
        assert "no data in this period" in html


# --- end to end ------------------------------------------------------------------------------


class Inbox:
    """A notifier that keeps what it was sent."""

    name = "inbox"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)


RULES = RuleSet(
    Rule("errors", when=F.kind == "error", then=OpenTicket("local", reopen_within=DAY)),
    Rule("pages", when=F.labels["page"] == "yes", then=Escalate("pager")),
    Rule("alerts", when=F.kind == "alert", then=Drop()),
)


class Pager:
    name = "pager"

    async def escalate(self, message: Message, *, dedup_key: str, action: str = "trigger") -> None:
        pass


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def loop(inbox: Inbox) -> Iterator[FeedbackLoop]:
    with FeedbackLoop(
        RULES,
        trackers={"local": LocalTracker()},
        notifiers={"inbox": inbox},
        escalators={"pager": Pager()},
        store="sqlite://",
        clock=lambda: T0 + 7 * DAY,
    ) as running:
        yield running


def error(at: timedelta, title: str = "timeout after 3ms") -> Signal:
    return Signal(source="sentry", service="api", title=title, occurred_at=T0 + at)


def close(loop: FeedbackLoop, at: timedelta) -> None:
    key = loop.tickets()[-1].key
    assert key is not None
    loop.ingest(TicketChange(tracker="local", key=key, change="closed", occurred_at=T0 + at))


class TestThroughTheLoop:
    def test_mtta_and_mttr_come_from_the_incidents_ingested(self, loop: FeedbackLoop) -> None:
        """Two incidents, resolved in 30 and 90 minutes: median 60 min."""
        for n, minutes in enumerate((30, 90)):
            loop.ingest(
                Incident(
                    id=f"PD{n}",
                    title="down",
                    service="api",
                    status="resolved",
                    created_at=T0 + n * DAY,
                    acknowledged_at=T0 + n * DAY + 5 * MINUTE,
                    resolved_at=T0 + n * DAY + minutes * MINUTE,
                )
            )
        data = json.loads(loop.insights(since=T0).to_json())
        assert (data["incidents"], data["mttr"]["median"], data["mtta"]["median"]) == (2, 3600, 300)

    def test_a_regression_that_reopens_a_ticket_counts_as_recurrence(
        self, loop: FeedbackLoop
    ) -> None:
        """Closed, then seen again within reopen_within: the reopened problem recurred."""
        loop.ingest(error(HOUR))
        close(loop, 2 * HOUR)
        loop.ingest(error(3 * HOUR))
        assert loop.tickets()[0].status == "open"
        figures = loop.insights(since=T0).figures
        assert (figures.recurrence.recurring, figures.recurrence.rate) == (1, 1.0)

    def test_a_late_recurrence_with_a_new_ticket_counts_too(self, loop: FeedbackLoop) -> None:
        """After reopen_within a new ticket opens; the problem still recurred."""
        loop.ingest(error(HOUR))
        close(loop, 2 * HOUR)
        loop.ingest(error(3 * DAY))
        figures = loop.insights(since=T0).figures
        assert (figures.recurrence.recurring, figures.tickets.opened, figures.tickets.closed) == (
            1,
            2,
            1,
        )

    def test_dropped_alerts_are_noise_and_paged_ones_are_not(self, loop: FeedbackLoop) -> None:
        """One dropped alert, one paged alert: 50% noise."""
        loop.ingest(Signal(source="datadog", kind="alert", title="disk", occurred_at=T0 + HOUR))
        loop.ingest(
            Signal(
                source="datadog",
                kind="alert",
                title="cpu",
                labels={"page": "yes"},
                occurred_at=T0 + HOUR,
            )
        )
        assert loop.insights(since=T0).figures.noise.ratio == 0.5

    def test_a_report_can_be_scoped_to_a_team(self, loop: FeedbackLoop) -> None:
        """The team label selects incidents."""
        for team in ("payments", "search"):
            loop.ingest(Incident(id=team, title="x", created_at=T0 + HOUR, labels={"team": team}))
        assert loop.insights(since=T0, team="payments").figures.incidents.count == 1

    def test_since_may_be_a_duration_ending_now(self, loop: FeedbackLoop) -> None:
        """since=timedelta(days=7) covers the week up to the loop's clock."""
        assert loop.insights(since=7 * DAY).period == Period(T0, T0 + 7 * DAY)

    def test_the_digest_goes_to_a_notifier_as_markdown(
        self, loop: FeedbackLoop, inbox: Inbox
    ) -> None:
        """post_digest sends the Markdown digest through the named notifier."""
        loop.ingest(error(HOUR))
        posted = loop.post_digest("inbox", since=7 * DAY)
        [message] = inbox.messages
        assert message.title.startswith("Ops digest 2026-11-02")
        assert message.text == posted.report.to_markdown()

    def test_the_digest_as_an_issue_is_opened_once_per_period(self, loop: FeedbackLoop) -> None:
        """Posting the same period twice finds the first issue."""
        first = loop.post_digest("local", since=7 * DAY)
        second = loop.post_digest("local", since=7 * DAY)
        assert (first.created, second.created) == (True, False)
        assert first.ticket == second.ticket

    def test_the_digest_refuses_an_unknown_target(self, loop: FeedbackLoop) -> None:
        """A name that is no notifier or tracker is a configuration error naming them."""
        with pytest.raises(ConfigurationError, match="no notifier or tracker named 'slack'"):
            loop.post_digest("slack")
