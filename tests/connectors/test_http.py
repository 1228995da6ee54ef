"""The HTTP layer: retries, rate limits, error mapping and redaction, against respx."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import anyio
import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from feedbackloop import __version__
from feedbackloop.connectors import _http
from feedbackloop.connectors._http import (
    HTTPClient,
    RetryPolicy,
    create_client,
    retry_after,
    safe_url,
    vendor_message,
)
from feedbackloop.errors import (
    AmbiguousRequestError,
    AuthenticationError,
    BadRequestError,
    HTTPError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from feedbackloop.logs import configure_logging

pytestmark = pytest.mark.anyio

API = "https://api.vendor.example"
NOW = 1_750_000_000.0  # the fake clock's "now", epoch seconds
TOKEN = "tok_live_5f2b9c0e7d1a4"


class Sleeper:
    """A fake sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def client(sleeper: Sleeper) -> HTTPClient:
    return HTTPClient(
        connector="vendor",
        base_url=API,
        headers={"Authorization": f"Bearer {TOKEN}"},
        retry=RetryPolicy(attempts=3, backoff=1.0, max_wait=60.0),
        sleep=sleeper,
        clock=lambda: NOW,
    )


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    logger = logging.getLogger("feedbackloop")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    stream = io.StringIO()
    configure_logging(level="DEBUG", format="json", stream=stream)
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


class TestClientFactory:
    async def test_requests_carry_a_user_agent_naming_feedbackloop_and_its_version(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Vendors see `feedbackloop/<version>` and the connector's name."""
        route = respx_mock.get(f"{API}/ping").respond(200)
        async with create_client(connector="vendor", base_url=API) as client:
            await client.get("/ping")
        assert route.calls.last.request.headers["User-Agent"] == (
            f"feedbackloop/{__version__} (vendor)"
        )

    async def test_the_client_has_timeouts(self) -> None:
        """No request may hang forever."""
        async with create_client(connector="vendor") as client:
            assert client.timeout.read is not None
            assert client.timeout.connect is not None

    async def test_a_transport_can_be_passed_instead_of_the_network(self) -> None:
        """`transport=` sends requests to an httpx.MockTransport."""
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
        async with HTTPClient(connector="vendor", base_url=API, transport=transport) as client:
            assert await client.request_json("GET", "/x") == {"ok": True}


class TestRetries:
    async def test_a_server_error_is_retried_until_it_succeeds(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """Two 503s then a 200: the caller sees the 200."""
        route = respx_mock.get(f"{API}/issues").mock(
            side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[1])]
        )
        response = await client.get("/issues")
        assert response.json() == [1]
        assert route.call_count == 3
        assert len(sleeper.waits) == 2

    async def test_backoff_waits_are_jittered_and_bounded_by_an_exponential_ceiling(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """The n-th wait lies between 0 and backoff * 2**(n-1)."""
        respx_mock.get(f"{API}/issues").mock(
            side_effect=[httpx.Response(500), httpx.Response(500), httpx.Response(200)]
        )
        await client.get("/issues")
        assert 0 <= sleeper.waits[0] <= 1.0
        assert 0 <= sleeper.waits[1] <= 2.0

    async def test_a_connect_error_is_retried(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """A refused connection is tried again."""
        route = respx_mock.get(f"{API}/issues").mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(200)]
        )
        assert (await client.get("/issues")).status_code == 200
        assert route.call_count == 2

    async def test_a_read_timeout_on_a_get_is_retried(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """Reading is harmless to repeat."""
        route = respx_mock.get(f"{API}/issues").mock(
            side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200)]
        )
        assert (await client.get("/issues")).status_code == 200
        assert route.call_count == 2

    async def test_server_errors_that_persist_raise_server_error_after_every_attempt(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """The vendor failed three times: ServerError, carrying the status."""
        route = respx_mock.get(f"{API}/issues").respond(500, json={"message": "boom"})
        with pytest.raises(ServerError) as caught:
            await client.get("/issues")
        assert route.call_count == 3
        assert caught.value.status_code == 500
        assert caught.value.vendor_message == "boom"

    async def test_connection_failures_that_persist_raise_transport_error(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """After the last try a connect error becomes TransportError, chained."""
        respx_mock.get(f"{API}/issues").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(TransportError) as caught:
            await client.get("/issues")
        assert not isinstance(caught.value, AmbiguousRequestError)
        assert isinstance(caught.value.__cause__, httpx.ConnectError)
        assert caught.value.method == "GET"
        assert caught.value.url == f"{API}/issues"

    async def test_attempts_of_one_disables_retries(
        self, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """RetryPolicy(attempts=1) tries once."""
        route = respx_mock.get(f"{API}/issues").respond(503)
        client = HTTPClient(
            connector="vendor", base_url=API, retry=RetryPolicy(attempts=1), sleep=sleeper
        )
        with pytest.raises(ServerError):
            await client.get("/issues")
        assert route.call_count == 1
        assert sleeper.waits == []

    async def test_the_module_level_sleep_can_be_replaced_for_clients_built_deep_inside(
        self, monkeypatch: pytest.MonkeyPatch, respx_mock: respx.MockRouter
    ) -> None:
        """Connector tests patch `_http.sleep` instead of threading `sleep=` through."""
        fake = Sleeper()
        monkeypatch.setattr(_http, "sleep", fake)
        respx_mock.get(f"{API}/x").mock(side_effect=[httpx.Response(429), httpx.Response(200)])
        await HTTPClient(connector="vendor", base_url=API).get("/x")
        assert len(fake.waits) == 1

    async def test_a_client_can_be_used_from_several_event_loops(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Each `anyio.run` gets its own connection pool from the same HTTPClient."""
        respx_mock.get(f"{API}/x").respond(200)
        client = HTTPClient(connector="vendor", base_url=API)

        def call() -> int:
            return anyio.run(lambda: client.get("/x")).status_code

        assert await anyio.to_thread.run_sync(call) == 200
        assert await anyio.to_thread.run_sync(call) == 200
        await client.aclose()


class TestNonIdempotentCalls:
    async def test_a_post_is_not_retried_on_a_server_error(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """The 500 may have created the ticket: no blind second create."""
        route = respx_mock.post(f"{API}/issues").respond(500)
        with pytest.raises(ServerError):
            await client.post("/issues", json={"title": "x"})
        assert route.call_count == 1

    async def test_a_post_the_caller_declares_idempotent_is_retried(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """`idempotent=True` (a dedup key, a search) makes a POST retryable."""
        route = respx_mock.post(f"{API}/enqueue").mock(
            side_effect=[httpx.Response(502), httpx.Response(202)]
        )
        response = await client.post("/enqueue", json={"dedup_key": "k"}, idempotent=True)
        assert response.status_code == 202
        assert route.call_count == 2

    async def test_a_timeout_after_a_post_was_sent_raises_ambiguous_request_error(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """The outcome is unknown: the caller must reconcile, so no retry."""
        route = respx_mock.post(f"{API}/issues").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(AmbiguousRequestError) as caught:
            await client.post("/issues", json={"title": "x"})
        assert route.call_count == 1
        assert caught.value.method == "POST"
        assert "may or may not have taken effect" in str(caught.value)

    async def test_a_post_that_never_connected_is_retried(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """A refused connection sent nothing, so even a POST is safe to repeat."""
        route = respx_mock.post(f"{API}/issues").mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(201)]
        )
        assert (await client.post("/issues", json={})).status_code == 201
        assert route.call_count == 2

    async def test_a_rate_limited_post_is_retried(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """A 429 means the vendor did nothing: safe to send again."""
        route = respx_mock.post(f"{API}/issues").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201)]
        )
        assert (await client.post("/issues", json={})).status_code == 201
        assert route.call_count == 2


class TestRateLimits:
    async def test_retry_after_in_seconds_is_honoured(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """`Retry-After: 7` waits 7 s (on the fake clock) before the next try."""
        respx_mock.get(f"{API}/x").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
        )
        await client.get("/x")
        assert sleeper.waits == [7.0]

    async def test_retry_after_as_an_http_date_is_honoured(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """An HTTP date 30 s after the fake clock's now waits 30 s."""
        moment = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
        respx_mock.get(f"{API}/x").mock(
            side_effect=[httpx.Response(503, headers={"Retry-After": moment}), httpx.Response(200)]
        )
        await client.get("/x")
        assert sleeper.waits == [30.0]

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"X-RateLimit-Reset": str(int(NOW) + 12), "X-RateLimit-Remaining": "0"}, 12.0),
            ({"X-RateLimit-Reset": "9", "X-RateLimit-Period": "60"}, 9.0),
            ({"X-RateLimit-Reset": datetime.fromtimestamp(NOW + 20, UTC).isoformat()}, 20.0),
            ({"X-Sentry-Rate-Limit-Reset": str(int(NOW) + 3)}, 3.0),
            ({"ratelimit-reset": "4", "ratelimit-remaining": "0"}, 4.0),
        ],
        ids=["github-epoch", "datadog-delta", "jira-iso8601", "sentry", "pagerduty"],
    )
    async def test_vendor_reset_headers_are_honoured(
        self,
        sleeper: Sleeper,
        respx_mock: respx.MockRouter,
        headers: dict[str, str],
        expected: float,
    ) -> None:
        """Each vendor's reset header decides the wait when there is no Retry-After."""
        client = HTTPClient(connector="vendor", base_url=API, sleep=sleeper, clock=lambda: NOW)
        respx_mock.get(f"{API}/x").mock(
            side_effect=[httpx.Response(429, headers=headers), httpx.Response(200)]
        )
        await client.get("/x")
        assert sleeper.waits == [pytest.approx(expected)]

    async def test_a_github_rate_limited_403_is_a_rate_limit_and_is_retried(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """403 with `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`."""
        limited = httpx.Response(
            403,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 20)},
            json={"message": "API rate limit exceeded"},
        )
        respx_mock.get(f"{API}/repos").mock(side_effect=[limited, httpx.Response(200)])
        await client.get("/repos")
        assert sleeper.waits == [20.0]

    async def test_a_wait_longer_than_the_cap_fails_at_once_with_the_advised_delay(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """An hour-long Retry-After is not slept through: RateLimitError says how long."""
        route = respx_mock.get(f"{API}/x").respond(429, headers={"Retry-After": "3600"})
        with pytest.raises(RateLimitError) as caught:
            await client.get("/x")
        assert caught.value.retry_after == 3600.0
        assert route.call_count == 1
        assert sleeper.waits == []

    async def test_a_rate_limit_that_does_not_say_when_it_ends_fails_at_once(
        self, client: HTTPClient, sleeper: Sleeper, respx_mock: respx.MockRouter
    ) -> None:
        """GitHub's secondary limits: no hammering within seconds; the caller waits."""
        route = respx_mock.post(f"{API}/issues").respond(
            403, json={"message": "You have exceeded a secondary rate limit"}
        )
        with pytest.raises(RateLimitError) as caught:
            await client.post("/issues", json={})
        assert caught.value.retry_after is None
        assert (route.call_count, sleeper.waits) == (1, [])

    async def test_rate_limits_that_persist_raise_rate_limit_error(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """After the last try, the 429 surfaces with its advised wait."""
        respx_mock.get(f"{API}/x").respond(429, headers={"Retry-After": "2"})
        with pytest.raises(RateLimitError) as caught:
            await client.get("/x")
        assert caught.value.status_code == 429
        assert caught.value.retry_after == 2.0

    def test_a_reset_header_with_requests_remaining_is_ignored(self) -> None:
        """A reset is only a wait when the window is used up."""
        assert retry_after({"X-RateLimit-Reset": "30", "X-RateLimit-Remaining": "5"}) is None

    @given(st.floats(min_value=0, max_value=4e9), st.floats(min_value=1e9, max_value=4e9))
    def test_retry_after_is_never_negative(self, reset: float, now: float) -> None:
        """Resets in the past mean "go now", never a negative sleep."""
        wait = retry_after({"X-RateLimit-Reset": repr(reset)}, now=now)
        assert wait is not None
        assert wait >= 0


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (403, AuthenticationError),
            (404, NotFoundError),
            (409, BadRequestError),
            (410, NotFoundError),
            (422, BadRequestError),
        ],
    )
    async def test_client_errors_are_not_retried_and_map_to_the_right_error(
        self,
        client: HTTPClient,
        sleeper: Sleeper,
        respx_mock: respx.MockRouter,
        status: int,
        error: type[HTTPError],
    ) -> None:
        """A 4xx that will not change is raised at once as its exception."""
        route = respx_mock.get(f"{API}/x").respond(status)
        with pytest.raises(error) as caught:
            await client.get("/x")
        assert type(caught.value) is error
        assert caught.value.status_code == status
        assert route.call_count == 1
        assert sleeper.waits == []

    async def test_the_error_names_the_connector_method_and_url_without_query(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """Context is attached; the query string never is."""
        respx_mock.get(f"{API}/issues").respond(404, json={"message": "Not Found"})
        with pytest.raises(NotFoundError) as caught:
            await client.get("/issues", params={"q": "secret-query"})
        error = caught.value
        assert (error.connector, error.method, error.url) == ("vendor", "GET", f"{API}/issues")
        assert str(error) == f"vendor: GET {API}/issues failed with 404 Not Found: Not Found"
        assert "secret-query" not in str(error)

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"message": "Validation Failed"}, "Validation Failed"),
            (
                {"errorMessages": ["Bad JQL"], "errors": {"summary": "required"}},
                "Bad JQL; summary: required",
            ),
            ({"error": {"message": "Invalid Input", "errors": ["bad key"]}}, "Invalid Input"),
            ({"detail": "You do not have permission"}, "You do not have permission"),
            ({"errors": ["Forbidden", "bad app key"]}, "Forbidden; bad app key"),
            ({"ok": False, "error": "channel_not_found"}, "channel_not_found"),
            ("invalid_payload", "invalid_payload"),
        ],
        ids=["github", "jira", "pagerduty", "sentry", "datadog", "slack", "text"],
    )
    async def test_the_vendor_message_is_extracted_from_common_shapes(
        self, client: HTTPClient, respx_mock: respx.MockRouter, body: object, expected: str
    ) -> None:
        """Each vendor's error body yields its human explanation."""
        if isinstance(body, str):
            respx_mock.post(f"{API}/x").respond(400, text=body)
        else:
            respx_mock.post(f"{API}/x").respond(400, json=body)
        with pytest.raises(BadRequestError) as caught:
            await client.post("/x", json={})
        assert caught.value.vendor_message is not None
        assert caught.value.vendor_message.startswith(expected)

    def test_an_html_error_page_yields_no_vendor_message(self) -> None:
        """A proxy's HTML page is noise, not an explanation."""
        response = httpx.Response(502, html="<html><body>Bad gateway</body></html>")
        assert vendor_message(response) is None


class TestSecrets:
    async def test_credentials_echoed_by_the_vendor_are_absent_from_the_error(
        self, client: HTTPClient, respx_mock: respx.MockRouter
    ) -> None:
        """A vendor quoting our token back does not leak it into the message."""
        respx_mock.get(f"{API}/x").respond(401, json={"message": f"token {TOKEN} is revoked"})
        with pytest.raises(AuthenticationError) as caught:
            await client.get("/x")
        assert TOKEN not in str(caught.value)
        assert TOKEN not in str(caught.value.vendor_message)

    async def test_basic_auth_passwords_and_url_credentials_are_absent_from_errors(
        self, respx_mock: respx.MockRouter
    ) -> None:
        """Neither `auth=` nor credentials in the URL reach the message."""
        respx_mock.get("https://jira.example/rest").respond(
            403, json={"errorMessages": ["bad credentials hunter2-pass"]}
        )
        client = HTTPClient(connector="jira", auth=("bob", "hunter2-pass"))
        with pytest.raises(AuthenticationError) as caught:
            await client.get("https://bob:hunter2-pass@jira.example/rest?token=abc123")
        assert "hunter2-pass" not in str(caught.value)
        assert "abc123" not in str(caught.value)

    async def test_named_secrets_are_absent_from_errors(self, respx_mock: respx.MockRouter) -> None:
        """A secret in the URL path (Slack webhooks) is hidden when the connector names it."""
        path = "/services/T000/B000/XXXXsecretXXXX"
        respx_mock.post(f"https://hooks.example{path}").respond(404, text="no_service")
        client = HTTPClient(connector="slack", secrets=[path])
        with pytest.raises(NotFoundError) as caught:
            await client.post(f"https://hooks.example{path}", json={}, idempotent=True)
        assert "XXXXsecretXXXX" not in str(caught.value)
        assert "XXXXsecretXXXX" not in str(caught.value.url)

    async def test_secrets_are_absent_from_retry_logs(
        self, client: HTTPClient, respx_mock: respx.MockRouter, log_stream: io.StringIO
    ) -> None:
        """Retries are logged with the request, but never with a credential."""
        respx_mock.get(f"{API}/x").mock(
            side_effect=[
                httpx.Response(503, json={"message": f"down, your token is {TOKEN}"}),
                httpx.Response(200),
            ]
        )
        await client.get("/x", params={"token": "query-secret-1"})
        lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
        assert [line["event"] for line in lines] == ["retrying request"]
        assert lines[0]["url"] == f"{API}/x"
        assert TOKEN not in log_stream.getvalue()
        assert "query-secret-1" not in log_stream.getvalue()

    def test_the_client_repr_shows_no_secret(self) -> None:
        """`repr(client)` names the connector and the host only."""
        client = HTTPClient(
            connector="jira",
            base_url="https://bob:pw12345@jira.example/?k=1",
            auth=("b", "pw12345"),
        )
        assert "pw12345" not in repr(client)

    @given(st.text(alphabet="abcdefghij0123456789", min_size=1), st.text(min_size=1))
    def test_safe_urls_never_keep_the_query_or_the_password(
        self, password: str, value: str
    ) -> None:
        """Whatever the query and userinfo hold, `safe_url` drops them."""
        url = httpx.URL(f"https://user:{password}@host.example/p", params={"q": value})
        assert safe_url(url) == "https://host.example/p"
