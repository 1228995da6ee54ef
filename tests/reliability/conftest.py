"""Shared fixtures of the reliability suite: the figures each test reports."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

FIGURES_ENV = "FEEDBACKLOOP_RELIABILITY_FIGURES"


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A dict the test fills with its figures (kills, faults, inputs...).

    They are printed (`pytest -s` shows them) and, when FEEDBACKLOOP_RELIABILITY_FIGURES
    names a file, appended to it as one JSON line: docs/reliability.md quotes them.
    """
    found: dict[str, Any] = {}
    yield found
    line = json.dumps({"test": request.node.name, **found}, sort_keys=True, default=str)
    print(f"\nreliability figures: {line}")
    target = os.environ.get(FIGURES_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
