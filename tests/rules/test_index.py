"""The rule index: fewer rules tried, the same decisions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from feedbackloop import Signal
from feedbackloop.rules import Drop, F, Notify, OpenTicket, Predicate, Rule, RuleSet
from feedbackloop.rules._index import RuleIndex, requirements
from feedbackloop.testing import make_signal
from tests import strategies

_ACTIONS = [OpenTicket("jira", project="OPS"), Notify("slack"), Drop("noise")]


@st.composite
def rule_lists(draw: st.DrawFn) -> list[Rule]:
    predicates = draw(st.lists(strategies.rule_predicates(), min_size=1, max_size=8))
    return [
        Rule(
            f"rule-{position}",
            when=predicate,
            then=draw(st.sampled_from(_ACTIONS)),
            continue_=draw(st.booleans()),
        )
        for position, predicate in enumerate(predicates)
    ]


class TestRequirements:
    def test_equality_inside_and_is_a_requirement(self) -> None:
        """`(F.source == "sentry") & ...` requires source sentry."""
        p = (F.source == "sentry") & (F.severity >= "high")
        assert requirements(p) == {"source": frozenset({"sentry"})}

    def test_every_branch_of_or_must_require_the_field(self) -> None:
        """`a | b` requires a field only when both branches do, with both values."""
        assert requirements((F.source == "a") | (F.source.in_(["b"]))) == {
            "source": frozenset({"a", "b"})
        }
        assert requirements((F.source == "a") | (F.severity >= "high")) == {}

    def test_negations_and_inequalities_require_nothing(self) -> None:
        """`!=` and `~` do not narrow the candidates."""
        assert requirements(~(F.source == "a")) == {}
        assert requirements(F.source != "a") == {}


class TestIndex:
    def test_rules_for_other_services_are_not_tried(self) -> None:
        """Only the rules whose required service is the signal's are candidates."""
        rules = [Rule(f"r{i}", when=F.service == f"svc-{i}", then=Drop()) for i in range(100)]
        rules.append(Rule("catch-all", then=Drop()))
        index = RuleIndex(rules)
        names = [rule.name for rule in index.candidates(make_signal(service="svc-42"))]
        assert names == ["r42", "catch-all"]

    def test_candidates_keep_the_rule_order(self) -> None:
        """Bucketed and unbucketed rules interleave in their original order."""
        rules = [
            Rule("a", then=Drop()),
            Rule("b", when=F.source == "sentry", then=Drop()),
            Rule("c", when=F.severity >= "high", then=Drop()),
            Rule("d", when=F.service == "checkout", then=Drop()),
        ]
        names = [rule.name for rule in RuleIndex(rules).candidates(make_signal())]
        assert names == ["a", "b", "c", "d"]

    @given(rule_lists(), st.lists(strategies.rule_signals, min_size=1, max_size=5))
    def test_indexed_and_unindexed_evaluation_agree(
        self, rules: list[Rule], signals: list[Signal]
    ) -> None:
        """The index never changes a decision."""
        indexed, plain = RuleSet(*rules), RuleSet(*rules, index=False)
        for signal in signals:
            assert indexed.evaluate(signal) == plain.evaluate(signal)

    @given(strategies.rule_predicates(), strategies.rule_signals)
    def test_a_signal_failing_a_requirement_never_matches(
        self, predicate: Predicate, signal: Signal
    ) -> None:
        """Requirements are necessary conditions of the predicate."""
        needs = requirements(predicate)
        if any(getattr(signal, path) not in allowed for path, allowed in needs.items()):
            assert not predicate(signal)
