"""The layering contract: which room of the engine may import which, read from every import statement.

The rooms stand in layers, highest first. A module may import its own room and any
room of a lower layer, never one of its own layer or above: the front ends (one layer,
each its own) share nothing but what lies below them, and a shared concern (access,
process, trust) never reaches up into a front end. ``shapes`` and ``payloads`` import
nothing of the engine. Imports inside functions and under TYPE_CHECKING count: a lazy
import is still a dependency.

A new room goes into LAYERS, where its imports allow; the test names any room it does not
know, so nothing is left out of the contract by accident.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "loadrec.engine"

# Highest first; the rooms of one layer may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("commands", "api", "webui", "locust_plugin", "sample"),  # the front ends: leaves of the CLI or their own
    ("telemetry",),
    ("running",),  # a whole job: its tests' processes, the manifest, the runner protocol
    ("gates",),  # what CI reads of a run: thresholds' outputs, compare and its tables, repeats
    ("provision",),
    ("load",),  # one test on Locust
    ("results",),
    ("measurement",),
    ("access", "trust"),
    ("job",),
    ("streaming",),
    ("process", "exit_codes"),  # the lowest: nothing else of the engine
)
LAYER_OF = {room: depth for depth, rooms in enumerate(LAYERS) for room in rooms}


def _module_of(path: Path) -> list[str]:
    """A source file's dotted module name, as the installed package names it."""
    relative = path.relative_to(ROOT).with_suffix("").parts
    top = {"engine": ENGINE, "shapes": "loadrec.shapes", "payloads": "loadrec.payloads"}[relative[0]]
    inner = relative[1:-1] if relative[-1] == "__init__" else relative[1:]
    return [*top.split("."), *inner]


def _imported(path: Path) -> frozenset[str]:
    """Every loadrec module ``path`` imports, absolute or relative, at any depth of the file."""
    return _imports_in(path, path.read_text(encoding="utf-8"))


@cache  # each file is parsed once a run: the checks that add a line to one file parse that one again
def _imports_in(path: Path, text: str) -> frozenset[str]:
    module = _module_of(path)
    package = module if path.name == "__init__.py" else module[:-1]  # what a relative import starts from
    found = set()
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return frozenset(name for name in found if name.startswith("loadrec."))


def _room(module: str) -> str | None:
    """The engine room a module belongs to (``loadrec.engine.job.spec`` -> ``job``), None outside the engine."""
    parts = module.split(".")
    if parts[:2] != ["loadrec", "engine"] or len(parts) < 3:
        return None
    return parts[2]


@cache
def _sources() -> tuple[Path, ...]:
    return tuple(sorted(p for top in ("engine", "shapes", "payloads") for p in (ROOT / top).rglob("*.py")))


def _violations() -> list[str]:
    problems = []
    for path in _sources():
        source = _room(".".join(_module_of(path)))
        where = path.relative_to(ROOT)
        for name in sorted(_imported(path)):
            target = _room(name)
            if source is None:  # shapes/, payloads/, or the engine package itself
                if name.startswith(f"{ENGINE}."):
                    problems.append(f"{where} imports {name}: only the engine's rooms import the engine")
                continue
            if target is None or target == source:
                continue
            if target not in LAYER_OF:
                problems.append(f"{where} imports {name}: room {target!r} is in no layer of the contract")
            elif LAYER_OF[target] <= LAYER_OF[source]:
                kind = "its own layer" if LAYER_OF[target] == LAYER_OF[source] else "a higher layer"
                problems.append(f"{where} imports {name}: {target} is {kind} than {source}'s")
    return problems


def test_every_room_of_the_engine_is_in_the_contract() -> None:
    rooms = {_room(".".join(_module_of(p))) for p in _sources()} - {None}
    unknown, gone = sorted(rooms - set(LAYER_OF)), sorted(set(LAYER_OF) - rooms)
    assert not unknown and not gone, f"rooms in no layer: {unknown}; layers of rooms that are gone: {gone}"


def test_no_module_imports_its_own_layer_or_above() -> None:
    problems = _violations()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "line", "broken"),
    [
        ("engine/process/ports.py", "from loadrec.engine.job import problems", "job is a higher layer"),
        ("engine/access/login.py", "from loadrec.engine.webui import app", "webui is a higher layer"),
        ("engine/api/app.py", "from ..webui.console import Snapshot", "webui is its own layer"),
        ("engine/job/spec.py", "    from loadrec.engine.load import users", "load is a higher layer"),
        ("shapes/schedule.py", "import loadrec.engine.job.spec", "only the engine's rooms import the engine"),
        ("engine/__init__.py", "from loadrec.engine import cli", "only the engine's rooms import the engine"),
    ],
)
def test_the_contract_catches_an_upward_import(
    source: str, line: str, broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The contract must be able to fail: each of these lines, added to a real module, breaks it.
    path = ROOT / source
    original = path.read_text(encoding="utf-8")
    added = original + ("\n\ndef _added() -> None:\n" + line + "\n" if line.startswith("    ") else "\n" + line + "\n")
    real_read = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        return added if self == path else real_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    problems = [p for p in _violations() if p.startswith(source)]
    assert any(broken in p for p in problems), problems


HOUSE = {"test_house.py", "test_layers.py", "test_docs.py", "test_docker_files.py"}  # the repository's own rules


def test_the_unit_tests_mirror_the_rooms() -> None:
    unit = ROOT / "tests" / "unit"
    folders = {p.name for p in unit.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    strays = sorted(folders - set(LAYER_OF) - {"shapes", "payloads"})
    assert not strays, f"tests/unit folders named for no room: {strays}"
    loose = sorted(p.name for p in unit.glob("test_*.py") if p.name not in HOUSE)
    assert not loose, f"unit tests outside their room's folder: {loose}"
    assert all((unit / name / "__init__.py").is_file() for name in folders)  # same-named files stay apart
