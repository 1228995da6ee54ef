"""Jira Cloud as a tracker: issues created, found, commented, transitioned and read back.

Calls (REST API v3, basic auth with the account's e-mail and an API token):

- create: `POST /rest/api/3/issue`, the description in ADF (`markdown_to_adf`);
- find: `POST /rest/api/3/search/jql` (never the deprecated `/rest/api/3/search`) for
  the marker label, newest first;
- comment: `POST /rest/api/3/issue/{key}/comment`, the body in ADF;
- close and reopen: `GET /rest/api/3/issue/{key}/transitions`, the transition picked by
  name, then `POST` it;
- state: `GET /rest/api/3/issue/{key}?fields=status,resolution`;
- read: `GET /rest/api/3/issue/{key}?fields=summary,description`, the description
  converted from ADF to Markdown (`adf_to_markdown`).

The ticket's hidden marker is a label (the marker itself, labels cannot hold spaces) and
a last line of the description.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from feedbackloop._models import Severity, TicketRef, TicketStatus
from feedbackloop.connectors import TicketDraft, TicketState
from feedbackloop.connectors._http import DEFAULT_TIMEOUT, HTTPClient, RetryPolicy
from feedbackloop.connectors._markdown import ticket_markdown
from feedbackloop.connectors._outbound import HTTPConnector, closing, truncate
from feedbackloop.connectors._pagination import paginate_token
from feedbackloop.connectors.jira._adf import adf_to_markdown, markdown_to_adf, paragraph
from feedbackloop.errors import ConfigurationError, ConnectorError
from feedbackloop.settings import ConnectorSettings, NameList

__all__ = [
    "DEFAULT_REOPEN_TRANSITIONS",
    "DEFAULT_RESOLUTIONS",
    "DEFAULT_RESOLVE_TRANSITIONS",
    "JiraTracker",
    "JiraTrackerSettings",
    "jira_label",
]

DEFAULT_RESOLVE_TRANSITIONS: Final = ("Done", "Resolve Issue", "Resolve", "Close Issue", "Close")
"""Transition names tried, in order, to close an issue (Jira's default workflows)."""

DEFAULT_REOPEN_TRANSITIONS: Final = ("Reopen Issue", "Reopen", "To Do", "Open", "Backlog")
"""Transition names tried, in order, to reopen an issue."""

DEFAULT_RESOLUTIONS: Final[Mapping[str, str]] = {
    "completed": "Done",
    "not_planned": "Won't Do",
    "duplicate": "Duplicate",
}
"""feedbackloop's resolutions -> Jira resolution names; other names are sent as given."""

_SUMMARY_LIMIT: Final = 255
_LABEL_LIMIT: Final = 255
_MARKER_PREFIX: Final = "feedbackloop marker: "
_SEARCH_FIELDS: Final = ("summary", "status", "resolution", "labels", "created")


class JiraTrackerSettings(ConnectorSettings, connector="jira"):
    """`FEEDBACKLOOP_JIRA_*`: what `JiraTracker.from_env()` reads.

    `url`, `email` and `api_token` are required; the transition names are
    comma-separated (`FEEDBACKLOOP_JIRA_RESOLVE_TRANSITIONS=Done,Resolve Issue`).
    """

    url: str
    email: str
    api_token: SecretStr
    project: str | None = None
    issue_type: str = "Task"
    resolve_transitions: NameList = DEFAULT_RESOLVE_TRANSITIONS
    reopen_transitions: NameList = DEFAULT_REOPEN_TRANSITIONS


def jira_label(text: str) -> str:
    """`text` as a Jira label: whitespace runs become `-` (labels cannot hold spaces).

    Args:
        text: A label or marker.

    Returns:
        The label, at most 255 characters; empty when `text` is blank.
    """
    return re.sub(r"\s+", "-", text.strip())[:_LABEL_LIMIT]


class JiraTracker(HTTPConnector):
    """Jira Cloud issues as tickets.

    Args:
        url: The site (`https://acme.atlassian.net`).
        email: The account's e-mail address (basic auth user).
        api_token: An API token of that account (id.atlassian.com).
        project: The default project key (or id) for new issues; a draft's
            `fields["project"]` wins.
        issue_type: The default issue type name; a draft's `fields["issue_type"]` wins.
        resolve_transitions: Transition names that close an issue, tried in order
            (case-insensitive; a transition's target status name matches too).
        reopen_transitions: Transition names that reopen an issue, tried in order.
        resolutions: feedbackloop resolution -> Jira resolution name, used when the close
            transition's screen has a resolution field.
        priorities: Severity -> Jira priority name, for drafts without a `priority`
            field; by default no priority is sent (the project's default applies).
        name: The tracker's name in the loop.
        retry: How hard the HTTP layer tries.
        timeout: Seconds (or an `httpx.Timeout`) each request may take; a create that
            times out is reconciled by searching for its marker.
        transport: The httpx transport (tests pass a mock).
    """

    settings = JiraTrackerSettings
    auth_hint = (
        "Check FEEDBACKLOOP_JIRA_EMAIL and FEEDBACKLOOP_JIRA_API_TOKEN: an API token made "
        "at id.atlassian.com for that account, which needs the project's Browse, Create, "
        "Comment and Transition permissions"
    )

    def __init__(
        self,
        *,
        url: str,
        email: str,
        api_token: str | SecretStr,
        project: str | None = None,
        issue_type: str = "Task",
        resolve_transitions: Sequence[str] = DEFAULT_RESOLVE_TRANSITIONS,
        reopen_transitions: Sequence[str] = DEFAULT_REOPEN_TRANSITIONS,
        resolutions: Mapping[str, str] = DEFAULT_RESOLUTIONS,
        priorities: Mapping[Severity | str, str] | None = None,
        name: str = "jira",
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"jira: url must be the site's address like https://acme.atlassian.net, got {url!r}"
            )
        token = api_token.get_secret_value() if isinstance(api_token, SecretStr) else api_token
        self.name = name
        self.url = url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.resolve_transitions = _names(resolve_transitions, "resolve_transitions")
        self.reopen_transitions = _names(reopen_transitions, "reopen_transitions")
        self.resolutions = {k.casefold(): v for k, v in resolutions.items()}
        self.priorities = {Severity.coerce(k): v for k, v in (priorities or {}).items()}
        self.http = HTTPClient(
            connector=name,
            base_url=self.url,
            auth=(email, token),
            headers={"Accept": "application/json"},
            retry=retry,
            timeout=timeout,
            transport=transport,
        )

    # --- the Tracker protocol ---------------------------------------------------------

    async def find(self, marker: str, *, fields: Mapping[str, Any]) -> TicketRef | None:
        """The newest issue labelled with `marker` (in the draft's project when it names one)."""
        clauses = [f"labels = {_jql_string(jira_label(marker))}"]
        project = fields.get("project") or self.project
        if project:
            clauses.insert(0, f"project = {_jql_string(str(project))}")
        jql = " AND ".join(clauses) + " ORDER BY created DESC"
        async with closing(self.search(jql, page_size=10)) as issues:
            async for issue in issues:
                return self._ref(issue)
        return None

    async def create(self, draft: TicketDraft) -> TicketRef:
        """Create an issue from the draft.

        The draft's `fields` may hold `project`, `issue_type`, `priority` (a name),
        `components` (names) and any other Jira field, sent as given
        (`customfield_10010`, `assignee`...).

        Raises:
            ConfigurationError: no project is given, here or to the tracker.
            ConnectorError: Jira refused the issue (the message carries Jira's reasons).
        """
        body = await self.call("POST", "/rest/api/3/issue", json={"fields": self._fields(draft)})
        key = _require(body, "key", self.name)
        return TicketRef(tracker=self.name, key=key, url=self._browse(key))

    async def comment(self, key: str, body: str) -> None:
        """Comment on issue `key`; `body` is Markdown, sent as ADF."""
        await self.call("POST", f"{_issue(key)}/comment", json={"body": markdown_to_adf(body)})

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        """Close issue `key` through the first available resolve transition.

        When the transition's screen has a resolution field, `resolution` is sent, named
        through `resolutions` (`not_planned` -> `Won't Do`; default `completed` -> `Done`)
        if the screen offers that name.

        Raises:
            ConfigurationError: no resolve transition is available; lists those that are.
        """
        transition = await self._transition(key, self.resolve_transitions, "close")
        request: dict[str, Any] = {"transition": {"id": str(transition["id"])}}
        chosen = self._resolution(transition, resolution)
        if chosen is not None:
            request["fields"] = {"resolution": {"name": chosen}}
        await self.call("POST", f"{_issue(key)}/transitions", json=request)

    async def reopen(self, key: str) -> None:
        """Reopen issue `key` through the first available reopen transition.

        Raises:
            ConfigurationError: no reopen transition is available; lists those that are.
        """
        transition = await self._transition(key, self.reopen_transitions, "reopen")
        request = {"transition": {"id": str(transition["id"])}}
        await self.call("POST", f"{_issue(key)}/transitions", json=request)

    async def state(self, key: str) -> TicketState:
        """Issue `key`'s status (closed when its status category is done) and resolution."""
        issue = await self.call("GET", _issue(key), params={"fields": "status,resolution"})
        ref = self._ref(issue)
        resolution = _get(issue, "fields", "resolution", "name")
        return TicketState(ref=ref, resolution=resolution if isinstance(resolution, str) else None)

    # --- more -----------------------------------------------------------------------------

    async def read(self, key: str) -> str:
        """Issue `key`'s summary as a `# ` heading, then its description (`TicketReader`).

        The description is converted from ADF to Markdown; the marker line the loop
        adds to its issues is left out.

        Raises:
            NotFoundError: no such issue (or the account cannot browse it).
        """
        issue = await self.call("GET", _issue(key), params={"fields": "summary,description"})
        summary = _get(issue, "fields", "summary")
        if not isinstance(summary, str):
            raise ConnectorError(
                f"{self.name}: Jira's answer has no summary for {key}", connector=self.name
            )
        description = _get(issue, "fields", "description")
        if isinstance(description, dict):
            body = adf_to_markdown(description)
        else:  # null, or plain text from an old API version
            body = description if isinstance(description, str) else ""
        lines = [line for line in body.split("\n") if not line.startswith(_MARKER_PREFIX)]
        return ticket_markdown(summary, "\n".join(lines))

    async def search(
        self, jql: str, *, fields: Iterable[str] = _SEARCH_FIELDS, page_size: int = 50
    ) -> AsyncIterator[dict[str, Any]]:
        """Every issue matching `jql`, page after page (`POST /rest/api/3/search/jql`).

        Args:
            jql: The query (`labels = "ops-feedback" AND statusCategory != Done`).
            fields: The issue fields to return.
            page_size: Issues per page (`maxResults`).

        Yields:
            Each issue as Jira returns it (`id`, `key`, `fields`).
        """
        request = {"jql": jql, "fields": list(fields), "maxResults": page_size}
        with self.hinted():
            async with closing(
                paginate_token(self.http, "/rest/api/3/search/jql", items="issues", json=request)
            ) as pages:
                async for issue in pages:
                    yield issue

    # --- internals --------------------------------------------------------------------------

    def _fields(self, draft: TicketDraft) -> dict[str, Any]:
        extra = dict(draft.fields)
        project = extra.pop("project", None) or self.project
        if not project:
            raise ConfigurationError(
                "jira: no project for the new issue; pass project=... to OpenTicket or "
                "JiraTracker, or set FEEDBACKLOOP_JIRA_PROJECT"
            )
        project = str(project)
        issue_type = str(extra.pop("issue_type", None) or self.issue_type)
        priority = extra.pop("priority", None)
        if priority is None and draft.severity is not None:
            priority = self.priorities.get(draft.severity)
        components = extra.pop("components", ())
        if isinstance(components, str):
            components = [components]
        labels = [jira_label(label) for label in (*draft.labels, draft.marker)]
        description = markdown_to_adf(draft.body)
        description["content"].append(paragraph(_MARKER_PREFIX + draft.marker))
        fields: dict[str, Any] = {
            "project": {"id": project} if project.isdigit() else {"key": project},
            "issuetype": {"name": issue_type},
            "summary": truncate(" ".join(draft.title.split()), _SUMMARY_LIMIT),  # one line
            "description": description,
            "labels": list(dict.fromkeys(label for label in labels if label)),
        }
        if priority:
            fields["priority"] = {"name": str(priority)}
        if components:
            fields["components"] = [{"name": str(component)} for component in components]
        fields.update(extra)  # any other field, as the user wrote it
        return fields

    async def _transition(self, key: str, names: tuple[str, ...], purpose: str) -> dict[str, Any]:
        body = await self.call(
            "GET", f"{_issue(key)}/transitions", params={"expand": "transitions.fields"}
        )
        transitions = [t for t in (body or {}).get("transitions", []) if isinstance(t, dict)]
        for wanted in names:
            for transition in transitions:
                target = _get(transition, "to", "name")
                candidates = (transition.get("name"), target)
                if any(isinstance(c, str) and c.casefold() == wanted for c in candidates):
                    return transition
        available = ", ".join(repr(t.get("name")) for t in transitions) or "none"
        setting = "resolve_transitions" if purpose == "close" else "reopen_transitions"
        raise ConfigurationError(
            f"jira: cannot {purpose} {key}: no transition named "
            f"{' or '.join(repr(n) for n in names)} is available from its status; "
            f"available transitions: {available}. Set {setting}=... "
            f"({JiraTrackerSettings.env_var(setting)})"
        )

    def _resolution(self, transition: dict[str, Any], resolution: str | None) -> str | None:
        field = _get(transition, "fields", "resolution")
        if not isinstance(field, dict):
            return None  # the transition sets the resolution itself, or has none
        wanted = resolution or "completed"
        name = self.resolutions.get(wanted.casefold(), wanted)
        allowed = [v.get("name") for v in field.get("allowedValues") or [] if isinstance(v, dict)]
        if not allowed:
            return name
        for candidate in allowed:
            if isinstance(candidate, str) and candidate.casefold() == name.casefold():
                return candidate
        return None  # not offered here: let the workflow decide

    def _ref(self, issue: Any) -> TicketRef:
        key = _require(issue, "key", self.name)
        category = _get(issue, "fields", "status", "statusCategory", "key")
        status = TicketStatus.CLOSED if category == "done" else TicketStatus.OPEN
        return TicketRef(tracker=self.name, key=key, url=self._browse(key), status=status)

    def _browse(self, key: str) -> str:
        return f"{self.url}/browse/{key}"


def _names(names: Sequence[str], setting: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [names]
    cleaned = tuple(name.strip().casefold() for name in names if name.strip())
    if not cleaned:
        raise ConfigurationError(f"jira: {setting} needs at least one transition name")
    return cleaned


def _issue(key: str) -> str:
    return f"/rest/api/3/issue/{quote(key, safe='')}"


def _jql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _get(value: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _require(body: Any, key: str, connector: str) -> str:
    value = _get(body, key)
    if not isinstance(value, str) or not value:
        raise ConnectorError(
            f"{connector}: Jira's answer has no issue {key!r}", connector=connector
        )
    return value
