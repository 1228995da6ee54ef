"""The exception tree: one root, keyword-only context."""

from __future__ import annotations

import inspect

import pytest

from feedbackloop import errors


def test_every_error_descends_from_the_root() -> None:
    """Catching FeedbackLoopError catches everything the library raises on purpose."""
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.FeedbackLoopError), name


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    """The tree in the docs stays complete as errors are added."""
    assert errors.__doc__ is not None
    for name in errors.__all__:
        assert name in errors.__doc__, name


def test_context_is_keyword_only() -> None:
    """Only the message is positional, so context cannot be passed in the wrong slot."""
    for name in errors.__all__:
        parameters = list(inspect.signature(getattr(errors, name)).parameters.values())
        assert parameters[0].name == "message"
        assert all(p.kind is p.KEYWORD_ONLY for p in parameters[1:]), name


def test_context_is_kept_as_attributes() -> None:
    """Handlers read the context from the exception."""
    error = errors.RateLimitError(
        "slow down", retry_after=2.5, connector="jira", method="POST", url="https://x/rest"
    )
    assert (error.status_code, error.retry_after, error.connector) == (429, 2.5, "jira")
    assert str(error) == "slow down"


def test_validation_errors_are_value_errors() -> None:
    """Code that catches ValueError keeps working."""
    with pytest.raises(ValueError, match="bad"):
        raise errors.PayloadError("bad", source="sentry", field="data.issue.id")
