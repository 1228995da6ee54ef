"""The `feedbackloop` command line.

Each command lives in its own module of this package and registers itself on `app`.
"""

from __future__ import annotations

from feedbackloop.cli import (
    _check,  # noqa: F401  (registers the command)
    _dead_letters,  # noqa: F401  (registers the command)
    _demo,  # noqa: F401  (registers the command)
    _learnings,  # noqa: F401  (registers the command)
    _plugins,  # noqa: F401  (registers the command)
    _poll,  # noqa: F401  (registers the command)
    _replay,  # noqa: F401  (registers the command)
    _report,  # noqa: F401  (registers the command)
    _schema,  # noqa: F401  (registers the command)
    _serve,  # noqa: F401  (registers the command)
    _tickets,  # noqa: F401  (registers the command)
)
from feedbackloop.cli._app import app, main

__all__ = ["app", "main"]
