"""Pagination: walk every page of a vendor's list, each page exactly once.

Four styles cover the vendors feedbackloop talks to:

| helper              | style                                   | vendors                    |
|---------------------|-----------------------------------------|----------------------------|
| `paginate_link`     | `Link: <url>; rel="next"` header        | GitHub, Sentry             |
| `paginate_cursor`   | a cursor in the body, sent back as a parameter | Slack, Datadog v2   |
| `paginate_offset`   | `offset`/`limit` with a `more` flag     | PagerDuty                  |
| `paginate_token`    | `nextPageToken` (and `isLast`)          | Jira `search/jql`          |

Each is an async iterator of items, fetching the next page only when the previous
one is consumed; requests go through `HTTPClient`, so they are retried and errors are
mapped the same way as every other call. A vendor that hands back a cursor it already
gave would make the walk loop forever: that raises `ConnectorError` instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeAlias

import httpx

from feedbackloop.connectors._http import HTTPClient, safe_url
from feedbackloop.errors import ConnectorError

__all__ = [
    "Items",
    "paginate_cursor",
    "paginate_link",
    "paginate_offset",
    "paginate_token",
]

Items: TypeAlias = str | Callable[[Any], Iterable[Any]] | None
"""Where a page's items are: a key of the JSON object, a function of the decoded body,
or None when the body is itself the list."""

DEFAULT_MAX_PAGES = 10_000


def _items(body: Any, items: Items, *, client: HTTPClient, url: str) -> list[Any]:
    if callable(items):
        return list(items(body))
    found = body if items is None else (body.get(items) if isinstance(body, dict) else None)
    if found is None and items is not None and isinstance(body, dict):
        return []  # vendors omit the key on an empty page
    if not isinstance(found, list):
        where = "the body" if items is None else f"{items!r}"
        raise ConnectorError(
            f"{client.connector}: {url} did not answer with a list in {where}",
            connector=client.connector,
            url=url,
        )
    return found


def _decode(response: httpx.Response, client: HTTPClient) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):
        url = client.redact(safe_url(response.url))
        raise ConnectorError(
            f"{client.connector}: {url} answered a page that is not JSON",
            connector=client.connector,
            method=response.request.method,
            url=url,
        ) from None


class _Seen:
    """Remembers the cursors of a walk so that a repeated one stops it loudly."""

    def __init__(self, client: HTTPClient, url: str, max_pages: int) -> None:
        self.client, self.url, self.max_pages = client, url, max_pages
        self.cursors: set[str] = set()

    def add(self, cursor: str) -> None:
        if cursor in self.cursors:
            raise ConnectorError(
                f"{self.client.connector}: {self.url} returned a page cursor it already "
                "returned; stopping instead of looping",
                connector=self.client.connector,
                url=self.url,
            )
        if len(self.cursors) >= self.max_pages:
            raise ConnectorError(
                f"{self.client.connector}: {self.url} has more than {self.max_pages} pages",
                connector=self.client.connector,
                url=self.url,
            )
        self.cursors.add(cursor)


async def paginate_link(
    client: HTTPClient,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    items: Items = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Follow `Link: <...>; rel="next"` headers (GitHub, Sentry).

    The walk stops when there is no `next` link, or when the link says
    `results="false"` (Sentry always sends a `next` link and marks the last one so).

    Args:
        client: The connector's HTTP client.
        url: The first page; later pages are the URLs the vendor links to.
        params: Query parameters of the first page (later URLs carry their own).
        items: Where each page's items are (default: the body is the list).
        max_pages: A safety limit on the number of pages.

    Yields:
        Every item of every page, in order.
    """
    seen = _Seen(client, client.redact(safe_url(url)), max_pages)
    next_url: str | None = url
    page_params = params
    while next_url is not None:
        seen.add(next_url)
        response = await client.get(next_url, params=page_params)
        for item in _items(_decode(response, client), items, client=client, url=seen.url):
            yield item
        link = response.links.get("next")
        if link is None or link.get("results", "true").lower() == "false":
            break
        next_url, page_params = link.get("url"), None


async def paginate_cursor(
    client: HTTPClient,
    url: str,
    *,
    next_cursor: Callable[[Any], str | None],
    items: Items = None,
    params: Mapping[str, Any] | None = None,
    cursor_param: str = "cursor",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Follow a cursor found in each page's body (Slack, Datadog v2).

    Args:
        client: The connector's HTTP client.
        url: The list endpoint.
        next_cursor: Reads the next cursor from a decoded page; None or "" ends the walk.
        items: Where each page's items are.
        params: Query parameters sent with every page.
        cursor_param: The query parameter the cursor is sent back in.
        max_pages: A safety limit on the number of pages.

    Yields:
        Every item of every page, in order.
    """
    seen = _Seen(client, client.redact(safe_url(url)), max_pages)
    cursor: str | None = None
    while True:
        page_params = dict(params or {})
        if cursor is not None:
            page_params[cursor_param] = cursor
        body = _decode(await client.get(url, params=page_params), client)
        for item in _items(body, items, client=client, url=seen.url):
            yield item
        cursor = next_cursor(body) or None
        if cursor is None:
            break
        seen.add(cursor)


async def paginate_offset(
    client: HTTPClient,
    url: str,
    *,
    items: Items,
    params: Mapping[str, Any] | None = None,
    limit: int = 100,
    offset_param: str = "offset",
    limit_param: str = "limit",
    more_key: str = "more",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Page by `offset` and `limit` while the body says `more` (PagerDuty REST).

    The next offset is the current one plus the number of items received, so a vendor
    that caps `limit` below what was asked for loses nothing. An empty page ends the
    walk even when `more` is still true.

    Args:
        client: The connector's HTTP client.
        url: The list endpoint.
        items: Where each page's items are (PagerDuty: `"incidents"`, `"log_entries"`).
        params: Query parameters sent with every page.
        limit: Items asked for per page.
        offset_param: The offset's query parameter.
        limit_param: The limit's query parameter.
        more_key: The body's "there is more" flag.
        max_pages: A safety limit on the number of pages.

    Yields:
        Every item of every page, in order.
    """
    seen = _Seen(client, client.redact(safe_url(url)), max_pages)
    offset = 0
    while True:
        seen.add(str(offset))
        page_params = {**(params or {}), offset_param: offset, limit_param: limit}
        body = _decode(await client.get(url, params=page_params), client)
        page = _items(body, items, client=client, url=seen.url)
        for item in page:
            yield item
        if not page or not (isinstance(body, dict) and body.get(more_key)):
            break
        offset += len(page)


async def paginate_token(
    client: HTTPClient,
    url: str,
    *,
    items: Items,
    method: str = "POST",
    json: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    token_key: str = "nextPageToken",  # noqa: S107 - a field name, not a secret
    last_key: str = "isLast",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Follow a next-page token (Jira `POST /rest/api/3/search/jql`).

    The token is read from `token_key` of each page and sent back under the same name:
    in the JSON body for POST, as a query parameter for GET. The walk ends when the
    token is missing or null, or `last_key` is true. A POST here only reads, so it is
    retried like a GET.

    Args:
        client: The connector's HTTP client.
        url: The search endpoint.
        items: Where each page's items are (Jira: `"issues"`).
        method: `"POST"` (token in the body) or `"GET"` (token in the query).
        json: The request body of a POST (the JQL, fields, maxResults).
        params: Query parameters sent with every page.
        token_key: The token's name in both the answer and the request.
        last_key: The body's "this is the last page" flag.
        max_pages: A safety limit on the number of pages.

    Yields:
        Every item of every page, in order.
    """
    seen = _Seen(client, client.redact(safe_url(url)), max_pages)
    method = method.upper()
    token: str | None = None
    while True:
        body_json = dict(json or {})
        page_params = dict(params or {})
        if token is not None:
            (body_json if method == "POST" else page_params)[token_key] = token
        response = await client.request(
            method,
            url,
            params=page_params or None,
            json=body_json if method == "POST" else None,
            idempotent=True,
        )
        body = _decode(response, client)
        for item in _items(body, items, client=client, url=seen.url):
            yield item
        if not isinstance(body, dict) or body.get(last_key) is True:
            break
        token = body.get(token_key) or None
        if token is None:
            break
        seen.add(token)
