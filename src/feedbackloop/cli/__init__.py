"""The `feedbackloop` command line.

Each command lives in its own module of this package and registers itself on `app`.
"""

from __future__ import annotations

from feedbackloop.cli import (
    _plugins,  # noqa: F401  (registers the command)
    _schema,  # noqa: F401  (registers the command)
)
from feedbackloop.cli._app import app, main

__all__ = ["app", "main"]
