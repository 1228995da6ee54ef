"""The exceptions feedbackloop raises: one tree, rooted at `FeedbackLoopError`.

```text
FeedbackLoopError
├── ValidationError          a model, a rule or an input failed validation (also a ValueError)
│   └── PayloadError         a vendor payload could not be read; names the source and field
├── SignatureError           a webhook delivery's signature is missing, malformed or wrong
├── ConfigurationError       settings, rules or plugins are misconfigured
│   ├── RuleError            a rule is invalid; raised when the rule is defined
│   └── PluginError          a plugin failed to load or implements an unknown hook
├── ConnectorError           a call to a vendor failed
│   ├── TransportError       no usable answer: connection refused or reset, timeout
│   │   └── AmbiguousRequestError   the request was sent, the outcome is unknown
│   └── HTTPError            the vendor answered with an error status
│       ├── BadRequestError        400, 409, 422: the request itself is wrong
│       ├── AuthenticationError    401, 403: credentials missing, wrong or lacking scope
│       ├── NotFoundError          404, 410
│       ├── RateLimitError         429 (or a vendor's rate-limit 403); carries retry_after
│       └── ServerError            5xx
└── StoreError               the store failed or holds data it cannot read
    └── SchemaVersionError   the database schema is newer than this version understands
```

Context is passed as keyword-only arguments and kept as attributes, so handlers can
act on it (`err.status_code`, `err.retry_after`, `err.field`). Messages never contain
secrets: URLs are recorded without query strings or credentials by the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AmbiguousRequestError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConnectorError",
    "FeedbackLoopError",
    "HTTPError",
    "NotFoundError",
    "PayloadError",
    "PluginError",
    "RateLimitError",
    "RuleError",
    "SchemaVersionError",
    "ServerError",
    "SignatureError",
    "StoreError",
    "TransportError",
    "ValidationError",
]


class FeedbackLoopError(Exception):
    """Base class of every error feedbackloop raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(FeedbackLoopError, ValueError):
    """A model, a rule or an input failed validation.

    `errors` lists each problem as a dict with `loc` (the path to the field, a tuple),
    `msg` and `type`, in the shape pydantic uses.
    """

    def __init__(self, message: str, *, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class PayloadError(ValidationError):
    """A vendor payload could not be read.

    `source` names the connector, `field` the dotted path of the missing or wrong
    field when one is to blame.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message, errors=errors)
        self.source = source
        self.field = field


class SignatureError(FeedbackLoopError):
    """A webhook delivery's signature is missing, malformed or does not match."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class ConfigurationError(FeedbackLoopError):
    """Settings, rules or plugins are misconfigured."""


class RuleError(ConfigurationError):
    """A rule, predicate, threshold, silence or window is invalid.

    Raised when the rule is defined, never when the first signal arrives.
    `rule` names the rule when it is known.
    """

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class PluginError(ConfigurationError):
    """A plugin failed to load, implements an unknown hook or registers a clash."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin


class ConnectorError(FeedbackLoopError):
    """A call to a vendor failed.

    `connector` names the connector; `method` and `url` describe the request (the
    URL without query string or credentials).
    """

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.connector = connector
        self.method = method
        self.url = url


class TransportError(ConnectorError):
    """No usable answer: the connection failed, was reset, or timed out."""


class AmbiguousRequestError(TransportError):
    """The request was sent but no answer came back: it may or may not have taken effect.

    Callers reconcile (for a ticket: search the tracker for its marker) before retrying.
    """


class HTTPError(ConnectorError):
    """The vendor answered with an error status.

    `status_code` is the HTTP status and `vendor_message` the vendor's own explanation
    when the body carried one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        vendor_message: str | None = None,
        connector: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, connector=connector, method=method, url=url)
        self.status_code = status_code
        self.vendor_message = vendor_message


class BadRequestError(HTTPError):
    """400, 409 or 422: the request itself is wrong and retrying will not help."""


class AuthenticationError(HTTPError):
    """401 or 403: credentials are missing, wrong, or lack a permission."""


class NotFoundError(HTTPError):
    """404 or 410: the project, repository or ticket does not exist (or is hidden)."""


class RateLimitError(HTTPError):
    """429, or a vendor's rate-limit 403. `retry_after` is the advised wait in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        retry_after: float | None = None,
        vendor_message: str | None = None,
        connector: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            vendor_message=vendor_message,
            connector=connector,
            method=method,
            url=url,
        )
        self.retry_after = retry_after


class ServerError(HTTPError):
    """5xx: the vendor failed; the call was retried and still failed."""


class StoreError(FeedbackLoopError):
    """The store failed or holds data it cannot read."""


class SchemaVersionError(StoreError):
    """The database was written by a newer feedbackloop whose schema this one cannot read."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported
