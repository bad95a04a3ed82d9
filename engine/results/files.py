"""The results folder of a run: who owns it, what each test writes while it runs, and the job's files.

Layout of ``DIR``::

    .lock                 held (flock) by the process running the job, for as long as it runs
    run.json              the run: its id, the job request, settings, times, and its end
    tests/N/result.json   test N's Benchmark: IN_PROGRESS while it runs (updated every evaluation), then final
    tests/N/seconds.jsonl every second test N measured, appended and flushed as it arrives (histograms included)
    tests/N/window.json   the trailing window the monitor last evaluated (what the web UI shows live)
    tests/N/timeline.csv  test N's per-second table, once it has ended (written with the job's files)
    describe.json  steps.json  timeline.csv  report.html   the job's files, rendered from the typed results

A test process killed mid-run loses nothing it measured: its seconds are on disk as
they complete, and its result file says how far it got. The lock dies with its holder
(SIGKILL included), so anyone can tell a live run from an abandoned one. A folder
holding an earlier run is refused unless the caller asks to overwrite it; then only
loadrec's own files are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loadrec.engine.measurement.metrics import REPORTED_PERCENTILES, Timeline, TimelineRow, WindowStats
from loadrec.engine.results import aws
from loadrec.engine.results.model import Benchmark, JobResults

if TYPE_CHECKING:
    import pandas as pd

LOCK = ".lock"
RUN = "run.json"
TESTS = "tests"
RESULT = "result.json"
SECONDS = "seconds.jsonl"
WINDOW = "window.json"
TIMELINE = "timeline.csv"
DESCRIBE = "describe.json"
STEPS = "steps.json"
REPORT = "report.html"
JOB_FILES = (RUN, DESCRIBE, STEPS, TIMELINE, REPORT)
START_KEY = "start"  # the first line of a seconds file: {"start": epoch of second 0}


def default_folder(job_name: str) -> Path:
    """Where a job's results go unless told otherwise."""
    return Path("results") / job_name


class ResultsFolderError(Exception):
    """The folder cannot be used; the message is one line naming it."""


class Journal:
    """Appends a test's seconds as JSON lines, each flushed as written (a killed process loses none)."""

    def __init__(self, path: Path, start_epoch: int) -> None:
        self._stream: IO[str] | None = path.open("w", encoding="utf-8")
        self.write({START_KEY: start_epoch})

    def write(self, record: dict[str, Any]) -> None:
        """Raises OSError once (a full disk, a removed folder); the journal then stops writing."""
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
            self._stream.flush()
        except OSError:
            self.close()  # what could not be flushed is dropped, never retried at close
            raise

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # a buffered line a full disk refused: already reported
                stream.close()


class ResultsFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[str] | None = None

    # --- who owns it --------------------------------------------------------------------

    def refusal(self, error: OSError) -> str:
        """Where and why a write to this folder was refused, as the job reports it."""
        return f"{self.path}: {_reason(error)}"

    def claim(self, overwrite: bool) -> None:
        """Own the folder for this process: refuse one in use, or holding an earlier run unless ``overwrite``."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = (self.path / LOCK).open("a+", encoding="utf-8")
        except OSError as error:
            raise ResultsFolderError(f"{self.path}: cannot write results here ({_reason(error)})") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise ResultsFolderError(f"{self.path}: in use by a running loadrec ({holder})") from None
        if self.holds_a_run():
            if not overwrite:
                lock.close()
                raise ResultsFolderError(
                    f"{self.path}: holds the results of an earlier run; pass --overwrite to replace them, "
                    "or choose another --out"
                )
            try:
                self.clear()
            except OSError as error:
                lock.close()
                raise ResultsFolderError(f"{self.path}: cannot remove the earlier run ({_reason(error)})") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None

    def in_use(self) -> bool:
        """A live process other than this one holds the folder (a read-only copy never is)."""
        if self._lock is not None:
            return False
        try:
            probe = (self.path / LOCK).open("r", encoding="utf-8")  # flock needs no write access
        except OSError:
            return False
        with probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(probe, fcntl.LOCK_UN)
            return False

    def holds_a_run(self) -> bool:
        return any((self.path / name).exists() for name in (RUN, DESCRIBE, TESTS))

    def clear(self) -> None:
        """Remove loadrec's own files (and nothing else)."""
        for name in JOB_FILES:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / TESTS, ignore_errors=True)

    # --- the run ------------------------------------------------------------------------

    def write_run(self, run: dict[str, Any]) -> None:
        self._write(self.path / RUN, json.dumps(run, indent=2, allow_nan=False) + "\n")

    def read_run(self) -> dict[str, Any]:
        path = self.path / RUN
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultsFolderError(f"{self.path}: no {RUN} here (is it a results directory of loadrec?)") from None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ResultsFolderError(f"{path}: cannot be read ({_reason(error)})") from None
        if not isinstance(data, dict):
            raise ResultsFolderError(f"{path}: not a run description")
        return data

    # --- each test ----------------------------------------------------------------------

    def test_dir(self, index: int) -> Path:
        return self.path / TESTS / str(index)

    def _made_test_dir(self, index: int) -> Path:
        """Test ``index``'s folder, made inside the results folder if need be; never the results
        folder itself: one removed mid-run (or unmounted) makes writes fail, not reappear half empty."""
        folder = self.test_dir(index)
        folder.parent.mkdir(exist_ok=True)
        folder.mkdir(exist_ok=True)
        return folder

    def open_journal(self, index: int, start_epoch: int) -> Journal:
        """A fresh seconds file for test ``index`` (a new start replaces the previous one, and its window)."""
        folder = self._made_test_dir(index)
        (folder / WINDOW).unlink(missing_ok=True)
        return Journal(folder / SECONDS, start_epoch)

    def write_benchmark(self, benchmark: Benchmark) -> None:
        self._write(self._made_test_dir(benchmark.index) / RESULT, benchmark.to_json() + "\n")

    def read_benchmark(self, index: int, run_id: str) -> Benchmark | None:
        """Test ``index``'s result as last written by run ``run_id`` (None if none, or another run's).

        Raises ResultsFolderError when the file is there but damaged: it is written whole or not at all."""
        path = self.test_dir(index) / RESULT
        try:
            benchmark = Benchmark.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise ResultsFolderError(f"{path}: damaged, not a test result ({_reason(error)})") from None
        return benchmark if benchmark.run_id == run_id else None

    def write_window(self, index: int, window: WindowStats) -> None:
        self._write(self._made_test_dir(index) / WINDOW, json.dumps(window.to_dict(), allow_nan=False) + "\n")

    def read_window(self, index: int) -> WindowStats | None:
        """The window test ``index``'s monitor last evaluated (None before the first evaluation)."""
        path = self.test_dir(index) / WINDOW
        try:
            return WindowStats.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise ResultsFolderError(f"{path}: damaged, not a window ({_reason(error)})") from None

    def read_timeline(self, index: int) -> Timeline | None:
        """Test ``index``'s timeline rebuilt from its seconds file (a torn last line is skipped)."""
        return self.follow_seconds(index).read()

    def follow_seconds(self, index: int) -> SecondsFollower:
        """Test ``index``'s seconds file, to be read again as it grows (the web UI does, every second)."""
        return SecondsFollower(self.test_dir(index) / SECONDS)

    # --- the job ------------------------------------------------------------------------

    def write_job(self, results: JobResults, report_html: str) -> None:
        """describe.json, steps.json, timeline.csv (the job's, and each ended test's) and report.html from
        ``results``."""
        import pandas as pd  # loaded here: a test's process never needs it

        body = aws.describe(results)
        frames = []
        for benchmark in results.benchmarks:
            rows = list(results.timelines.get(benchmark.index, ()))
            if rows:
                frame = timeline_frame(benchmark.index, benchmark.label, rows, benchmark.start_epoch or 0.0)
                frames.append(frame)
                if benchmark.status.finished:
                    self._write(self._made_test_dir(benchmark.index) / TIMELINE, frame.to_csv(index=False))
        timeline = pd.concat(frames, ignore_index=True) if frames else timeline_frame(0, "", [])
        self._write(self.path / TIMELINE, timeline.to_csv(index=False))
        self._write(self.path / STEPS, json.dumps(aws.steps(results), indent=2, allow_nan=False) + "\n")
        self._write(self.path / DESCRIBE, json.dumps(body, indent=2, allow_nan=False) + "\n")
        self._write(self.path / REPORT, report_html)

    @staticmethod
    def _write(path: Path, text: str) -> None:
        """Write via a unique temporary file and replace in one step: readers never see half a file."""
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def timeline_frame(index: int, label: str, rows: list[TimelineRow], start_epoch: float = 0.0) -> pd.DataFrame:
    """One test's per-second rows; ``epoch`` places them on the job's clock, across tests."""
    import pandas as pd  # loaded here: a test's process never needs it

    records = []
    for row in rows:
        record: dict[str, Any] = {
            "test": index,
            "configuration": label,
            "epoch": int(start_epoch) + row.second,
            "second": row.second,
            "users": row.users,
            "running_users": row.running_users,
            "workers": row.workers,
            "invocations": row.successes,
            "failures": row.failures,
        }
        for quantile in REPORTED_PERCENTILES:
            record[f"p{quantile:g}_ms"] = row.latency_ms.get(quantile)
        record["errors"] = ";".join(f"{k}={v}" for k, v in sorted(row.errors.items()))
        records.append(record)
    columns = ["test", "configuration", "epoch", "second", "users", "running_users", "workers"]
    columns += ["invocations", "failures"]
    columns += [f"p{q:g}_ms" for q in REPORTED_PERCENTILES] + ["errors"]
    return pd.DataFrame.from_records(records, columns=columns)


class SecondsFollower:
    """A test's seconds file as it grows: each ``read`` parses only what was appended since the last one.

    Rebuilding an hour-long test's timeline from scratch every second would cost seconds
    a time; this keeps the timeline and adds the new lines. A line not yet ended waits
    for its end; a line that is not JSON (cut short by a killed process) is skipped; a
    file replaced (a new start) is read again from its beginning.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.timeline: Timeline | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self._offset = 0
        self._partial = b""

    def read(self) -> Timeline | None:
        """The timeline as the file stands (None without a file or a start line); raises ResultsFolderError."""
        try:
            with self.path.open("rb") as stream:
                status = os.fstat(stream.fileno())
                identity = (status.st_dev, status.st_ino)
                if identity != self._identity or status.st_size < self._offset:
                    self.timeline, self._identity, self._offset, self._partial = None, identity, 0, b""
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ResultsFolderError(f"{self.path}: damaged, not a seconds file ({_reason(error)})") from None
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        try:
            for line in lines:
                self._apply(line)
            self._partial.decode("utf-8")  # an unended line may be torn, but never holds bytes loadrec cannot write
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ResultsFolderError(
                f"{self.path}: damaged, not a seconds file ({type(error).__name__}: {error})"
            ) from None
        return self.timeline

    def _apply(self, line: bytes) -> None:
        text = line.decode("utf-8")  # loadrec writes ASCII: bytes that are not UTF-8 are damage, not a torn line
        try:
            record = json.loads(text)
        except ValueError:  # a line cut short by a killed process (or not text at all)
            return
        if not isinstance(record, dict):
            return
        if self.timeline is None:
            if START_KEY in record:  # the first line; without it the file says nothing yet
                self.timeline = Timeline(int(record[START_KEY]))
            return
        _check_record(record, self.timeline.start_epoch)
        self.timeline.apply(record)


# A test's seconds lie within its pattern (at most 7 days) and a little after: a record beyond is damage.
MAX_RECORD_OFFSET_S = 8 * 24 * 3600


def _check_record(record: dict[str, Any], start: int) -> None:
    """Raises ValueError/TypeError unless ``record`` is a second's stats or a users sample, typed as written."""
    fields: tuple[str, ...]
    if "u" in record:
        fields = ("u", "t", "r", "w")
    elif "s" in record:
        fields = ("ok", "ko")
        if not isinstance(record["s"], int) or not 0 <= record["s"] - start <= MAX_RECORD_OFFSET_S:
            raise ValueError(f"second {str(record['s'])[:20]} is outside the test")
        if not isinstance(record.get("err", {}), dict) or not isinstance(record.get("h") or "", str):
            raise TypeError("errors or histogram of the wrong type")
    else:
        return
    if not all(isinstance(record[key], int) and not isinstance(record[key], bool) for key in fields):
        raise TypeError(f"a count that is not an integer in {sorted(record)[:6]}")
    if "u" in record and not 0 <= record["u"] <= MAX_RECORD_OFFSET_S:
        raise ValueError(f"second {record['u']} is outside the test")


def _reason(error: BaseException) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
