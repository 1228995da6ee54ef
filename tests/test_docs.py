"""Every example in README.md and docs/ runs, so the documentation cannot drift.

One test per code block, named `file:line`. The Python blocks of a page run in order in
one namespace (a module of its own), in a temporary directory of the page, with every
connection beyond this machine refused. tests/docs_examples.py describes the Markdown
conventions (`test-setup`, `not-tested`, `title=`).
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import ipaddress
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tomllib
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import respx
import typer.main
from typer.testing import CliRunner

from feedbackloop import AsyncFeedbackLoop, FeedbackLoop, plugins
from feedbackloop.cli import app
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet
from tests.docs_examples import ROOT, Block, blocks_of, doc_files
from tests.plugin_package.installer import forget_modules, install_project

BLOCKS = [block for path in doc_files() for block in blocks_of(path)]
PYTHON = [block for block in BLOCKS if block.lang in {"python", "py"}]
CONSOLE = [block for block in BLOCKS if block.lang in {"console", "shell", "bash", "sh"}]
DATA = [block for block in BLOCKS if block.lang in {"json", "toml"}]


def _ids(blocks: list[Block]) -> list[str]:
    return [block.id for block in blocks]


# --- no network -------------------------------------------------------------------------


class NetworkBlockedError(OSError):
    """A docs example tried to reach beyond this machine."""


def _local(host: object) -> bool:
    if host in (None, "localhost", "") or not isinstance(host, str | bytes):
        return True
    name = host.decode() if isinstance(host, bytes) else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse name lookups and connections to anything but the loopback interface."""
    lookup = socket.getaddrinfo
    connect = socket.socket.connect

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _local(host):
            raise NetworkBlockedError(
                f"docs examples must not reach the network (looked up {host!r})"
            )
        return lookup(host, *args, **kwargs)

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            raise NetworkBlockedError(f"docs examples must not reach the network ({address!r})")
        connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# --- pages ------------------------------------------------------------------------------


@dataclass
class Page:
    """The state one page's examples share: a module namespace, a directory, the env."""

    module: types.ModuleType
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)

    def close(self) -> None:
        """Close the loops the examples left open and forget the page's modules."""
        modules = [self.module] + [
            module
            for module in list(sys.modules.values())
            if (getattr(module, "__file__", None) or "").startswith(str(self.directory))
        ]
        for module in modules:
            for value in list(vars(module).values()):
                if isinstance(value, FeedbackLoop):
                    value.close()
                elif isinstance(value, AsyncFeedbackLoop):
                    anyio.run(value.aclose)
                elif isinstance(value, respx.MockRouter):
                    value.stop(quiet=True)
        for name, module in list(sys.modules.items()):
            if any(module is found for found in modules):
                del sys.modules[name]


@pytest.fixture(scope="session")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Path, Page]]:
    """One `Page` per Markdown file, made on first use, closed at the end of the session."""
    made: dict[Path, Page] = {}

    class Pages(dict[Path, Page]):
        def __missing__(self, path: Path) -> Page:
            slug = re.sub(r"\W+", "_", path.stem)
            module = types.ModuleType(f"docs_example_{slug}_{len(made)}")
            sys.modules[module.__name__] = module
            page = Page(module, tmp_path_factory.mktemp(f"docs-{slug}"))
            self[path] = made[path] = page
            return page

    yield Pages()
    for page in made.values():
        page.close()


def _execute(code: str, namespace: dict[str, Any], where: str) -> None:
    compiled = compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, namespace))
    else:
        exec(compiled, namespace)


def _doctest(block: Block, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(block.code, namespace, block.id, block.id, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail("".join(report), pytrace=False)


def _run(block: Block, page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(page.directory)
    monkeypatch.syspath_prepend(str(page.directory))
    before = dict(os.environ)
    os.environ.update(page.env)
    try:
        if block.title is not None:
            target = page.directory / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")
        namespace = vars(page.module)
        if block.setup:
            _execute(block.setup, namespace, f"{block.id} (test-setup)")
        if block.title is not None:
            # A file for later blocks to import: written and compiled, not run.
            compile("\n" * block.line + block.code, str(block.path), "exec")
        elif block.code.lstrip().startswith(">>>"):
            _doctest(block, namespace)
        else:
            # Padded so that tracebacks point at the Markdown file's own lines.
            _execute("\n" * block.line + block.code, namespace, str(block.path))
    finally:
        page.env.update({k: v for k, v in os.environ.items() if before.get(k) != v})
        os.environ.clear()
        os.environ.update(before)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_example_runs(
    block: Block, pages: dict[Path, Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block runs after the page's earlier blocks, without reaching the network."""
    if block.skip is not None:
        pytest.skip(f"not tested: {block.skip}")
    page = pages[block.path]
    _catch_up(block, page, monkeypatch)
    _run_recorded(block, page, monkeypatch)


def _catch_up(block: Block, page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write the page's files and run its Python blocks that come before `block`."""
    for earlier in BLOCKS:
        if earlier.path != block.path or earlier.line >= block.line or earlier.skip:
            continue
        if earlier.lang not in {"python", "py"}:
            if earlier.title is not None:
                target = page.directory / earlier.title
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(earlier.code, encoding="utf-8")
            continue
        if earlier.line in page.failed:
            pytest.fail(f"an earlier block failed: {page.failed[earlier.line]}", pytrace=False)
        if earlier.line not in page.done:
            _run_recorded(earlier, page, monkeypatch)


def _run_recorded(block: Block, page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        _run(block, page, monkeypatch)
    except BaseException as exc:
        page.failed[block.line] = f"{block.id}: {type(exc).__name__}: {exc}"
        raise
    page.done.add(block.line)


# --- console blocks ---------------------------------------------------------------------


def _commands(block: Block, program: str = "feedbackloop") -> list[list[str]]:
    """The `<program> ...` command lines of a console block, as argument lists."""
    found = []
    for line in re.sub(r"\\\n\s*", " ", block.code).splitlines():
        text = line.strip().removeprefix("$ ").removeprefix("uv run ")
        if not text.startswith(f"{program} ") and text != program:
            continue
        found.append(shlex.split(text, comments=True)[1:])
    return found


def _resolve(args: list[str]) -> tuple[list[str], Any]:
    """The command path the arguments name, and that command; fails on an unknown option."""
    command: Any = typer.main.get_command(app)  # Typer ships its own click: duck-type it
    path: list[str] = []
    for arg in args:
        if hasattr(command, "commands") and arg in command.commands:
            command = command.commands[arg]
            path.append(arg)
        elif hasattr(command, "commands") and not arg.startswith("-"):
            pytest.fail(f"no command `feedbackloop {' '.join([*path, arg])}`", pytrace=False)
        elif arg.startswith("--"):
            name = arg.split("=", 1)[0]
            known = {"--help"} | {
                opt for param in command.params for opt in (*param.opts, *param.secondary_opts)
            }
            if name not in known:
                pytest.fail(f"`feedbackloop {' '.join(path)}` has no option {name}", pytrace=False)
    return path, command


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("block", CONSOLE, ids=_ids(CONSOLE))
def test_console_example_names_real_commands(
    block: Block, pages: dict[Path, Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feedbackloop` lines name real commands and options; the page's pytest runs pass."""
    if block.skip is not None:
        pytest.skip(f"not tested: {block.skip}")
    for args in _commands(block):
        path, _ = _resolve(args)
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output
    runs = _commands(block, "pytest")
    if not any(arg.endswith(".py") or "/" in arg for args in runs for arg in args):
        return  # the project's own suite (`uv run pytest`), not a page's example
    page = pages[block.path]
    _catch_up(block, page, monkeypatch)
    for args in runs:
        _run_pytest(args, page)


def _run_pytest(args: list[str], page: Page) -> None:
    """Run a page's tests, in its directory, with its `src/` importable."""
    env = {**os.environ, **page.env, "PYTHONPATH": os.pathsep.join(["src", "."])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"],
        cwd=page.directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- data blocks ------------------------------------------------------------------------


@pytest.mark.parametrize("block", DATA, ids=_ids(DATA))
def test_data_example_parses(block: Block) -> None:
    """JSON and TOML blocks are well-formed."""
    if block.lang == "json":
        json.loads(block.code)
    else:
        tomllib.loads(block.code)


def test_every_page_has_been_read() -> None:
    """The collector finds the README and the pages, and blocks on them."""
    files = {block.path.name for block in BLOCKS}
    assert "README.md" in files
    assert len(PYTHON) > 20


# --- generated pages --------------------------------------------------------------------


def test_generated_reference_pages_are_current() -> None:
    """The CLI, settings and severity pages match what docs/_gen/reference.py renders."""
    script = Path(__file__).parents[1] / "docs" / "_gen" / "reference.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- the plugin tutorial ----------------------------------------------------------------

TUTORIAL = ROOT / "docs" / "plugins" / "tutorial.md"
ZENDESK = ROOT / "examples" / "feedbackloop-zendesk"


def test_the_tutorial_shows_the_example_package_file_for_file() -> None:
    """Every file the tutorial shows is, byte for byte, the one in examples/."""
    shown = {block.title: block.code for block in blocks_of(TUTORIAL) if block.title}
    assert set(shown) == {
        "pyproject.toml",
        "src/feedbackloop_zendesk/__init__.py",
        "src/feedbackloop_zendesk/_source.py",
        "tests/test_zendesk.py",
    }
    for title, code in shown.items():
        assert code == (ZENDESK / title).read_text(encoding="utf-8"), title


def test_the_tutorial_package_installed_is_a_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed by its entry point, the package adds a `zendesk` source to the loop."""
    site = tmp_path / "site"
    site.mkdir()
    assert install_project(ZENDESK, site) == "feedbackloop-zendesk"
    monkeypatch.syspath_prepend(str(site))
    forget_modules("feedbackloop_zendesk")
    pm = plugins.new_plugin_manager()
    plugins.load_plugins(pm, env={"FEEDBACKLOOP_PLUGINS": "zendesk"})
    monkeypatch.setenv("FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN", "zd-secret")
    body = json.dumps(
        {"ticket": {"id": "1", "title": "Refund failed", "updated_at": "2026-11-02T09:30:00Z"}}
    ).encode()
    rules = RuleSet(Rule("support", when=F.kind == "support", then=OpenTicket("local")))
    try:
        with FeedbackLoop(
            rules, trackers={"local": LocalTracker()}, store="sqlite://", plugins=pm
        ) as loop:
            [outcome] = loop.handle_webhook("zendesk", {"X-Zendesk-Token": "zd-secret"}, body)
            assert outcome.event.source == "zendesk"
            assert [link.key for link in loop.tickets()] == ["LOCAL-1"]
    finally:
        forget_modules("feedbackloop_zendesk")
