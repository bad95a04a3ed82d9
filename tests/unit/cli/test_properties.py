"""The reliability suite: generated and mutated job files never crash loadrec.

Starting from valid jobs (the bundled examples and the shared test request), Hypothesis
deletes keys at any depth, swaps types, puts in non-finite and huge numbers, control
and bidirectional characters, long strings and deep nesting. Whatever it makes,
``loadrec validate`` and ``loadrec schedule`` exit 0 or 2, never print a traceback,
start every error line with a dotted field path or the file's name, and answer within
Hypothesis's deadline of 2 s per job.

Seeded and bounded for ``make test``; ``make properties`` runs many more examples (the
profiles are in tests/mutations.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from tests.conftest import EXAMPLES, VALID_REQUEST
from tests.mutations import FIELD_LINE, mutated

TARGET = {"Http": {"Url": "http://127.0.0.1:9/invocations", "Headers": {"X-Api-Key": "env:API_KEY"}}}
BASES: list[dict[str, Any]] = [
    {**copy.deepcopy(VALID_REQUEST), "Loadrec": {"Targets": [TARGET], "RequestTimeoutSeconds": 5}},
    *(json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))),
]


@given(
    job=mutated(BASES), command=st.sampled_from(["validate", "schedule"]), limits=st.sampled_from(["aws", "relaxed"])
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
