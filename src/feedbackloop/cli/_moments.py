"""Moments on the command line: `7d` back from now, or an ISO date (`--since`, `--until`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer

__all__ = ["parse_moment"]

_RELATIVE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(value: str, *, now: datetime) -> datetime:
    """`7d`, `24h`, `2w`, `30m` before `now`; or an ISO date or datetime (UTC if naive).

    Raises:
        typer.BadParameter: the value is none of these.
    """
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        try:
            moment = now - timedelta(**{_UNITS[unit.lower()]: int(amount)})
        except (OverflowError, ValueError):  # ValueError: over 4,300 digits
            moment = _EARLIEST - timedelta(days=1)  # refused below
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is neither a duration (7d, 24h, 2w, 30m) nor an ISO date (2026-11-02)"
            ) from None
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not _EARLIEST <= moment <= _LATEST:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise typer.BadParameter(f"{shown!r} is not between 1970 and 9999")
    return moment


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
