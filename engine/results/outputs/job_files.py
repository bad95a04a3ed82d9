"""Every file of a job people read, rendered from one typed JobResults: the folder only writes them.

``job_files`` is pure: the name of each file in the results folder (``tests/N/timeline.csv``
for each ended test's own table) and its text. The results folder writes each one
atomically (:meth:`~loadrec.engine.results.files.ResultsFolder.write_job`).
"""

from __future__ import annotations

from loadrec.engine.results.files import DESCRIBE, REPORT, STEPS, TESTS, TIMELINE
from loadrec.engine.results.model import JobResults
from loadrec.engine.results.outputs.describe import describe_json, steps_json
from loadrec.engine.results.outputs.report import render_report
from loadrec.engine.results.outputs.timeline import ended_test_csv, timeline_csv


def job_files(results: JobResults) -> dict[str, str]:
    """Each job file's path in the results folder, and its text (a test's own table once it has ended)."""
    files = {}
    for benchmark in results.benchmarks:
        if (table := ended_test_csv(results, benchmark)) is not None:
            files[f"{TESTS}/{benchmark.index}/{TIMELINE}"] = table
    files[TIMELINE] = timeline_csv(results)
    files[STEPS] = steps_json(results)
    files[DESCRIBE] = describe_json(results)
    files[REPORT] = render_report(results)
    return files
