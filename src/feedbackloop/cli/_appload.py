"""Loading the user's loop from `--app module:attribute` (or `path/to/file.py:attribute`).

Whatever goes wrong in the user's module (it cannot be imported, it raises, it has no
such attribute, the attribute is not a loop) becomes one `AppLoadError` with a clear
message; the commands print it without a traceback unless `--debug`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import anyio
import typer

from feedbackloop._loop import AsyncFeedbackLoop, FeedbackLoop
from feedbackloop.errors import ConfigurationError, FeedbackLoopError

__all__ = [
    "APP_HELP",
    "AppLoadError",
    "AppOption",
    "DebugOption",
    "call",
    "close",
    "core_of",
    "fail",
    "load_loop",
    "loop_from",
]

APP_HELP = (
    "Where your loop is: [bold]module:attribute[/bold] (like uvicorn's module:app), e.g. "
    "feedback:loop, or a file, e.g. ops/feedback.py:loop. The current directory is on "
    "the import path."
)

AppOption = Annotated[str, typer.Option("--app", "-a", help=APP_HELP, metavar="MODULE:ATTR")]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
]

Loop = FeedbackLoop | AsyncFeedbackLoop


class AppLoadError(ConfigurationError):
    """The `--app` spec does not lead to a loop."""


def _where(exc: BaseException, path: str | None) -> str:
    """` (file.py:12)`: the innermost frame of the user's file, when the error came from it."""
    if path is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return f" ({Path(path).name}:{frames[-1].lineno})" if frames else ""


def _import(target: str) -> ModuleType:
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise AppLoadError(f"cannot load {target!r}: no such file")
        name = f"_feedbackloop_app_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise AppLoadError(f"cannot load {target!r}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))  # so the file imports its neighbours
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise AppLoadError(
                f"error while importing {target}{_where(exc, str(path))}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            sys.path.remove(str(path.parent))
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (target == exc.name or target.startswith(f"{exc.name}.")):
            raise AppLoadError(
                f"cannot import {target!r}: no module named {exc.name!r} "
                f"(looked in {os.getcwd()} and the installed packages)"
            ) from exc
        raise AppLoadError(f"error while importing {target}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        spec = importlib.util.find_spec(target) if target not in sys.modules else None
        origin = spec.origin if spec is not None else None
        raise AppLoadError(
            f"error while importing {target}{_where(exc, origin)}: {type(exc).__name__}: {exc}"
        ) from exc


def load_loop(spec: str) -> Loop:
    """The loop named by `spec` (`module:attribute` or `path.py:attribute`).

    Raises:
        AppLoadError: the spec is malformed, the module cannot be imported or raises,
            the attribute is missing, or it is not a loop.
    """
    target, colon, attribute = spec.rpartition(":")
    if not colon or not target or not attribute:
        raise AppLoadError(
            f"--app {spec!r} is not of the form module:attribute (e.g. feedback:loop)"
        )
    module = _import(target)
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise AppLoadError(f"{target!r} has no attribute {attribute!r}") from None
    if not isinstance(value, FeedbackLoop | AsyncFeedbackLoop):
        raise AppLoadError(
            f"{spec} is a {type(value).__name__}, not a FeedbackLoop or AsyncFeedbackLoop; "
            "point --app at the loop your module builds, e.g. loop = FeedbackLoop(rules, ...)"
        )
    return value


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print `Error: message` to stderr; return the Exit to raise."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def read_text(path: Path) -> str:
    """A UTF-8 text file's contents; one that cannot be read is a one-line error."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file; one that cannot be written is a one-line error."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def loop_from(spec: str, *, debug: bool) -> Iterator[Loop]:
    """Load the loop, hand it over, close it; errors become one line unless `debug`."""
    try:
        loop = load_loop(spec)
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(str(exc)) from None
    try:
        yield loop
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(str(exc)) from None
    finally:
        close(loop)


def call(loop: Loop, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call a loop method by name, from sync code, whichever face the loop has."""
    if isinstance(loop, FeedbackLoop):
        return getattr(loop, method)(*args, **kwargs)
    function: Callable[[], Any] = partial(getattr(loop, method), *args, **kwargs)
    return anyio.run(function)


def core_of(loop: Loop) -> AsyncFeedbackLoop:
    """The async core of either face."""
    return loop.core if isinstance(loop, FeedbackLoop) else loop


def close(loop: Loop) -> None:
    """Close the loop, whichever face it has."""
    if isinstance(loop, FeedbackLoop):
        loop.close()
    else:
        anyio.run(loop.aclose)
