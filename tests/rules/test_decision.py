"""Decisions and their explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedbackloop.rules import (
    Drop,
    Escalate,
    F,
    Inhibition,
    Notify,
    OpenTicket,
    Rule,
    RuleSet,
    Silence,
    Threshold,
    TimeWindow,
)
from feedbackloop.testing import DEFAULT_TIME, SignalFactory, make_signal


def realistic_rules() -> RuleSet:
    return RuleSet(
        Rule(
            "page-on-critical",
            when=(F.severity >= "critical") & (F.environment == "production"),
            then=Escalate(),
            continue_=True,
        ),
        Rule(
            "prod-errors-to-jira",
            when=(F.source == "sentry") & (F.environment == "production") & (F.severity >= "high"),
            group_by=("fingerprint",),
            threshold=Threshold(count=5, within=timedelta(hours=1)),
            then=OpenTicket("jira", project="OPS", labels=["ops-feedback"]),
        ),
        Rule(
            "payments-alerts",
            when=(F.source == "datadog") & (F.labels["team"] == "payments"),
            group_by=("service",),
            then=Notify("slack", channel="#payments"),
            active_during=TimeWindow(weekdays="mon-fri", hours=("09:00", "17:00")),
        ),
        Rule("noise", when=F.labels["team"].is_missing() & (F.severity <= "low"), then=Drop()),
    )


class TestExplain:
    def test_the_explanation_of_a_held_signal_is_pinned(self) -> None:
        """Every rule gets a line: the failing leaf, threshold progress, or not tried."""
        rules = realistic_rules()
        factory = SignalFactory(
            title="TimeoutError: upstream timed out after 3000ms", fingerprint="f00d"
        )
        for _ in range(2):
            rules.evaluate(factory())
        decision = rules.evaluate(factory())
        assert decision.explain() == (
            "signal: sentry error 'TimeoutError: upstream timed out after 3000ms' "
            "(service=checkout, environment=production, severity=high, fingerprint=f00d)\n"
            "1. page-on-critical: no match: severity >= critical: got high\n"
            "2. prod-errors-to-jira: matched, group fingerprint=f00d: "
            "threshold 3/5 within 1h: held\n"
            "3. payments-alerts: not tried (stopped at prod-errors-to-jira)\n"
            "4. noise: not tried (stopped at prod-errors-to-jira)\n"
            "decision: no actions (held by rule prod-errors-to-jira)"
        )

    def test_the_explanation_of_a_fired_rule_is_pinned(self) -> None:
        """Rules skipped by the index still explain their failing leaf."""
        rules = realistic_rules()
        signal = make_signal(
            source="datadog",
            kind="alert",
            title="p99 latency above 2s",
            fingerprint="beef",
            labels={"team": "payments"},
            severity="critical",
        )
        assert rules.evaluate(signal).explain() == (
            "signal: datadog alert 'p99 latency above 2s' (service=checkout, "
            "environment=production, severity=critical, fingerprint=beef, "
            "labels['team']=payments)\n"
            "1. page-on-critical: matched, group fingerprint=beef -> "
            "Escalate(escalator='pagerduty', severity=None)\n"
            "2. prod-errors-to-jira: no match: source == sentry: got datadog\n"
            "3. payments-alerts: matched, group service=checkout -> "
            "Notify(notifier='slack', text=None, channel='#payments')\n"
            "4. noise: not tried (stopped at payments-alerts)\n"
            "decision: Escalate(escalator='pagerduty', severity=None), "
            "Notify(notifier='slack', text=None, channel='#payments')"
        )

    def test_a_window_mute_is_explained(self) -> None:
        """A rule outside its active window says so."""
        rules = realistic_rules()
        saturday = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
        signal = make_signal(source="datadog", labels={"team": "payments"}, occurred_at=saturday)
        decision = rules.evaluate(signal)
        assert decision.actions == ()
        assert "3. payments-alerts: matched, group service=checkout: muted by outside active " in (
            decision.explain()
        )

    def test_no_match_at_all_says_so(self) -> None:
        """The verdict of an unmatched signal reads `no rule matched`."""
        decision = realistic_rules().evaluate(make_signal(severity="medium", labels={"team": "x"}))
        assert decision.explain().endswith("decision: no rule matched: no actions")


class TestDecision:
    def test_decisions_compare_by_outcome_not_by_rule_set(self) -> None:
        """Two rule sets deciding the same thing give equal decisions."""
        signal = make_signal()
        a = RuleSet(Rule("a", then=Drop())).evaluate(signal)
        b = RuleSet(Rule("a", then=Drop())).evaluate(signal)
        assert a == b

    def test_dropped_and_fired(self) -> None:
        """A Drop makes the decision dropped; it still fired."""
        decision = RuleSet(Rule("a", then=Drop("noise"))).evaluate(make_signal())
        assert decision.dropped
        assert decision.fired
        assert not decision.held

    def test_silenced_and_inhibited_are_reported(self) -> None:
        """Silences and inhibitions appear in the matches with their reason."""
        silence = Silence(
            F.service == "checkout",
            starts_at=DEFAULT_TIME - timedelta(hours=1),
            ends_at=DEFAULT_TIME + timedelta(hours=1),
            name="checkout migration",
        )
        rules = RuleSet(Rule("a", then=Drop()), silences=[silence])
        match = rules.evaluate(make_signal()).matches[0]
        assert (match.outcome, match.reason) == ("silenced", "silence checkout migration")
        inhibition = Inhibition(source=F.kind == "incident", target=F.kind == "error")
        rules = RuleSet(Rule("a", then=Drop()), inhibitions=[inhibition])
        rules.evaluate(make_signal(kind="incident", title="Checkout down"))
        text = rules.evaluate(make_signal()).explain()
        assert "inhibited by inhibition kind == incident (active: sentry 'Checkout down')" in text
