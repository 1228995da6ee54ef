"""The signal factory for rule authors."""

from __future__ import annotations

from datetime import timedelta

from feedbackloop import Severity
from feedbackloop.testing import DEFAULT_TIME, SignalFactory, make_signal


def test_make_signal_has_realistic_defaults() -> None:
    """A bare make_signal() is a high-severity production Sentry error on checkout."""
    signal = make_signal()
    assert (signal.source, signal.service, signal.environment, signal.severity) == (
        "sentry",
        "checkout",
        "production",
        Severity.HIGH,
    )
    assert signal.occurred_at == DEFAULT_TIME


def test_overrides_replace_defaults() -> None:
    """Any field can be overridden, including to None."""
    signal = make_signal(service=None, labels={"team": "core"})
    assert signal.service is None
    assert signal.labels == {"team": "core"}


def test_the_factory_clock_advances_per_signal() -> None:
    """Each signal from a factory happens one step after the previous one."""
    factory = SignalFactory(step=timedelta(minutes=5))
    first, second = factory.many(2)
    assert second.occurred_at - first.occurred_at == timedelta(minutes=5)


def test_factory_defaults_apply_to_every_signal() -> None:
    """Keyword defaults given to the factory are kept for each signal."""
    factory = SignalFactory(source="datadog", kind="alert")
    assert factory().source == "datadog"
    assert factory(source="pagerduty").source == "pagerduty"
