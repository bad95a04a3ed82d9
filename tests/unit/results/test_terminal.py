"""The terminal's recommendation table (engine/results/outputs/terminal.py): every label readable."""

from __future__ import annotations

import dataclasses

from loadrec.engine.results.outputs.terminal import MAX_LABEL_WIDTH, render_results
from tests.report_fixture import COMPLETED, FAILED, fixture_results


def table(*labels: str) -> list[str]:
    benchmarks = (dataclasses.replace(COMPLETED, label=labels[0]), dataclasses.replace(FAILED, label=labels[1]))
    return render_results(fixture_results(benchmarks)).splitlines()


def test_a_sweep_s_labels_are_shown_whole_and_told_apart() -> None:
    labels = ("ml.c5.large (LOADREC_SAMPLE_WORKERS=2)", "ml.c5.large (LOADREC_SAMPLE_WORKERS=4)")
    lines = table(*labels)
    assert all(any(label in line for line in lines) for label in labels), lines
    heading = lines[1]
    assert heading.index("status") > heading.index("configuration") + len(labels[0])  # the column is that wide


def test_a_label_longer_than_the_column_keeps_its_start_and_its_end() -> None:
    long = "ml.c5.large (" + ", ".join(f"PARAMETER_NUMBER_{i}=value-{i}" for i in range(6)) + ")"
    lines = table(long, long.replace("value-5", "other-5"))
    shown = [line for line in lines if "…" in line and "ml.c5.large (PARAM" in line]
    assert len(shown) == 2 and len(long) > MAX_LABEL_WIDTH
    assert "value-5) COMPLETED" in shown[0] and "other-5) FAILED" in shown[1]  # the end stays, the row aligned
