"""The core model: validation, ordering, equality and JSON round-trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from feedbackloop import (
    ActionItem,
    DeferredRaw,
    Incident,
    Learning,
    Severity,
    Signal,
    TicketChange,
    TicketRef,
)
from feedbackloop.errors import FeedbackLoopError, ValidationError
from tests import strategies

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def make_signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {"source": "sentry", "title": "boom", "occurred_at": NOW}
    fields.update(overrides)
    return Signal(**fields)


class TestSignalValidation:
    def test_a_naive_datetime_is_rejected_with_advice(self) -> None:
        """A datetime without a time zone names the field and says how to fix it."""
        with pytest.raises(ValidationError, match=r"occurred_at: naive datetime .* timezone-aware"):
            make_signal(occurred_at=datetime(2026, 11, 2, 9, 30))

    def test_a_naive_iso_string_is_rejected_too(self) -> None:
        """Strings without an offset are as naive as naive datetimes."""
        with pytest.raises(ValidationError, match="occurred_at"):
            Signal.model_validate(
                {"source": "x", "title": "t", "occurred_at": "2026-11-02T09:30:00"}
            )

    def test_datetimes_are_normalised_to_utc(self) -> None:
        """An aware datetime in another zone is stored as the same instant in UTC."""
        signal = make_signal(
            occurred_at=datetime(2026, 11, 2, 11, 30, tzinfo=timezone(timedelta(hours=2)))
        )
        assert signal.occurred_at == NOW
        assert signal.occurred_at.tzinfo is UTC

    def test_an_empty_title_is_rejected(self) -> None:
        """A title of only whitespace is empty and names the field."""
        with pytest.raises(ValidationError, match="title: String should have at least 1 character"):
            make_signal(title="   ")

    def test_label_values_must_be_strings(self) -> None:
        """Labels are string to string; an int value names the label key."""
        with pytest.raises(ValidationError, match=r"labels\.team: Input should be a valid string"):
            make_signal(labels={"team": 7})

    def test_an_unknown_severity_lists_the_known_ones(self) -> None:
        """The error says which severities exist."""
        with pytest.raises(
            ValidationError, match="unknown severity 'urgent'; expected one of critical"
        ):
            make_signal(severity="urgent")

    def test_unknown_fields_are_rejected(self) -> None:
        """A misspelled field is an error, not silently dropped."""
        with pytest.raises(ValidationError, match="servce: Extra inputs are not permitted"):
            make_signal(servce="checkout")

    def test_errors_are_feedbackloop_errors_and_value_errors(self) -> None:
        """Callers can catch the library's root error or a plain ValueError."""
        with pytest.raises(FeedbackLoopError) as info:
            make_signal(title="")
        assert isinstance(info.value, ValueError)
        assert info.value.errors[0]["loc"] == ("title",)

    def test_signals_are_immutable(self) -> None:
        """Assigning to a field fails."""
        signal = make_signal()
        with pytest.raises(Exception, match="frozen"):
            signal.title = "other"  # type: ignore[misc]

    def test_severity_names_are_case_insensitive(self) -> None:
        """'HIGH' and 'high' name the same severity."""
        assert make_signal(severity="HIGH").severity is Severity.HIGH


class TestRawPayload:
    def test_raw_is_kept_on_the_instance(self) -> None:
        """The vendor payload stays available to code that needs it."""
        assert make_signal(raw={"id": 1}).raw == {"id": 1}

    def test_raw_is_ignored_by_equality(self) -> None:
        """Two signals that differ only in their raw payload are equal, with equal hashes."""
        a, b = make_signal(raw={"id": 1}), make_signal(raw={"id": 2})
        assert a == b
        assert hash(a) == hash(b)

    def test_raw_is_left_out_of_default_dumps(self) -> None:
        """Neither model_dump nor model_dump_json carries the payload."""
        signal = make_signal(raw={"secret-ish": "payload"})
        assert "raw" not in signal.model_dump()
        assert "raw" not in json.loads(signal.model_dump_json())

    def test_raw_is_left_out_of_the_repr(self) -> None:
        """Payloads can be huge and hold personal data: reprs do not show them."""
        assert "payload" not in repr(make_signal(raw={"k": "payload"}))


class TestDeferredRaw:
    def test_a_deferred_payload_is_made_on_first_read(self) -> None:
        """Nothing is decoded until `raw` is read; then the decoded payload is there."""
        made: list[int] = []

        def decode() -> Any:
            made.append(1)
            return json.loads('{"id": 7}')

        signal = make_signal(raw=DeferredRaw(decode))
        assert made == []
        assert signal.raw == {"id": 7}

    def test_a_deferred_payload_is_made_once_and_kept(self) -> None:
        """Reads after the first see the same object, so changes to it stick."""
        signal = make_signal(raw=DeferredRaw(lambda: {"id": 7}))
        signal.raw["seen"] = True
        assert signal.raw == {"id": 7, "seen": True}

    def test_a_deferred_payload_is_ignored_by_equality(self) -> None:
        """A signal with a deferred payload equals one with the payload itself."""
        deferred = make_signal(raw=DeferredRaw(lambda: {"id": 7}))
        assert deferred == make_signal(raw={"id": 7})
        assert "raw" not in deferred.model_dump()

    def test_a_copy_makes_its_own_payload(self) -> None:
        """model_copy keeps the deferred payload, which the copy makes when read."""
        signal = make_signal(raw=DeferredRaw(lambda: {"id": 7}))
        assert signal.model_copy(update={"title": "other"}).raw == {"id": 7}

    @pytest.mark.parametrize("model", ["incident", "change"])
    def test_incidents_and_ticket_changes_defer_too(self, model: str) -> None:
        """Every model with a `raw` field makes a deferred payload on read."""
        raw = DeferredRaw(lambda: {"id": 7})
        made = (
            Incident(id="P1", title="down", created_at=NOW, raw=raw)
            if model == "incident"
            else TicketChange(
                tracker="jira", key="OPS-1", change="closed", occurred_at=NOW, raw=raw
            )
        )
        assert made.raw == {"id": 7}

    def test_raw_cannot_be_assigned(self) -> None:
        """Models stay frozen: `raw` is read-only like every field."""
        signal = make_signal(raw={"id": 1})
        with pytest.raises(Exception, match="frozen"):
            signal.raw = {}  # type: ignore[misc]


class TestFingerprintOnSignals:
    def test_an_omitted_fingerprint_is_derived(self) -> None:
        """Signals with the same masked title share the derived fingerprint."""
        a = make_signal(title="timeout after 3012ms on order 88123")
        b = make_signal(title="timeout after 2977ms on order 12")
        assert a.fingerprint == b.fingerprint

    def test_a_given_fingerprint_is_kept(self) -> None:
        """Sources that know their grouping set the fingerprint themselves."""
        assert make_signal(fingerprint="sentry-issue-42").fingerprint == "sentry-issue-42"


class TestSeverity:
    def test_severities_order_from_info_to_critical(self) -> None:
        """The scale reads critical > high > medium > low > info."""
        assert sorted(Severity, reverse=True) == [
            Severity.CRITICAL,
            Severity.HIGH,
            Severity.MEDIUM,
            Severity.LOW,
            Severity.INFO,
        ]

    def test_severities_compare_with_their_names(self) -> None:
        """Strings on either side of a comparison are read as severities."""
        assert Severity.HIGH >= "medium"
        assert "low" < Severity.HIGH  # noqa: SIM300  (the string on the left is the point)
        assert Severity.HIGH == "high"

    def test_comparing_with_an_unknown_name_raises(self) -> None:
        """A typo in a comparison is an error, not a silent False."""
        with pytest.raises(ValueError, match="unknown severity 'hihg'"):
            _ = Severity.HIGH > "hihg"

    def test_comparing_with_a_number_raises_type_error(self) -> None:
        """Severities are not numbers."""
        with pytest.raises(TypeError):
            _ = Severity.HIGH > 3  # type: ignore[operator]

    @given(strategies.severities, strategies.severities, strategies.severities)
    def test_ordering_is_a_total_order(self, a: Severity, b: Severity, c: Severity) -> None:
        """Exactly one of <, ==, > holds, and the order is transitive."""
        assert [a < b, a == b, a > b].count(True) == 1
        if a <= b and b <= c:
            assert a <= c

    @given(strategies.severities, strategies.severities)
    def test_comparing_with_a_string_agrees_with_comparing_severities(
        self, a: Severity, b: Severity
    ) -> None:
        """`a < "b"` gives the same answer as `a < b`, for every operator."""
        assert (a < b.value, a <= b.value, a > b.value, a >= b.value) == (
            a < b,
            a <= b,
            a > b,
            a >= b,
        )


class TestIncident:
    def test_resolved_before_created_is_rejected(self) -> None:
        """An inconsistent timeline is an error naming the fields."""
        with pytest.raises(ValidationError, match="resolved_at is before created_at"):
            Incident(id="P1", title="down", created_at=NOW, resolved_at=NOW - timedelta(minutes=1))

    def test_acknowledged_before_created_is_rejected(self) -> None:
        """Acknowledging cannot precede the page."""
        with pytest.raises(ValidationError, match="acknowledged_at is before created_at"):
            Incident(
                id="P1", title="down", created_at=NOW, acknowledged_at=NOW - timedelta(seconds=1)
            )

    def test_resolved_before_acknowledged_is_rejected(self) -> None:
        """Resolution cannot precede acknowledgement."""
        with pytest.raises(ValidationError, match="resolved_at is before acknowledged_at"):
            Incident(
                id="P1",
                title="down",
                created_at=NOW,
                acknowledged_at=NOW + timedelta(minutes=10),
                resolved_at=NOW + timedelta(minutes=5),
            )

    def test_times_to_acknowledge_and_resolve_are_computed(self) -> None:
        """The durations are measured from creation."""
        incident = Incident(
            id="P1",
            title="down",
            created_at=NOW,
            acknowledged_at=NOW + timedelta(minutes=4),
            resolved_at=NOW + timedelta(minutes=42),
        )
        assert incident.time_to_acknowledge == timedelta(minutes=4)
        assert incident.time_to_resolve == timedelta(minutes=42)

    def test_open_incidents_have_no_durations(self) -> None:
        """Unacknowledged and unresolved incidents report None, not zero."""
        incident = Incident(id="P1", title="down", created_at=NOW)
        assert incident.time_to_acknowledge is None
        assert incident.time_to_resolve is None


class TestRoundTrip:
    @given(strategies.models)
    def test_every_model_survives_a_json_round_trip(self, model: BaseModel) -> None:
        """Dumping to JSON and validating back gives an equal model."""
        assert type(model).model_validate_json(model.model_dump_json()) == model

    @given(strategies.models)
    def test_every_model_survives_a_python_round_trip(self, model: BaseModel) -> None:
        """model_dump then model_validate gives an equal model."""
        assert type(model).model_validate(model.model_dump()) == model

    @given(strategies.models)
    def test_equal_models_hash_equal(self, model: BaseModel) -> None:
        """Models can be used in sets and as dict keys."""
        copy = type(model).model_validate_json(model.model_dump_json())
        assert hash(copy) == hash(model)

    @given(st.sampled_from([Signal, Incident, TicketChange, TicketRef, ActionItem, Learning]))
    def test_every_model_exports_a_json_schema(self, model: type[BaseModel]) -> None:
        """JSON Schema generation works for every model."""
        assert model.model_json_schema()["type"] == "object"
