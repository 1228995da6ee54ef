"""Hostile input: hypothesis throws requests at the webhook app through httpx's ASGI transport.

Random bytes, random and mutated JSON, huge and deeply nested documents, wrong content
types and encodings, truncated bodies, replays and forged signatures, each with random
headers, at every source and at unknown ones. The app must answer every request with a
2xx or a 4xx, leave the store untouched when it refuses, and keep serving.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from feedbackloop import AsyncFeedbackLoop
from feedbackloop.connectors._webhooks import hmac_sha256_hex
from feedbackloop.demo import SECRETS, build_demo_loop, week
from feedbackloop.demo._vendor import Delivery, Vendors
from feedbackloop.server import create_app
from feedbackloop.store import _schema as s
from tests.strategies import mutated_json

MAX_BODY = 64 * 1024
AT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)

SIGNERS: dict[str, Callable[[bytes], dict[str, str]]] = {
    "sentry": lambda b: {"Sentry-Hook-Signature": hmac_sha256_hex(SECRETS["sentry"], b)},
    "datadog": lambda b: {"X-Feedbackloop-Token": SECRETS["datadog"]},
    "pagerduty": lambda b: {
        "X-PagerDuty-Signature": f"v1={hmac_sha256_hex(SECRETS['pagerduty'], b)}"
    },
    "jira": lambda b: {"X-Hub-Signature": f"sha256={hmac_sha256_hex(SECRETS['jira'], b)}"},
    "github": lambda b: {"X-Hub-Signature-256": f"sha256={hmac_sha256_hex(SECRETS['github'], b)}"},
}
"""How each vendor signs a body, with the demo's secrets."""


def originals() -> dict[str, Delivery]:
    """One real, signed delivery per source, as the demo builds them."""
    found: dict[str, Delivery] = {}
    for step in week(7):
        if isinstance(step, Delivery):
            found.setdefault(step.source, step)
    vendors = Vendors(random.Random(3))
    found["jira"] = vendors.jira_closed("OPS-1", "Checkout fails", AT)
    found["github"] = vendors.github_closed("acme/postmortems#1", "Postmortem", AT, AT)
    return found


ORIGINALS = originals()
SOURCES = sorted(SIGNERS)

token = st.text("abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "",
    ]
)


def nested(depth: int, inner: Any) -> bytes:
    return b"[" * depth + json.dumps(inner).encode() + b"]" * depth


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes, str]:
    """(source, headers, body, what): one hostile request."""
    source = draw(st.sampled_from(SOURCES)) if draw(st.integers(0, 9)) else draw(token)
    original = ORIGINALS.get(source, ORIGINALS["sentry"])
    payload = json.loads(original.body)
    what = draw(
        st.sampled_from(
            [
                "random bytes",
                "random json",
                "mutated",
                "nested",
                "nested inside",
                "huge",
                "truncated",
                "forged",
                "other encoding",
                "replay",
            ]
        )
    )
    if what == "random bytes":
        body = draw(st.binary(max_size=2000))
    elif what == "random json":
        body = json.dumps(draw(json_values)).encode()
    elif what == "mutated":
        body = json.dumps(draw(mutated_json(payload))).encode()
    elif what == "nested":
        body = nested(draw(st.integers(1, 40_000)), payload)
    elif what == "nested inside":
        # A signed delivery whose fields hold deeply nested lists where strings belong.
        inner = nested(draw(st.integers(1, 5_000)), "x")
        body = json.dumps(payload).encode()
        for value in (b'"production"', b'"error"', b'"triggered"'):
            body = body.replace(value, inner, 1)
        body = body[:-1] + b',"extra":' + inner + b"}"
    elif what == "huge":
        body = b'{"pad":"' + b"x" * draw(st.integers(MAX_BODY - 8, 4 * MAX_BODY)) + b'"}'
    elif what == "truncated":
        body = original.body[: draw(st.integers(0, len(original.body) - 1))]
    elif what == "other encoding":
        body = json.dumps(payload, ensure_ascii=False).encode(
            draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig"])), "replace"
        )
    else:  # forged and replay start from the original delivery
        body = original.body
    headers = {
        k: v for k, v in original.headers.items() if not draw(st.booleans()) or what == "replay"
    }
    if what not in ("forged", "replay") and draw(st.integers(0, 4)) > 0:
        headers.update(SIGNERS.get(source, SIGNERS["sentry"])(body))  # signed: parsing is tried
    if what == "forged":
        name = next(iter(SIGNERS.get(source, SIGNERS["sentry"])(body)))
        headers[name] = draw(st.sampled_from(["", "v1=", "sha256=", "sha256=00"]) | header_values)
    if what != "replay":
        headers.update(draw(st.dictionaries(token, header_values, max_size=4)))
        headers["Content-Type"] = draw(content_types)
    return source, headers, body, what


def dump(loop: AsyncFeedbackLoop) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with loop.store.transaction() as tx:
        return {
            table.name: [tuple(row) for row in tx.connection.execute(select(table))]
            for table in s.metadata.sorted_tables
        }


@pytest.mark.slow
def test_hostile_requests_get_2xx_or_4xx_and_refusals_leave_the_store_untouched(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    """Never a 5xx; a refused request changes nothing; a valid delivery still works after."""
    loop = build_demo_loop(f"sqlite:///{tmp_path / 'hostile.db'}", lambda: AT)
    app = create_app(loop, worker=False, max_body_size=MAX_BODY)
    answers: dict[str, int] = {}
    for delivery in ORIGINALS.values():  # accepted once, so replays are replays
        anyio.run(send, app, delivery.source, delivery.headers, delivery.body)

    @settings(
        max_examples=600,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(hostile_requests())
    def check(request: tuple[str, dict[str, str], bytes, str]) -> None:
        source, headers, body, what = request
        before = dump(loop)
        status, text = anyio.run(send, app, source, headers, body)
        answers[str(status)] = answers.get(str(status), 0) + 1
        assert 200 <= status < 500, (what, status, text)
        if status >= 400 or what == "replay":
            assert dump(loop) == before, (what, status)

    try:
        check()
        fresh = Vendors(random.Random(99)).sentry_issue(
            "created",
            {
                "id": "424242",
                "short_id": "API-42",
                "project": "api",
                "project_id": 1,
                "title": "ValueError: still serving",
                "culprit": "api.views",
                "level": "fatal",
                "environment": "production",
                "release": "api@1",
            },
            AT,
            first_seen=AT,
        )
        status, text = anyio.run(send, app, "sentry", fresh.headers, fresh.body)
        assert status == 202, text
        anyio.run(loop.process_pending)
        processed = {d.delivery_id: d for d in loop.store.deliveries()}
        assert processed[fresh.headers["Request-ID"]].status == "done"
        assert anyio.run(get, app, "/healthz") == 200
    finally:
        anyio.run(loop.aclose)
    figures.update(inputs=sum(answers.values()), answers=answers, server_errors=0)


async def send(app: Any, source: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hostile") as http:
        answer = await http.post(f"/webhooks/{source}", content=body, headers=headers)
        return answer.status_code, answer.text[:300]


async def get(app: Any, path: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hostile") as http:
        return (await http.get(path)).status_code
