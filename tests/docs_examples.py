"""Read the code blocks of the documentation, so that tests/test_docs.py can run them.

The Markdown conventions the docs follow:

- A ```python block runs. A page's blocks run in order in one namespace, so a later
  block may use what an earlier one defined. A block whose lines start with `>>>` is
  a doctest, checked against the output it shows.
- A block with `title="path"` is a file: it is written to that path in the page's
  directory (and compiled, when it is Python), so later blocks can import it.
- `<!-- test-setup: ... -->` holds code that runs before the next block without being
  shown (a fake vendor, an environment variable the reader sets in their shell).
- `<!-- not-tested: reason -->` right before a fence skips that block, with the reason.
- ```console blocks: each `feedbackloop ...` line must name a real command and options.
- ```json and ```toml blocks must parse.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Block", "blocks_of", "doc_files"]

ROOT = Path(__file__).parents[1]

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)(?P<attrs>.*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_NOT_TESTED = re.compile(r"^\s*<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->\s*$")
_SETUP_START = re.compile(r"^\s*<!--\s*test-setup:(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    lang: str
    code: str
    title: str | None = None
    setup: str = ""
    skip: str | None = None

    @property
    def id(self) -> str:
        """`docs/guides/rules.md:12`: where the block's fence is."""
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def _unindent(line: str, indent: int) -> str:
    """A line of a block indented by `indent` (in a list item), without that indent."""
    prefix = line[:indent]
    return line[indent:] if not prefix or prefix.isspace() else line.lstrip()


def doc_files() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of `path`, with the setup code and skip reason before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    setup: list[str] = []
    skip: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        start = _SETUP_START.match(line)
        if start:
            body = [start["rest"]]
            while "-->" not in body[-1]:
                index += 1
                body.append(lines[index])
            body[-1] = body[-1].split("-->", 1)[0]
            setup.append(textwrap.dedent("\n".join(body)).strip())
            index += 1
            continue
        reason = _NOT_TESTED.match(line)
        if reason:
            skip = reason["reason"] or "no reason given"
            index += 1
            continue
        fence = _FENCE.match(line)
        if not fence:
            if line.strip() and (setup or skip is not None):
                raise ValueError(
                    f"{path}:{index + 1}: a test-setup or not-tested comment must come "
                    "right before the code block it is about"
                )
            index += 1
            continue
        opening = fence["fence"]
        indent = len(fence["indent"])
        body_lines: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(opening):
            body_lines.append(_unindent(lines[index], indent))
            index += 1
        title = _TITLE.search(fence["attrs"])
        found.append(
            Block(
                path=path,
                line=index - len(body_lines),
                lang=fence["lang"].lower(),
                code="\n".join(body_lines) + "\n",
                title=title["title"] if title else None,
                setup="\n".join(setup),
                skip=skip,
            )
        )
        setup, skip = [], None
        index += 1
    return found
