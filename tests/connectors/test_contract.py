"""The contract checker itself: it must refuse what the vendors' descriptions do not allow."""

from __future__ import annotations

import httpx
import pytest

from tests.connectors.contract import ContractError, load


def test_a_documented_request_passes() -> None:
    """A request the description documents names its operation."""
    request = httpx.Request(
        "POST", "https://x.atlassian.net/rest/api/3/search/jql", json={"jql": "labels = a"}
    )
    assert str(load("jira").check_request(request)) == "POST /rest/api/3/search/jql"


def test_a_deprecated_operation_is_refused() -> None:
    """The old Jira search is documented but deprecated: refused."""
    request = httpx.Request("POST", "https://x.atlassian.net/rest/api/3/search", json={"jql": "a"})
    with pytest.raises(ContractError, match="deprecated"):
        load("jira").check_request(request)


def test_an_undocumented_path_is_refused() -> None:
    """A path no template matches is refused."""
    request = httpx.Request("GET", "https://api.github.com/repos/a/b/tickets")
    with pytest.raises(ContractError, match="no path"):
        load("github").check_request(request)


def test_an_undocumented_query_parameter_is_refused() -> None:
    """Every query parameter must be declared by the operation."""
    request = httpx.Request("GET", "https://api.github.com/repos/a/b/issues?label=x")
    with pytest.raises(ContractError, match="'label'"):
        load("github").check_request(request)


def test_a_read_only_property_in_a_request_is_refused() -> None:
    """readOnly properties (a transition's name) may not be sent."""
    request = httpx.Request(
        "POST",
        "https://x.atlassian.net/rest/api/3/issue/OPS-1/transitions",
        json={"transition": {"id": "1", "name": "Done"}},
    )
    with pytest.raises(ContractError, match="transition/name"):
        load("jira").check_request(request)


def test_a_missing_required_field_is_refused() -> None:
    """PagerDuty events need event_action."""
    request = httpx.Request(
        "POST", "https://events.pagerduty.com/v2/enqueue", json={"routing_key": "r"}
    )
    with pytest.raises(ContractError, match="event_action"):
        load("pagerduty-events").check_request(request)


def test_nullable_fields_accept_null() -> None:
    """`nullable: true` admits null (GitHub's state_reason)."""
    request = httpx.Request(
        "PATCH", "https://api.github.com/repos/a/b/issues/1", json={"state_reason": None}
    )
    assert load("github").check_request(request).template.endswith("{issue_number}")
