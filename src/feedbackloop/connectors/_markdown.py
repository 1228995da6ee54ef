"""The Markdown subset ticket bodies and messages are written in, parsed once for every vendor.

Trackers and notifiers each render the same parsed document in their own format
(Jira's Atlassian Document Format, Slack's mrkdwn); none of them parses Markdown itself.

Blocks, separated by blank lines:

- **paragraphs**: consecutive lines; a line break inside a paragraph is kept (as GitHub
  shows issue text);
- **bullet lists**: lines starting with `- `, `* ` or `+ `; an indented line continues the
  item above it;
- **fenced code blocks**: between lines of three or more backticks (or tildes), with an
  optional language after the opening fence; the content is kept verbatim.

Inline, within one line: `**bold**`, `*italic*` or `_italic_`, `` `code` ``,
`[text](url)` links, and backslash escapes (`\\*`). Anything else (headings, tables,
nested lists) is kept as plain text, exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = [
    "Block",
    "BulletList",
    "CodeBlock",
    "Inline",
    "LineBreak",
    "Paragraph",
    "Text",
    "parse",
    "parse_inline",
    "ticket_markdown",
]


@dataclass(frozen=True, slots=True)
class Text:
    """A run of text with its marks; `href` makes it a link."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None


@dataclass(frozen=True, slots=True)
class LineBreak:
    """A line break inside a paragraph or a list item."""


Inline: TypeAlias = Text | LineBreak


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph: inline content, possibly with line breaks."""

    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class BulletList:
    """A bullet list; each item is inline content."""

    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced code block, verbatim, with the language named after the fence."""

    code: str
    language: str | None = None


Block: TypeAlias = Paragraph | BulletList | CodeBlock

_FENCE: Final = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)[^`]*$")
_BULLET: Final = re.compile(r"^ {0,3}[-*+][ \t]+(?P<text>.*)$")
_INLINE: Final = re.compile(
    r"""
      \\(?P<escaped>[\\`*_\[\]()\#+\-.!~|{}<>])
    | (?P<ticks>`+)(?P<code>.+?)(?P=ticks)(?!`)
    | \[(?P<label>[^\]]+)\]\((?P<href>[^()\s]+)\)
    | \*\*(?P<bold>\S(?:.*?\S)?)\*\*
    | (?<![\w*])\*(?P<star>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])
    | (?<![\w\\])_(?P<under>[^\s_](?:.*?[^\s_])?)_(?!\w)
    """,
    re.VERBOSE,
)


def parse(markdown: str) -> tuple[Block, ...]:
    """Parse `markdown` (the subset above) into blocks.

    Args:
        markdown: The text; `\\r\\n` and `\\r` line ends are accepted.

    Returns:
        The blocks, in order; empty for blank text.
    """
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[list[str]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Paragraph(_lines(paragraph)))
            paragraph.clear()
        if items:
            blocks.append(BulletList(tuple(_lines(item) for item in items)))
            items.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        fence = _FENCE.match(line)
        if fence is not None:
            flush()
            marker = fence["fence"]
            body: list[str] = []
            while index < len(lines):
                closing = lines[index].strip()
                index += 1
                if closing.startswith(marker[0] * len(marker)) and not closing.strip(marker[0]):
                    break
                body.append(lines[index - 1])
            blocks.append(CodeBlock("\n".join(body), fence["info"] or None))
        elif not line.strip():
            flush()
        elif (bullet := _BULLET.match(line)) is not None:
            if paragraph:
                flush()
            items.append([bullet["text"]])
        elif items and line[:1] in (" ", "\t"):
            items[-1].append(line)  # an indented line continues the item
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return tuple(blocks)


def _lines(lines: list[str]) -> tuple[Inline, ...]:
    content: list[Inline] = []
    for number, line in enumerate(line.strip() for line in lines):
        if number:
            content.append(LineBreak())
        content.extend(parse_inline(line))
    return tuple(content)


def parse_inline(text: str) -> tuple[Inline, ...]:
    """Parse the inline marks of one line of text.

    Args:
        text: One line (line breaks are the block parser's business).

    Returns:
        Text runs with their marks; neighbours with the same marks are merged.
    """
    return tuple(_merge(_spans(text, Text(""))))


def _spans(text: str, style: Text) -> list[Text]:
    spans: list[Text] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            spans.append(_styled(text[position : match.start()], style))
        position = match.end()
        group = match.lastgroup
        if group == "escaped":
            spans.append(_styled(match["escaped"], style))
        elif group == "code":
            spans.append(Text(match["code"], code=True, href=style.href))
        elif group == "href":
            linked = Text("", style.bold, style.italic, href=match["href"])
            spans.extend(_spans(match["label"], linked))
        elif group == "bold":
            spans.extend(_spans(match["bold"], _with(style, bold=True)))
        else:  # star or under: italic
            inner = match["star"] if group == "star" else match["under"]
            spans.extend(_spans(inner, _with(style, italic=True)))
    if position < len(text):
        spans.append(_styled(text[position:], style))
    return spans


def _styled(text: str, style: Text) -> Text:
    return Text(text, style.bold, style.italic, style.code, style.href)


def _with(style: Text, *, bold: bool = False, italic: bool = False) -> Text:
    return Text("", style.bold or bold, style.italic or italic, style.code, style.href)


def _merge(spans: list[Text]) -> list[Text]:
    merged: list[Text] = []
    for span in spans:
        if not span.text:
            continue
        last = merged[-1] if merged else None
        if last is not None and _styled("", last) == _styled("", span):
            merged[-1] = _styled(last.text + span.text, last)
        else:
            merged.append(span)
    return merged


def ticket_markdown(title: str, body: str | None) -> str:
    """A ticket's text as `TicketReader.read` gives it: `# title`, a blank line, the body.

    Args:
        title: The ticket's title (line breaks become spaces: a heading is one line).
        body: The ticket's body in Markdown; None or blank for none.

    Returns:
        The Markdown, ending with one newline.
    """
    heading = f"# {' '.join(title.split())}\n"
    text = (body or "").replace("\r\n", "\n").strip("\n")
    return f"{heading}\n{text}\n" if text.strip() else heading
