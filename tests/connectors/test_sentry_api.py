"""Resolving and unresolving Sentry issues (two-way sync), checked against Sentry's description."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import respx

from feedbackloop.connectors import OriginSync
from feedbackloop.connectors._http import HTTPClient
from feedbackloop.connectors.sentry import SentryIssues, SentrySource
from feedbackloop.errors import AuthenticationError, ConfigurationError, NotFoundError
from tests.connectors.contract import load, vendor

pytestmark = pytest.mark.anyio

SENTRY = "https://sentry.io"
TOKEN = "sntrys_0123456789abcdef_secret"
SPEC = load("sentry")
ONE = "/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/"


@pytest.fixture
def sentry() -> Iterator[respx.MockRouter]:
    """A fake Sentry; afterwards every request it received is checked against the spec."""
    with vendor("sentry", SENTRY) as router:
        yield router


def updated(status: str) -> dict[str, object]:
    issue = SPEC.example("get", ONE, 200)
    issue["status"] = status
    return dict(SPEC.check_response("put", ONE, 200, issue))


def source(**options: object) -> SentrySource:
    values: dict[str, object] = {"token": TOKEN, "organization": "acme", "verify": False}
    return SentrySource(**{**values, **options})  # type: ignore[arg-type]


def test_the_sentry_source_can_sync_its_origin() -> None:
    """SentrySource implements OriginSync, so closed tickets can resolve their issues."""
    assert isinstance(source(), OriginSync)


async def test_resolve_origin_puts_status_resolved(sentry: respx.MockRouter) -> None:
    """Closing a ticket resolves its Sentry issue with PUT .../issues/{id}/."""
    route = sentry.put("/api/0/organizations/acme/issues/42/").respond(
        200, json=updated("resolved")
    )
    sentry_source = source()

    await sentry_source.resolve_origin("42", note="ticket OPS-7 closed")
    await sentry_source.aclose()

    request = route.calls[0].request
    assert json.loads(request.content) == {"status": "resolved"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_reopen_origin_puts_status_unresolved(sentry: respx.MockRouter) -> None:
    """Reopening a ticket unresolves its Sentry issue."""
    route = sentry.put("/api/0/organizations/acme/issues/42/").respond(
        200, json=updated("unresolved")
    )

    await source().reopen_origin("42")

    assert json.loads(route.calls[0].request.content) == {"status": "unresolved"}


async def test_a_token_without_write_scope_gets_a_helpful_error(
    sentry: respx.MockRouter,
) -> None:
    """A 403 names the setting and the scope to check, never the token."""
    sentry.put("/api/0/organizations/acme/issues/42/").respond(
        403, json={"detail": "You do not have permission to perform this action."}
    )

    with pytest.raises(AuthenticationError) as raised:
        await source().resolve_origin("42")

    assert "event:write" in str(raised.value)
    assert "FEEDBACKLOOP_SENTRY_TOKEN" in str(raised.value)
    assert TOKEN not in str(raised.value)


async def test_an_unknown_issue_is_not_found(sentry: respx.MockRouter) -> None:
    """A 404 raises NotFoundError."""
    sentry.put("/api/0/organizations/acme/issues/404404/").respond(
        404, json={"detail": "The requested resource does not exist"}
    )

    with pytest.raises(NotFoundError):
        await SentryIssues(
            HTTPClient(connector="sentry", base_url=SENTRY), organization="acme"
        ).resolve("404404")


async def test_syncing_without_token_or_organization_names_the_settings() -> None:
    """Two-way sync needs a token and an organization; the error says which variables."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_SENTRY_ORGANIZATION"):
        await source(organization=None).resolve_origin("42")
