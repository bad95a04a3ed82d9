"""The house: one namespace, one room per concern, entry points that patch, nothing shadowing loadrec."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

FOLDERS = {"engine": "loadrec.engine", "shapes": "loadrec.shapes", "payloads": "loadrec.payloads"}
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[parts[0]], *parts[1:]])


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_every_package_folder_is_installed_under_loadrec() -> None:
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        module_name(directory / "__init__.py")
        for folder in FOLDERS
        for directory in [ROOT / folder, *(ROOT / folder).rglob("*")]
        if directory.is_dir() and directory.name != "__pycache__" and any(directory.iterdir())
    }
    assert folders == declared


def test_nothing_imports_a_top_level_engine_shapes_or_payloads() -> None:
    for path in [*modules(), *sorted((ROOT / "tests").rglob("*.py"))]:
        bad = {name for name in imported(path) if name.split(".")[0] in FOLDERS}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_shapes_import_nothing_from_the_engine_and_nothing_imports_the_cli() -> None:
    for path in modules():
        names = imported(path)
        if path.is_relative_to(ROOT / "shapes"):
            assert not any(n.startswith("loadrec.engine") for n in names), path
        assert "loadrec.engine.cli" not in names or path.name == "__main__.py", path


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_says_what_it_owns_and_reads_in_one_sitting(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path} has no docstring"
    assert len(path.read_text().splitlines()) <= MAX_LINES
    if path.name == "__init__.py":
        assigned = {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if hasattr(t, "id")
        }
        assert "__all__" in assigned, f"{path} has no __all__"


def test_importing_loadrec_patches_nothing() -> None:
    pure = [module_name(p) for p in modules() if p.name == "__init__.py"]
    pure += ["loadrec.shapes.schedule", "loadrec.engine.job.spec", "loadrec.engine.running.plan"]
    code = f"import importlib, sys\nfor name in {pure!r}: importlib.import_module(name)\n"
    code += "import gevent.monkey\nprint(gevent.monkey.is_anything_patched(), 'locust' in sys.modules)"
    done = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_from_a_neutral_folder_the_generic_names_are_not_importable(tmp_path: Path) -> None:
    for name in FOLDERS:
        done = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path, capture_output=True, timeout=60)
        assert done.returncode == 1 and b"ModuleNotFoundError" in done.stderr, name
