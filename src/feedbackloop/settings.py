"""Connector settings: read from `FEEDBACKLOOP_<CONNECTOR>_<FIELD>` or passed in code.

Every connector describes its configuration as a subclass of `ConnectorSettings`,
naming itself with a class keyword; the environment prefix follows from it:

```python
from pydantic import SecretStr
from feedbackloop.settings import ConnectorSettings

class JiraSettings(ConnectorSettings, connector="jira"):
    url: str                      # FEEDBACKLOOP_JIRA_URL
    email: str                    # FEEDBACKLOOP_JIRA_EMAIL
    api_token: SecretStr          # FEEDBACKLOOP_JIRA_API_TOKEN
    webhook_secret: SecretStr | None = None

settings = JiraSettings.load()                       # from the environment
settings = JiraSettings.load(url="https://acme.atlassian.net", ...)   # or in code
```

Secrets are `SecretStr`: hidden in reprs, dumps and logs; read them with
`.get_secret_value()` at the last moment. A missing or invalid setting raises
`ConfigurationError` naming the environment variable to set. `SecretList` reads a
comma-separated list of secrets (`FEEDBACKLOOP_PAGERDUTY_WEBHOOK_SECRETS=a,b`), `NameList`
one of plain names (`FEEDBACKLOOP_JIRA_RESOLVE_TRANSITIONS=Done,Resolve Issue`).
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, ClassVar, Self

import pydantic
from pydantic import BeforeValidator, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from feedbackloop.errors import ConfigurationError

__all__ = ["ENV_PREFIX", "ConnectorSettings", "NameList", "SecretList", "env_prefix"]

ENV_PREFIX = "FEEDBACKLOOP_"
"""The prefix of every environment variable feedbackloop reads."""

_CONNECTOR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def env_prefix(connector: str) -> str:
    """The environment prefix of a connector: `"jira"` -> `"FEEDBACKLOOP_JIRA_"`."""
    return f"{ENV_PREFIX}{connector.upper()}_"


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


SecretList = Annotated[tuple[SecretStr, ...], NoDecode, BeforeValidator(_split_commas)]
"""Several secrets, from a comma-separated environment variable or a sequence in code."""

NameList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split_commas)]
"""Several names, from a comma-separated environment variable or a sequence in code."""


class ConnectorSettings(BaseSettings):
    """The base of every connector's settings.

    Subclass it with `connector="name"`; fields are read from
    `FEEDBACKLOOP_<NAME>_<FIELD>` (case-insensitive), or passed as keyword arguments,
    which win over the environment. Instances are immutable; unknown
    `FEEDBACKLOOP_<NAME>_*` variables are ignored.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
        populate_by_name=True,
    )

    connector: ClassVar[str] = ""
    """The connector's name, from the class keyword."""

    def __init_subclass__(cls, *, connector: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if connector is not None:
            if not _CONNECTOR_NAME.match(connector):
                raise ConfigurationError(
                    f"connector name {connector!r} must be lower case letters, digits "
                    "and underscores, starting with a letter"
                )
            cls.connector = connector

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.connector:
            # model_config is the subclass's own dict: changing it leaves the parents alone.
            cls.model_config["env_prefix"] = env_prefix(cls.connector)

    @classmethod
    def env_var(cls, field: str) -> str:
        """The environment variable a field is read from: `JiraSettings.env_var("url")`."""
        return f"{cls.model_config.get('env_prefix', ENV_PREFIX)}{field}".upper()

    @classmethod
    def load(cls, **values: Any) -> Self:
        """Read the settings from the environment, overridden by `values`.

        Args:
            **values: Settings given in code; they win over the environment.

        Returns:
            The validated settings.

        Raises:
            ConfigurationError: a setting is missing or invalid; the message names the
                environment variable (never its value).
        """
        try:
            return cls(**values)
        except pydantic.ValidationError as exc:
            problems = []
            for error in exc.errors(include_input=False, include_url=False):
                field = str(error["loc"][0]) if error["loc"] else ""
                where = f"{field} ({cls.env_var(field)})" if field in cls.model_fields else field
                problems.append(f"{where}: {error['msg'].lower()}")
            name = cls.connector or cls.__name__
            raise ConfigurationError(f"{name} settings: " + "; ".join(problems)) from None

    @classmethod
    def is_configured(cls) -> bool:
        """Whether the environment holds every required setting (valid or not).

        Used to pick "every connector configured in the environment" by default.
        """
        prefix = str(cls.model_config.get("env_prefix", ENV_PREFIX)).upper()
        present = {key.upper() for key in os.environ if key.upper().startswith(prefix)}
        return all(
            cls.env_var(name) in present
            for name, field in cls.model_fields.items()
            if field.is_required()
        )
