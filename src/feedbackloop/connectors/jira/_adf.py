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
"""

from __future__ import annotations

from typing import Any

from feedbackloop.connectors._markdown import (
    Block,
    BulletList,
    Inline,
    LineBreak,
    Paragraph,
    parse,
)

__all__ = ["markdown_to_adf", "paragraph"]


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
