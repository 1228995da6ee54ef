"""GitHub Issues as a tracker (github.com or GitHub Enterprise Server).

Calls (REST, `X-GitHub-Api-Version: 2022-11-28`, a bearer token):

- create: `POST /repos/{owner}/{repo}/issues` with labels and assignees;
- find: `GET /repos/{owner}/{repo}/issues?labels=<marker>&state=all`, newest first, pull
  requests skipped (not the search API, which has its own 30/min limit);
- comment: `POST /repos/{owner}/{repo}/issues/{number}/comments`;
- close and reopen: `PATCH /repos/{owner}/{repo}/issues/{number}` with `state` and
  `state_reason`;
- state and read: `GET /repos/{owner}/{repo}/issues/{number}`.

Tickets are keyed `owner/repo#number`. The hidden marker is a label plus an HTML comment
at the end of the body. Writes go one at a time, at least `write_interval` seconds apart,
as GitHub's secondary rate limits ask.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from feedbackloop._models import TicketRef, TicketStatus
from feedbackloop.connectors import TicketDraft, TicketState
from feedbackloop.connectors._http import HTTPClient, RetryPolicy, Sleep
from feedbackloop.connectors._markdown import ticket_markdown
from feedbackloop.connectors._outbound import HTTPConnector, WritePacer, closing, truncate
from feedbackloop.connectors._pagination import paginate_link
from feedbackloop.errors import ConfigurationError, ConnectorError, ValidationError
from feedbackloop.settings import ConnectorSettings

__all__ = ["STATE_REASONS", "GitHubTracker", "GitHubTrackerSettings", "github_label"]

STATE_REASONS: Final[Mapping[str, str]] = {
    "completed": "completed",
    "done": "completed",
    "fixed": "completed",
    "resolved": "completed",
    "not_planned": "not_planned",
    "not planned": "not_planned",
    "won't do": "not_planned",
    "won't fix": "not_planned",
    "wontfix": "not_planned",
    "wont_fix": "not_planned",
    "declined": "not_planned",
    "invalid": "not_planned",
    "cannot reproduce": "not_planned",
    "duplicate": "duplicate",
}
"""Resolution names (case-insensitive) -> GitHub's `state_reason` when closing."""

_MARKER_COMMENT: Final = re.compile(r"\s*<!-- feedbackloop:marker [^\n]*?-->[ \t]*")
_KEY: Final = re.compile(r"^(?P<repo>[^/\s#]+/[^/\s#]+)#(?P<number>[1-9][0-9]*)$")
_REPO: Final = re.compile(r"^[^/\s#]+/[^/\s#]+$")
_LABEL_LIMIT: Final = 50
_TITLE_LIMIT: Final = 256
_CREATE_FIELDS: Final = frozenset({"repo", "assignees", "milestone"})


class GitHubTrackerSettings(ConnectorSettings, connector="github"):
    """`FEEDBACKLOOP_GITHUB_*`: what `GitHubTracker.from_env()` reads (`token` required)."""

    token: SecretStr
    api_url: str = "https://api.github.com"
    repo: str | None = None
    write_interval: float = 1.0


def github_label(text: str) -> str:
    """`text` as a GitHub label that the `labels=` filter can name.

    Commas (the filter's separator) and whitespace become `-`; at most 50 characters.
    """
    return re.sub(r"[\s,]+", "-", text.strip())[:_LABEL_LIMIT]


class GitHubTracker(HTTPConnector):
    """GitHub issues as tickets, keyed `owner/repo#number`.

    Args:
        token: A token that may write issues (fine-grained: Issues read and write).
        api_url: The API root; GitHub Enterprise Server: `https://HOST/api/v3`.
        repo: The default repository (`owner/repo`); a draft's `fields["repo"]` wins.
        write_interval: Seconds between two writes (creates, comments, state changes);
            they also never overlap.
        name: The tracker's name in the loop.
        retry: How hard the HTTP layer tries.
        transport: The httpx transport (tests pass a mock).
        clock: A monotonic clock for the write pacing.
        sleep: Waits between writes; by default the HTTP layer's `sleep`.
    """

    settings = GitHubTrackerSettings
    auth_hint = (
        "Check FEEDBACKLOOP_GITHUB_TOKEN: a token with access to the repository and "
        "permission to write issues (fine-grained: Issues read and write; classic: repo)"
    )

    def __init__(
        self,
        *,
        token: str | SecretStr,
        api_url: str = "https://api.github.com",
        repo: str | None = None,
        write_interval: float = 1.0,
        name: str = "github",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self.name = name
        self.repo = _repo(repo) if repo else None
        self.pacer = WritePacer(write_interval, clock=clock, sleep=sleep)
        self.http = HTTPClient(
            connector=name,
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            retry=retry,
            transport=transport,
        )

    # --- the Tracker protocol ---------------------------------------------------------

    async def find(self, marker: str, *, fields: Mapping[str, Any]) -> TicketRef | None:
        """The newest issue labelled with `marker` in the repository `fields["repo"]`."""
        repo = self._repo_of(fields)
        params = {
            "labels": github_label(marker),
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": 100,
        }
        with self.hinted():
            async with closing(
                paginate_link(self.http, f"{_repo_path(repo)}/issues", params=params)
            ) as issues:
                async for issue in issues:
                    if isinstance(issue, dict) and "pull_request" not in issue:
                        return self._ref(repo, issue)
        return None

    async def create(self, draft: TicketDraft) -> TicketRef:
        """Create an issue; the draft's `fields` may hold `repo`, `assignees`, `milestone`.

        Raises:
            ConfigurationError: no repository is given, or an unknown field is.
        """
        unknown = sorted(set(draft.fields) - _CREATE_FIELDS)
        if unknown:
            raise ConfigurationError(
                f"github: unknown issue fields {', '.join(map(repr, unknown))}; "
                f"GitHub issues take {', '.join(sorted(_CREATE_FIELDS))}"
            )
        repo = self._repo_of(draft.fields)
        labels = [github_label(label) for label in (*draft.labels, draft.marker)]
        request: dict[str, Any] = {
            "title": truncate(draft.title, _TITLE_LIMIT),
            "body": f"{draft.body}\n\n<!-- feedbackloop:marker {draft.marker} -->",
            "labels": list(dict.fromkeys(label for label in labels if label)),
        }
        assignees = draft.fields.get("assignees")
        if assignees:
            request["assignees"] = [assignees] if isinstance(assignees, str) else list(assignees)
        if draft.fields.get("milestone") is not None:
            request["milestone"] = draft.fields["milestone"]
        issue = await self._write("POST", f"{_repo_path(repo)}/issues", json=request)
        return self._ref(repo, issue)

    async def comment(self, key: str, body: str) -> None:
        """Comment on issue `key` (`owner/repo#number`)."""
        await self._write("POST", f"{_issue(key)}/comments", json={"body": body})

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        """Close issue `key`; `resolution` becomes the `state_reason` (see `STATE_REASONS`).

        Raises:
            ValidationError: `resolution` has no GitHub equivalent.
        """
        reason = _state_reason(resolution)
        await self._write(
            "PATCH", _issue(key), json={"state": "closed", "state_reason": reason}, idempotent=True
        )

    async def reopen(self, key: str) -> None:
        """Reopen issue `key`."""
        await self._write(
            "PATCH",
            _issue(key),
            json={"state": "open", "state_reason": "reopened"},
            idempotent=True,
        )

    async def state(self, key: str) -> TicketState:
        """Issue `key`'s state and, once closed, its `state_reason` as resolution."""
        issue = await self.call("GET", _issue(key))
        ref = self._ref(_parse_key(key)[0], issue)
        reason = issue.get("state_reason") if ref.status == TicketStatus.CLOSED else None
        return TicketState(ref=ref, resolution=reason if isinstance(reason, str) else None)

    # --- more -----------------------------------------------------------------------------

    async def read(self, key: str) -> str:
        """Issue `key`'s title as a `# ` heading, then its body (`TicketReader`).

        The hidden marker comment the loop adds to its issues is left out.

        Raises:
            NotFoundError: no such issue (or the token cannot see it).
        """
        issue = await self.call("GET", _issue(key))
        title = issue.get("title") if isinstance(issue, dict) else None
        if not isinstance(title, str):
            raise ConnectorError(
                f"{self.name}: GitHub's answer has no issue title", connector=self.name
            )
        body = issue.get("body")
        text = _MARKER_COMMENT.sub("", body) if isinstance(body, str) else None
        return ticket_markdown(title, text)

    # --- internals --------------------------------------------------------------------------

    async def _write(self, method: str, url: str, **options: Any) -> Any:
        async with self.pacer.turn():
            return await self.call(method, url, **options)

    def _repo_of(self, fields: Mapping[str, Any]) -> str:
        repo = fields.get("repo") or self.repo
        if not repo:
            raise ConfigurationError(
                "github: no repository; pass repo='owner/repo' to OpenTicket or GitHubTracker, "
                "or set FEEDBACKLOOP_GITHUB_REPO"
            )
        return _repo(str(repo))

    def _ref(self, repo: str, issue: Any) -> TicketRef:
        number = issue.get("number") if isinstance(issue, dict) else None
        if not isinstance(number, int):
            raise ConnectorError(
                f"{self.name}: GitHub's answer has no issue number", connector=self.name
            )
        closed = issue.get("state") == "closed"
        return TicketRef(
            tracker=self.name,
            key=f"{repo}#{number}",
            url=issue.get("html_url"),
            status=TicketStatus.CLOSED if closed else TicketStatus.OPEN,
        )


def _repo(repo: str) -> str:
    if not _REPO.match(repo):
        raise ConfigurationError(f"github: a repository is named 'owner/repo', got {repo!r}")
    return repo


def _parse_key(key: str) -> tuple[str, int]:
    match = _KEY.match(key)
    if match is None:
        raise ValidationError(f"github: a ticket key looks like 'owner/repo#42', got {key!r}")
    return match["repo"], int(match["number"])


def _repo_path(repo: str) -> str:
    owner, name = repo.split("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _issue(key: str) -> str:
    repo, number = _parse_key(key)
    return f"{_repo_path(repo)}/issues/{number}"


def _state_reason(resolution: str | None) -> str:
    if resolution is None:
        return "completed"
    reason = STATE_REASONS.get(resolution.strip().casefold().replace("\u2019", "'"))
    if reason is None:
        known: Iterable[str] = sorted(set(STATE_REASONS))
        raise ValidationError(
            f"github: no state_reason for the resolution {resolution!r}; "
            f"known resolutions: {', '.join(known)}"
        )
    return reason
