"""Logging: structured, redacted, and configured only when asked."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import SecretStr

from feedbackloop.logs import (
    REDACTED,
    configure_logging,
    get_logger,
    redact_secrets,
    redact_text,
)


@pytest.fixture(autouse=True)
def _restore_logger() -> object:
    logger = logging.getLogger("feedbackloop")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def redact(**event: object) -> dict[str, object]:
    return dict(redact_secrets(None, "info", dict(event)))


class TestRedaction:
    def test_values_of_secret_looking_keys_are_hidden(self) -> None:
        """token, api_key, password and authorization values never pass."""
        event = redact(token="abc", api_key="k", password="p", authorization="Bearer x", n=1)
        assert event == {
            "token": REDACTED,
            "api_key": REDACTED,
            "password": REDACTED,
            "authorization": REDACTED,
            "n": 1,
        }

    def test_secret_str_values_are_hidden_under_any_key(self) -> None:
        """A SecretStr is hidden whatever it is called."""
        assert redact(value=SecretStr("s3cr3t")) == {"value": REDACTED}

    def test_credentials_inside_text_are_hidden(self) -> None:
        """Bearer tokens, URL passwords and secret query parameters are scrubbed from text."""
        event = redact(
            msg="sent Bearer abcdefghijkl to https://bob:hunter2@jira.example/x?token=zzz&a=1"
        )
        assert event["msg"] == (
            f"sent Bearer {REDACTED} to https://{REDACTED}@jira.example/x?token={REDACTED}&a=1"
        )

    def test_nested_mappings_are_redacted(self) -> None:
        """Headers passed as a dict are redacted key by key."""
        event = redact(headers={"Authorization": "Basic Zm9vOmJhcg==", "Accept": "json"})
        assert event["headers"] == {"Authorization": REDACTED, "Accept": "json"}

    def test_vendor_tokens_and_slack_webhook_paths_are_hidden_in_text(self) -> None:
        """GitHub and Slack tokens and a Slack webhook's secret path are recognised."""
        text = redact_text(
            "ghp_abcdefghijklmnopqrstuvwxyz0123 xoxb-1234567890-abcdef "
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
        )
        assert text == (f"{REDACTED} {REDACTED} https://hooks.slack.com/services/{REDACTED}")


class TestLoggers:
    def test_the_library_does_not_configure_logging_on_import(self) -> None:
        """Importing feedbackloop adds no handler anywhere."""
        assert logging.getLogger("feedbackloop").handlers == []

    def test_events_reach_the_standard_library_logger(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Applications capture feedbackloop's events with plain logging."""
        with caplog.at_level(logging.INFO, logger="feedbackloop"):
            get_logger("tests").info("ticket.created", key="OPS-1", token="t0ps3cret")
        record = caplog.records[-1]
        assert record.name == "feedbackloop.tests"
        assert "t0ps3cret" not in str(record.__dict__)

    def test_json_logs_are_one_object_per_line(self) -> None:
        """configure_logging(format='json') writes parseable JSON lines, secrets redacted."""
        stream = io.StringIO()
        configure_logging(format="json", stream=stream)
        get_logger("tests").warning("delivery.rejected", source="sentry", secret="x")
        line = json.loads(stream.getvalue().splitlines()[-1])
        assert (line["event"], line["source"], line["secret"]) == (
            "delivery.rejected",
            "sentry",
            REDACTED,
        )

    def test_configuring_twice_keeps_one_handler(self) -> None:
        """Repeated configuration replaces feedbackloop's handler instead of adding one."""
        configure_logging()
        configure_logging(format="json")
        assert len(logging.getLogger("feedbackloop").handlers) == 1
