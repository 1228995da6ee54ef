"""JSON Schema of the model, for other tools that read or write feedbackloop data."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from feedbackloop._models import (
    ActionItem,
    Incident,
    Learning,
    Signal,
    TicketChange,
    TicketRef,
)

__all__ = ["MODELS", "json_schema"]

MODELS: dict[str, type[Any]] = {
    "Signal": Signal,
    "Incident": Incident,
    "TicketChange": TicketChange,
    "TicketRef": TicketRef,
    "ActionItem": ActionItem,
    "Learning": Learning,
}
"""The models whose schema is exported, by name."""


def json_schema(*names: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the named models, or of all of them.

    The result has one `$defs` entry per model, plus the types they share.
    Unknown names raise `KeyError` naming the known ones.
    """
    wanted = names or tuple(MODELS)
    unknown = [n for n in wanted if n not in MODELS]
    if unknown:
        raise KeyError(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    return _schema_for(wanted)


def _schema_for(names: tuple[str, ...]) -> dict[str, Any]:
    _, top = models_json_schema(
        [(MODELS[name], "serialization") for name in names],
        title="feedbackloop model",
    )
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return top
