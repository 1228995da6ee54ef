"""Notes on PagerDuty incidents when their tickets move (two-way sync), against the REST spec."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import respx

from feedbackloop.connectors import OriginSync
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.errors import ConfigurationError
from tests.connectors.contract import load, vendor

pytestmark = pytest.mark.anyio

API = "https://api.pagerduty.com"
TOKEN = "pd-rest-token-for-tests"
SPEC = load("pagerduty")
NOTES = "/incidents/{id}/notes"


@pytest.fixture
def pagerduty() -> Iterator[respx.MockRouter]:
    """A fake PagerDuty REST API; every request it received is checked against the spec."""
    with vendor("pagerduty", API) as router:
        yield router


def source(**options: object) -> PagerDutySource:
    values: dict[str, object] = {
        "api_token": TOKEN,
        "from_email": "sre@acme.example",
        "verify": False,
    }
    return PagerDutySource(**{**values, **options})  # type: ignore[arg-type]


def test_the_pagerduty_source_can_sync_its_origin() -> None:
    """PagerDutySource implements OriginSync."""
    assert isinstance(source(), OriginSync)


async def test_a_closed_ticket_adds_a_note_to_the_incident(pagerduty: respx.MockRouter) -> None:
    """resolve_origin posts the note as the configured user."""
    route = pagerduty.post("/incidents/PT4KHLK/notes").respond(
        200, json=SPEC.example("post", NOTES, 200)
    )
    pd = source()
    await pd.resolve_origin("PT4KHLK", note="Ticket OPS-7 was closed.")
    await pd.aclose()
    request = route.calls[0].request
    assert json.loads(request.content) == {"note": {"content": "Ticket OPS-7 was closed."}}
    assert (request.headers["From"], request.headers["Authorization"]) == (
        "sre@acme.example",
        f"Token token={TOKEN}",
    )


async def test_notes_need_a_from_email() -> None:
    """Without the From address PagerDuty would refuse; the error names the setting."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_PAGERDUTY_FROM_EMAIL"):
        await source(from_email=None).resolve_origin("PT4KHLK")
