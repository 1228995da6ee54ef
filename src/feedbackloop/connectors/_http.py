"""The one HTTP layer every connector talks to its vendor through.

`HTTPClient` wraps an `httpx.AsyncClient` (built by `create_client`) and adds what
every vendor call needs:

- timeouts and a `User-Agent: feedbackloop/<version>` header;
- retries with jittered exponential backoff (tenacity) on connect errors, timeouts,
  429 and 5xx, waiting what `Retry-After` or the vendor's rate-limit reset header asks
  for, up to a cap;
- non-idempotent calls (POST, PATCH) retried only when the caller says it is safe, and
  a timeout after such a request was sent raised as `AmbiguousRequestError`;
- error statuses mapped onto `feedbackloop.errors` with the vendor's own message and
  the request (method, URL without query string or credentials) attached;
- secrets (credential headers, basic-auth passwords, values the connector names) kept
  out of error messages and logs.

Tests pass `transport=` (`httpx.MockTransport` or respx) and `sleep=` (or replace the
module-level `sleep`) so nothing reaches a vendor and nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as jsonlib
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final

import anyio
import httpx
import tenacity
from pydantic import SecretStr

from feedbackloop._version import __version__
from feedbackloop.errors import (
    AmbiguousRequestError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectorError,
    HTTPError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from feedbackloop.logs import REDACTED, get_logger, redact_text

__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "HTTPClient",
    "RetryPolicy",
    "Sleep",
    "create_client",
    "error_for_response",
    "is_http_url",
    "require_http_url",
    "retry_after",
    "safe_url",
    "sleep",
    "vendor_message",
]

USER_AGENT: Final = f"feedbackloop/{__version__}"
"""The `User-Agent` every request carries."""

DEFAULT_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)
"""15 s to read, write or wait for a pooled connection; 5 s to connect."""

Sleep = Callable[[float], Awaitable[None]]
"""An async function that waits the given number of seconds."""

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

# Epoch timestamps are larger than this; smaller numbers are seconds to wait
# (Datadog and the IETF `RateLimit-Reset` send a delta, Sentry and GitHub an epoch).
_EPOCH_THRESHOLD: Final = 1_000_000_000
# Reset headers, each with the "remaining" header that says whether it applies.
_RESET_HEADERS: Final = (
    ("x-ratelimit-reset", "x-ratelimit-remaining"),
    ("x-sentry-rate-limit-reset", "x-sentry-rate-limit-remaining"),
    ("ratelimit-reset", "ratelimit-remaining"),
)
_SECRET_HEADER = re.compile(r"auth|token|key|secret|cookie|signature|password", re.IGNORECASE)
_MIN_SECRET_LENGTH: Final = 4
_MAX_VENDOR_MESSAGE: Final = 500

_log = get_logger("http")

_CLIENTS: weakref.WeakSet[HTTPClient] = weakref.WeakSet()
"""The live clients, whose secrets `_HttpxLogRedactor` removes."""
_CLIENTS_LOCK = threading.Lock()


class _HttpxLogRedactor(logging.Filter):
    """httpx logs every request's URL at INFO, and some URLs are the credential (a
    Slack incoming webhook): its records go out with the clients' secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            try:
                record.args = tuple(
                    _redacted(str(arg)) if isinstance(arg, str | httpx.URL) else arg
                    for arg in record.args
                )
            except Exception:  # never fail the request being logged: drop its text
                record.msg, record.args = "HTTP request (not shown: it could not be redacted)", ()
        return True


def _redacted(text: str) -> str:
    with _CLIENTS_LOCK:  # another thread may be building a client
        clients = list(_CLIENTS)
    for client in clients:
        text = client.redact(text)
    return redact_text(text)


_HTTPX_REDACTOR = _HttpxLogRedactor()


async def sleep(seconds: float) -> None:
    """Wait `seconds`; what `HTTPClient` uses unless given `sleep=`.

    Tests replace it (`monkeypatch.setattr("feedbackloop.connectors._http.sleep", fake)`)
    so that retries never really wait, however deep the client is built.
    """
    await anyio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard `HTTPClient` tries.

    Attributes:
        attempts: Tries in total, the first included (1 disables retries).
        backoff: The base of the jittered exponential backoff, in seconds: the n-th
            wait is a random time between 0 and `backoff * 2**n`, at most `max_backoff`.
        max_backoff: The longest backoff wait, in seconds.
        max_wait: The longest wait a vendor may ask for with `Retry-After` or a reset
            header. When it asks for longer, the call fails at once with
            `RateLimitError` (its `retry_after` says how long) so that the caller can
            schedule the retry instead of blocking.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_wait: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        if min(self.backoff, self.max_backoff, self.max_wait) < 0:
            raise ValueError("RetryPolicy waits must not be negative")


def create_client(
    *,
    connector: str,
    base_url: str | httpx.URL = "",
    auth: httpx.Auth | tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` set up the way every connector needs it.

    Args:
        connector: The connector's name, added to the User-Agent as a comment
            (`feedbackloop/0.1.0 (jira)`).
        base_url: The vendor's API root; request URLs are relative to it.
        auth: httpx authentication, or a `(username, password)` pair for basic auth.
        headers: Extra default headers (API keys, `Accept`, API versions).
        timeout: Seconds, or an `httpx.Timeout`.
        transport: The transport to send through; tests pass `httpx.MockTransport`.

    Returns:
        A client with timeouts, redirects followed and `User-Agent: feedbackloop/<version>`.
    """
    default_headers = {"User-Agent": f"{USER_AGENT} ({connector})"}
    default_headers.update(headers or {})
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers=default_headers,
        timeout=timeout,
        transport=transport,
        follow_redirects=True,
    )


def safe_url(url: httpx.URL | str) -> str:
    """`url` without its query string, fragment and credentials: safe for messages."""
    url = httpx.URL(url)
    if not url.is_absolute_url:
        return url.path
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def is_http_url(value: str) -> bool:
    """Whether `value` is an absolute http(s) URL with a host."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def require_http_url(value: str, *, what: str, secret: bool = False) -> None:
    """Refuse `value` unless it is an absolute http(s) URL with a host.

    Raises:
        ConfigurationError: naming `what`, and the value unless it is a `secret`.
    """
    if not is_http_url(value):
        shown = "(not shown: it is a secret)" if secret else repr(value)
        raise ConfigurationError(
            f"{what} must be an http(s) URL such as https://host/path; got {shown}"
        )


def retry_after(
    headers: httpx.Headers | Mapping[str, str], *, now: float | None = None
) -> float | None:
    """The wait, in seconds, a response's headers ask for; None when they ask for none.

    `Retry-After` (seconds or an HTTP date) wins. Otherwise a rate-limit reset header
    counts when its "remaining" companion is absent or 0: `X-RateLimit-Reset`
    (GitHub, Datadog, Jira), `X-Sentry-Rate-Limit-Reset` and `RateLimit-Reset`
    (PagerDuty). Resets may be epoch seconds, seconds to wait, or ISO 8601.

    Args:
        headers: The response headers.
        now: The current time as epoch seconds (default: `time.time()`).

    Returns:
        Seconds to wait (never negative), or None.
    """
    headers = httpx.Headers(headers)
    current = time.time() if now is None else now
    value = headers.get("retry-after")
    if value is not None:
        wait = _seconds_from(value, current, http_date=True)
        if wait is not None:
            return wait
    for reset_name, remaining_name in _RESET_HEADERS:
        reset = headers.get(reset_name)
        remaining = headers.get(remaining_name)
        if reset is None or (remaining is not None and remaining.strip() not in ("0", "0.0")):
            continue
        wait = _seconds_from(reset, current, http_date=False)
        if wait is not None:
            return wait
    return None


def _seconds_from(value: str, now: float, *, http_date: bool) -> float | None:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            return None
        wait = number - now if number >= _EPOCH_THRESHOLD else number
        return max(0.0, wait)
    moment: datetime | None = None
    if http_date:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
    if moment is None:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


def vendor_message(response: httpx.Response) -> str | None:
    """The vendor's own explanation of an error response, or None.

    Understands the common JSON shapes: `{"message"}` (GitHub), `{"errorMessages",
    "errors": {field: msg}}` (Jira), `{"error": {"message", "errors"}}` (PagerDuty),
    `{"error": "code"}` (Slack), `{"detail"}` (Sentry), `{"errors": [...]}` (Datadog);
    a short plain-text body is taken as it is.
    """
    try:
        body = response.content
    except httpx.ResponseNotRead:
        return None
    if not body:
        return None
    try:
        document = jsonlib.loads(body)
    except (ValueError, RecursionError):
        text = body.decode("utf-8", "replace").strip()
        if not text or text.lstrip().startswith("<"):  # an HTML error page says nothing useful
            return None
        return _shorten(text)
    parts = _message_parts(document)
    return _shorten("; ".join(dict.fromkeys(part for part in parts if part))) if parts else None


def _message_parts(document: Any) -> list[str]:
    if isinstance(document, str):
        return [document.strip()]
    if isinstance(document, list):
        return [part for item in document for part in _message_parts(item)]
    if not isinstance(document, dict):
        return []
    parts: list[str] = []
    for key in ("message", "error_description", "detail", "title"):
        value = document.get(key)
        if isinstance(value, str | list):
            parts.extend(_message_parts(value))
    if "errorMessages" in document:
        parts.extend(_message_parts(document["errorMessages"]))
    errors = document.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {text}" for field, text in errors.items() if isinstance(text, str))
    elif errors is not None:
        parts.extend(_message_parts(errors))
    error = document.get("error")
    if isinstance(error, str | dict | list):
        parts.extend(_message_parts(error))
    return parts


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_VENDOR_MESSAGE else text[: _MAX_VENDOR_MESSAGE - 1] + "…"


def _is_rate_limited_403(response: httpx.Response, message: str | None) -> bool:
    # GitHub answers a rate-limited call with 403 and either Retry-After, remaining 0,
    # or (secondary limits) a message saying so.
    headers = response.headers
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining", "").strip() == "0"
        or (message is not None and "rate limit" in message.lower())
    )


def error_for_response(
    response: httpx.Response,
    *,
    connector: str,
    now: float | None = None,
    redact: Callable[[str], str] = redact_text,
) -> HTTPError:
    """The `feedbackloop.errors` exception an error response stands for.

    400, 409, 422 and other 4xx: `BadRequestError`; 401, 403: `AuthenticationError`
    (a rate-limited 403 is a `RateLimitError`); 404, 410: `NotFoundError`; 429:
    `RateLimitError` with `retry_after`; 5xx: `ServerError`.

    Args:
        response: A response with status 400 or more, its body read.
        connector: The connector's name, for the message.
        now: The current time as epoch seconds, for reset headers.
        redact: Scrubs secrets from the message.

    Returns:
        The error, with the vendor's message and the request attached (not raised).
    """
    status = response.status_code
    method = response.request.method
    url = safe_url(response.request.url)
    message = vendor_message(response)
    if message is not None:
        message = redact(message)
    text = redact(f"{connector}: {method} {url} failed with {status} {response.reason_phrase}")
    if message:
        text = f"{text}: {message}"
    context: dict[str, Any] = {
        "status_code": status,
        "vendor_message": message,
        "connector": connector,
        "method": method,
        "url": redact(url),
    }
    if status == 429 or (status == 403 and _is_rate_limited_403(response, message)):
        return RateLimitError(text, retry_after=retry_after(response.headers, now=now), **context)
    if status in (401, 403):
        return AuthenticationError(text, **context)
    if status in (404, 410):
        return NotFoundError(text, **context)
    if status >= 500:
        return ServerError(text, **context)
    if 400 <= status < 500:
        return BadRequestError(text, **context)
    return HTTPError(text, **context)


class _RetryableError(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, error: ConnectorError, *, wait: float | None, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.wait = wait
        self.reason = reason


# Failures where the request never left: safe to retry any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have reached the vendor.
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class HTTPClient:
    """The HTTP client of a connector: retries, rate limits, errors and redaction.

    Use it as an async context manager, or call `aclose()` when done. Requests made
    from different event loops (several `anyio.run` calls) each get their own
    connection pool, so a connector object may outlive the loop it was first used on.

    Args:
        connector: The connector's name, in messages and logs.
        base_url: The vendor's API root; request URLs are relative to it.
        auth: httpx authentication, or a `(username, password)` pair for basic auth;
            the password is kept out of messages and logs.
        headers: Default headers; values of credential-looking headers
            (`Authorization`, `DD-API-KEY`...) are kept out of messages and logs.
        timeout: Seconds, or an `httpx.Timeout`.
        transport: The transport to send through; tests pass `httpx.MockTransport`.
        retry: How many tries and how long to wait.
        secrets: More values that must never appear in messages or logs (a routing
            key, a webhook URL whose path is the credential).
        sleep: Waits between tries (default: the module-level `sleep`).
        clock: The current time as epoch seconds, to read HTTP dates and epoch resets.
    """

    def __init__(
        self,
        *,
        connector: str,
        base_url: str | httpx.URL = "",
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str | SecretStr | None] = (),
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connector = connector
        if base_url:
            require_http_url(str(base_url), what=f"{connector}: the API URL")
        self.retry = retry or RetryPolicy()
        self._options: dict[str, Any] = {
            "connector": connector,
            "base_url": base_url,
            "auth": auth,
            "headers": dict(headers or {}),
            "timeout": timeout,
            "transport": transport,
        }
        self._sleep = sleep
        self._clock = clock
        self._secrets: set[str] = set()
        self._remember_secrets(secrets)
        if isinstance(auth, tuple):
            self._remember_secrets([auth[1]])
        self._remember_header_secrets(headers)
        self._clients: dict[int, tuple[object, httpx.AsyncClient]] = {}
        with _CLIENTS_LOCK:
            _CLIENTS.add(self)
        logging.getLogger("httpx").addFilter(_HTTPX_REDACTOR)  # once: the same filter

    def __repr__(self) -> str:
        return f"HTTPClient(connector={self.connector!r}, base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The API root, without credentials or query string."""
        base = self._options["base_url"]
        return safe_url(base) if base else ""

    async def __aenter__(self) -> HTTPClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools."""
        clients, self._clients = self._clients, {}
        for _loop, client in clients.values():
            await client.aclose()

    def redact(self, text: str) -> str:
        """`text` with this client's secrets and anything credential-like replaced."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return redact_text(text)

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send a request, retrying what is worth retrying; return the 2xx/3xx answer.

        Connect errors are retried for every method: the request never left. Timeouts,
        dropped connections and 5xx are retried for idempotent methods (GET, HEAD, PUT,
        DELETE, OPTIONS) and for others only with `idempotent=True`. 429 and
        rate-limited 403 answers are retried for every method (the vendor did nothing),
        after the wait the vendor asks for.

        Args:
            method: The HTTP method.
            url: Absolute, or relative to `base_url`.
            params: Query parameters.
            json: A JSON body.
            content: A raw body.
            data: A form body.
            headers: Extra headers for this request.
            idempotent: Whether repeating the request is harmless; default: by method.

        Returns:
            The response, its body read.

        Raises:
            BadRequestError: 400, 409, 422 or another 4xx.
            AuthenticationError: 401 or 403.
            NotFoundError: 404 or 410.
            RateLimitError: 429 (or a rate-limited 403) after the retries, or at once when
                the vendor asks for a longer wait than `RetryPolicy.max_wait`.
            ServerError: 5xx after the retries (at once for unsafe methods).
            AmbiguousRequestError: a non-idempotent request was sent but no answer came.
            TransportError: the connection failed, after the retries.
        """
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        self._remember_header_secrets(headers)
        client = self._client()
        request = client.build_request(
            method, url, params=params, json=json, content=content, data=data, headers=headers
        )
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_RetryableError),
            sleep=self._do_sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._attempt, client, request, safe=safe)
        except _RetryableError as exhausted:
            raise exhausted.error from exhausted.__cause__
        return response

    async def request_json(
        self, method: str, url: str | httpx.URL, **options: Any
    ) -> Any:  # the decoded JSON of the answer
        """`request`, then the decoded JSON body (None for an empty body).

        Takes the same keyword arguments as `request`.

        Raises:
            ConnectorError: the answer is not JSON; and everything `request` raises.
        """
        response = await self.request(method, url, **options)
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise ConnectorError(
                f"{self.connector}: {method.upper()} {self.redact(safe_url(response.url))} "
                f"answered {response.status_code} with a body that is not JSON",
                connector=self.connector,
                method=method.upper(),
                url=self.redact(safe_url(response.url)),
            ) from None

    async def get(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """`request("GET", url, ...)`."""
        return await self.request("GET", url, **options)

    async def post(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """`request("POST", url, ...)`: retried after a send only with `idempotent=True`."""
        return await self.request("POST", url, **options)

    async def put(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """`request("PUT", url, ...)`."""
        return await self.request("PUT", url, **options)

    async def patch(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """`request("PATCH", url, ...)`: retried after a send only with `idempotent=True`."""
        return await self.request("PATCH", url, **options)

    async def delete(self, url: str | httpx.URL, **options: Any) -> httpx.Response:
        """`request("DELETE", url, ...)`."""
        return await self.request("DELETE", url, **options)

    # -- internals ---------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        # Connection pools belong to one event loop: keep one client per loop.
        loop = _current_loop()
        entry = self._clients.get(id(loop))
        if entry is not None and entry[0] is loop:
            return entry[1]
        client = create_client(**self._options)
        self._clients = {k: v for k, v in self._clients.items() if not _is_closed(v[0])}
        self._clients[id(loop)] = (loop, client)
        return client

    async def _attempt(
        self, client: httpx.AsyncClient, request: httpx.Request, *, safe: bool
    ) -> httpx.Response:
        method, url = request.method, safe_url(request.url)
        try:
            response = await client.send(request)
        except _NOT_SENT as exc:
            raise self._retryable(exc, request) from exc
        except _MAYBE_SENT as exc:
            if not safe:
                raise AmbiguousRequestError(
                    self.redact(
                        f"{self.connector}: {method} {url} was sent but no answer came "
                        f"({_name(exc)}); it may or may not have taken effect"
                    ),
                    connector=self.connector,
                    method=method,
                    url=self.redact(url),
                ) from exc
            raise self._retryable(exc, request) from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from exc
        if response.status_code < 400:
            return response
        error = error_for_response(
            response, connector=self.connector, now=self._clock(), redact=self.redact
        )
        if isinstance(error, RateLimitError):
            # A rate-limited 403 that does not say when the limit ends is GitHub's
            # secondary limit: not retried within seconds (GitHub asks for at least a
            # minute); the caller waits. A bare 429 is retried here with backoff.
            secondary = error.status_code == 403 and error.retry_after is None
            if secondary or (error.retry_after or 0) > self.retry.max_wait:
                raise error
            raise _RetryableError(error, wait=error.retry_after, reason=str(response.status_code))
        if isinstance(error, ServerError) and safe:
            wait = retry_after(response.headers, now=self._clock())
            if wait is not None and wait > self.retry.max_wait:
                raise error
            raise _RetryableError(error, wait=wait, reason=str(response.status_code))
        raise error

    def _retryable(self, exc: Exception, request: httpx.Request) -> _RetryableError:
        return _RetryableError(self._transport_error(exc, request), wait=None, reason=_name(exc))

    def _transport_error(self, exc: Exception, request: httpx.Request) -> TransportError:
        method, url = request.method, self.redact(safe_url(request.url))
        detail = self.redact(str(exc)) or "no details"
        return TransportError(
            f"{self.connector}: {method} {url} failed: {_name(exc)} ({detail})",
            connector=self.connector,
            method=method,
            url=url,
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _RetryableError) and failure.wait is not None:
            return failure.wait
        ceiling = min(self.retry.max_backoff, self.retry.backoff * 2 ** (state.attempt_number - 1))
        return tenacity.wait_random(0, ceiling)(state)

    async def _do_sleep(self, seconds: float) -> None:
        await (self._sleep or sleep)(seconds)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if not isinstance(failure, _RetryableError):  # pragma: no cover
            return
        next_action = state.next_action
        _log.warning(
            "retrying request",
            connector=self.connector,
            method=failure.error.method,
            url=failure.error.url,
            reason=failure.reason,
            attempt=state.attempt_number,
            wait=round(next_action.sleep, 3) if next_action is not None else None,
        )

    def _remember_secrets(self, values: Iterable[str | SecretStr | None]) -> None:
        for value in values:
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if plain and len(plain) >= _MIN_SECRET_LENGTH:
                self._secrets.add(plain)

    def _remember_header_secrets(self, headers: Mapping[str, str] | None) -> None:
        for name, value in (headers or {}).items():
            if _SECRET_HEADER.search(name):
                # "Bearer abc" hides both the whole value and the credential itself.
                self._remember_secrets([value, value.partition(" ")[2]])


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _current_loop() -> object:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another async library (trio): one client will do
        return None


def _is_closed(loop: object) -> bool:
    is_closed = getattr(loop, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False
