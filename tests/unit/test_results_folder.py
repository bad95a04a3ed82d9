"""The results folder: one owner at a time, earlier runs refused or cleared, seconds that survive their process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadrec.engine.measurement.metrics import SecondStats, Timeline
from loadrec.engine.measurement.outcome import Status
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark


def test_a_folder_in_use_is_refused_and_free_again_once_released(tmp_path: Path) -> None:
    owner = ResultsFolder(tmp_path / "out")
    owner.claim(overwrite=False)
    other = ResultsFolder(tmp_path / "out")
    assert other.in_use()
    with pytest.raises(ResultsFolderError, match="in use by a running loadrec"):
        other.claim(overwrite=True)
    owner.release()
    assert not other.in_use()


def test_an_earlier_run_is_refused_unless_overwritten_and_only_loadrecs_files_go(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path)
    folder.claim(overwrite=False)
    folder.write_run({"RunId": "old"})
    folder.write_benchmark(Benchmark(0, "c0", Status.COMPLETED, run_id="old"))
    (tmp_path / "describe.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    folder.release()
    again = ResultsFolder(tmp_path)
    with pytest.raises(ResultsFolderError, match="holds the results of an earlier run; pass --overwrite"):
        again.claim(overwrite=False)
    assert (tmp_path / "describe.json").exists()
    again.claim(overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "notes.txt"]


def test_a_benchmark_of_another_run_is_never_read_as_this_runs(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path)
    folder.write_benchmark(Benchmark(0, "c0", Status.COMPLETED, run_id="earlier"))
    assert folder.read_benchmark(0, "earlier") is not None
    assert folder.read_benchmark(0, "now") is None


def test_the_journal_rebuilds_the_timeline_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path)
    journal = folder.open_journal(0, 1000)
    timeline = Timeline(1000, journal.write)
    for second in range(3):
        stats = SecondStats(1000 + second, successes=10 + second)
        for latency in range(1, 11 + second):
            stats.histogram.record_value(latency * 1000)
        timeline.add([stats.to_wire()])
        timeline.add([SecondStats(1000 + second, failures=1, errors={"timeout": 1}).to_wire()])  # another process
        timeline.set_users(second, 2, 2)
    path = folder.test_dir(0) / "seconds.jsonl"
    with path.open("a") as stream:
        stream.write('{"s": 1003, "ok"')  # the process was killed mid-line
    journal.close()
    rebuilt = folder.read_timeline(0)
    assert rebuilt is not None
    assert rebuilt.rows() == timeline.rows()
    assert [row.successes for row in rebuilt.rows()] == [10, 11, 12]
    assert [row.failures for row in rebuilt.rows()] == [1, 1, 1]
    assert json.loads(path.read_text().splitlines()[0]) == {"start": 1000}
