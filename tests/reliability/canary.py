"""Recognisable fake secrets, and the check that none of them leaked anywhere."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

CANARY = "SECRET-canary-7f3a"
"""Every fake secret starts with this, so one search finds any of them."""


def canary(name: str) -> str:
    """A fake secret for `name`: `SECRET-canary-7f3a-<name>-91c2`."""
    return f"{CANARY}-{name}-91c2"


def forms(secret: str, *, user: str | None = None) -> list[str]:
    """The ways a secret can leak: as it is, and inside a basic-auth header."""
    found = [secret]
    if user is not None:
        found.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return found


def leaks(texts: Iterable[str], secrets: Iterable[str] = (CANARY,)) -> list[str]:
    """The texts (shortened) that contain a secret."""
    wanted = list(secrets)
    return [text[:300] for text in texts if any(secret in text for secret in wanted)]


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The message, every extra field, and the traceback with its exception message.
        text = f"{record.getMessage()} {record.__dict__!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Everything logged at DEBUG and above, by feedbackloop and everyone else."""
    handler = _Everything()
    root = logging.getLogger()
    loggers: list[Any] = [root, logging.getLogger("feedbackloop")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    logging.getLogger("feedbackloop").addHandler(handler)
    try:
        yield handler.texts
    finally:
        root.removeHandler(handler)
        logging.getLogger("feedbackloop").removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
