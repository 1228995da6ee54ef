"""Pagination helpers: every style walks all pages, each exactly once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbackloop.connectors._http import HTTPClient, RetryPolicy
from feedbackloop.connectors._pagination import (
    paginate_cursor,
    paginate_link,
    paginate_offset,
    paginate_token,
)
from feedbackloop.errors import ConnectorError, NotFoundError

pytestmark = pytest.mark.anyio

API = "https://api.vendor.example"


async def no_sleep(_: float) -> None:
    return None


def make_client(handler: Any = None) -> HTTPClient:
    transport = httpx.MockTransport(handler) if handler is not None else None
    return HTTPClient(
        connector="vendor",
        base_url=API,
        transport=transport,
        retry=RetryPolicy(attempts=2),
        sleep=no_sleep,
    )


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


def chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


class TestLinkHeader:
    async def test_github_style_links_are_followed_to_the_last_page(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Three pages linked by rel="next": every item once, in order."""
        respx_mock.get(f"{API}/issues", params={"per_page": "2"}).respond(
            json=[1, 2], headers={"Link": f'<{API}/issues?page=2>; rel="next"'}
        )
        respx_mock.get(f"{API}/issues", params={"page": "2"}).respond(
            json=[3, 4],
            headers={"Link": f'<{API}/issues?page=3>; rel="next", <{API}/issues>; rel="first"'},
        )
        last = respx_mock.get(f"{API}/issues", params={"page": "3"}).respond(
            json=[5], headers={"Link": f'<{API}/issues>; rel="first"'}
        )
        items = await collect(paginate_link(make_client(), "/issues", params={"per_page": 2}))
        assert items == [1, 2, 3, 4, 5]
        assert last.call_count == 1

    async def test_sentry_style_links_stop_at_results_false(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Sentry always links a next page; `results="false"` marks the end."""

        def link(cursor: str, results: str) -> str:
            return (
                f'<{API}/issues/?cursor={cursor}>; rel="next"; results="{results}"; '
                f'cursor="{cursor}"'
            )

        first = respx_mock.get(f"{API}/issues/", params={"query": "is:unresolved"}).respond(
            json=[{"id": "1"}], headers={"Link": link("0:100:0", "true")}
        )
        second = respx_mock.get(f"{API}/issues/", params={"cursor": "0:100:0"}).respond(
            json=[{"id": "2"}], headers={"Link": link("0:200:0", "false")}
        )
        client = make_client()
        items = await collect(paginate_link(client, "/issues/", params={"query": "is:unresolved"}))
        assert [item["id"] for item in items] == ["1", "2"]
        assert (first.call_count, second.call_count) == (1, 1)

    async def test_items_can_be_read_from_a_key_of_the_body(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """`items="key"` reads each page's list from an object."""
        respx_mock.get(f"{API}/search").respond(json={"items": ["a"], "total_count": 1})
        assert await collect(paginate_link(make_client(), "/search", items="items")) == ["a"]

    async def test_a_link_loop_raises_instead_of_walking_forever(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """A page linking back to itself is a vendor bug, reported as ConnectorError."""
        respx_mock.get(f"{API}/loop").respond(
            json=[1], headers={"Link": f'<{API}/loop>; rel="next"'}
        )
        with pytest.raises(ConnectorError, match="already"):
            await collect(paginate_link(make_client(), f"{API}/loop"))


class TestCursor:
    async def test_cursors_from_the_body_are_sent_back_until_there_is_none(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Slack-style `response_metadata.next_cursor`: an empty cursor ends the walk."""
        pages = {
            None: (["a", "b"], "c1"),
            "c1": (["c"], "c2"),
            "c2": (["d"], ""),
        }

        def handler(request: httpx.Request) -> httpx.Response:
            members, cursor = pages[request.url.params.get("cursor")]
            return httpx.Response(
                200, json={"members": members, "response_metadata": {"next_cursor": cursor}}
            )

        route = respx_mock.get(f"{API}/users.list").mock(side_effect=handler)
        items = await collect(
            paginate_cursor(
                make_client(),
                "/users.list",
                items="members",
                params={"limit": 2},
                next_cursor=lambda body: body["response_metadata"]["next_cursor"],
            )
        )
        assert items == ["a", "b", "c", "d"]
        assert route.call_count == 3
        assert all(call.request.url.params["limit"] == "2" for call in route.calls)

    async def test_a_repeated_cursor_raises(self, respx_mock: respx.MockRouter) -> None:
        """A vendor handing back the same cursor would loop forever: ConnectorError."""
        respx_mock.get(f"{API}/x").respond(json={"data": [1], "next": "same"})
        with pytest.raises(ConnectorError, match="already"):
            await collect(
                paginate_cursor(make_client(), "/x", items="data", next_cursor=lambda b: b["next"])
            )


class TestOffset:
    async def test_pagerduty_style_offsets_walk_while_more_is_true(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """offset advances by the items received until `more` is false."""
        incidents = list(range(7))

        def handler(request: httpx.Request) -> httpx.Response:
            offset = int(request.url.params["offset"])
            limit = int(request.url.params["limit"])
            page = incidents[offset : offset + limit]
            more = offset + limit < len(incidents)
            return httpx.Response(200, json={"incidents": page, "more": more, "offset": offset})

        route = respx_mock.get(f"{API}/incidents").mock(side_effect=handler)
        client = make_client()
        items = await collect(paginate_offset(client, "/incidents", items="incidents", limit=3))
        assert items == incidents
        assert [call.request.url.params["offset"] for call in route.calls] == ["0", "3", "6"]

    async def test_a_vendor_capping_the_limit_loses_nothing(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Asked for 100 but served 2 per page: the next offset follows what came."""
        data = list(range(5))

        def handler(request: httpx.Request) -> httpx.Response:
            offset = int(request.url.params["offset"])
            return httpx.Response(
                200, json={"log_entries": data[offset : offset + 2], "more": offset + 2 < 5}
            )

        respx_mock.get(f"{API}/log_entries").mock(side_effect=handler)
        items = await collect(paginate_offset(make_client(), "/log_entries", items="log_entries"))
        assert items == data


class TestNextPageToken:
    async def test_jira_style_tokens_go_in_the_post_body_until_is_last(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """`nextPageToken` is sent back in the JSON body; `isLast` ends the walk."""
        pages = {
            None: {"issues": [{"key": "OPS-1"}], "nextPageToken": "t1", "isLast": False},
            "t1": {"issues": [{"key": "OPS-2"}], "nextPageToken": "t2", "isLast": False},
            "t2": {"issues": [{"key": "OPS-3"}], "isLast": True},
        }
        bodies: list[dict[str, Any]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            bodies.append(body)
            return httpx.Response(200, json=pages[body.get("nextPageToken")])

        respx_mock.post(f"{API}/rest/api/3/search/jql").mock(side_effect=handler)
        items = await collect(
            paginate_token(
                make_client(),
                "/rest/api/3/search/jql",
                items="issues",
                json={"jql": "labels = ops", "maxResults": 1},
            )
        )
        assert [item["key"] for item in items] == ["OPS-1", "OPS-2", "OPS-3"]
        assert all(body["jql"] == "labels = ops" for body in bodies)
        assert [body.get("nextPageToken") for body in bodies] == [None, "t1", "t2"]

    async def test_a_null_token_ends_the_walk_and_get_sends_it_as_a_parameter(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """With GET the token travels in the query; a null token is the last page."""
        first = respx_mock.get(f"{API}/list", params={"nextPageToken": "n"}).respond(
            json={"values": [2], "nextPageToken": None}
        )
        respx_mock.get(f"{API}/list").respond(json={"values": [1], "nextPageToken": "n"})
        items = await collect(paginate_token(make_client(), "/list", items="values", method="GET"))
        assert items == [1, 2]
        assert first.call_count == 1

    async def test_the_search_post_is_retried_like_a_read(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """A search only reads, so a 503 on it is retried."""
        route = respx_mock.post(f"{API}/search").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"issues": [1]})]
        )
        assert await collect(paginate_token(make_client(), "/search", items="issues")) == [1]
        assert route.call_count == 2


class TestErrors:
    async def test_an_error_page_raises_the_mapped_error(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Pages go through HTTPClient, so a 404 is a NotFoundError."""
        respx_mock.get(f"{API}/gone").respond(404)
        with pytest.raises(NotFoundError):
            await collect(paginate_link(make_client(), "/gone"))

    async def test_a_page_that_is_not_a_list_raises_connector_error(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """An object where a list was expected is named, not silently skipped."""
        respx_mock.get(f"{API}/x").respond(json={"unexpected": True})
        with pytest.raises(ConnectorError, match="list"):
            await collect(paginate_link(make_client(), "/x"))


@settings(max_examples=30, deadline=None)
@given(total=st.integers(min_value=0, max_value=40), size=st.integers(min_value=1, max_value=7))
def test_every_style_yields_each_item_exactly_once(total: int, size: int) -> None:
    """For any list and page size, all four styles return exactly the list."""
    import anyio

    data = list(range(total))
    pages = chunks(data, size)

    def handler(request: httpx.Request) -> httpx.Response:
        style = request.url.path.strip("/")
        params = request.url.params
        if style == "link":
            index = int(params.get("page", "0"))
            headers = (
                {"Link": f'<{API}/link?page={index + 1}>; rel="next"'}
                if index + 1 < len(pages)
                else {}
            )
            return httpx.Response(200, json=pages[index], headers=headers)
        if style == "cursor":
            index = int(params.get("cursor", "0"))
            nxt = str(index + 1) if index + 1 < len(pages) else None
            return httpx.Response(200, json={"data": pages[index], "next": nxt})
        if style == "offset":
            offset = int(params["offset"])
            page = data[offset : offset + size]
            return httpx.Response(200, json={"items": page, "more": offset + size < total})
        token = json.loads(request.content).get("nextPageToken")
        index = int(token or 0)
        last = index + 1 >= len(pages)
        return httpx.Response(
            200,
            json={"issues": pages[index], "isLast": last, "nextPageToken": str(index + 1)},
        )

    async def walk() -> list[list[Any]]:
        client = make_client(handler)
        return [
            await collect(paginate_link(client, "/link")),
            await collect(paginate_cursor(client, "/cursor", items="data", next_cursor=_next)),
            await collect(paginate_offset(client, "/offset", items="items", limit=size)),
            await collect(paginate_token(client, "/token", items="issues")),
        ]

    assert anyio.run(walk) == [data, data, data, data]


def _next(body: Any) -> str | None:
    value: str | None = body["next"]
    return value
