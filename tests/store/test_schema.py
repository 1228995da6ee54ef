"""The schema's time columns: aware datetimes stored as microseconds since the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from feedbackloop.store._schema import from_micros, to_micros

aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone.min]),
)


@given(aware)
def test_a_stored_time_reads_back_as_the_same_instant_in_utc(moment: datetime) -> None:
    """Any aware datetime survives the round trip, to the microsecond, as UTC."""
    back = from_micros(to_micros(moment))
    assert back == moment
    assert back.tzinfo is UTC


def test_microseconds_count_from_the_unix_epoch() -> None:
    """The stored number is the Unix time in microseconds, negative before 1970."""
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    assert to_micros(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)) == -1_000_000
