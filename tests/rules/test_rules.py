"""Rules and rule sets: order, first match, continue_, thresholds, function rules, matching."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedbackloop import Signal
from feedbackloop.errors import RuleError
from feedbackloop.rules import (
    Action,
    Drop,
    F,
    Inhibition,
    InMemoryWindowCounts,
    Notify,
    OpenTicket,
    Outcome,
    Rule,
    RuleContext,
    RuleSet,
    Silence,
    Threshold,
)
from feedbackloop.testing import DEFAULT_TIME, SignalFactory, make_signal
from tests import strategies

JIRA = OpenTicket("jira", project="OPS")


class TestDefiningRules:
    def test_duplicate_names_are_rejected(self) -> None:
        """Two rules with one name would share counts and tickets."""
        with pytest.raises(RuleError, match="duplicate rule name 'a'"):
            RuleSet(Rule("a", then=Drop()), Rule("a", then=Drop()))

    def test_an_empty_then_points_at_drop(self) -> None:
        """A rule with no action is an error; Drop() says it on purpose."""
        with pytest.raises(RuleError, match=r"rule 'a': then is empty; .* use Drop\(\)"):
            Rule("a", then=[])

    def test_then_must_hold_actions(self) -> None:
        """A string where an action belongs is named in the error."""
        with pytest.raises(RuleError, match="'jira' is not an action"):
            Rule("a", then=["jira"])  # type: ignore[list-item]

    def test_two_tickets_from_one_rule_are_refused_naming_the_way_out(self) -> None:
        """One rule keeps one ticket per group: a second OpenTicket would never be filed."""
        with pytest.raises(RuleError, match=r"rule 'a': more than one OpenTicket.*continue_=True"):
            Rule("a", then=[JIRA, OpenTicket("github", repo="acme/api")])

    def test_a_field_as_when_asks_for_a_comparison(self) -> None:
        """`when=F.source` forgot the comparison."""
        with pytest.raises(RuleError, match="is a field, not a condition"):
            Rule("a", when=F.source, then=Drop())  # type: ignore[arg-type]

    def test_the_error_names_the_rule(self) -> None:
        """RuleError.rule says which rule is wrong."""
        with pytest.raises(RuleError) as caught:
            Rule("broken", then=Drop(), threshold=5)  # type: ignore[arg-type]
        assert caught.value.rule == "broken"

    def test_the_architecture_example_works_verbatim(self) -> None:
        """The example from the design document defines and evaluates."""
        rules = RuleSet(
            Rule(
                "prod-errors-to-jira",
                when=(F.source == "sentry")
                & (F.environment == "production")
                & (F.severity >= "high"),
                group_by=("fingerprint",),
                threshold=Threshold(count=5, within=timedelta(hours=1)),
                then=OpenTicket("jira", project="OPS", labels=["ops-feedback"]),
            ),
            Rule("noise", when=F.labels["team"].is_missing() & (F.severity <= "low"), then=Drop()),
        )

        @rules.rule(when=F.kind == "incident")
        def incidents(signal: Signal, ctx: RuleContext) -> Action:
            return OpenTicket(
                "github", repo="acme/postmortems", title=f"Postmortem: {signal.title}"
            )

        decision = rules.evaluate(make_signal(kind="incident", source="pagerduty", title="DB down"))
        assert decision.actions == (
            OpenTicket("github", repo="acme/postmortems", title="Postmortem: DB down"),
        )
        assert decision.rules == ("incidents",)
        assert "prod-errors-to-jira: no match: source == sentry: got pagerduty" in (
            decision.explain()
        )


class TestEvaluation:
    def test_the_first_matching_rule_wins(self) -> None:
        """Later rules are not tried after a match."""
        rules = RuleSet(
            Rule("a", when=F.source == "sentry", then=JIRA),
            Rule("b", when=F.source == "sentry", then=Drop()),
        )
        decision = rules.evaluate(make_signal())
        assert decision.actions == (JIRA,)
        assert decision.rules == ("a",)

    def test_continue_lets_later_rules_add_actions(self) -> None:
        """A rule with continue_=True plans its actions and evaluation goes on."""
        slack = Notify("slack", channel="#ops")
        rules = RuleSet(
            Rule("notify", when=F.severity >= "high", then=slack, continue_=True),
            Rule("ticket", then=JIRA),
        )
        assert rules.evaluate(make_signal()).actions == (slack, JIRA)

    def test_no_match_plans_nothing(self) -> None:
        """A signal no rule matches gets an empty decision."""
        decision = RuleSet(Rule("a", when=F.source == "datadog", then=JIRA)).evaluate(make_signal())
        assert decision.actions == ()
        assert decision.group_key is None

    def test_the_group_key_is_a_stable_string_of_the_group_by_fields(self) -> None:
        """group_by fields, labels included, render as name=value joined by |."""
        rules = RuleSet(Rule("a", group_by=("service", F.labels["team"]), then=JIRA))
        decision = rules.evaluate(make_signal(labels={"team": "pay|ments"}))
        assert decision.group_key == "service=checkout|labels.team=pay%7Cments"

    def test_the_default_group_is_the_fingerprint(self) -> None:
        """Without group_by, signals group by fingerprint."""
        signal = make_signal()
        decision = RuleSet(Rule("a", then=JIRA)).evaluate(signal)
        assert decision.group_key == f"fingerprint={signal.fingerprint}"

    def test_a_naive_now_is_rejected(self) -> None:
        """`now` must be timezone-aware."""
        with pytest.raises(RuleError, match="naive"):
            RuleSet(Rule("a", then=JIRA)).evaluate(make_signal(), now=datetime(2026, 1, 1))


class TestFunctionRules:
    def test_a_function_may_return_several_actions(self) -> None:
        """An iterable of actions is planned in order."""
        rules = RuleSet()

        @rules.rule(when=F.severity >= "critical")
        def page_and_ticket(signal: Signal, ctx: RuleContext) -> Iterable[Action]:
            yield Notify("slack")
            yield JIRA

        assert rules.evaluate(make_signal(severity="critical")).actions == (Notify("slack"), JIRA)
        assert rules.evaluate(make_signal(severity="critical")).rules == ("page_and_ticket",)

    def test_a_function_returning_none_plans_nothing_but_still_matches(self) -> None:
        """None means no actions; the rule still stops evaluation."""
        rules = RuleSet()
        rules.rule(name="quiet")(lambda signal, ctx: None)
        rules.add(Rule("later", then=JIRA))
        decision = rules.evaluate(make_signal())
        assert decision.actions == ()
        assert decision.rules == ("quiet",)

    def test_the_context_carries_group_key_count_and_now(self) -> None:
        """ctx exposes the group key, the threshold count and the evaluation time."""
        seen: list[RuleContext] = []
        rules = RuleSet()

        @rules.rule(group_by=("service",), threshold=Threshold(1, timedelta(hours=1)))
        def spy(signal: Signal, ctx: RuleContext) -> None:
            seen.append(ctx)

        rules.evaluate(make_signal())
        assert (seen[0].rule, seen[0].group_key, seen[0].count, seen[0].now) == (
            "spy",
            "service=checkout",
            1,
            DEFAULT_TIME,
        )

    def test_a_function_returning_something_else_is_a_rule_error(self) -> None:
        """Returning a non-action names the rule and the value."""
        rules = RuleSet()
        rules.rule(name="oops")(lambda signal, ctx: "jira")
        with pytest.raises(RuleError, match="rule 'oops' returned 'jira'"):
            rules.evaluate(make_signal())

    def test_a_function_returning_two_tickets_keeps_the_first_and_says_so(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Refusing would fail every signal it matches in production: one ticket a group."""
        rules = RuleSet()
        rules.rule(name="both")(
            lambda signal, ctx: [JIRA, Notify("slack"), OpenTicket("github", repo="acme/api")]
        )
        assert rules.evaluate(make_signal()).actions == (JIRA, Notify("slack"))
        assert "rule.second_open_ticket_dropped" in caplog.text

    def test_the_decorator_returns_the_function_unchanged(self) -> None:
        """The decorated function can still be called directly in tests."""
        rules = RuleSet()

        def route(signal: Signal, ctx: RuleContext) -> Action:
            return JIRA

        assert rules.rule()(route) is route


class TestThresholds:
    def test_a_match_below_the_threshold_holds_the_signal(self) -> None:
        """Evaluation stops at a held rule, and nothing is planned."""
        rules = RuleSet(
            Rule("ticket", threshold=Threshold(3, timedelta(hours=1)), then=JIRA),
            Rule("fallback", then=Drop()),
        )
        decision = rules.evaluate(make_signal())
        assert decision.actions == ()
        assert decision.held
        assert decision.matches[0].outcome is Outcome.HELD
        assert decision.matches[0].count == 1

    def test_only_matching_rules_record_occurrences(self) -> None:
        """A rule whose predicate fails does not count the signal."""
        counts = InMemoryWindowCounts()
        rules = RuleSet(
            Rule(
                "datadog",
                when=F.source == "datadog",
                threshold=Threshold(2, timedelta(hours=1)),
                then=JIRA,
            ),
            Rule("rest", then=Drop()),
        )
        signal = make_signal()
        rules.evaluate(signal, counts=counts)
        assert (
            counts.count(
                "datadog", f"fingerprint={signal.fingerprint}", DEFAULT_TIME, timedelta(hours=1)
            )
            == 0
        )

    @given(
        count=st.integers(min_value=1, max_value=6),
        gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=25),
    )
    def test_the_nth_occurrence_in_the_window_fires(self, count: int, gaps: list[int]) -> None:
        """A rule fires exactly when `count` occurrences lie within the last 30 minutes."""
        within = timedelta(minutes=30)
        rules = RuleSet(Rule("r", threshold=Threshold(count, within), then=JIRA))
        factory = SignalFactory(step=timedelta(0))
        seen: list[datetime] = []
        for gap in gaps:
            now = factory.advance(timedelta(minutes=gap))
            seen.append(now)
            in_window = sum(1 for t in seen if now - within < t <= now)
            decision = rules.evaluate(factory())
            assert decision.fired == (in_window >= count)
            assert decision.matches[0].count == in_window


def routing_rules() -> RuleSet:
    """Thresholds, continue_, group_by, a function rule, a silence and an inhibition."""
    rules = RuleSet(
        Rule(
            "page",
            when=F.severity >= "critical",
            group_by=("service",),
            then=Notify("pager"),
            continue_=True,
        ),
        Rule(
            "storm",
            when=F.source == "sentry",
            group_by=(F.labels["team"],),
            threshold=Threshold(2, timedelta(minutes=10)),
            then=Notify("slack", channel="#storms"),
            continue_=True,
        ),
        Rule(
            "noise",
            when=(F.severity < "medium") & F.labels["team"].is_missing(),
            then=Drop("noise"),
        ),
        Rule(
            "ticket",
            when=(F.kind == "error") | (F.environment == "production"),
            group_by=("service",),
            threshold=Threshold(3, timedelta(minutes=5)),
            then=JIRA,
        ),
        silences=[
            Silence(
                F.service == "auth",
                starts_at=DEFAULT_TIME,
                ends_at=DEFAULT_TIME + timedelta(minutes=30),
            )
        ],
        inhibitions=[
            Inhibition(source=F.kind == "incident", target=F.kind == "alert", equal=("service",))
        ],
    )

    @rules.rule(group_by=("environment",), threshold=Threshold(2, timedelta(minutes=20)))
    def rest(signal: Signal, ctx: RuleContext) -> Action | None:
        return Notify("slack", channel=f"#count-{ctx.count}") if ctx.count == 2 else None

    return rules


class TestMatching:
    def test_it_lists_the_matching_rules_in_order_with_their_group_keys(self) -> None:
        """Each rule whose predicate matches comes with the signal's key under its group_by."""
        signal = make_signal(severity="critical", labels={"team": "payments"})
        found = routing_rules().matching(signal)
        assert [(rule.name, key) for rule, key in found] == [
            ("page", "service=checkout"),
            ("storm", "labels.team=payments"),
            ("ticket", "service=checkout"),
        ]

    def test_rules_whose_predicate_fails_are_left_out(self) -> None:
        """Only the rules whose predicate holds are listed."""
        signal = make_signal(source="datadog", kind="alert", environment="staging")
        found = routing_rules().matching(signal)
        assert [rule.name for rule, _ in found] == ["rest"]

    def test_it_stops_at_the_first_match_without_continue(self) -> None:
        """Rules after a match that does not continue_ are not listed, though they match."""
        found = routing_rules().matching(make_signal(severity="low"))
        assert [rule.name for rule, _ in found] == ["storm", "noise"]

    def test_it_goes_on_past_matches_with_continue(self) -> None:
        """After a continue_=True match the later rules are tried, up to the next match."""
        rules = RuleSet(
            Rule("a", then=JIRA, continue_=True),
            Rule("b", when=F.source == "datadog", then=JIRA),
            Rule("c", then=JIRA),
            Rule("d", then=JIRA),
        )
        assert [rule.name for rule, _ in rules.matching(make_signal())] == ["a", "c"]

    def test_no_match_is_an_empty_list(self) -> None:
        """A signal no rule matches gets no rules."""
        rules = RuleSet(Rule("a", when=F.source == "datadog", then=JIRA))
        assert rules.matching(make_signal()) == []

    def test_it_records_no_occurrences(self) -> None:
        """Asking several times leaves the window counts as they were."""
        rules = RuleSet(Rule("ticket", threshold=Threshold(3, timedelta(hours=1)), then=JIRA))
        signal = make_signal()
        for _ in range(3):
            rules.matching(signal)
        assert rules.evaluate(signal).matches[0].count == 1

    def test_it_does_not_make_the_signal_active_for_inhibitions(self) -> None:
        """Only evaluated signals can inhibit others, not ones merely matched."""
        rules = routing_rules()
        rules.matching(make_signal(kind="incident", title="down"))
        decision = rules.evaluate(make_signal(kind="alert", severity="critical"))
        assert decision.matches[0].outcome is Outcome.FIRED

    def test_evaluate_applies_the_matching_it_is_given(self) -> None:
        """evaluate(matching=...) trusts the list instead of trying the rules again."""
        rules = RuleSet(Rule("a", then=JIRA))
        decision = rules.evaluate(make_signal(), matching=[])
        assert (decision.actions, decision.matches) == ((), ())

    @given(
        signals=st.lists(
            st.tuples(strategies.rule_signals, st.integers(min_value=0, max_value=300)),
            max_size=30,
        ),
    )
    def test_evaluate_with_its_matching_decides_as_evaluate_alone(
        self, signals: list[tuple[Signal, int]]
    ) -> None:
        """Passing `matching(signal)` changes no action, match, count or outcome."""
        alone, given_matching = routing_rules(), routing_rules()
        for signal, seconds in signals:
            signal = signal.model_copy(
                update={"occurred_at": DEFAULT_TIME + timedelta(seconds=seconds)}
            )
            expected = alone.evaluate(signal)
            decision = given_matching.evaluate(signal, matching=given_matching.matching(signal))
            assert decision == expected
            assert decision.explain() == expected.explain()
