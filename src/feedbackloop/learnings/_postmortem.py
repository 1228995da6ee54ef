"""Reading a Markdown postmortem into a `Learning`.

Postmortems come in many layouts; the parser looks for sections by their headings
(`#`-headings, a line in bold, or a line ending in a colon) and reads:

- the summary: the first paragraph of *Summary*, *Overview*, *TL;DR* or *Executive
  summary*, else the first paragraph of the document, else its title;
- contributing factors: the items or paragraphs of *Contributing factors*, *Root
  causes*, *Causes* or *What went wrong*;
- themes: the items of *Themes* or *Tags*, or a `Themes: a, b` line;
- incident ids: `Incident: INC-1` lines (and any passed in);
- action items: the *Action items* (*Follow-ups*, *Next steps*, *Remediation*,
  *Corrective actions*…) section as a bullet or numbered list, a list of checkboxes
  (`- [x]` is already done), or a table whose header names the columns.

In a list item, `@alice` or `owner: alice` is the owner, an ISO date (`due 2026-11-20`)
the due date, `P1` or `priority: high` the priority, and a Jira key (`OPS-12`), a
GitHub reference (`acme/api#42`) or an issue URL the ticket already filed (tracker
`jira` or `github`); what remains is the title. Indented lines under an item are its
description.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from feedbackloop._models import ActionItem, ActionItemStatus, Learning, TicketRef
from feedbackloop.errors import ValidationError

__all__ = ["parse_action_items", "parse_postmortem"]

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(.+?)(?:\*\*|__)\s*:?\s*$")
_COLON_LINE = re.compile(r"^([A-Z][A-Za-z /&-]{2,40}):\s*$")
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+•]|\d+[.)])\s+(.*)$")
_CHECKBOX = re.compile(r"^\[([ xX✓✔])\]\s*(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_URL = re.compile(r"https?://\S+")
_GITHUB_URL = re.compile(r"https?://[^/\s]*github[^/\s]*/([\w.-]+)/([\w.-]+)/(?:issues|pull)/(\d+)")
_JIRA_URL = re.compile(r"https?://\S+/browse/([A-Z][A-Z0-9_]+-\d+)")
_JIRA_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{1,9}-\d+)\b")
_GITHUB_REF = re.compile(r"\b([\w.-]+/[\w.-]+#\d+)\b")
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_TEXT_DATE = re.compile(
    r"\b((?:\d{1,2}\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
    r"(?:\s+\d{1,2},?)?\s+\d{4})\b"
)
_DUE_WORDS = re.compile(r"\b(?:due(?:\s+date)?|by|deadline|eta)\s*[:=]?\s*$", re.IGNORECASE)
_OWNER = re.compile(
    r"(?:\b(?:owner|assignee|assigned to|dri|who)\s*[:=]\s*@?([\w.@-]+(?: [A-Z][\w.-]+)?))"
    r"|(?:(?<![\w/])@([\w.-]+))",
    re.IGNORECASE,
)
_PRIORITY = re.compile(
    r"(?:\bpriority\s*[:=]\s*(\w+))|(?:\b(P[0-4])\b)|(?:[\[(](critical|high|medium|low)[\])])",
    re.IGNORECASE,
)
_P_LEVELS = {"P0": "critical", "P1": "high", "P2": "medium", "P3": "low", "P4": "info"}
_DONE = {"done", "closed", "complete", "completed", "fixed", "resolved", "yes", "✅", "x", "✓"}

_SECTIONS = {
    "summary": re.compile(r"^(summary|overview|tl;?dr|executive summary|description)\b", re.I),
    "factors": re.compile(
        r"^(contributing factors?|root causes?|root cause analysis|causes|what went wrong)\b",
        re.I,
    ),
    "themes": re.compile(r"^(themes?|tags|labels)\b", re.I),
    "actions": re.compile(
        r"^(action items?|actions|follow[- ]?ups?|follow[- ]?up items|next steps|remediations?"
        r"|corrective (and preventi(ve|on) )?actions|action plan|to-?dos?)\b",
        re.I,
    ),
}
_COLUMNS = {
    "title": (
        "action item",
        "action",
        "item",
        "task",
        "title",
        "what",
        "remediation",
        "description",
    ),
    "owner": ("owner", "assignee", "who", "responsible", "dri"),
    "due": ("due", "deadline", "target", "eta", "when", "date", "by"),
    "priority": ("priority", "pri", "severity"),
    "ticket": ("ticket", "issue", "bug", "jira", "link", "tracking"),
    "status": ("status", "state", "done"),
    "type": ("type", "kind", "category"),
}


def _sections(text: str) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """The document's title and its (heading, lines) sections, in order."""
    title: str | None = None
    sections: list[tuple[str, list[str]]] = [("", [])]
    for raw in text.splitlines():
        line = raw.rstrip()
        heading = _HEADING.match(line)
        name = None
        if heading:
            name = heading.group(2)
            if heading.group(1) == "#" and title is None:
                title = _plain(name)
                continue
        elif _BOLD_LINE.match(line) or _COLON_LINE.match(line):
            candidate = (_BOLD_LINE.match(line) or _COLON_LINE.match(line)).group(1)  # type: ignore[union-attr]
            if any(p.match(candidate.strip()) for p in _SECTIONS.values()):
                name = candidate
        if name is not None:
            sections.append((_plain(name).strip().rstrip(":"), []))
        else:
            sections[-1][1].append(line)
    return title, sections


def _plain(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    return re.sub(r"[*_`]+", "", text).strip()


def _paragraphs(lines: Sequence[str]) -> list[str]:
    found, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            found.append(" ".join(current))
            current = []
    if current:
        found.append(" ".join(current))
    return found


def _list_or_paragraphs(lines: Sequence[str]) -> list[str]:
    items = [_plain(m.group(2)) for line in lines if (m := _LIST_ITEM.match(line))]
    return items or [_plain(p) for p in _paragraphs(lines) if not p.startswith("|")]


def _section(sections: list[tuple[str, list[str]]], kind: str) -> list[str] | None:
    for name, lines in sections:
        if _SECTIONS[kind].match(name):
            return lines
    return None


def parse_postmortem(
    text: str,
    *,
    incident_ids: Sequence[str] = (),
    recorded_at: datetime | None = None,
) -> Learning:
    """Read a Markdown postmortem into a `Learning` (see the module docs for layouts).

    Args:
        text: The postmortem in Markdown.
        incident_ids: Incidents it is about, besides those it names itself.
        recorded_at: When it was written (timezone-aware); None leaves it to the loop.

    Returns:
        The learning, with its action items in document order.

    Raises:
        ValidationError: the text has no title, summary or paragraph to summarise it.
    """
    title, sections = _sections(text)
    summary_lines = _section(sections, "summary")
    summary = next(iter(_paragraphs(summary_lines or [])), None)
    if summary is None:
        preamble = [p for p in _paragraphs(sections[0][1]) if not _META.match(p)]
        summary = preamble[0] if preamble else title
    if not summary:
        raise ValidationError("the postmortem has no title and no summary paragraph")
    found_ids = [*incident_ids]
    themes: list[str] = []
    for line in text.splitlines():
        meta = _META.match(line.strip())
        if meta:
            values = [v.strip() for v in re.split(r"[,;]", _plain(meta.group(2))) if v.strip()]
            (found_ids if meta.group(1).lower().startswith("incident") else themes).extend(values)
    themes += _list_or_paragraphs(_section(sections, "themes") or [])
    return Learning(
        incident_ids=tuple(dict.fromkeys(found_ids)),
        summary=_plain(summary),
        contributing_factors=tuple(_list_or_paragraphs(_section(sections, "factors") or [])),
        themes=tuple(dict.fromkeys(t for t in themes if t)),
        action_items=tuple(
            item.model_copy(update={"origin": tuple(dict.fromkeys(found_ids))})
            for item in parse_action_items(_section(sections, "actions") or [])
        ),
        recorded_at=recorded_at,
    )


_META = re.compile(r"^\W*(incidents?(?: ids?)?|themes?|tags)\W*\s*[:=]\s*(.+)$", re.IGNORECASE)


def parse_action_items(lines: Sequence[str]) -> list[ActionItem]:
    """The action items of an *Action items* section: a list, checkboxes or a table."""
    table = [line for line in lines if line.strip().startswith("|")]
    if len(table) >= 2:
        return _table_items(table)
    items: list[ActionItem] = []
    indent = None
    current: dict[str, Any] | None = None
    details: list[str] = []
    for line in lines:
        match = _LIST_ITEM.match(line)
        if match and (indent is None or len(match.group(1)) <= indent):
            if current is not None:
                items.append(_finish(current, details))
            indent = len(match.group(1))
            current, details = _from_text(match.group(2)), []
        elif current is not None and line.strip():
            details.append(_plain(match.group(2)) if match else line.strip())
    if current is not None:
        items.append(_finish(current, details))
    return items


def _finish(fields: dict[str, Any], details: list[str]) -> ActionItem:
    if details:
        fields["description"] = "\n".join(filter(None, [fields.get("description"), *details]))
    return ActionItem(**fields)


def _from_text(text: str) -> dict[str, Any]:
    """Title, owner, due date, priority, ticket and status from one list item."""
    fields: dict[str, Any] = {}
    box = _CHECKBOX.match(text.strip())
    if box:
        text = box.group(2)
        if box.group(1).strip():
            fields["status"] = ActionItemStatus.CLOSED
    ticket = _ticket(text)
    if ticket is not None:
        fields["ticket"] = ticket
    text = _LINK.sub(lambda m: "" if _ticket(m.group(0)) else m.group(1), text)
    text = _URL.sub("", text)
    text = _JIRA_KEY.sub("", text) if ticket else text
    text = _GITHUB_REF.sub("", text)
    owner = _OWNER.search(text)
    if owner:
        fields["owner"] = (owner.group(1) or owner.group(2)).rstrip(".,;")
        text = text[: owner.start()] + text[owner.end() :]
    due, text = _take_date(text)
    if due is not None:
        fields["due"] = due
    priority = _PRIORITY.search(text)
    if priority:
        value = priority.group(1) or priority.group(2) or priority.group(3)
        fields["priority"] = _P_LEVELS.get(value.upper(), value.lower())
        text = text[: priority.start()] + text[priority.end() :]
    fields["title"] = _tidy(_plain(text)) or "(untitled action item)"
    if "priority" in fields and fields["priority"] not in _P_LEVELS.values():
        fields.pop("priority")
    return fields


def _take_date(text: str) -> tuple[date | None, str]:
    for pattern in (_ISO_DATE, _TEXT_DATE):
        match = pattern.search(text)
        if match:
            parsed = _date(match.group(1))
            if parsed is not None:
                before = _DUE_WORDS.sub("", text[: match.start()])
                return parsed, before + text[match.end() :]
    return None, text


def _date(value: str) -> date | None:
    value = value.strip().replace(",", "").replace(".", "")
    for layout in ("%Y-%m-%d", "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%b %Y", "%B %Y"):
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    return None


def _tidy(text: str) -> str:
    text = re.sub(r"\(\s*[,;:]?\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t-\u2014\u2013|,;:()")


def _ticket(text: str) -> TicketRef | None:
    github = _GITHUB_URL.search(text)
    if github:
        owner, repo, number = github.groups()
        return TicketRef(tracker="github", key=f"{owner}/{repo}#{number}", url=github.group(0))
    jira = _JIRA_URL.search(text)
    if jira:
        return TicketRef(tracker="jira", key=jira.group(1), url=jira.group(0).rstrip(").,"))
    ref = _GITHUB_REF.search(text)
    if ref:
        return TicketRef(tracker="github", key=ref.group(1))
    key = _JIRA_KEY.search(_URL.sub("", text))
    if key and not re.fullmatch(r"P[0-4]-\d+", key.group(1)):
        return TicketRef(tracker="jira", key=key.group(1))
    return None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _column(
    header: list[str], names: Sequence[str], *, taken: set[int], role: str
) -> dict[str, int]:
    """The first header cell naming the role, trying the names in order of preference."""
    for name in names:
        for index, cell in enumerate(header):
            if index not in taken and re.match(rf"{re.escape(name)}\b", cell):
                return {role: index}
    return {}


def _table_items(lines: Sequence[str]) -> list[ActionItem]:
    header = [_plain(c).lower() for c in _cells(lines[0])]
    columns: dict[str, int] = {}
    for role, names in _COLUMNS.items():
        columns.update(_column(header, names, taken=set(columns.values()), role=role))
    columns.setdefault("title", 0)
    items = []
    for line in lines[1:]:
        if _TABLE_SEPARATOR.match(line):
            continue
        cells = _cells(line)

        def cell(role: str, cells: list[str] = cells) -> str:
            index = columns.get(role)
            return cells[index] if index is not None and index < len(cells) else ""

        title = cell("title")
        if not _plain(title):
            continue
        fields = _from_text(title)
        owner = _plain(cell("owner")).lstrip("@")
        if owner and owner not in {"-", "—", "tbd", "TBD"}:
            fields["owner"] = owner
        due, _ = _take_date(cell("due"))
        if due is not None:
            fields["due"] = due
        priority = _plain(cell("priority"))
        level = _P_LEVELS.get(priority.upper(), priority.lower())
        if level in _P_LEVELS.values():
            fields["priority"] = level
        ticket = _ticket(cell("ticket"))
        if ticket is not None:
            fields["ticket"] = ticket
        status = _plain(cell("status")).lower()
        if status in _DONE or status.strip("[] ") in _DONE:
            fields["status"] = ActionItemStatus.CLOSED
        kind = _plain(cell("type"))
        if kind:
            fields["description"] = f"Type: {kind}"
        items.append(ActionItem(**fields))
    return items
