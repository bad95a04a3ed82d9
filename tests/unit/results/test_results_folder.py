"""The results folder: one owner at a time, earlier runs refused or cleared, seconds that survive their process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.outcome import Status
from loadrec.engine.measurement.recording import SecondStats
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark
from loadrec.engine.results.seconds import Journal
from loadrec.engine.running.manifest import finish_manifest, new_manifest, write_manifest


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


def test_a_follower_reads_only_what_was_appended_and_waits_for_a_line_s_end(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path)
    follower = folder.follow_seconds(0)
    assert follower.read() is None  # no file yet
    journal = folder.open_journal(0, 1000)
    live = Timeline(1000, journal.write)
    live.add([SecondStats(1000, successes=4).to_wire()])
    live.set_users(0, 2, 2)
    first = follower.read()
    assert first is not None and [row.successes for row in first.rows()] == [4]
    path = folder.test_dir(0) / "seconds.jsonl"
    line = json.dumps(SecondStats(1001, successes=7).to_wire())
    with path.open("a") as stream:
        stream.write(line[:10])  # half a line: not read until it ends
        stream.flush()
        assert [row.successes for row in follower.read().rows()] == [4]  # type: ignore[union-attr]
        stream.write(line[10:] + "\n")
    again = follower.read()
    assert again is first and [row.successes for row in again.rows()] == [4, 7]  # the same timeline, grown
    journal.close()
    folder.open_journal(0, 2000).close()  # a new start replaces the file: read from its beginning
    restarted = follower.read()
    assert restarted is not None and restarted.start_epoch == 2000 and restarted.rows() == []


def a_run(tmp_path: Path, request: dict[str, object]) -> Path:
    """A results folder as a finished one-test run leaves it: run.json, the test's result and seconds."""
    spec = parse_job({**request, "Loadrec": {"Targets": [{"Http": {"Url": "http://127.0.0.1:9/x"}}]}}, LimitsMode.AWS)
    folder = ResultsFolder(tmp_path / "out")
    folder.claim(overwrite=False)
    manifest = new_manifest(spec, tmp_path, RunSettings(), 1_000.0)
    write_manifest(folder, finish_manifest(manifest, 1_010.0, interrupted=False))
    failed = Benchmark(0, "ml.c5.xlarge", Status.FAILED, failure_reason="x", start_epoch=1_000.0, end_epoch=1_001.0)
    folder.write_benchmark(replace(failed, run_id=manifest.run_id))
    journal = folder.open_journal(0, 1_000)
    journal.write(SecondStats(1_000, failures=1, errors={"timeout": 1}).to_wire())
    journal.close()
    folder.release()
    return folder.path


@pytest.mark.parametrize(
    ("damage", "file", "reason"),
    [
        (lambda p: (p.unlink(), p.mkdir()), "tests/0/result.json", "Is a directory"),
        (lambda p: p.write_text("[1, 2]"), "tests/0/result.json", "damaged, not a test result"),
        (lambda p: p.write_bytes(b"\xff\xfe{"), "tests/0/result.json", "can't decode byte 0xff"),
        (lambda p: p.write_bytes(b"\xff\xfe{"), "tests/0/seconds.jsonl", "can't decode byte 0xff"),
        (lambda p: p.write_text('{"start": 1000}\n{"s": "noon", "ok": 1}\n'), "tests/0/seconds.jsonl", "outside"),
        (
            lambda p: p.write_text('{"start": 1000}\n{"s": 1001, "ok": "x", "ko": 0}\n'),
            "tests/0/seconds.jsonl",
            "TypeError",
        ),
        (
            lambda p: p.write_text('{"start": 1000}\n{"s": 1000000000, "ok": 1, "ko": 0}\n'),
            "tests/0/seconds.jsonl",
            "outside",
        ),
        (
            lambda p: p.write_text(
                '{"start": 1000}\n{"s": 1001, "ok": 1, "ko": 0, "h": "HISTFAAAACB4nJNpmSzMwMDAwgAB"}\n'
            ),
            "tests/0/seconds.jsonl",
            "a damaged histogram",
        ),
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "status": "STOPPING"})),
            "tests/0/result.json",
            "STOPPING is an API job's status, never a test's",
        ),
        (lambda p: p.write_text("[]"), "run.json", "not a run description"),
        (lambda p: (p.unlink(), p.mkdir()), "run.json", "Is a directory"),
    ],
)
def test_describe_names_the_damaged_file_in_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    request_dict: dict[str, object],
    damage: Callable[[Path], object],
    file: str,
    reason: str,
) -> None:
    out = a_run(tmp_path, request_dict)
    assert main(["describe", str(out)]) == 0  # whole, it describes
    capsys.readouterr()
    damage(out / file)
    assert main(["describe", str(out)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.out + captured.err, captured.err
    assert lines[0].startswith(f"{out}: cannot describe these results: {out / file}: ") and reason in lines[0], lines


def test_a_journal_on_a_full_disk_reports_once_and_closes_quietly(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "seconds.jsonl", 1_000)
    journal._stream = Path("/dev/full").open("w", encoding="utf-8")  # noqa: SIM115 - the disk fills up mid-test
    with pytest.raises(OSError, match="No space left"):
        journal.write(SecondStats(1_000).to_wire())
    journal.write(SecondStats(1_001).to_wire())  # stopped: nothing more is tried, nothing raised
    journal.close()  # the refused line is not retried at close


def test_the_job_files_never_make_the_results_folder_itself(tmp_path: Path) -> None:
    # A folder removed mid-run (or a volume unmounted) makes the writes fail: it never reappears half empty.
    folder = ResultsFolder(tmp_path / "removed")
    for name in ("describe.json", "tests/0/timeline.csv"):
        with pytest.raises(FileNotFoundError):
            folder.write_job({name: "{}"})
    assert not folder.path.exists()
    folder.path.mkdir()
    folder.write_job({"tests/0/timeline.csv": "test\n", "describe.json": "{}\n"})
    assert (folder.path / "tests" / "0" / "timeline.csv").read_text() == "test\n"
