"""Markdown -> Atlassian Document Format: golden documents per construct, and validity."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feedbackloop.connectors.jira import adf_to_markdown, markdown_to_adf

# The subset of the ADF JSON schema (go.atlassian.com/adf-json-schema) that the
# converter produces; the Jira OpenAPI description has no ADF schema of its own.
_CODE = {"type": "object", "properties": {"type": {"const": "code"}}, "required": ["type"]}
_LINK = {
    "type": "object",
    "properties": {
        "type": {"const": "link"},
        "attrs": {
            "type": "object",
            "properties": {"href": {"type": "string", "minLength": 1}},
            "required": ["href"],
            "additionalProperties": False,
        },
    },
    "required": ["type", "attrs"],
    "additionalProperties": False,
}
_MARK = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"type": {"enum": ["strong", "em", "code"]}},
            "required": ["type"],
            "additionalProperties": False,
        },
        _LINK,
    ]
}
_TEXT = {
    "type": "object",
    "properties": {
        "type": {"const": "text"},
        "text": {"type": "string", "minLength": 1},
        "marks": {
            "type": "array",
            "items": _MARK,
            "minItems": 1,
            "uniqueItems": True,
            # ADF: the code mark combines with link only.
            "anyOf": [{"items": {"not": _CODE}}, {"items": {"anyOf": [_CODE, _LINK]}}],
        },
    },
    "required": ["type", "text"],
    "additionalProperties": False,
}
_HARD_BREAK = {
    "type": "object",
    "properties": {"type": {"const": "hardBreak"}},
    "required": ["type"],
    "additionalProperties": False,
}
_PARAGRAPH = {
    "type": "object",
    "properties": {
        "type": {"const": "paragraph"},
        "content": {"type": "array", "items": {"anyOf": [_TEXT, _HARD_BREAK]}},
    },
    "required": ["type"],
    "additionalProperties": False,
}
_BULLET_LIST = {
    "type": "object",
    "properties": {
        "type": {"const": "bulletList"},
        "content": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "type": {"const": "listItem"},
                    "content": {"type": "array", "minItems": 1, "items": _PARAGRAPH},
                },
                "required": ["type", "content"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["type", "content"],
    "additionalProperties": False,
}
_CODE_BLOCK = {
    "type": "object",
    "properties": {
        "type": {"const": "codeBlock"},
        "attrs": {
            "type": "object",
            "properties": {"language": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
        },
        "content": {
            "type": "array",
            "maxItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "type": {"const": "text"},
                    "text": {"type": "string", "minLength": 1},
                },
                "required": ["type", "text"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["type"],
    "additionalProperties": False,
}
ADF_SUBSET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "type": {"const": "doc"},
        "version": {"const": 1},
        "content": {"type": "array", "items": {"anyOf": [_PARAGRAPH, _BULLET_LIST, _CODE_BLOCK]}},
    },
    "required": ["type", "version", "content"],
    "additionalProperties": False,
}
_VALIDATOR = jsonschema.Draft202012Validator(ADF_SUBSET_SCHEMA)


def _doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def _p(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def _t(text: str, *marks: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    all_marks: list[dict[str, Any]] = [{"type": mark} for mark in marks]
    if href is not None:
        all_marks.append({"type": "link", "attrs": {"href": href}})
    if all_marks:
        node["marks"] = all_marks
    return node


BREAK = {"type": "hardBreak"}

GOLDEN = {
    "empty text": ("", _doc()),
    "a paragraph": ("Checkout fails.", _doc(_p(_t("Checkout fails.")))),
    "two paragraphs": ("one\n\ntwo", _doc(_p(_t("one")), _p(_t("two")))),
    "a line break inside a paragraph": ("one\ntwo", _doc(_p(_t("one"), BREAK, _t("two")))),
    "bold": ("a **b** c", _doc(_p(_t("a "), _t("b", "strong"), _t(" c")))),
    "italic with underscores": ("_seen_ twice", _doc(_p(_t("seen", "em"), _t(" twice")))),
    "italic with stars": ("*seen* twice", _doc(_p(_t("seen", "em"), _t(" twice")))),
    "inline code": ("run `make test`", _doc(_p(_t("run "), _t("make test", "code")))),
    "a link": (
        "[issue](https://sentry.io/i/1)",
        _doc(_p(_t("issue", href="https://sentry.io/i/1"))),
    ),
    "a bold link": (
        "**[issue](https://x.example)**",
        _doc(_p(_t("issue", "strong", href="https://x.example"))),
    ),
    "a bullet list": (
        "- first\n- **second**",
        _doc(
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [_p(_t("first"))]},
                    {"type": "listItem", "content": [_p(_t("second", "strong"))]},
                ],
            }
        ),
    ),
    "a list item continued on an indented line": (
        "* first\n  more",
        _doc(
            {
                "type": "bulletList",
                "content": [{"type": "listItem", "content": [_p(_t("first"), BREAK, _t("more"))]}],
            }
        ),
    ),
    "a code block with a language": (
        "```python\nx = 1  # **not bold**\n```",
        _doc(
            {
                "type": "codeBlock",
                "attrs": {"language": "python"},
                "content": [_t("x = 1  # **not bold**")],
            }
        ),
    ),
    "an empty code block": ("```\n```", _doc({"type": "codeBlock", "content": []})),
    "an escaped star": (r"2 \* 3", _doc(_p(_t("2 * 3")))),
    "snake_case stays text": ("order_id and user_id", _doc(_p(_t("order_id and user_id")))),
    "a lone backtick is text": ("`", _doc(_p(_t("`")))),
    "backticks nothing closes are text": ("``a` b", _doc(_p(_t("``a` b")))),
    "lone markup characters are text": ("a * _ [ ] ** ( b", _doc(_p(_t("a * _ [ ] ** ( b")))),
    "an unfinished link is text": ("[a](", _doc(_p(_t("[a](")))),
    "a code span of three backticks is no fence": ("```a``b```", _doc(_p(_t("a``b", "code")))),
    "a star inside code does not close an italic": (
        "*see `a*b`*",
        _doc(_p(_t("see ", "em"), _t("a*b", "code"))),
    ),
    "an escaped star does not close a bold": (r"**2 \*\***", _doc(_p(_t("2 **", "strong")))),
    "an escaped bracket inside a link": (
        r"[a\]b](https://x.example)",
        _doc(_p(_t("a]b", href="https://x.example"))),
    ),
    "two bold runs on one line": (
        "**a** and **b**",
        _doc(_p(_t("a", "strong"), _t(" and "), _t("b", "strong"))),
    ),
    "two italic runs on one line": (
        "_a_ and _b_",
        _doc(_p(_t("a", "em"), _t(" and "), _t("b", "em"))),
    ),
    "a star in a link's url does not end an italic": (
        "*see [x](https://x.example/a*b)*",
        _doc(_p(_t("see ", "em"), _t("x", "em", href="https://x.example/a*b"))),
    ),
    "a paragraph then a list": (
        "Seen:\n- twice",
        _doc(
            _p(_t("Seen:")),
            {"type": "bulletList", "content": [{"type": "listItem", "content": [_p(_t("twice"))]}]},
        ),
    ),
}


@pytest.mark.parametrize(("markdown", "expected"), GOLDEN.values(), ids=GOLDEN.keys())
def test_each_construct_converts_to_its_golden_document(
    markdown: str, expected: dict[str, Any]
) -> None:
    """Every supported Markdown construct becomes exactly the ADF nodes documented for it."""
    assert markdown_to_adf(markdown) == expected


@pytest.mark.parametrize(("markdown", "expected"), GOLDEN.values(), ids=GOLDEN.keys())
def test_the_golden_documents_are_valid_adf(markdown: str, expected: dict[str, Any]) -> None:
    """The goldens themselves pass the ADF subset schema (the schema is not too loose to matter)."""
    _VALIDATOR.validate(expected)


def test_the_schema_rejects_an_empty_text_node() -> None:
    """The ADF subset schema catches what Jira refuses: an empty text node."""
    with pytest.raises(jsonschema.ValidationError):
        _VALIDATOR.validate(_doc(_p({"type": "text", "text": ""})))


def test_the_schema_rejects_code_combined_with_bold() -> None:
    """The ADF subset schema knows that the code mark combines with link only."""
    with pytest.raises(jsonschema.ValidationError):
        _VALIDATOR.validate(_doc(_p(_t("x", "code", "strong"))))


def test_bold_opening_on_inline_code_keeps_only_the_code_mark() -> None:
    """Bold from code on: the code span has only the code mark, the rest is bold."""
    assert markdown_to_adf("**`foo` is broken**") == _doc(
        _p(_t("foo", "code"), _t(" is broken", "strong"))
    )


def test_code_inside_bold_keeps_only_the_code_mark() -> None:
    """Bold around inline code is dropped for the code span, as ADF requires."""
    assert markdown_to_adf("**see `x`**") == _doc(_p(_t("see ", "strong"), _t("x", "code")))


_FRAGMENTS = st.sampled_from(
    [
        "**",
        "*",
        "_",
        "`",
        "```",
        "~~~",
        "[",
        "](",
        ")",
        "](https://x.example)",
        "\\",
        "- ",
        "* ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "word",
        " ",
        "```py\n",
    ]
)
_MARKDOWNISH = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=30).map("".join)


@given(_MARKDOWNISH)
def test_every_produced_document_is_valid_adf(markdown: str) -> None:
    """Whatever the input, the converter produces a document the ADF schema accepts."""
    errors = list(_VALIDATOR.iter_errors(markdown_to_adf(markdown)))
    assert errors == [], [error.message for error in errors]


_PLAIN = st.text(alphabet="abcxyz019 .,:;\n", max_size=200)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "text" else []
        return own + [text for child in node.get("content", []) for text in _texts(child)]
    return []


@given(_PLAIN)
def test_plain_text_loses_no_word(markdown: str) -> None:
    """Text without Markdown syntax keeps every word, in order."""
    words = " ".join(_texts(markdown_to_adf(markdown))).split()
    assert words == markdown.split()


# --- ADF -> Markdown -----------------------------------------------------------------------


def _cell(kind: str, text: str) -> dict[str, Any]:
    return {"type": kind, "content": [_p(_t(text))]}


def _item(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


ADF_GOLDEN = {
    "an empty document": (_doc(), ""),
    "a paragraph": (_doc(_p(_t("Checkout fails."))), "Checkout fails.\n"),
    "two paragraphs": (_doc(_p(_t("one")), _p(_t("two"))), "one\n\ntwo\n"),
    "a hard break": (_doc(_p(_t("one"), BREAK, _t("two"))), "one\ntwo\n"),
    "a heading": (
        _doc({"type": "heading", "attrs": {"level": 2}, "content": [_t("Action items")]}),
        "## Action items\n",
    ),
    "marks": (
        _doc(
            _p(
                _t("a "),
                _t("b", "strong"),
                _t(" "),
                _t("c", "em"),
                _t(" "),
                _t("d()", "code"),
                _t(" "),
                _t("e", href="https://x.example"),
            )
        ),
        "a **b** _c_ `d()` [e](https://x.example)\n",
    ),
    "italic inside bold": (
        _doc(_p(_t("a ", "strong"), _t("b", "strong", "em"), _t(" c", "strong"))),
        "**a _b_ c**\n",
    ),
    "markup characters in text": (_doc(_p(_t("2 * 3 = *6*"))), "2 \\* 3 = \\*6\\*\n"),
    "snake_case and keys stay as written": (
        _doc(_p(_t("order_id, OPS-12, due 2026-11-20"))),
        "order_id, OPS-12, due 2026-11-20\n",
    ),
    "a paragraph that looks like a list item": (_doc(_p(_t("- not a list"))), "\\- not a list\n"),
    "a bullet list": (
        _doc({"type": "bulletList", "content": [_item(_p(_t("one"))), _item(_p(_t("two")))]}),
        "- one\n- two\n",
    ),
    "an ordered list with a nested list": (
        _doc(
            {
                "type": "orderedList",
                "attrs": {"order": 3},
                "content": [
                    _item(
                        _p(_t("three")),
                        {"type": "bulletList", "content": [_item(_p(_t("nested")))]},
                    ),
                    _item(_p(_t("four"))),
                ],
            }
        ),
        "3. three\n  - nested\n4. four\n",
    ),
    "a task list": (
        _doc(
            {
                "type": "taskList",
                "attrs": {"localId": "l"},
                "content": [
                    {
                        "type": "taskItem",
                        "attrs": {"localId": "1", "state": "DONE"},
                        "content": [_t("Roll back")],
                    },
                    {
                        "type": "taskItem",
                        "attrs": {"localId": "2", "state": "TODO"},
                        "content": [_t("Add a canary")],
                    },
                ],
            }
        ),
        "- [x] Roll back\n- [ ] Add a canary\n",
    ),
    "a code block": (
        _doc({"type": "codeBlock", "attrs": {"language": "sql"}, "content": [_t("select 1;")]}),
        "```sql\nselect 1;\n```\n",
    ),
    "a code block holding a fence": (
        _doc({"type": "codeBlock", "content": [_t("```\nx\n```")]}),
        "````\n```\nx\n```\n````\n",
    ),
    "a table": (
        _doc(
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [_cell("tableHeader", "Action"), _cell("tableHeader", "Owner")],
                    },
                    {
                        "type": "tableRow",
                        "content": [_cell("tableCell", "Add a canary"), _cell("tableCell", "a|b")],
                    },
                ],
            }
        ),
        "| Action | Owner |\n| --- | --- |\n| Add a canary | a\\|b |\n",
    ),
    "inline nodes give their text": (
        _doc(
            _p(
                {"type": "mention", "attrs": {"id": "5b10", "text": "@alice"}},
                _t(" by "),
                {"type": "date", "attrs": {"timestamp": "1795132800000"}},
                _t(" "),
                {"type": "emoji", "attrs": {"shortName": ":fire:"}},
            )
        ),
        "@alice by 2026-11-20 :fire:\n",
    ),
    "unknown nodes give their content": (
        _doc(
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [_p(_t("inside"))]},
            {"type": "rule"},
            _p({"type": "text", "text": "struck", "marks": [{"type": "strike"}]}),
        ),
        "inside\n\nstruck\n",
    ),
}


ADF_GOLDEN.update(
    {
        "a lone backtick": (_doc(_p(_t("`"))), "`\n"),
        "lone markup characters stay as written": (_doc(_p(_t("a * _ [ b"))), "a * _ [ b\n"),
        "bold beginning with code": (
            _doc(_p(_t("foo", "code"), _t(" is broken", "strong"))),
            "**`foo` is broken**\n",
        ),
        "italic ending before code and a word": (
            _doc(_p(_t("a", "em"), _t("x", "code"), _t("b"))),
            "_a_`x`b\n",
        ),
        "code of three backticks starting a line is not escaped": (
            _doc(_p(_t("a``b", "code"))),
            "```a``b```\n",
        ),
        "a line of backticks that would open a fence": (
            _doc(_p(_t("```"))),
            "\\```\n",
        ),
    }
)


@pytest.mark.parametrize(("doc", "expected"), ADF_GOLDEN.values(), ids=ADF_GOLDEN.keys())
def test_each_adf_construct_converts_to_its_golden_markdown(
    doc: dict[str, Any], expected: str
) -> None:
    """Every ADF node the converter covers becomes exactly the Markdown documented for it."""
    assert adf_to_markdown(doc) == expected


# Markdown in the supported subset, built from pieces that read unambiguously: words with
# marks, plain text full of markup characters (to exercise the escaping), paragraphs with
# line breaks, bullet lists and fenced code blocks.
_WORD = st.text(alphabet="abcxyz019", min_size=1, max_size=6)
_RAW = st.text(alphabet="ab *_`[]()\\-+#~!.|", min_size=1, max_size=8).map(str.strip).filter(bool)
_HREF = st.sampled_from(["https://x.example", "https://sentry.io/i/1?a=b"])


@st.composite
def _phrase(draw: st.DrawFn) -> str:
    words = " ".join(draw(st.lists(_WORD, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["plain", "raw", "bold", "italic", "both", "code", "link"]))
    if kind == "raw":
        return draw(_RAW)
    if kind == "bold":
        return f"**{words}**"
    if kind == "italic":
        return f"_{words}_"
    if kind == "both":
        return f"**a _{words}_ b**"
    if kind == "code":
        return f"`{draw(_RAW).replace('`', '')}`" if draw(st.booleans()) else f"`{words}`"
    if kind == "link":
        label = f"**{words}**" if draw(st.booleans()) else words
        return f"[{label}]({draw(_HREF)})"
    return words


_LINE = st.lists(_phrase(), min_size=1, max_size=4).map(" ".join)
_PARAGRAPH = st.lists(_LINE, min_size=1, max_size=3).map("\n".join)
_LIST = st.lists(_LINE, min_size=1, max_size=4).map(
    lambda items: "\n".join(f"- {i}" for i in items)
)
_CODE = st.builds(
    lambda code, language: f"```{language}\n{code}\n```",
    st.text(alphabet="ab `*_\n-", max_size=20).filter(lambda c: "```" not in c),
    st.sampled_from(["", "python"]),
)
_MARKDOWN = st.lists(st.one_of(_PARAGRAPH, _LIST, _CODE), max_size=5).map("\n\n".join)


# Edge cases the round trip once got wrong (unbalanced backticks, emphasis around code,
# escapes before a closing delimiter, a code span of three backticks starting a line).
ROUND_TRIP_EDGE_CASES = [
    "`",
    "``",
    "``a`",
    "`a```",
    "a ` b",
    "*",
    "_",
    "[",
    "]",
    "**",
    "\\",
    "[a](",
    "`**```",
    "_`[` _0_",
    "************",
    "*_*_*_",
    "**`foo` is broken**",
    "_`x` y_",
    "*a*`a`a",
    "_a_`b`c",
    "`a``a`",
    "```a``b```",
    "\\\\_x_",
    "**a** b **c**",
    "***`**`**_******",
    "******[******](**)",
    "[*_*](https://x.example)0",
    "- `\n- *",
    "a\n```",
]


@pytest.mark.parametrize("markdown", ROUND_TRIP_EDGE_CASES)
def test_edge_cases_read_back_from_adf_convert_to_the_same_document(markdown: str) -> None:
    """Markup characters that open nothing, and marks around code, survive the round trip."""
    doc = markdown_to_adf(markdown)
    assert markdown_to_adf(adf_to_markdown(doc)) == doc


@given(_MARKDOWN)
@example("`")
@example("_`[` _0_")
@example("`**```")
def test_markdown_read_back_from_adf_converts_to_the_same_document(markdown: str) -> None:
    """adf_to_markdown of a document markdown_to_adf made converts back to that document."""
    doc = markdown_to_adf(markdown)
    assert markdown_to_adf(adf_to_markdown(doc)) == doc


@given(_MARKDOWNISH)
@example("`")
@example("[*_*](https://x.example)0")
def test_any_markdown_read_back_from_adf_converts_to_the_same_document(markdown: str) -> None:
    """The round trip holds for any text too, markup characters that open nothing included."""
    doc = markdown_to_adf(markdown)
    assert markdown_to_adf(adf_to_markdown(doc)) == doc
