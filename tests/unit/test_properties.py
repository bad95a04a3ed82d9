"""The reliability suite: generated and mutated job files never crash loadrec.

Starting from valid jobs (the bundled examples and the shared test request), Hypothesis
deletes keys at any depth, swaps types, puts in non-finite and huge numbers, control
and bidirectional characters, long strings and deep nesting. Whatever it makes,
``loadrec validate`` and ``loadrec schedule`` exit 0 or 2, never print a traceback,
start every error line with a dotted field path or the file's name, and answer within
Hypothesis's deadline of 2 s per job.

Seeded and bounded for ``make test`` (profile "default"); ``make properties`` runs the
"long" profile with many more examples.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from tests.conftest import EXAMPLES, VALID_REQUEST

settings.register_profile(
    "default", max_examples=120, derandomize=True, database=None, deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile(
    "long", max_examples=4000, derandomize=False, deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TARGET = {"Http": {"Url": "http://127.0.0.1:9/invocations", "Headers": {"X-Api-Key": "env:API_KEY"}}}
BASES: list[dict[str, Any]] = [
    {**copy.deepcopy(VALID_REQUEST), "Loadrec": {"Targets": [TARGET], "RequestTimeoutSeconds": 5}},
    *(json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))),
]
# An error line: a dotted path (``InputConfig.TrafficPattern.Phases[0].SpawnRate``,
# ``Loadrec.Targets[0].Http.Headers.X-Api-Key``) or a flag, then ": ".
FIELD_LINE = re.compile(r"^(--[a-z-]+|([A-Za-z0-9_-]+|\[\".*?\"\])(\[\d+\]|\[\".*?\"\]|\.[!#$%&'*+^_`|~\w-]+)*): \S")

Path_ = tuple[str | int, ...]

STRANGE_TEXT = st.sampled_from(
    ["", " ", "\r\n", "a\u0000b", "\u202eevil", "\u200b", "x" * 100_000, "é" * 300, "env:", "env:NOPE\n", "P95\t"]
)
NUMBERS = st.sampled_from([0, -1, 1.5, 10**18, 10**300, 1e308, float("nan"), float("inf"), -float("inf"), True])


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | STRANGE_TEXT | NUMBERS
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    )


def places(document: Any, at: Path_ = ()) -> list[Path_]:
    """Every place in ``document``: the root, each member and each item, at any depth."""
    found = [at]
    if isinstance(document, dict):
        for key, value in document.items():
            found += places(value, (*at, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += places(value, (*at, index))
    return found


def parent_of(document: Any, at: Path_) -> Any:
    for step in at[:-1]:
        document = document[step]
    return document


@st.composite
def mutated_jobs(draw: st.DrawFn) -> Any:
    document: Any = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.sampled_from(places(document)))
        kind = draw(st.sampled_from(["delete", "swap", "number", "text", "nest", "grow"]))
        if not at:  # the root itself
            document = draw(json_values()) if kind == "swap" else document
            continue
        parent, key = parent_of(document, at), at[-1]
        if kind == "delete":
            del parent[key]
        elif kind == "swap":
            parent[key] = draw(json_values())
        elif kind == "number":
            parent[key] = draw(NUMBERS)
        elif kind == "text":
            parent[key] = draw(STRANGE_TEXT)
        elif kind == "nest":
            parent[key] = json.loads("[" * 40 + json.dumps(parent[key]) + "]" * 40)
        elif isinstance(parent[key], list):  # grow: many items
            parent[key] = parent[key] * draw(st.integers(2, 300))
        if not isinstance(document, dict):
            break
    return document


@given(
    job=mutated_jobs(), command=st.sampled_from(["validate", "schedule"]), limits=st.sampled_from(["aws", "relaxed"])
)
def test_a_mutated_job_is_valid_or_refused_line_by_line(
    capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory, job: Any, command: str, limits: str
) -> None:
    capsys.readouterr()
    path = tmp_path_factory.mktemp("job") / "job.json"
    path.write_text(json.dumps(job, allow_nan=True))  # NaN and Infinity as a careless tool would write them
    code = main([command, "--limits", limits, str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code in (0, EXIT_BAD_INPUT), (code, err[-2000:])
    if code == EXIT_BAD_INPUT:
        lines = err.strip().splitlines()
        assert lines, "exit 2 without a word"
        for line in lines:
            assert line.startswith(f"{path}: ") or FIELD_LINE.match(line), line[:300]
            assert len(line) < 1000, line[:300]
