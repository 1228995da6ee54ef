"""Markdown to Atlassian Document Format (ADF), the format of Jira Cloud descriptions and comments.

The Markdown subset is the one every feedbackloop connector reads
(`feedbackloop.connectors._markdown`); each construct becomes one ADF node:

| Markdown                     | ADF                                                        |
|------------------------------|------------------------------------------------------------|
| paragraph                    | `paragraph`                                                |
| line break in a paragraph    | `hardBreak`                                                |
| `- item` lines               | `bulletList` of `listItem`s, each holding one `paragraph`  |
| fenced code block            | `codeBlock` (`attrs.language` when the fence names one)    |
| `**bold**`                   | `text` with a `strong` mark                                |
| `*italic*`, `_italic_`       | `text` with an `em` mark                                   |
| `` `code` ``                 | `text` with a `code` mark (ADF allows only `link` beside it) |
| `[text](url)`                | `text` with a `link` mark, `attrs.href` the url            |

The result is a document: `{"type": "doc", "version": 1, "content": [...]}`. Text nodes
are never empty (ADF forbids it): an empty code block has no content.

The other way, `adf_to_markdown` reads a Jira description back as Markdown (headings,
ordered lists, task lists and tables included), so that a postmortem written in Jira
can be recorded as a learning. For documents `markdown_to_adf` produces,
`markdown_to_adf(adf_to_markdown(doc)) == doc` (the tests check it with hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from feedbackloop.connectors._markdown import (
    Block,
    BulletList,
    Inline,
    LineBreak,
    Paragraph,
    Text,
    parse,
    parse_inline,
)

__all__ = ["adf_to_markdown", "markdown_to_adf", "paragraph"]


def markdown_to_adf(markdown: str) -> dict[str, Any]:
    """Convert Markdown (the subset above) to an ADF document.

    Args:
        markdown: The text.

    Returns:
        `{"type": "doc", "version": 1, "content": [...]}`, ready to send as a Jira
        description or comment body.
    """
    return {"type": "doc", "version": 1, "content": [_block(block) for block in parse(markdown)]}


def paragraph(text: str) -> dict[str, Any]:
    """An ADF paragraph holding `text` as it is (no Markdown read).

    Args:
        text: Plain text.

    Returns:
        A `paragraph` node, empty when `text` is.
    """
    return {"type": "paragraph", "content": [{"type": "text", "text": text}] if text else []}


def _block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "content": _inlines(block.content)}
    if isinstance(block, BulletList):
        return {
            "type": "bulletList",
            "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": _inlines(item)}]}
                for item in block.items
            ],
        }
    node: dict[str, Any] = {"type": "codeBlock"}  # the only block left
    if block.language:
        node["attrs"] = {"language": block.language}
    node["content"] = [{"type": "text", "text": block.code}] if block.code else []
    return node


def _inlines(content: tuple[Inline, ...]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for inline in content:
        if isinstance(inline, LineBreak):
            nodes.append({"type": "hardBreak"})
            continue
        marks: list[dict[str, Any]] = []
        if inline.code:
            marks.append({"type": "code"})
        else:
            if inline.bold:
                marks.append({"type": "strong"})
            if inline.italic:
                marks.append({"type": "em"})
        if inline.href:
            marks.append({"type": "link", "attrs": {"href": inline.href}})
        node: dict[str, Any] = {"type": "text", "text": inline.text}
        if marks:
            node["marks"] = marks
        nodes.append(node)
    return nodes


# --- ADF -> Markdown -------------------------------------------------------------------

_INDENT: Final = "  "
_SPECIALS: Final = re.compile(r"([\\`*_\[\]])")
# What would read as a list item, a heading or a fence at a line's start (a backtick
# fence has no other backtick on its line; a code span of three backticks is no fence).
_LINE_START: Final = re.compile(r"^(?:[-*+](?=[ \t])|#|~{3,}|`{3,}[^`]*$)")


def adf_to_markdown(doc: Mapping[str, Any]) -> str:
    """Convert an ADF document (a Jira description or comment) to Markdown.

    Covered: `paragraph`, `heading`, `bulletList`/`orderedList`/`listItem`,
    `taskList`/`taskItem` (`- [x]` when DONE, `- [ ]` otherwise), `codeBlock` (fenced),
    `table` (a Markdown pipe table, the first row as header), `hardBreak`, and text
    with `strong`, `em`, `code` and `link` marks. `mention`, `emoji`, `date`, `status`
    and `inlineCard` give their text; any other node gives its content's text (other
    marks are dropped). Markdown characters in text are escaped only where they would
    otherwise read as markup, so `order_id` and `OPS-12` stay as written.

    Args:
        doc: The document (`{"type": "doc", "content": [...]}`), or any block node.

    Returns:
        The Markdown, blocks separated by blank lines; empty for an empty document.
    """
    blocks = _md_blocks([doc])
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = node.get("content")
    return (
        [child for child in content if isinstance(child, Mapping)]
        if isinstance(content, list)
        else []
    )


def _attr(node: Mapping[str, Any], name: str) -> Any:
    attrs = node.get("attrs")
    return attrs.get(name) if isinstance(attrs, Mapping) else None


def _md_blocks(nodes: list[Mapping[str, Any]]) -> list[str]:
    blocks: list[str] = []
    inline: list[Mapping[str, Any]] = []  # inline nodes met among blocks form a paragraph
    for node in nodes:
        kind = str(node.get("type"))
        if kind in _INLINE_TYPES:
            inline.append(node)
            continue
        if inline:
            blocks.append(_md_paragraph(inline))
            inline = []
        if kind == "doc" or (kind not in _BLOCK_TYPES and _children(node)):
            blocks.extend(_md_blocks(_children(node)))  # containers: panel, expand, quote…
        elif kind in _BLOCK_TYPES:
            blocks.append(_BLOCK_TYPES[kind](node))
    if inline:
        blocks.append(_md_paragraph(inline))
    return [block for block in blocks if block.strip()]


def _md_paragraph(node: Mapping[str, Any] | list[Mapping[str, Any]]) -> str:
    nodes = node if isinstance(node, list) else _children(node)
    return "\n".join(_md_lines(nodes))


def _md_heading(node: Mapping[str, Any]) -> str:
    level = _attr(node, "level")
    level = level if isinstance(level, int) and 1 <= level <= 6 else 1
    text = " ".join(_md_lines(_children(node)))
    return f"{'#' * level} {text}" if text else ""


def _md_list(node: Mapping[str, Any]) -> str:
    ordered = node.get("type") == "orderedList"
    start = _attr(node, "order")
    number = start if isinstance(start, int) else 1
    lines: list[str] = []
    for item in _children(node):
        if ordered:
            bullet = f"{number}. "
            number += 1
        elif item.get("type") == "taskItem":
            bullet = "- [x] " if str(_attr(item, "state")).upper() == "DONE" else "- [ ] "
        else:
            bullet = "- "
        lines.extend(_md_item(item, bullet))
    return "\n".join(lines)


def _md_item(item: Mapping[str, Any], bullet: str) -> list[str]:
    children = _children(item)
    inline = [c for c in children if c.get("type") in _INLINE_TYPES]  # a taskItem's content
    blocks = [c for c in children if c.get("type") not in _INLINE_TYPES]
    if not inline and blocks and blocks[0].get("type") == "paragraph":
        inline, blocks = _children(blocks[0]), blocks[1:]
    first = _md_lines(inline)
    lines = [bullet + first[0], *(_INDENT + line for line in first[1:])]
    for block in _md_blocks(blocks):  # nested lists, more paragraphs: indented under it
        lines.extend(_INDENT + line if line else line for line in block.split("\n"))
    return lines


def _md_code_block(node: Mapping[str, Any]) -> str:
    code = "".join(_plain_text(child) for child in _children(node))
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    language = _attr(node, "language")
    info = language if isinstance(language, str) and re.fullmatch(r"[^\s`]+", language) else ""
    return f"{fence}{info}\n{code}\n{fence}" if code else f"{fence}{info}\n{fence}"


def _md_table(node: Mapping[str, Any]) -> str:
    rows = [
        [_md_cell(cell) for cell in _children(row)]
        for row in _children(node)
        if row.get("type") == "tableRow"
    ]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = [_pipe_row(rows[0]), _pipe_row(["---"] * width)]
    lines.extend(_pipe_row(row) for row in rows[1:])
    return "\n".join(lines)


def _md_cell(cell: Mapping[str, Any]) -> str:
    text = " ".join(" ".join(block.split()) for block in _md_blocks(_children(cell)))
    return text.replace("|", "\\|")


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_lines(nodes: list[Mapping[str, Any]]) -> list[str]:
    """Inline nodes as Markdown lines (split at hard breaks), line starts escaped."""
    lines: list[list[Text]] = [[]]
    for node in nodes:
        kind = node.get("type")
        if kind == "hardBreak":
            lines.append([])
        elif kind == "text":
            parts = str(node.get("text", "")).split("\n")
            for number, part in enumerate(parts):
                if number:
                    lines.append([])
                if part:
                    lines[-1].append(_span(part, node.get("marks")))
        else:
            text = _plain_text(node)
            if text:
                lines[-1].append(Text(text))
    return [_md_line(spans) for spans in lines]


def _span(text: str, marks: Any) -> Text:
    kinds: dict[str, Any] = {}
    for mark in marks if isinstance(marks, list) else []:
        if isinstance(mark, Mapping) and isinstance(mark.get("type"), str):
            kinds[mark["type"]] = mark
    href = _attr(kinds["link"], "href") if "link" in kinds else None
    href = href if isinstance(href, str) and re.fullmatch(r"[^()\s]+", href) else None
    if "code" in kinds:
        return Text(text, code=True, href=href)
    return Text(text, bold="strong" in kinds, italic="em" in kinds, href=href)


def _md_line(spans: list[Text]) -> str:
    """One line of inline Markdown that reads back as `spans`: escaped only if it must be.

    Renderings go from the most natural (no escapes, `_italic_`, emphasis around links)
    to the most careful; the first that the Markdown reader reads back as `spans` wins.
    """
    expected = tuple(_merge_spans(spans))
    renderings = (
        _render(spans, _Rendering(escape, italic, links_outside))
        for escape in (False, True)
        for links_outside in (False, True)
        for italic in ("_", "*")
    )
    line = next((r for r in renderings if parse_inline(r) == expected), None)
    if line is None:  # nothing reads back exactly: the careful one comes closest
        line = _render(spans, _Rendering(escape=True, italic="_", links_outside=False))
    if _LINE_START.match(line):
        line = "\\" + line  # would read as a list item, a fence or a heading
    return line


def _merge_spans(spans: list[Text]) -> list[Text]:
    merged: list[Text] = []
    for span in spans:
        last = merged[-1] if merged else None
        if last is not None and (last.bold, last.italic, last.code, last.href) == (
            span.bold,
            span.italic,
            span.code,
            span.href,
        ):
            merged[-1] = Text(last.text + span.text, span.bold, span.italic, span.code, span.href)
        else:
            merged.append(span)
    return merged


@dataclass(frozen=True, slots=True)
class _Rendering:
    """How `_render` writes marks.

    Plain text escaped or not, which italic delimiter, and whether a link goes outside
    emphasis (`[**a**](u)`) or inside it (`**[a](u)**`) when both cover the same text.
    """

    escape: bool
    italic: str
    links_outside: bool

    @property
    def marks(self) -> tuple[str, ...]:
        """The marks in the order they open when their runs are equally long."""
        return ("href", "bold", "italic") if self.links_outside else ("bold", "italic", "href")


def _render(spans: list[Text], rendering: _Rendering) -> str:
    return _nest(_merge_spans(spans), frozenset(), rendering)


def _nest(spans: list[Text], opened: frozenset[str], rendering: _Rendering) -> str:
    """Marks as nested delimiters; at each point the longest-running mark opens first.

    So `_a **b** c_` stays one italic run around the bold, and bold around two links
    stays one bold run.
    """
    out: list[str] = []
    index = 0
    while index < len(spans):
        runs = {
            mark: length
            for mark in rendering.marks
            if mark not in opened and (length := _run(spans, index, mark))
        }
        if not runs:
            out.append(_leaf(spans[index], rendering.escape))
            index += 1
            continue
        mark = max(runs, key=lambda name: runs[name])
        end = index + runs[mark]
        inner = _nest(spans[index:end], opened | {mark}, rendering)
        if mark == "href":
            out.append(f"[{inner}]({spans[index].href})")
        else:
            delimiter = "**" if mark == "bold" else rendering.italic
            out.append(f"{delimiter}{inner}{delimiter}")
        index = end
    return "".join(out)


def _run(spans: list[Text], index: int, mark: str) -> int:
    """How many spans from `index` on one pair of `mark` delimiters wraps; 0 if none."""
    if mark == "href":
        return _link_run(spans, index)
    return _emphasis_run(spans, index, mark)


def _link_run(spans: list[Text], index: int) -> int:
    href = spans[index].href
    end = index
    while href is not None and end < len(spans) and spans[end].href == href:
        end += 1
    return end - index


def _emphasis_run(spans: list[Text], index: int, mark: str) -> int:
    """A bold or italic run; code spans (code drops bold and italic) may sit inside it.

    At the run's ends code spans are taken in only where a delimiter would otherwise
    touch a space: `` **`x` fails** `` and `` **see `x`** `` need them inside,
    `` _a_`x`b `` outside (`_a`x`_b` would not close).
    """
    start = index
    while start < len(spans) and spans[start].code:
        start += 1
    if start == len(spans) or not getattr(spans[start], mark):
        return 0
    if start > index and not spans[start].text[:1].isspace():
        return 0  # the code spans in front stay outside
    last = end = start
    while end < len(spans) and (getattr(spans[end], mark) or spans[end].code):
        last = end if getattr(spans[end], mark) else last
        end += 1
    return (end if spans[last].text[-1:].isspace() else last + 1) - index


def _leaf(span: Text, escape: bool) -> str:
    if span.code:
        longest = max((len(run) for run in re.findall(r"`+", span.text)), default=0)
        ticks = "`" * (longest + 1)
        return f"{ticks}{span.text}{ticks}"
    return _SPECIALS.sub(r"\\\1", span.text) if escape else span.text


def _plain_text(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    for name in ("text", "shortName", "url"):  # mention, status, emoji, inlineCard
        value = _attr(node, name)
        if isinstance(value, str) and value:
            return value
    if kind == "date":
        stamp = _attr(node, "timestamp")
        try:
            return datetime.fromtimestamp(int(stamp) / 1000, UTC).date().isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            return ""
    return "".join(_plain_text(child) for child in _children(node))


_INLINE_TYPES: Final = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder"}
)
_BLOCK_TYPES: Final[Mapping[str, Callable[[Mapping[str, Any]], str]]] = {
    "paragraph": _md_paragraph,
    "heading": _md_heading,
    "bulletList": _md_list,
    "orderedList": _md_list,
    "taskList": _md_list,
    "codeBlock": _md_code_block,
    "table": _md_table,
}
