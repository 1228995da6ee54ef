"""Public classes say where users import them from, in reprs and in the docs."""

from __future__ import annotations

from typing import Any

__all__ = ["publish"]


def publish(namespace: dict[str, Any]) -> None:
    """Set `__module__` of the classes a package exports to the package itself.

    Call it at the end of a package's `__init__` as `publish(globals())`: every class
    listed in its `__all__` then reads `feedbackloop.rules.Rule`, not the private module
    that defines it.
    """
    package = namespace["__name__"]
    for name in namespace["__all__"]:
        value = namespace[name]
        if isinstance(value, type):
            value.__module__ = package
