"""A fake Jira Cloud on 127.0.0.1 with a seeded schedule of faults.

It implements what `JiraTracker` calls to create and update tickets (create an issue,
search by JQL label, comment) and keeps the issues in memory, so a test can count
what really happened on the vendor's side. Each request may meet a fault, drawn from
a seeded random schedule:

- `429`: rate limited, with `Retry-After` (nothing applied);
- `500`, `503`: the vendor failed (nothing applied);
- `reset`: the connection drops before anything is applied;
- `lost`: the change is applied, then the connection drops (the answer is lost);
- `slow`: the change is applied, the answer comes after the client's timeout;
- `late`: the request hangs past the client's timeout, then the change is applied.

The app is Starlette's request and response objects behind a small ASGI callable (so it
can drop a connection half-way through an answer) served by uvicorn in a thread.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from tests.reliability.servers import free_port

FAULTS = {
    "429": 0.1,
    "500": 0.07,
    "503": 0.07,
    "reset": 0.07,
    "lost": 0.07,
    "slow": 0.06,
    "late": 0.06,
}
"""Each fault's chance per request: half the requests meet one."""

_LABEL = re.compile(r'labels = "([^"]+)"')
_ISSUE = re.compile(r"^/rest/api/3/issue/([A-Z]+-[0-9]+)/comment$")


class _DroppedError(Exception):
    """Raised after the answer started: uvicorn then closes the connection."""


@dataclass
class Issue:
    key: str
    fields: dict[str, Any]
    comments: list[Any] = field(default_factory=list)


@dataclass
class FakeJira:
    """The fake's state, its fault schedule, and what it saw."""

    seed: int
    delay: float
    """How long `slow` and `late` requests hang: longer than the client's timeout."""
    faults: dict[str, float] = field(default_factory=lambda: dict(FAULTS))
    retry_after: tuple[str, ...] = ("0", "0.05", "0.1")
    """The `Retry-After` values a 429 picks from."""
    enabled: bool = True
    issues: dict[str, Issue] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    rate_limits: list[tuple[float, str, float]] = field(default_factory=list)
    """(when a 429 was answered, to which request, the Retry-After it carried)."""
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    """(when a request arrived, what it was: method, path and body)."""
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def retried_too_early(self) -> list[str]:
        """Requests sent again before the Retry-After of their 429 had passed."""
        early = []
        for answered, what, wait in self.rate_limits:
            again = [at for at, sent in self.arrivals if sent == what and at > answered]
            if again and min(again) - answered < wait * 0.9:
                early.append(f"{what[:80]} after {min(again) - answered:.3f}s < {wait}s")
        return early

    def by_marker(self, marker: str) -> list[Issue]:
        """The issues labelled with `marker`."""
        return [i for i in self.issues.values() if marker in i.fields.get("labels", [])]

    def _fault(self) -> str | None:
        with self._lock:
            roll = self._rng.random()
            if not self.enabled:
                return None
            for name, chance in self.faults.items():
                if roll < chance:
                    self.injected[name] += 1
                    return name
                roll -= chance
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to set up
        request = Request(scope, receive)
        raw = await request.body()
        body = json.loads(raw) if request.method == "POST" else None
        what = f"{request.method} {request.url.path} {raw.decode()}"
        self.arrivals.append((time.monotonic(), what))
        self.requests[f"{request.method} {_route(request.url.path)}"] += 1
        fault = self._fault()
        if fault in ("500", "503"):
            status = int(fault)
            answer: Response = JSONResponse({"errorMessages": ["Internal error"]}, status)
        elif fault == "429":
            wait = self._rng.choice(self.retry_after)
            self.rate_limits.append((time.monotonic(), what, float(wait)))
            answer = JSONResponse(
                {"errorMessages": ["Rate limit exceeded."]}, 429, headers={"Retry-After": wait}
            )
        elif fault == "reset":
            await _drop(send)
            return
        else:
            if fault == "late":
                await anyio.sleep(self.delay)
            answer = self._apply(request, body)
            if fault == "lost":
                await _drop(send)
                return
            if fault == "slow":
                await anyio.sleep(self.delay)
        await answer(scope, receive, send)

    def _apply(self, request: Request, body: Any) -> Response:
        path = request.url.path
        if request.method == "POST" and path == "/rest/api/3/issue":
            key = f"OPS-{next(self._numbers)}"
            fields = dict(body["fields"])
            fields["status"] = {"name": "To Do", "statusCategory": {"key": "new"}}
            self.issues[key] = Issue(key, fields)
            return JSONResponse(
                {"id": key[4:], "key": key, "self": f"{request.base_url}{key}"}, 201
            )
        if request.method == "POST" and path == "/rest/api/3/search/jql":
            wanted = _LABEL.search(body["jql"])
            found = [] if wanted is None else self.by_marker(wanted.group(1))
            issues = [{"id": i.key[4:], "key": i.key, "fields": i.fields} for i in reversed(found)]
            return JSONResponse({"issues": issues, "isLast": True})
        comment = _ISSUE.match(path)
        if request.method == "POST" and comment is not None:
            issue = self.issues.get(comment.group(1))
            if issue is None:
                return JSONResponse({"errorMessages": ["Issue does not exist"]}, 404)
            issue.comments.append(body["body"])
            return JSONResponse({"id": str(len(issue.comments))}, 201)
        return JSONResponse({"errorMessages": [f"no route {path}"]}, 404)


def _route(path: str) -> str:
    return _ISSUE.sub("/rest/api/3/issue/{key}/comment", path)


async def _drop(send: Send) -> None:
    # The answer's head promises a body that never comes: the client sees the
    # connection close half-way (uvicorn closes it when the app raises after starting).
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
    )
    raise _DroppedError


@contextmanager
def serving(fake: FakeJira) -> Iterator[str]:
    """Serve `fake` on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the fake Jira did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
