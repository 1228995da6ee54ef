"""The figures against hand-computed ground truth, edge cases and invariants."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbackloop.errors import ValidationError
from feedbackloop.insights import (
    ActionItemRecord,
    Closure,
    History,
    IncidentRecord,
    Period,
    Reopening,
    Scope,
    SignalRecord,
    TicketRecord,
    build_report,
    compute_figures,
    percentile,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
WEEK = Period(T0, T0 + 7 * DAY)


def signal(at: timedelta, fp: str, theme: str, **fields: object) -> SignalRecord:
    return SignalRecord(occurred_at=T0 + at, fingerprint=fp, theme=theme, **fields)  # type: ignore[arg-type]


def item(
    id: int, created: timedelta, updated: timedelta | None = None, **fields: object
) -> ActionItemRecord:
    return ActionItemRecord(
        id=id,
        title=f"item {id}",
        created_at=T0 + created,
        updated_at=T0 + (created if updated is None else updated),
        **fields,  # type: ignore[arg-type]
    )


HISTORY = History(
    incidents=(
        IncidentRecord("A", T0 + HOUR, T0 + HOUR + 5 * MINUTE, T0 + HOUR + 30 * MINUTE, "checkout"),
        IncidentRecord("B", T0 + DAY, T0 + DAY + 15 * MINUTE, T0 + DAY + 90 * MINUTE, "checkout"),
        IncidentRecord("C", T0 + 2 * DAY, None, T0 + 2 * DAY + 60 * MINUTE, "api"),
        IncidentRecord("D", T0 + 3 * DAY, T0 + 3 * DAY + 10 * MINUTE, None, "api"),
        IncidentRecord(
            "E", T0 - 2 * DAY, T0 - 2 * DAY + 20 * MINUTE, T0 - 2 * DAY + 120 * MINUTE, "checkout"
        ),
        IncidentRecord("F", T0 + 8 * DAY, None, None, "checkout"),
    ),
    tickets=(
        TicketRecord(
            1,
            "f1",
            "t1",
            T0 - 5 * DAY,
            T0 - DAY,
            "completed",
            key="OPS-1",
            first_signal_at=T0 - 6 * DAY,
        ),
        TicketRecord(
            2,
            "f2",
            "t2",
            T0 + DAY,
            T0 + 3 * DAY,
            "completed",
            key="OPS-2",
            first_signal_at=T0 + DAY,
        ),
        TicketRecord(3, "f3", "t3", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "not_planned", key="OPS-3"),
        TicketRecord(4, "f4", "t4", T0 + 4 * DAY, key="OPS-4"),
        TicketRecord(5, "f5", "t5", T0 + DAY, created=False),
    ),
    signals=(
        signal(-6 * DAY, "f1", "t1", link_id=1),
        signal(HOUR, "f1", "t1", link_id=1),
        signal(DAY, "f2", "t2", link_id=2),
        signal(5 * DAY, "f2", "t2", link_id=2),
        signal(3 * DAY, "f3", "t3", link_id=3),
        signal(4 * DAY, "f4", "t4", link_id=4),
        signal(2 * DAY, "f6", "t1"),
        signal(2 * DAY, "f7", "t7"),
        signal(2 * DAY, "f8", "t8", kind="deploy"),
        # alerts
        signal(HOUR + 2 * MINUTE, "f9", "t9", kind="alert", service="checkout"),
        signal(4 * DAY, "f10", "t10", kind="alert", service="web"),
        signal(4 * DAY + 30 * MINUTE, "f10", "t10", kind="alert", status="resolved"),
        signal(5 * DAY, "f11", "t11", kind="alert", link_id=4),
        signal(5 * DAY + 3 * MINUTE, "f11", "t11", kind="alert", status="resolved"),
        signal(5 * DAY, "f12", "t12", kind="alert", escalated=True),
        signal(5 * DAY + 20 * MINUTE, "f12", "t12", kind="alert", status="resolved"),
        signal(6 * DAY, "f13", "t13", kind="alert"),
        signal(6 * DAY + 2 * MINUTE, "f13", "t13", kind="alert", status="resolved"),
        signal(-3 * DAY, "f10", "t10", kind="alert"),
        signal(-2 * DAY, "f10", "t10", kind="alert"),
    ),
    action_items=(
        item(1, -10 * DAY, closed_at=T0 + 2 * DAY),
        item(2, DAY, closed_at=T0 + 6 * DAY),
        item(3, DAY, due=(T0 + 3 * DAY).date(), owner="alice"),
        item(4, -30 * DAY, updated=-20 * DAY),
        item(5, -10 * DAY, closed_at=T0 - 5 * DAY),
        item(6, 8 * DAY),
    ),
)


class TestIncidents:
    def test_incidents_are_counted_by_creation_time(self) -> None:
        """Incidents created in the period count; earlier and later ones do not."""
        assert compute_figures(HISTORY, WEEK).incidents.count == 4

    def test_mtta_leaves_out_incidents_never_acknowledged(self) -> None:
        """MTTA over 5, 10 and 15 minutes: median 10 min, p90 14 min; one never acknowledged."""
        figures = compute_figures(HISTORY, WEEK).incidents
        assert (figures.mtta.median, figures.mtta.p90, figures.mtta.count) == (600, 840, 3)
        assert figures.unacknowledged == 1

    def test_mttr_leaves_out_unresolved_incidents(self) -> None:
        """MTTR over 30, 60 and 90 minutes: median 60 min, p90 84 min; one unresolved."""
        figures = compute_figures(HISTORY, WEEK).incidents
        assert (figures.mttr.median, figures.mttr.p90, figures.mttr.count) == (3600, 5040, 3)
        assert figures.unresolved == 1

    def test_mttr_per_service(self) -> None:
        """Each service gets its own median."""
        services = compute_figures(HISTORY, WEEK).services
        assert {name: d.median for name, d in services.items()} == {"api": 3600, "checkout": 3600}

    def test_a_scope_keeps_only_its_service(self) -> None:
        """Scoped to api: two incidents, one resolved in an hour."""
        figures = compute_figures(HISTORY, WEEK, Scope(service="api")).incidents
        assert (figures.count, figures.mttr.median, figures.unacknowledged) == (2, 3600, 1)


class TestRecurrence:
    def test_recurrence_counts_problems_seen_after_their_ticket_closed(self) -> None:
        """f1, f2 (after its close) and f6 (theme of f1) recur; won't-fix f3, open f4 do not."""
        recurrence = compute_figures(HISTORY, WEEK).recurrence
        assert recurrence.fingerprints == ("f1", "f2", "f6")
        assert (recurrence.problems, recurrence.recurring, recurrence.rate) == (6, 3, 0.5)

    def test_the_previous_period_had_no_recurrence(self) -> None:
        """Before the first close nothing had come back."""
        recurrence = compute_figures(HISTORY, WEEK.previous()).recurrence
        assert (recurrence.problems, recurrence.recurring, recurrence.rate) == (1, 0, 0.0)

    def test_a_reopening_counts_as_a_closure_just_before_it(self) -> None:
        """A ticket reopened by a recurrence makes that problem recurring."""
        history = History(
            tickets=(TicketRecord(1, "f1", "t1", T0),),
            signals=(signal(HOUR, "f1", "t1", link_id=1), signal(DAY, "f1", "t1", link_id=1)),
            reopenings=(Reopening(1, T0 + DAY),),
        )
        assert compute_figures(history, WEEK).recurrence.fingerprints == ("f1",)


class TestNoise:
    def test_noise_counts_idle_and_self_resolving_alerts_once_each(self) -> None:
        """Of five alerts, two led to nothing, two resolved within minutes, three were noise."""
        noise = compute_figures(HISTORY, WEEK).noise
        assert (noise.alerts, noise.no_action, noise.self_resolved, noise.noisy) == (5, 2, 2, 3)
        assert noise.ratio == 0.6

    def test_previous_alerts_were_all_noise(self) -> None:
        """Two idle alerts before the period: 100% noise."""
        assert compute_figures(HISTORY, WEEK.previous()).noise.ratio == 1.0


class TestThemesTicketsAndItems:
    def test_top_themes_are_ranked_by_occurrences(self) -> None:
        """t1 and t2 lead with two signals each; ties go by theme text."""
        themes = compute_figures(HISTORY, WEEK).themes
        assert [(t.theme, t.occurrences, t.problems, t.recurring) for t in themes] == [
            ("t1", 2, 2, True),
            ("t2", 2, 1, True),
            ("t10", 1, 1, False),
            ("t11", 1, 1, False),
            ("t12", 1, 1, False),
        ]

    def test_tickets_opened_and_closed_with_time_to_close(self) -> None:
        """Three opened (one never created is left out), two closed after 2 days and 1 hour."""
        tickets = compute_figures(HISTORY, WEEK).tickets
        assert (tickets.opened, tickets.closed) == (3, 2)
        assert (tickets.time_to_close.median, tickets.time_to_close.p90) == (88200, 155880)

    def test_action_item_follow_through(self) -> None:
        """2 opened, 2 closed of 4 in play, 2 open: item 3 overdue, item 4 stale."""
        items = compute_figures(HISTORY, WEEK).action_items
        assert (items.opened, items.closed, items.in_play, items.open) == (2, 2, 4, 2)
        assert [i.id for i in items.overdue] == [3]
        assert [i.id for i in items.stale] == [4]

    def test_overdue_compares_due_dates_with_the_utc_date_of_the_end(self) -> None:
        """A period given in UTC+10 that ends 09:00 there, 23:00 UTC the day before: an
        item due that UTC day is not overdue yet."""
        plus_ten = timezone(timedelta(hours=10))
        end = datetime(2026, 11, 10, 9, tzinfo=plus_ten)
        due_today = item(1, timedelta(0), due=(end.astimezone(UTC)).date())
        figures = compute_figures(
            History(action_items=(due_today,)), Period(end - WEEK.length, end)
        )
        assert figures.action_items.overdue == ()


class TestClosures:
    REOPENED = History(
        tickets=(TicketRecord(1, "f1", "t1", T0, T0 + 3 * DAY, "completed", key="OPS-1"),),
        closures=(
            Closure(1, T0 + HOUR, "not_planned"),
            Closure(1, T0 + 3 * DAY, "completed"),
        ),
        signals=(signal(timedelta(0), "f1", "t1", link_id=1), signal(DAY, "f1", "t1", link_id=1)),
    )

    def test_time_to_close_runs_to_the_first_closure(self) -> None:
        """A ticket closed after an hour, reopened and closed again took an hour to close."""
        tickets = compute_figures(self.REOPENED, WEEK).tickets
        assert (tickets.closed, tickets.time_to_close.median) == (1, 3600)

    def test_a_later_closure_counts_the_ticket_closed_but_not_timed(self) -> None:
        """In a period holding only the second closure the ticket closed, untimed there."""
        tickets = compute_figures(self.REOPENED, Period(T0 + DAY, T0 + 8 * DAY)).tickets
        assert (tickets.closed, tickets.time_to_close.count) == (1, 0)

    def test_a_wont_fix_closure_before_a_reopen_is_no_fix(self) -> None:
        """The signal after the not-planned closure and before the fix does not recur."""
        assert compute_figures(self.REOPENED, WEEK).recurrence.recurring == 0


class TestWinsAndDeltas:
    def test_wins_name_what_got_better(self) -> None:
        """MTTR and MTTA halved, checkout too, noise fell, items and tickets closed."""
        assert build_report(HISTORY, WEEK).wins == [
            "MTTR down 50% to 60 min",
            "MTTA down 50% to 10 min",
            "MTTR for checkout down 50% to 60 min",
            "alert noise down from 100% to 60%",
            "2 of 4 action items closed",
            "2 tickets closed, median 24.5 h from first signal to close",
        ]

    def test_deltas_compare_with_the_previous_period(self) -> None:
        """Incidents went from 1 to 4: +300%, not an improvement."""
        delta = build_report(HISTORY, WEEK).deltas["incidents"]
        assert (delta.current, delta.previous, delta.change, delta.change_pct) == (4, 1, 3, 300)
        assert delta.improved is False


class TestEdgeCases:
    def test_an_empty_period_has_no_figures_and_no_wins(self) -> None:
        """Nothing happened: counts are zero, medians and ratios None."""
        report = build_report(History(), WEEK)
        f = report.figures
        assert (f.incidents.count, f.incidents.mttr.median, f.noise.ratio, f.recurrence.rate) == (
            0,
            None,
            None,
            None,
        )
        assert report.wins == []
        assert "n/a" in report.to_markdown()

    def test_an_unresolved_unacknowledged_incident_counts_but_has_no_times(self) -> None:
        """The incident is counted; MTTA and MTTR have no data."""
        history = History(incidents=(IncidentRecord("X", T0 + HOUR),))
        figures = compute_figures(history, WEEK).incidents
        assert (figures.count, figures.unacknowledged, figures.unresolved) == (1, 1, 1)
        assert (figures.mtta.median, figures.mttr.p90) == (None, None)

    def test_a_period_must_end_after_it_starts(self) -> None:
        """An empty or inverted period is refused with a clear error."""
        with pytest.raises(ValidationError, match="must be after since"):
            Period(T0, T0)

    def test_a_naive_period_bound_is_refused(self) -> None:
        """Naive datetimes have no place in the figures."""
        with pytest.raises(ValidationError, match="no time zone"):
            Period(datetime(2026, 1, 1), T0)


# --- properties ---------------------------------------------------------------------------

offsets = st.integers(min_value=-14 * 24 * 60, max_value=14 * 24 * 60).map(lambda m: m * MINUTE)
fingerprints = st.sampled_from(["f1", "f2", "f3", "f4"])
theme_names = st.sampled_from(["t1", "t2", "t3"])


@st.composite
def histories(draw: st.DrawFn) -> History:
    incidents = []
    for n in range(draw(st.integers(0, 6))):
        created = draw(offsets)
        ack = draw(st.none() | st.integers(0, 600).map(lambda m: m * MINUTE))
        res = draw(st.none() | st.integers(0, 600).map(lambda m: m * MINUTE))
        incidents.append(
            IncidentRecord(
                f"I{n}",
                T0 + created,
                None if ack is None else T0 + created + ack,
                None if res is None else T0 + created + (ack or timedelta(0)) + res,
                draw(st.sampled_from(["api", "web", None])),
            )
        )
    tickets = []
    for n in range(draw(st.integers(0, 4))):
        opened = draw(offsets)
        closed = draw(st.none() | st.integers(0, 20000).map(lambda m: m * MINUTE))
        tickets.append(
            TicketRecord(
                n + 1,
                draw(fingerprints),
                draw(theme_names),
                T0 + opened,
                None if closed is None else T0 + opened + closed,
                draw(st.sampled_from([None, "completed", "not_planned"])),
            )
        )
    signals = [
        SignalRecord(
            occurred_at=T0 + draw(offsets),
            fingerprint=draw(fingerprints),
            theme=draw(theme_names),
            kind=draw(st.sampled_from(["error", "alert"])),
            status=draw(st.sampled_from(["firing", "resolved"])),
            service=draw(st.sampled_from(["api", "web", None])),
            link_id=draw(st.none() | st.sampled_from([t.id for t in tickets] or [None])),
            escalated=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 12)))
    ]
    reopenings = [Reopening(t.id, T0 + draw(offsets)) for t in tickets if draw(st.booleans())]
    items = []
    for n in range(draw(st.integers(0, 4))):
        created = draw(offsets)
        closed = draw(st.none() | st.integers(0, 20000).map(lambda m: m * MINUTE))
        items.append(
            ActionItemRecord(
                n + 1,
                f"item {n}",
                T0 + created,
                T0 + created,
                None if closed is None else T0 + created + closed,
                draw(st.none() | st.dates()),
            )
        )
    return History(
        tuple(incidents), tuple(signals), tuple(tickets), tuple(reopenings), tuple(items)
    )


def shuffled(history: History, seed: int) -> History:
    rng = random.Random(seed)

    def mix(records: tuple[object, ...]) -> tuple[object, ...]:
        records = list(records)  # type: ignore[assignment]
        rng.shuffle(records)  # type: ignore[arg-type]
        return tuple(records)

    return History(
        *(
            mix(getattr(history, name))
            for name in ("incidents", "signals", "tickets", "reopenings", "action_items")
        )  # type: ignore[arg-type]
    )


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers())
def test_the_figures_do_not_depend_on_event_order(history: History, seed: int) -> None:
    """Shuffling every list of the history changes no figure, no delta and no win."""
    report, again = build_report(history, WEEK), build_report(shuffled(history, seed), WEEK)
    assert again.to_dict() == report.to_dict()


@settings(max_examples=200, deadline=None)
@given(histories())
def test_recurrence_never_counts_a_fingerprint_that_was_never_closed(history: History) -> None:
    """A problem whose fingerprint and theme were never fixed never recurs."""
    fixed = {
        (t.fingerprint, t.theme)
        for t in history.tickets
        if (t.closed_at is not None and t.resolution != "not_planned")
        or any(r.ticket_id == t.id for r in history.reopenings)
    }
    fixed_fingerprints = {fp for fp, _ in fixed}
    fixed_themes = {theme for _, theme in fixed}
    never_fixed = {
        s.fingerprint
        for s in history.signals
        if s.fingerprint not in fixed_fingerprints
        and not any(
            o.theme in fixed_themes for o in history.signals if o.fingerprint == s.fingerprint
        )
    }
    recurring = set(compute_figures(history, WEEK).recurrence.fingerprints)
    assert not recurring & never_fixed


@settings(max_examples=100, deadline=None)
@given(histories())
def test_without_any_closure_nothing_recurs(history: History) -> None:
    """Remove every closure and reopening: the recurrence rate is zero (or undefined)."""
    unfixed = replace(
        history, tickets=tuple(replace(t, closed_at=None) for t in history.tickets), reopenings=()
    )
    assert compute_figures(unfixed, WEEK).recurrence.recurring == 0


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1), st.floats(0, 1))
def test_a_percentile_lies_between_the_smallest_and_largest_value(
    values: list[float], q: float
) -> None:
    """Interpolation never leaves the range of the data."""
    found = percentile(values, q)
    assert found is not None
    assert min(values) - 1e-6 <= found <= max(values) + 1e-6


@settings(max_examples=100, deadline=None)
@given(histories())
def test_ratios_stay_between_zero_and_one(history: History) -> None:
    """Noise and recurrence are shares."""
    figures = compute_figures(history, WEEK)
    for ratio in (figures.noise.ratio, figures.recurrence.rate):
        assert ratio is None or 0 <= ratio <= 1
