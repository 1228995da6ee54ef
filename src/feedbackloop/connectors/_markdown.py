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
`[text](url)` links, and backslash escapes (`\\*`). Code spans and escapes bind tighter
than emphasis and links, as in CommonMark: `` *a `*` b* `` is one italic run. A run of
backticks that no run of the same length closes, and a `*`, `_` or `[` that opens
nothing, are text. Anything else (headings, tables, nested lists) is kept as plain text,
exactly as written.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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
# Escapes and code spans bind tighter than links, and links tighter than emphasis (as in
# CommonMark). Each is read in turn and masked as one character for the patterns after
# it, so a `*` inside `` `a*b` ``, written `\*` or in a link's url never closes an
# emphasis. A run of backticks that no run of the same length closes is plain text.
_ESCAPE_OR_CODE: Final = re.compile(
    r"""
      \\(?P<escaped>[\\`*_\[\]()\#+\-.!~|{}<>])
    | (?P<ticks>`+)(?!`)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)
    | `+
    """,
    re.VERBOSE,
)
# The masks are private-use characters: neither word characters nor spaces.
_ESCAPE_MASK: Final = "\ue000"
_CODE_MASK: Final = "\ue001"
_LINK_MASK: Final = "\ue002"
_LINK: Final = re.compile(rf"\[(?P<label>[^\]]+)\]\((?P<href>[^()\s{_CODE_MASK}]+)\)")
# Each emphasis closes at the first delimiter that can close it (the `??`).
_EMPHASIS: Final = re.compile(
    r"""
      \*\*(?P<bold>\S(?:.*?\S)??)\*\*
    | (?<![\w*])\*(?P<star>[^\s*](?:[^*]*?[^\s*])??)\*(?![\w*])
    | (?<!\w)_(?P<under>[^\s_](?:.*?[^\s_])??)_(?!\w)
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
    return tuple(_merge(_spans(_Masked.of(text), Text(""))))


@dataclass(frozen=True, slots=True)
class _Atom:
    """An escape, a code span or a link, masked as one character at `position`."""

    position: int
    kind: str  # "escape", "code" or "link"
    text: str  # as read: the escaped character, the code, or the link's url
    source: str  # as written
    label: _Masked | None = None  # a link's text


@dataclass(frozen=True, slots=True)
class _Masked:
    """A line (or part of one) with each atom masked as one character."""

    text: str
    atoms: tuple[_Atom, ...]  # in order of position

    @classmethod
    def of(cls, line: str) -> _Masked:
        masked = cls(line, ())
        if "\\" in line or "`" in line:
            masked = masked.masking(_ESCAPE_OR_CODE, _escape_or_code)
        return masked.masking(_LINK, _link) if "](" in masked.text else masked

    def masking(
        self, pattern: re.Pattern[str], atom: Callable[[_Masked, re.Match[str]], _Atom | None]
    ) -> _Masked:
        """This text with the atoms `atom` makes of `pattern`'s matches masked too."""
        text: list[str] = []
        atoms: list[_Atom] = []
        position = length = 0  # length: of the new text so far
        for match in pattern.finditer(self.text):
            made = atom(self, match)
            if made is None:
                continue
            before = self.part(position, match.start())
            atoms.extend(replace(a, position=a.position + length) for a in before.atoms)
            text.append(before.text)
            length += len(before.text)
            atoms.append(replace(made, position=length))
            text.append(_MASKS[made.kind])
            length += 1
            position = match.end()
        rest = self.part(position, len(self.text))
        atoms.extend(replace(a, position=a.position + length) for a in rest.atoms)
        text.append(rest.text)
        return _Masked("".join(text), tuple(atoms))

    def part(self, start: int, end: int) -> _Masked:
        """Characters `start` to `end`, their atoms' positions counted from `start`."""
        if not self.atoms:
            return _Masked(self.text[start:end], ())
        first = bisect_left(self.atoms, start, key=_position)
        last = bisect_left(self.atoms, end, key=_position)
        atoms = self.atoms[first:last]
        if start:
            atoms = tuple(replace(atom, position=atom.position - start) for atom in atoms)
        return _Masked(self.text[start:end], atoms)

    def pieces(self) -> Iterator[str | _Atom]:
        """The plain text between atoms, and the atoms."""
        position = 0
        for atom in self.atoms:
            yield self.text[position : atom.position]
            yield atom
            position = atom.position + 1
        yield self.text[position:]

    def source(self) -> str:
        """The text as written."""
        return "".join(piece if isinstance(piece, str) else piece.source for piece in self.pieces())


_MASKS: Final = {"escape": _ESCAPE_MASK, "code": _CODE_MASK, "link": _LINK_MASK}


def _position(atom: _Atom) -> int:
    return atom.position


def _escape_or_code(line: _Masked, match: re.Match[str]) -> _Atom | None:
    if match["code"] is not None:
        return _Atom(0, "code", match["code"], match[0])
    if match["escaped"] is not None:
        return _Atom(0, "escape", match["escaped"], match[0])
    return None  # a run of backticks that nothing closes: plain text


def _link(line: _Masked, match: re.Match[str]) -> _Atom:
    label = line.part(*match.span("label"))
    href = line.part(*match.span("href")).source()
    return _Atom(0, "link", href, line.part(*match.span()).source(), label)


def _spans(line: _Masked, style: Text) -> list[Text]:
    """The line's text runs in `style`, with the marks its emphasis and atoms add."""
    spans: list[Text] = []
    position = 0
    for match in _EMPHASIS.finditer(line.text):
        spans.extend(_plain(line.part(position, match.start()), style))
        position = match.end()
        group = str(match.lastgroup)
        bold = group == "bold"
        spans.extend(
            _spans(line.part(*match.span(group)), _with(style, bold=bold, italic=not bold))
        )
    spans.extend(_plain(line.part(position, len(line.text)), style))
    return spans


def _plain(part: _Masked, style: Text) -> list[Text]:
    """Text without emphasis: in `style`; a code span keeps only the link, a link adds one."""
    spans: list[Text] = []
    for piece in part.pieces():
        if isinstance(piece, str):
            spans.append(_styled(piece, style))
        elif piece.kind == "escape":
            spans.append(_styled(piece.text, style))
        elif piece.kind == "code":
            spans.append(Text(piece.text, code=True, href=style.href))
        elif piece.label is not None:
            linked = Text("", style.bold, style.italic, href=piece.text)
            spans.extend(_spans(piece.label, linked))
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
