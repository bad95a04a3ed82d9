"""Damaged seconds, wherever they come from: a seconds file read back and a worker's report.

One flipped character in a histogram used to surface as hdrh's or zlib's traceback when the
second was first read (``loadrec describe``: exit 1); it is damage, said in one line, and a
worker's damaged second is left out rather than merged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.load.distributed import checked
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.engine.results.seconds import SecondsFileError, SecondsFollower
from loadrec.engine.streaming.tokens import StreamTiming

START = 1_800_000_000


def _second(streamed: bool = False) -> dict[str, Any]:
    recorder = SecondRecorder(lambda: START + 0.5)
    for latency_us in (1200.0, 1500.0, 9000.0, 42000.0):
        recorder.record_success(latency_us)
    if streamed:
        recorder.record_success(91000.0, StreamTiming(0.03, 0.061, 3, 0.091, 3))
    [second] = recorder.take_all()
    return second.to_wire()


def _flipped(text: str, position: int) -> str:
    return text[:position] + ("B" if text[position] == "A" else "A") + text[position + 1 :]


def _damaged_histograms() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for key in ("h", "tt", "it"):
        wire = _second(streamed=key != "h")
        text = wire[key]
        for position in (12, len(text) // 2, len(text) - 3):  # the header, the payload, the checksum's end
            found.append((f"{key}@{position}", {**wire, key: _flipped(text, position)}))
    return found


DAMAGED = _damaged_histograms()


@pytest.mark.parametrize(("where", "record"), DAMAGED, ids=[where for where, _ in DAMAGED])
def test_a_flipped_character_in_a_histogram_is_damage_in_one_line(
    tmp_path: Path, where: str, record: dict[str, Any]
) -> None:
    path = tmp_path / "seconds.jsonl"
    path.write_text(json.dumps({"start": START}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(SecondsFileError) as damaged:
        SecondsFollower(path).read()
    message = str(damaged.value)
    assert message.startswith(f"{path}: damaged, not a seconds file") and "\n" not in message


def test_an_intact_second_reads_back_with_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "seconds.jsonl"
    path.write_text(json.dumps({"start": START}) + "\n" + json.dumps(_second(streamed=True)) + "\n")
    timeline = SecondsFollower(path).read()
    assert timeline is not None and timeline.successes() == 5


def test_a_workers_damaged_seconds_are_left_out_and_counted() -> None:
    good = _second()
    report = [good, DAMAGED[0][1], {**good, "err": {"HTTP 500": "many"}}, "text", {"s": START - 5, "ok": 1}]
    kept, damaged = checked(report, START)
    assert kept == [good] and damaged == 3  # the second from before the test is skipped, not damage
    assert checked({"not": "a list"}, START) == ([], 1)
