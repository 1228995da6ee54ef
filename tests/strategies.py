"""Hypothesis strategies for every model, shared by the whole test suite."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from feedbackloop import (
    ActionItem,
    ActionItemStatus,
    Incident,
    IncidentStatus,
    Learning,
    Severity,
    Signal,
    SignalKind,
    SignalStatus,
    TicketChange,
    TicketChangeKind,
    TicketRef,
    TicketStatus,
    TimelineEntry,
)

__all__ = [
    "action_items",
    "aware_datetimes",
    "incidents",
    "learnings",
    "models",
    "mutated_json",
    "severities",
    "signals",
    "ticket_changes",
    "ticket_refs",
]

text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.strip() != "")
"""Non-empty text without surrounding whitespace (the model strips it)."""

optional_text = st.none() | text
severities = st.sampled_from(Severity)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=offsets
)
labels = st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=4)

signals = st.builds(
    Signal,
    source=text,
    kind=st.sampled_from(SignalKind),
    title=text,
    service=optional_text,
    environment=optional_text,
    severity=severities,
    fingerprint=st.none() | text,
    occurred_at=aware_datetimes,
    labels=labels,
    url=optional_text,
    status=st.sampled_from(SignalStatus),
    external_id=optional_text,
)

timeline_entries = st.builds(
    TimelineEntry, at=aware_datetimes, kind=text, message=st.text(max_size=40), actor=optional_text
)


@st.composite
def incidents(draw: st.DrawFn) -> Incident:
    """Incidents whose timestamps are consistent (created <= acknowledged <= resolved)."""
    created = draw(aware_datetimes)
    ack_after = draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
    resolve_after = draw(
        st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
    )
    acknowledged = None if ack_after is None else created + ack_after
    resolved = None
    if resolve_after is not None:
        resolved = (acknowledged or created) + resolve_after
    return Incident(
        id=draw(text),
        title=draw(text),
        severity=draw(severities),
        status=draw(st.sampled_from(IncidentStatus)),
        service=draw(optional_text),
        source=draw(optional_text),
        url=draw(optional_text),
        created_at=created,
        acknowledged_at=acknowledged,
        resolved_at=resolved,
        timeline=tuple(draw(st.lists(timeline_entries, max_size=3))),
        labels=draw(labels),
    )


ticket_refs = st.builds(
    TicketRef,
    tracker=text,
    key=text,
    url=optional_text,
    status=st.sampled_from(TicketStatus),
)
ticket_changes = st.builds(
    TicketChange,
    tracker=text,
    key=text,
    change=st.sampled_from(TicketChangeKind),
    occurred_at=aware_datetimes,
    url=optional_text,
    resolution=optional_text,
    actor=optional_text,
    comment=st.none() | st.text(max_size=40),
)
action_items = st.builds(
    ActionItem,
    title=text,
    description=st.text(max_size=40),
    owner=optional_text,
    due=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    priority=severities,
    origin=st.lists(text, max_size=3).map(tuple),
    ticket=st.none() | ticket_refs,
    status=st.sampled_from(ActionItemStatus),
)
learnings = st.builds(
    Learning,
    incident_ids=st.lists(text, max_size=3).map(tuple),
    summary=text,
    contributing_factors=st.lists(st.text(max_size=30), max_size=3).map(tuple),
    themes=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    action_items=st.lists(action_items, max_size=3).map(tuple),
    recorded_at=st.none() | aware_datetimes,
)

models = st.one_of(signals, incidents(), ticket_refs, ticket_changes, action_items, learnings)
"""Any model instance."""


# --- rules: signals and predicates over small vocabularies, so that rules match often ---

rule_sources = st.sampled_from(["sentry", "datadog", "pagerduty"])
rule_services = st.sampled_from(["checkout", "search", "auth"])
rule_environments = st.sampled_from(["production", "staging"])
rule_teams = st.sampled_from(["payments", "core"])

rule_signals = st.builds(
    Signal,
    source=rule_sources,
    kind=st.sampled_from([SignalKind.ERROR, SignalKind.ALERT, SignalKind.INCIDENT]),
    title=st.sampled_from(["Timeout after 300ms", "disk full", "OOM killed"]),
    service=st.none() | rule_services,
    environment=st.none() | rule_environments,
    severity=severities,
    occurred_at=st.just(datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(0)))),
    labels=st.dictionaries(st.just("team"), rule_teams, max_size=1),
)
"""Signals drawn from the same few values that `rule_predicates` test for."""


def _rule_leaves() -> st.SearchStrategy[Any]:
    from feedbackloop.rules import F

    return st.one_of(
        rule_sources.map(lambda v: F.source == v),
        rule_services.map(lambda v: F.service == v),
        rule_services.map(lambda v: F.service != v),
        rule_environments.map(lambda v: F.environment == v),
        st.sampled_from(["error", "alert", "incident"]).map(lambda v: F.kind == v),
        st.lists(rule_sources, min_size=1, max_size=2).map(lambda vs: F.source.in_(vs)),
        st.lists(rule_services, min_size=1, max_size=2).map(lambda vs: F.service.in_(vs)),
        severities.map(lambda v: F.severity >= v),
        severities.map(lambda v: F.severity < v),
        rule_teams.map(lambda v: F.labels["team"] == v),
        st.just(F.labels["team"].is_missing()),
        st.just(F.environment.is_missing()),
        st.just(F.title.matches(r"\d+ms")),
        st.just(F.title.contains("disk")),
        st.just(F.title.startswith("OOM")),
    )


def rule_predicates() -> st.SearchStrategy[Any]:
    """Predicate trees over `rule_signals`' vocabulary, built with &, | and ~."""
    return st.recursive(
        _rule_leaves(),
        lambda children: st.one_of(
            st.tuples(children, children).map(lambda pair: pair[0] & pair[1]),
            st.tuples(children, children).map(lambda pair: pair[0] | pair[1]),
            children.map(lambda p: ~p),
        ),
        max_leaves=6,
    )


# --- mutated vendor payloads (for fuzzing parsers) ---------------------------------------

_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x80), min_size=1, max_size=30),
    st.sampled_from(["x" * 25_000, "\ud800", "\u202e\u0000", "", "  ", "P9", "2024-99-99"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
"""Values of every JSON type, and nasty ones: huge, unicode, lone surrogates, blanks."""


def _json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    paths = []
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(_json_paths(child, (*prefix, key)))
    return paths


def _mutate(document: Any, mutations: list[tuple[tuple[Any, ...], bool, Any]]) -> Any:
    result = copy.deepcopy(document)
    for path, remove, value in mutations:
        parent = result
        for key in path[:-1]:
            try:
                parent = parent[key]
            except (KeyError, IndexError, TypeError):
                break  # an earlier mutation removed or replaced this branch
        else:
            if isinstance(parent, dict) and (remove or path[-1] in parent):
                if remove:
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = value
            elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
                if remove:
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = value
    return result


def mutated_json(document: Any) -> st.SearchStrategy[Any]:
    """`document` with one to four fields removed or replaced by values of other types."""
    paths = _json_paths(document)
    mutation = st.tuples(st.sampled_from(paths), st.booleans(), _odd_values)
    return st.lists(mutation, min_size=1, max_size=4).map(lambda ms: _mutate(document, ms))
