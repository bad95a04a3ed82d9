"""The results folder of a run: who owns it, what each test writes while it runs, and the job's files.

Layout of ``DIR``::

    .lock                 held (flock) by the process running the job, for as long as it runs
    run.json              the run: its id, the job request, settings, times, and its end
    tests/N/result.json   test N's Benchmark: IN_PROGRESS while it runs (updated every evaluation), then final
    tests/N/seconds.jsonl every second test N measured, appended and flushed as it arrives (histograms included;
                          :mod:`loadrec.engine.results.seconds` writes and reads it)
    tests/N/window.json   the trailing window the monitor last evaluated (what the web UI shows live)
    tests/N/provisioned.json  what a provisioner created for test N (written before it is ready), and whether
                          it was deleted: the job removes what a killed test's process left behind
    tests/N/timeline.csv  test N's per-second table, once it has ended (written with the job's files)
    describe.json  steps.json  timeline.csv  report.html   the job's files, rendered from the typed results
                          (:mod:`loadrec.engine.results.outputs`); this folder only writes them

A test process killed mid-run loses nothing it measured: its seconds are on disk as
they complete, and its result file says how far it got. The lock dies with its holder
(SIGKILL included), so anyone can tell a live run from an abandoned one. A folder
holding an earlier run is refused unless the caller asks to overwrite it; then only
loadrec's own files are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.process.claim import Held, claim, held_elsewhere
from loadrec.engine.results.model import Benchmark
from loadrec.engine.results.records import RECORDS, RecordKeeper
from loadrec.engine.results.seconds import Journal, SecondsFileError, SecondsFollower, reason

LOCK = ".lock"
RUN = "run.json"
TESTS = "tests"
RESULT = "result.json"
SECONDS = "seconds.jsonl"
WINDOW = "window.json"
PROVISIONED = "provisioned.json"
TIMELINE = "timeline.csv"
DESCRIBE = "describe.json"
STEPS = "steps.json"
REPORT = "report.html"
JOB_FILES = (RUN, DESCRIBE, STEPS, TIMELINE, REPORT)
SHARED_FILES = (REPORT, DESCRIBE, STEPS, TIMELINE)  # what the web pages link to, and the only files they serve
MEDIA_TYPES = {REPORT: "text/html", DESCRIBE: "application/json", STEPS: "application/json", TIMELINE: "text/csv"}


def default_folder(job_name: str) -> Path:
    """Where a job's results go unless told otherwise."""
    return Path("results") / job_name


class ResultsFolderError(Exception):
    """The folder cannot be used; the message is one line naming it."""


class ResultsFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[str] | None = None

    # --- who owns it --------------------------------------------------------------------

    def refusal(self, error: OSError) -> str:
        """Where and why a write to this folder was refused, as the job reports it."""
        return f"{self.path}: {reason(error)}"

    def claim(self, overwrite: bool) -> None:
        """Own the folder for this process: refuse one in use, or holding an earlier run unless ``overwrite``."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = claim(self.path / LOCK)
        except Held as held:
            raise ResultsFolderError(f"{self.path}: in use by a running loadrec ({held})") from None
        except OSError as error:
            raise ResultsFolderError(f"{self.path}: cannot write results here ({reason(error)})") from None
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
                raise ResultsFolderError(f"{self.path}: cannot remove the earlier run ({reason(error)})") from None
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
            return held_elsewhere(probe, exclusive=False)

    def holds_a_run(self) -> bool:
        return any((self.path / name).exists() for name in (RUN, DESCRIBE, TESTS))

    def clear(self) -> None:
        """Remove loadrec's own files (and nothing else)."""
        for name in JOB_FILES:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / TESTS, ignore_errors=True)

    # --- the run ------------------------------------------------------------------------

    def write_run(self, run: dict[str, Any]) -> None:
        write_atomically(self.path / RUN, json.dumps(run, indent=2, allow_nan=False) + "\n")

    def read_run(self) -> dict[str, Any]:
        path = self.path / RUN
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultsFolderError(f"{self.path}: no {RUN} here (is it a results directory of loadrec?)") from None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ResultsFolderError(f"{path}: cannot be read ({reason(error)})") from None
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
        write_atomically(self._made_test_dir(benchmark.index) / RESULT, benchmark.to_json() + "\n")

    def read_benchmark(self, index: int, run_id: str) -> Benchmark | None:
        """Test ``index``'s result as last written by run ``run_id`` (None if none, or another run's).

        Raises ResultsFolderError when the file is there but damaged: it is written whole or not at all."""
        path = self.test_dir(index) / RESULT
        try:
            benchmark = Benchmark.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise ResultsFolderError(f"{path}: damaged, not a test result ({reason(error)})") from None
        return benchmark if benchmark.run_id == run_id else None

    def write_window(self, index: int, window: WindowStats) -> None:
        write_atomically(self._made_test_dir(index) / WINDOW, json.dumps(window.to_dict(), allow_nan=False) + "\n")

    def read_window(self, index: int) -> WindowStats | None:
        """The window test ``index``'s monitor last evaluated (None before the first evaluation)."""
        path = self.test_dir(index) / WINDOW
        try:
            return WindowStats.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise ResultsFolderError(f"{path}: damaged, not a window ({reason(error)})") from None

    def write_provisioned(self, index: int, record: dict[str, Any]) -> None:
        write_atomically(self._made_test_dir(index) / PROVISIONED, json.dumps(record, allow_nan=False) + "\n")

    def read_provisioned(self, index: int) -> dict[str, Any] | None:
        """What a provisioner recorded for test ``index`` (None if nothing, or unreadable)."""
        try:
            record = json.loads((self.test_dir(index) / PROVISIONED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def read_timeline(self, index: int) -> Timeline | None:
        """Test ``index``'s timeline rebuilt from its seconds file (a torn last line is skipped)."""
        try:
            return self.follow_seconds(index).read()
        except SecondsFileError as error:
            raise ResultsFolderError(str(error)) from None

    def follow_seconds(self, index: int) -> SecondsFollower:
        """Test ``index``'s seconds file, to be read again as it grows (the web UI does, every second)."""
        return SecondsFollower(self.test_dir(index) / SECONDS)

    # --- the job ------------------------------------------------------------------------

    def write_job(self, files: Mapping[str, str]) -> None:
        """The job's files, each written atomically: ``files`` maps a name in the folder (``tests/N/...`` for a
        test's own) to its text, as :func:`~loadrec.engine.results.outputs.job_files.job_files` renders them."""
        for name, text in files.items():
            parts = Path(name).parts
            # A test's own file goes in its folder, made if need be; the results folder itself is never made
            # here: one removed mid-run makes the writes fail, not reappear half empty.
            folder = self._made_test_dir(int(parts[1])) if parts[0] == TESTS else self.path
            write_atomically(folder / parts[-1], text)

    def records_keeper(self, index: int, limit: int) -> RecordKeeper:
        """Test ``index``'s per-request records, kept to ``limit`` and written in its folder (--records)."""
        return RecordKeeper(self._made_test_dir(index), f"{TESTS}/{index}/{RECORDS}", limit, write_atomically)


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write via a unique temporary file and replace in one step: readers never see half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def shared_file(folder: Path, name: str) -> Path | None:
    """The job file ``name`` of ``folder`` a page may serve: one of SHARED_FILES, a regular file inside that
    very folder (never a link leading elsewhere); None otherwise."""
    if name not in SHARED_FILES:  # first: a name from a URL may hold anything, a NUL byte included
        return None
    folder = folder.resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path
