"""What every outbound connector (tracker, notifier, escalator) shares.

- `HTTPConnector`: a base with `from_env()` (settings from `FEEDBACKLOOP_<NAME>_*`), one
  `HTTPClient`, `aclose()`, a repr without secrets, and credential errors completed with
  a hint naming the settings to check;
- `WritePacer`: serialises writes and keeps them a minimum time apart (GitHub's
  secondary rate limits ask for it);
- `truncate`: cuts a text to a vendor's length limit, marking the cut.

Retries, rate limits, paging and error mapping are the HTTP layer's (`_http`,
`_pagination`); nothing here repeats them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, ClassVar, Self, TypeVar

import httpx

from feedbackloop.connectors import _http
from feedbackloop.connectors._http import HTTPClient, Sleep
from feedbackloop.errors import AuthenticationError
from feedbackloop.settings import ConnectorSettings

__all__ = ["HTTPConnector", "WritePacer", "auth_hinted", "closing", "truncate"]


class HTTPConnector:
    """The base of the connectors that call a vendor's API.

    A subclass sets `settings` (its `ConnectorSettings` subclass, whose field names are
    constructor arguments), `auth_hint` (what to check when the vendor refuses the
    credentials) and builds `self.http` in its constructor.
    """

    name: str
    settings: ClassVar[type[ConnectorSettings]]
    auth_hint: ClassVar[str] = ""
    http: HTTPClient

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """Build the connector from `FEEDBACKLOOP_<NAME>_*` environment variables.

        Args:
            **options: Constructor arguments; they win over the environment
                (`transport=...`, `name=...`, or any setting).

        Returns:
            The connector.

        Raises:
            ConfigurationError: a required setting is missing or one is invalid; the
                message names the environment variable, never its value.
        """
        fields = cls.settings.model_fields
        settings = cls.settings.load(**{k: v for k, v in options.items() if k in fields})
        rest = {k: v for k, v in options.items() if k not in fields}
        return cls(**dict(settings), **rest)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.http.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def call(self, method: str, url: str | httpx.URL, **options: Any) -> Any:
        """Send a request through the HTTP layer; the decoded JSON answer (None if empty).

        Takes the keyword arguments of `HTTPClient.request`.
        """
        with self.hinted():
            return await self.http.request_json(method, url, **options)

    def hinted(self) -> AbstractContextManager[None]:
        """Complete credential errors raised inside the block with `auth_hint`."""
        return auth_hinted(self.auth_hint)


@contextmanager
def auth_hinted(hint: str) -> Iterator[None]:
    """Re-raise an `AuthenticationError` from inside the block with `hint` appended.

    Args:
        hint: What to check (the settings that hold the credentials, the scopes needed).
    """
    try:
        yield
    except AuthenticationError as exc:
        if not hint:
            raise
        raise AuthenticationError(
            f"{exc.message}. {hint}",
            status_code=exc.status_code,
            vendor_message=exc.vendor_message,
            connector=exc.connector,
            method=exc.method,
            url=exc.url,
        ) from exc


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and `…`, `limit` long."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_T = TypeVar("_T")


@asynccontextmanager
async def closing(items: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """`items`, closed on exit if it can be: stopping a page walk early ends it cleanly."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if callable(aclose):
            await aclose()


class WritePacer:
    """Runs writes one at a time, each starting at least `interval` seconds after the last ended.

    Args:
        interval: The minimum pause between two writes, in seconds (0 only serialises).
        clock: A monotonic clock in seconds.
        sleep: Waits; by default the HTTP layer's `sleep` (which tests replace).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"the interval between writes must not be negative, got {interval}")
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._locks: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this write's turn; the write happens inside the `async with` block."""
        async with self._lock():
            if self._last is not None:
                wait = self._last + self.interval - self._clock()
                if wait > 0:
                    await (self._sleep or _http.sleep)(wait)
            try:
                yield
            finally:
                self._last = self._clock()

    def _lock(self) -> asyncio.Lock:
        # An asyncio lock belongs to one event loop; a connector may outlive its loop.
        loop = asyncio.get_running_loop()
        entry = self._locks.get(id(loop))
        if entry is None or entry[0] is not loop:
            self._locks = {k: v for k, v in self._locks.items() if not v[0].is_closed()}
            entry = (loop, asyncio.Lock())
            self._locks[id(loop)] = entry
        return entry[1]
