"""Hypothesis strategies that damage a valid JSON document the way careless and hostile input does.

``mutated(bases)`` starts from one of ``bases`` and, one to four times, picks a place at
any depth (the root, a member, an item) and deletes it, swaps it for another JSON value,
a strange number (NaN, infinities, 10**300, a boolean) or strange text (NUL, a
right-to-left override, 100,000 characters), buries it under 40 levels of lists, or
repeats a list up to 300 times. Used for job files (tests/unit/cli/test_properties.py) and for
API requests (tests/unit/api/test_api_properties.py), which also share what a refusal's line looks
like (the Hypothesis profiles are tests/conftest.py's).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

Path_ = tuple[str | int, ...]

# A refusal's line: a dotted path (``InputConfig.TrafficPattern.Phases[0].SpawnRate``,
# ``Loadrec.Targets[0].Http.Headers.X-Api-Key``) or a flag, then ": ".
FIELD_LINE = re.compile(r"^(--[a-z-]+|([A-Za-z0-9_-]+|\[\".*?\"\])(\[\d+\]|\[\".*?\"\]|\.[!#$%&'*+^_`|~\w-]+)*): \S")

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


def _parent_of(document: Any, at: Path_) -> Any:
    for step in at[:-1]:
        document = document[step]
    return document


@st.composite
def mutated(draw: st.DrawFn, bases: Sequence[Any]) -> Any:
    """One of ``bases``, damaged in one to four places."""
    document: Any = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.sampled_from(places(document)))
        kind = draw(st.sampled_from(["delete", "swap", "number", "text", "nest", "grow"]))
        if not at:  # the root itself
            document = draw(json_values()) if kind == "swap" else document
            continue
        parent, key = _parent_of(document, at), at[-1]
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
