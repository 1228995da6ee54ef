"""Predicates: operators, composition, reprs, explanations and definition-time errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given

from feedbackloop.errors import FeedbackLoopError, RuleError
from feedbackloop.rules import All, Any, F, Not, Predicate
from feedbackloop.testing import make_signal
from tests import strategies


class TestComparisons:
    def test_equality_on_a_field(self) -> None:
        """`F.source == "sentry"` matches Sentry signals only."""
        assert (F.source == "sentry")(make_signal(source="sentry"))
        assert not (F.source == "sentry")(make_signal(source="datadog"))

    def test_severity_ordering_follows_the_scale_not_the_alphabet(self) -> None:
        """`>=` on severity ranks critical above high above medium."""
        rule = F.severity >= "high"
        assert rule(make_signal(severity="critical"))
        assert rule(make_signal(severity="high"))
        assert not rule(make_signal(severity="medium"))
        assert (F.severity < "medium")(make_signal(severity="low"))

    def test_labels_are_addressed_by_key(self) -> None:
        """`F.labels["team"]` reads one label."""
        assert (F.labels["team"] == "payments")(make_signal(labels={"team": "payments"}))
        assert not (F.labels["team"] == "payments")(make_signal())

    def test_a_literal_on_the_left_works_too(self) -> None:
        """`"sentry" == F.source` builds the same predicate as `F.source == "sentry"`."""
        assert ("sentry" == F.source) == (F.source == "sentry")  # noqa: SIM300

    def test_a_missing_value_satisfies_only_not_equal(self) -> None:
        """A signal without a service is not equal to any service."""
        signal = make_signal(service=None)
        assert not (F.service == "checkout")(signal)
        assert (F.service != "checkout")(signal)

    def test_occurred_at_compares_with_aware_datetimes(self) -> None:
        """Time comparisons work on occurred_at."""
        cutoff = datetime(2026, 1, 1, tzinfo=UTC)
        assert (F.occurred_at > cutoff)(make_signal())

    def test_in_matches_any_of_the_values(self) -> None:
        """`.in_()` is membership in a set of values."""
        rule = F.service.in_(["checkout", "search"])
        assert rule(make_signal(service="search"))
        assert not rule(make_signal(service="auth"))

    def test_text_methods(self) -> None:
        """matches (anywhere), contains and startswith test text fields."""
        signal = make_signal(title="TimeoutError: upstream timed out after 3000ms")
        assert F.title.matches(r"after \d+ms")(signal)
        assert F.title.contains("upstream")(signal)
        assert F.title.startswith("Timeout")(signal)
        assert not F.title.matches(r"^upstream")(signal)

    def test_is_missing_on_optional_fields_and_labels(self) -> None:
        """is_missing is true for an absent environment or label."""
        assert F.environment.is_missing()(make_signal(environment=None))
        assert F.labels["team"].is_missing()(make_signal())
        assert not F.labels["team"].is_missing()(make_signal(labels={"team": "core"}))

    def test_a_plain_callable_combines_with_predicates(self) -> None:
        """A `Signal -> bool` function can be combined on either side."""

        def is_checkout(signal: object) -> bool:
            return getattr(signal, "service", None) == "checkout"

        assert (is_checkout & (F.source == "sentry"))(make_signal())
        assert ((F.source == "x") | is_checkout)(make_signal())


class TestComposition:
    def test_and_flattens_nested_alls(self) -> None:
        """(a & b) & c is one All with three children."""
        a, b, c = F.source == "a", F.service == "b", F.kind == "alert"
        combined = (a & b) & c
        assert isinstance(combined, All)
        assert combined.children == (a, b, c)

    def test_double_negation_gives_back_the_predicate(self) -> None:
        """~~p is p itself, not a nested negation."""
        p = F.source == "sentry"
        assert ~~p == p

    def test_predicates_are_immutable(self) -> None:
        """Assigning to a predicate's attribute fails."""
        p = F.source == "sentry"
        with pytest.raises(AttributeError):
            p.value = "datadog"  # type: ignore[attr-defined]

    def test_bool_of_a_predicate_raises_with_advice(self) -> None:
        """`a and b` would silently drop a side, so it is a TypeError naming & and |."""
        with pytest.raises(TypeError, match=r"combine predicates with & \(and\), \| \(or\)"):
            bool(F.source == "sentry")

    def test_repr_prints_the_rule_back(self) -> None:
        """The repr is Python that builds the same predicate."""
        p = ((F.source == "sentry") & (F.severity >= "high")) | ~F.labels["team"].is_missing()
        text = repr(p)
        assert text == (
            "((F.source == 'sentry') & (F.severity >= 'high')) | ~F.labels['team'].is_missing()"
        )
        assert eval(text, {"F": F}) == p

    def test_not_of_a_comparison_is_parenthesised(self) -> None:
        """`~(F.a == 'x')` keeps its parentheses so it reads back correctly."""
        assert repr(~(F.source == "x")) == "~(F.source == 'x')"

    @given(strategies.rule_predicates(), strategies.rule_signals)
    def test_double_negation_agrees_with_the_predicate(self, p: Predicate, signal: object) -> None:
        """~~p and p give the same result on every signal."""
        assert (~~p)(signal) == p(signal)  # type: ignore[arg-type]

    @given(strategies.rule_predicates(), strategies.rule_predicates(), strategies.rule_signals)
    def test_de_morgan(self, p: Predicate, q: Predicate, signal: object) -> None:
        """~(p & q) == ~p | ~q and ~(p | q) == ~p & ~q."""
        assert (~(p & q))(signal) == (~p | ~q)(signal)  # type: ignore[arg-type]
        assert (~(p | q))(signal) == (~p & ~q)(signal)  # type: ignore[arg-type]

    @given(
        strategies.rule_predicates(),
        strategies.rule_predicates(),
        strategies.rule_predicates(),
        strategies.rule_signals,
    )
    def test_and_or_are_associative_and_commutative(
        self, p: Predicate, q: Predicate, r: Predicate, signal: object
    ) -> None:
        """Regrouping or reordering & and | never changes the result."""
        s = signal
        assert ((p & q) & r)(s) == (p & (q & r))(s)  # type: ignore[arg-type]
        assert ((p | q) | r)(s) == (p | (q | r))(s)  # type: ignore[arg-type]
        assert (p & q)(s) == (q & p)(s)  # type: ignore[arg-type]
        assert (p | q)(s) == (q | p)(s)  # type: ignore[arg-type]

    @given(strategies.rule_predicates(), strategies.rule_signals)
    def test_explain_is_none_exactly_when_the_predicate_matches(
        self, p: Predicate, signal: object
    ) -> None:
        """An explanation exists for every miss and never for a match."""
        assert (p.explain(signal) is None) == p(signal)  # type: ignore[arg-type]


class TestExplanations:
    def test_a_failing_leaf_names_the_actual_value(self) -> None:
        """The explanation reads `severity >= high: got medium`."""
        p = (F.source == "sentry") & (F.severity >= "high")
        assert p.explain(make_signal(severity="medium")) == "severity >= high: got medium"

    def test_a_missing_value_is_called_missing(self) -> None:
        """An absent field shows as `got missing`."""
        assert (F.service == "checkout").explain(make_signal(service=None)) == (
            "service == checkout: got missing"
        )

    def test_any_lists_every_failed_alternative(self) -> None:
        """When no branch of `|` matches, each failing leaf is listed."""
        p = (F.source == "datadog") | (F.kind == "alert")
        assert p.explain(make_signal()) == (
            "none matched: source == datadog: got sentry; kind == alert: got error"
        )

    def test_a_failed_negation_shows_what_matched(self) -> None:
        """`~(F.source == 'sentry')` on a Sentry signal explains with the value."""
        assert (~(F.source == "sentry")).explain(make_signal()) == (
            "not (source == sentry): got sentry"
        )


class TestBadPredicates:
    def test_an_unknown_field_lists_the_valid_ones(self) -> None:
        """A typo fails at definition time and lists the fields there are."""
        with pytest.raises(RuleError, match=r"unknown signal field 'sevrity'; valid fields: .*"):
            F.sevrity  # noqa: B018

    def test_an_unknown_group_by_field_fails_too(self) -> None:
        """Field paths like 'labels.team' are checked; 'lables.team' is not a field."""
        from feedbackloop.rules import Drop, Rule

        with pytest.raises(RuleError, match=r"unknown signal field 'lables\.team'"):
            Rule("r", then=Drop(), group_by=("lables.team",))

    def test_an_unknown_severity_name(self) -> None:
        """Comparing severity with a name that is not on the scale fails."""
        with pytest.raises(RuleError, match="unknown severity 'hihg'"):
            F.severity >= "hihg"  # noqa: B015

    def test_an_unknown_kind(self) -> None:
        """Kinds are checked against the enum."""
        with pytest.raises(RuleError, match="kind compared with 'incidnet'; expected one of"):
            F.kind == "incidnet"  # noqa: B015

    def test_a_regex_that_does_not_compile(self) -> None:
        """A broken regular expression fails when the predicate is built."""
        with pytest.raises(RuleError, match=re.escape("title.matches('(unclosed')")):
            F.title.matches("(unclosed")

    def test_a_non_string_operand_for_a_text_field(self) -> None:
        """Comparing a text field with a number is a type error at definition."""
        with pytest.raises(RuleError, match="service is text, compare it with a str"):
            F.service == 3  # noqa: B015

    def test_comparing_with_none_suggests_is_missing(self) -> None:
        """`== None` points at is_missing()."""
        with pytest.raises(RuleError, match=r"use F.service.is_missing\(\)"):
            F.service == None  # noqa: B015, E711

    def test_ordering_a_text_field(self) -> None:
        """`<` on a text field is rejected: only severity and occurred_at are ordered."""
        with pytest.raises(RuleError, match="only severity and occurred_at"):
            F.service < "m"  # noqa: B015

    def test_is_missing_on_a_required_field(self) -> None:
        """A field that is always present cannot be missing."""
        with pytest.raises(RuleError, match="source is always present"):
            F.source.is_missing()

    def test_an_empty_all_or_any(self) -> None:
        """An empty combination is an error, not a silent match-all or match-none."""
        with pytest.raises(RuleError, match=r"All\(\) needs at least one predicate"):
            All()
        with pytest.raises(RuleError, match=r"Any\(\) needs at least one predicate"):
            Any()

    def test_an_empty_in(self) -> None:
        """`.in_([])` can never match and is rejected."""
        with pytest.raises(RuleError, match="needs at least one value"):
            F.source.in_([])

    def test_a_naive_datetime_operand(self) -> None:
        """occurred_at compares only with aware datetimes."""
        with pytest.raises(RuleError, match="naive datetime"):
            F.occurred_at > datetime(2026, 1, 1)  # noqa: B015

    def test_rule_errors_are_feedbackloop_errors(self) -> None:
        """Callers can catch every definition problem as FeedbackLoopError."""
        with pytest.raises(FeedbackLoopError):
            Not(42)  # type: ignore[arg-type]
