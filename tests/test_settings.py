"""Connector settings: environment prefixes, secrets and clear configuration errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from feedbackloop.errors import ConfigurationError
from feedbackloop.settings import ConnectorSettings, SecretList, env_prefix


class ExampleSettings(ConnectorSettings, connector="example"):
    url: str
    api_token: SecretStr
    webhook_secrets: SecretList = ()
    timeout: float = 10.0


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "API_TOKEN", "WEBHOOK_SECRETS", "TIMEOUT"):
        monkeypatch.delenv(f"FEEDBACKLOOP_EXAMPLE_{name}", raising=False)


def test_fields_are_read_from_the_connector_s_prefixed_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`FEEDBACKLOOP_EXAMPLE_URL` fills `url`."""
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_URL", "https://example.test")
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_API_TOKEN", "t0ken-value")
    settings = ExampleSettings.load()
    assert settings.url == "https://example.test"
    assert settings.api_token.get_secret_value() == "t0ken-value"


def test_values_given_in_code_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyword arguments override environment variables."""
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_URL", "https://env.test")
    settings = ExampleSettings.load(url="https://code.test", api_token="t")
    assert settings.url == "https://code.test"


def test_secrets_are_hidden_in_reprs_and_dumps() -> None:
    """A SecretStr field never shows its value."""
    settings = ExampleSettings.load(url="u", api_token="t0ken-value", webhook_secrets="a1,b2")
    assert "t0ken-value" not in repr(settings)
    assert "t0ken-value" not in settings.model_dump_json()
    assert "a1" not in repr(settings)


def test_a_secret_list_is_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`FEEDBACKLOOP_EXAMPLE_WEBHOOK_SECRETS=a, b` is two secrets (key rotation)."""
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_WEBHOOK_SECRETS", "first , second,")
    settings = ExampleSettings.load(url="u", api_token="t")
    assert [s.get_secret_value() for s in settings.webhook_secrets] == ["first", "second"]


def test_a_missing_setting_names_the_environment_variable() -> None:
    """The error says which variable to set."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_EXAMPLE_API_TOKEN"):
        ExampleSettings.load(url="u")


def test_an_invalid_setting_is_reported_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value is named by variable, never echoed (it might be a secret)."""
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_TIMEOUT", "not-a-number-s3cret")
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_EXAMPLE_TIMEOUT") as caught:
        ExampleSettings.load(url="u", api_token="t")
    assert "s3cret" not in str(caught.value)


def test_is_configured_says_whether_every_required_variable_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Optional fields do not count; required ones all must be present."""
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_URL", "u")
    assert not ExampleSettings.is_configured()
    monkeypatch.setenv("FEEDBACKLOOP_EXAMPLE_API_TOKEN", "t")
    assert ExampleSettings.is_configured()


def test_settings_are_immutable() -> None:
    """Settings are values: assigning a field fails."""
    settings = ExampleSettings.load(url="u", api_token="t")
    with pytest.raises(ValueError, match="frozen"):
        settings.url = "other"  # type: ignore[misc]


def test_the_prefix_of_a_subclass_leaves_the_base_alone() -> None:
    """Each connector has its own prefix; the base keeps `FEEDBACKLOOP_`."""
    assert ExampleSettings.model_config["env_prefix"] == env_prefix("example")
    assert ConnectorSettings.model_config["env_prefix"] == "FEEDBACKLOOP_"
    assert ExampleSettings.env_var("api_token") == "FEEDBACKLOOP_EXAMPLE_API_TOKEN"


def test_a_connector_name_that_cannot_be_an_env_prefix_is_rejected() -> None:
    """`connector="my jira"` fails when the class is defined."""
    with pytest.raises(ConfigurationError, match="my jira"):

        class Bad(ConnectorSettings, connector="my jira"):
            pass
