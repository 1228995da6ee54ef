"""Sentry's issue API, the way back: resolve or unresolve an issue when its ticket moves.

`PUT /api/0/organizations/{organization}/issues/{issue_id}/` with `{"status": "resolved"}`
or `{"status": "unresolved"}` ("only the attributes submitted are modified"). The token
needs the `event:write` scope. `SentrySource.resolve_origin` and `reopen_origin` call it.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import quote

from feedbackloop.connectors._http import HTTPClient
from feedbackloop.connectors._outbound import auth_hinted
from feedbackloop.errors import ValidationError

__all__ = ["SentryIssues"]

_AUTH_HINT: Final = (
    "Check FEEDBACKLOOP_SENTRY_TOKEN: a token of the organization with the event:write "
    "scope (event:admin also works)"
)


class SentryIssues:
    """Changes the status of Sentry issues.

    Args:
        http: The HTTP client, its base URL Sentry's address and its headers carrying
            the bearer token (`SentrySource` passes its own).
        organization: The organization's slug (or id).
    """

    def __init__(self, http: HTTPClient, *, organization: str) -> None:
        self.http = http
        self.organization = organization

    def __repr__(self) -> str:
        return f"SentryIssues(organization={self.organization!r}, base_url={self.http.base_url!r})"

    async def resolve(self, issue_id: str) -> None:
        """Mark issue `issue_id` resolved."""
        await self.set_status(issue_id, "resolved")

    async def unresolve(self, issue_id: str) -> None:
        """Mark issue `issue_id` unresolved again."""
        await self.set_status(issue_id, "unresolved")

    async def set_status(self, issue_id: str, status: Literal["resolved", "unresolved"]) -> None:
        """Set issue `issue_id`'s status.

        Raises:
            ValidationError: `issue_id` is empty.
            AuthenticationError: the token is refused or lacks `event:write`.
            NotFoundError: no such issue in the organization.
        """
        if not issue_id.strip():
            raise ValidationError("sentry: an issue id is needed to change its status")
        org, issue = quote(self.organization, safe=""), quote(issue_id.strip(), safe="")
        with auth_hinted(_AUTH_HINT):
            await self.http.request(
                "PUT", f"/api/0/organizations/{org}/issues/{issue}/", json={"status": status}
            )
