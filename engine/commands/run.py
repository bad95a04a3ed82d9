"""``loadrec run``'s job once it is ready: the results folder claimed, the job run (``--repeat N`` times),
the table, the gate outputs and the exit code.

Exit codes (:mod:`loadrec.engine.exit_codes`): 130 when a stop interrupted it, 1 when the job failed or
its results could not be written, 99 when it ended but a threshold failed, else 0. With ``--repeat N``
each repeat writes to ``OUT/repeat-I`` (every folder checked before the first starts), a stop ends the
repeats, ``OUT/repeats.json`` holds the spread, and the worst repeat's code is the command's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadrec.engine.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLDS_FAILED
from loadrec.engine.gates.flags import write_file, write_outputs
from loadrec.engine.gates.repeats import MAX_REPEATS, folder_name, summary_lines, to_dict
from loadrec.engine.job.problems import BadInput, say_on_stdout
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings, at_least
from loadrec.engine.provision.leftovers import overwrite_refusals
from loadrec.engine.results.files import REPORT, ResultsFolder, ResultsFolderError, default_folder
from loadrec.engine.results.model import JobResults
from loadrec.engine.results.outputs.terminal import render_results, summarize
from loadrec.engine.results.thresholds import failed, judge
from loadrec.engine.running.runner import start_job
from loadrec.engine.telemetry.prometheus import RunCollector
from loadrec.engine.telemetry.serve import metrics_served

REPEATS_FILE = "repeats.json"
# The order in which a repeat's code wins over another's: an interruption, then a failure, then a gate.
PRECEDENCE = (EXIT_INTERRUPTED, EXIT_FAILED, EXIT_THRESHOLDS_FAILED, EXIT_OK)


def add_repeat_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=at_least(1, MAX_REPEATS), default=1, metavar="N",
                        help="run the job N times (into OUT/repeat-1 ...) and report each figure's spread")  # fmt: skip


def run(
    args: argparse.Namespace, spec: JobSpec, job_dir: Path, tests: list[PreparedTest], settings: RunSettings
) -> int:
    out = Path(args.out) if args.out else default_folder(spec.name)
    folders = [ResultsFolder(out)] if args.repeat == 1 else [ResultsFolder(out / folder_name(i + 1))
                                                           for i in range(args.repeat)]  # fmt: skip
    if len(folders) > 1:
        _check_repeat_folders(args, folders, spec)
    current = [folders[0]]
    runs: list[JobResults] = []
    codes = []
    with metrics_served(args, RunCollector(spec, lambda: current[0])):
        for number, folder in enumerate(folders, 1):
            current[0] = folder
            if len(folders) > 1:
                print(f"repeat {number} of {len(folders)}: {folder.path}/", flush=True)
            try:
                code, results = _run_once(args, spec, job_dir, tests, settings, folder)
            except BadInput as error:
                if number == 1:
                    raise  # nothing was sent yet: bad input
                print("\n".join(error.lines), file=sys.stderr)  # taken since the check: the repeats end here
                code, results = EXIT_FAILED, None
            codes.append(code)
            if results is not None:
                runs.append(results)
            if code == EXIT_INTERRUPTED or results is None:
                break  # a stop ends the repeats; so does a folder that refused a write
        if len(folders) > 1 and runs:
            print("\n".join(summary_lines(runs)))
            codes.append(_write_repeats(out, runs))
        for line in write_outputs(runs, args):
            print(line, file=sys.stderr)
            codes.append(EXIT_FAILED)
    return min(codes, key=PRECEDENCE.index)


def _check_repeat_folders(args: argparse.Namespace, folders: list[ResultsFolder], spec: JobSpec) -> None:
    """Every repeat's folder usable before the first repeat sends anything; BadInput names each that is not."""
    found = []
    for folder in folders:
        if folder.in_use():
            found.append(f"--out: {folder.path} is in use by a running loadrec")
        elif args.overwrite:
            found += overwrite_refusals(folder, spec.name)
        elif folder.holds_a_run():
            found.append(f"--out: {folder.path} holds an earlier run; pass --overwrite to replace it")
    if found:
        raise BadInput(found)


def _run_once(
    args: argparse.Namespace,
    spec: JobSpec,
    job_dir: Path,
    tests: list[PreparedTest],
    settings: RunSettings,
    folder: ResultsFolder,
) -> tuple[int, JobResults | None]:
    """One run of the job into ``folder``: its code, and its results (None: they could not be written)."""
    claim(args, folder, spec)
    print(summarize(spec), flush=True)
    try:
        job = start_job(spec, tests, settings, job_dir, folder, say_on_stdout)
        results = job.run()
    finally:
        folder.release()
    print()
    print(render_results(results))
    if job.write_error is not None:
        print(f"results could not be written to {job.write_error}: the summary above is all that was kept")
        return EXIT_FAILED, None
    print(f"results in {folder.path}/: describe.json, steps.json, timeline.csv, {REPORT}", flush=True)
    if results.status.value == "STOPPED":
        return EXIT_INTERRUPTED, results
    if results.status.value != "COMPLETED":
        return EXIT_FAILED, results
    return (EXIT_THRESHOLDS_FAILED if failed(judge(results)) else EXIT_OK), results


def claim(args: argparse.Namespace, folder: ResultsFolder, spec: JobSpec) -> None:
    """``folder`` is this run's, or BadInput says why not."""
    if args.overwrite and (refused := overwrite_refusals(folder, spec.name)):
        raise BadInput(refused)  # the records are the only trace of what may still run (or bill)
    try:
        folder.claim(args.overwrite)
    except ResultsFolderError as error:
        raise BadInput([f"--out: {error}"]) from None


def _write_repeats(out: Path, runs: list[JobResults]) -> int:
    try:
        write_file(out / REPEATS_FILE, json.dumps(to_dict(runs), indent=2, allow_nan=False) + "\n")
    except OSError as error:
        print(f"{out / REPEATS_FILE}: could not be written ({error.strerror or error})", file=sys.stderr)
        return EXIT_FAILED
    print(f"the spread in {out / REPEATS_FILE}")
    return EXIT_OK
