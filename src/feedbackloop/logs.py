"""Logging: the library logs, the application decides where it goes.

feedbackloop logs structured events through structlog onto standard-library loggers
named `feedbackloop.*`. It never configures logging itself: without configuration,
Python shows warnings and errors only. Every event passes through `redact_secrets`
first, so credentials never reach a handler.

Applications (and the CLI) can call `configure_logging` for pleasant console output or
JSON lines.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, WrappedLogger

__all__ = ["REDACTED", "configure_logging", "get_logger", "redact_secrets", "redact_text"]

REDACTED = "**********"
"""What a secret is replaced with in logs."""

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|app(lication)?[_-]?key|authorization|auth|"
    r"cookie|credential|signature|private[_-]?key|routing[_-]?key|dsn)",
    re.IGNORECASE,
)
_SECRET_IN_TEXT = re.compile(
    r"(?P<prefix>\b(?:bearer|basic|token(?:\s+token=)?)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(?P<userinfo>://)[^/\s:@]+:[^/\s@]+@"
    r"|(?P<query>[?&](?:token|key|api_key|apikey|secret|password|sig|signature|access_token"
    r"|client_secret|routing_key|private_token)=)[^&\s]+"
    # Slack incoming-webhook URLs carry their credential in the path.
    r"|(?P<slack>hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'<>]+"
    # Vendor tokens recognisable by their prefix: GitHub, Slack.
    r"|(?P<vendor>\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}))",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """`text` with credentials that can be recognised in free text replaced by `REDACTED`.

    Bearer/basic/token credentials, passwords in URLs, secret query parameters, Slack
    webhook paths and GitHub/Slack tokens. The HTTP layer also removes the exact
    secrets it was given; this catches the rest.
    """

    def replace(match: re.Match[str]) -> str:
        for group in ("prefix", "query", "slack"):
            if match.group(group):
                return match.group(group) + REDACTED
        if match.group("userinfo"):
            return "://" + REDACTED + "@"
        return REDACTED

    return _SECRET_IN_TEXT.sub(replace, text)


def _scrub(key: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if _SECRET_KEY.search(key) and value not in (None, "", b""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(key, v) for v in value)
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that hides anything that looks like a credential.

    Values of keys that name a secret (`token`, `password`, `api_key`,
    `authorization`…), `SecretStr` values, bearer/basic credentials, passwords in
    URLs and secret query parameters are replaced by `REDACTED`, recursively.
    """
    for key, value in list(event_dict.items()):
        event_dict[key] = _scrub(key, value)
    return event_dict


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger that writes to the standard-library logger `feedbackloop.<name>`."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(f"feedbackloop.{name}" if name else "feedbackloop"),
        processors=[
            structlog.stdlib.filter_by_level,
            redact_secrets,
            structlog.stdlib.render_to_log_kwargs,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return logger


def configure_logging(
    *,
    level: int | str = "INFO",
    format: Literal["console", "json"] = "console",
    stream: TextIO | None = None,
) -> None:
    """Send feedbackloop's logs to `stream` (stderr) as coloured console lines or JSON.

    For applications and the CLI; the library itself never calls it. Only the
    `feedbackloop` logger is touched: the application's other logging is left alone.
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if format == "json"
        else structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("feedbackloop")
    logger = logging.getLogger("feedbackloop")
    for existing in list(logger.handlers):
        if existing.get_name() == "feedbackloop":
            logger.removeHandler(existing)
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
