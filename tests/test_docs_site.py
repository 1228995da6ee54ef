"""The built documentation site: every API object is rendered once, where it belongs.

A `::: module` directive renders the module's public members unless told
`members: false`; a page that also lists those members one by one rendered each
class and method twice (the Store page did), with duplicate anchors that links cannot
tell apart. The site is built once, into a temporary directory, as CI builds it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.docs_examples import ROOT

pytestmark = pytest.mark.slow

_ID = re.compile(r'\bid="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `mkdocs build` makes it from this tree's docs and code."""
    pytest.importorskip("mkdocstrings")
    built = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(built)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return built


def _ids(page: Path) -> Counter[str]:
    return Counter(_ID.findall(page.read_text(encoding="utf-8")))


def test_no_page_renders_an_object_twice(site: Path) -> None:
    """Every anchor of every page is unique: no object (nor heading) appears twice."""
    repeated = {
        str(page.relative_to(site)): sorted(name for name, count in _ids(page).items() if count > 1)
        for page in sorted(site.rglob("*.html"))
    }
    assert {page: names for page, names in repeated.items() if names} == {}


def test_the_store_page_renders_each_public_object_of_the_store_once(site: Path) -> None:
    """The Store reference shows Store and its records, each once, methods included."""
    ids = _ids(site / "reference" / "store" / "index.html")
    for name in ("Store", "TicketLink", "TicketClosure", "DeadLetter", "Delivery", "Effect"):
        assert ids[f"feedbackloop.store.{name}"] == 1, name
    assert ids["feedbackloop.store.Store.links"] == 1
    assert ids["feedbackloop.store.TicketLink.ref"] == 1
