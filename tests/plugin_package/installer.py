"""Install a plugin distribution into a temporary site directory, the way pip lays it out.

`install_project` reads a project's own `pyproject.toml` (name, version, entry points),
copies its package into `site` and writes the `.dist-info` that `importlib.metadata`
reads; `install_module` does the same for a one-module plugin written by a test. Put
`site` on `sys.path` (`monkeypatch.syspath_prepend`) and the plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ECHO_PROJECT", "forget_modules", "install_module", "install_project"]

ECHO_PROJECT = Path(__file__).parent
"""The feedbackloop-echo project next to this file."""


def _dist_info(
    site: Path, name: str, version: str, entry_points: Mapping[str, Mapping[str, str]]
) -> Path:
    normalized = re.sub(r"[-_.]+", "_", name).lower()
    dist_info = site / f"{normalized}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in points.items())
        lines.append("")
    (dist_info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    (dist_info / "INSTALLER").write_text("feedbackloop-tests\n", encoding="utf-8")
    return dist_info


def install_project(project: Path, site: Path) -> str:
    """Install the project at `project` into `site`; return the distribution's name."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for package in (project / "src").iterdir():
        if package.is_dir() and (package / "__init__.py").exists():
            shutil.copytree(
                package, site / package.name, ignore=shutil.ignore_patterns("__pycache__")
            )
    _dist_info(site, meta["name"], meta["version"], meta.get("entry-points", {}))
    name: str = meta["name"]
    return name


def install_module(
    site: Path,
    *,
    dist: str,
    module: str,
    source: str,
    entry_point: str | None = None,
    version: str = "1.0.0",
) -> None:
    """Install a one-module plugin `module` with `source`, under entry point `entry_point`."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    _dist_info(site, dist, version, {"feedbackloop": {entry_point or module: module}})


def forget_modules(*names: str) -> None:
    """Drop imported modules (and their submodules) so the next test imports afresh."""
    for loaded in list(sys.modules):
        if any(loaded == name or loaded.startswith(f"{name}.") for name in names):
            del sys.modules[loaded]
