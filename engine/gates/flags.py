"""The command line's gate options: ``--threshold`` (repeatable), ``--junit FILE``, ``--summary-markdown FILE``,
and the exit code a failed threshold gives.

A ``--threshold`` joins the job's ``Loadrec.Thresholds`` before the job is validated, so
the run's record (run.json) and ``loadrec describe`` judge the same thresholds the run
did. Output files are checked before any load is sent (not a folder, not under a file,
writable) and written once the job has ended, each in one step, their folders made.
"""

from __future__ import annotations

import argparse
import copy
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loadrec.engine.exit_codes import EXIT_THRESHOLDS_FAILED
from loadrec.engine.gates.ci_outputs import junit_xml, markdown_summary
from loadrec.engine.job.extension import KEY
from loadrec.engine.job.problems import BadInput, show
from loadrec.engine.job.thresholds_key import KEY as THRESHOLDS
from loadrec.engine.job.thresholds_key import METRICS, ThresholdError, parse_threshold
from loadrec.engine.results.files import write_atomically
from loadrec.engine.results.model import JobResults

OUTPUTS: dict[str, Callable[[Sequence[JobResults]], str]] = {
    "junit": lambda runs: junit_xml(*runs),
    "summary_markdown": lambda runs: "\n".join(
        markdown_summary(run, number if len(runs) > 1 else None) for number, run in enumerate(runs, 1)
    ),
}


def add_threshold_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold", action="append", default=[], metavar="'METRIC OP N'",
        help=f"a condition every configuration must meet, e.g. 'LatencyP95Ms <= 100' (repeatable; joins "
             f"{KEY}.{THRESHOLDS}); exit {EXIT_THRESHOLDS_FAILED} when one fails. METRIC: {', '.join(METRICS)}",
    )  # fmt: skip


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML: a case per configuration and threshold")
    parser.add_argument("--summary-markdown", metavar="FILE", help="write a Markdown summary (a CI step summary)")


def with_flag_thresholds(request: Mapping[str, Any], flags: Sequence[str]) -> Mapping[str, Any]:
    """``request`` with the ``--threshold`` flags joined to its ``Loadrec.Thresholds``; raises BadInput."""
    problems = []
    for text in flags:
        try:
            parse_threshold(text)
        except ThresholdError as error:
            problems.append(f"--threshold: {error}")
    if problems:
        raise BadInput(problems)
    if not flags:
        return request
    joined = copy.deepcopy(dict(request))
    extension = joined.setdefault(KEY, {})
    if not isinstance(extension, dict):
        return joined  # the job's own problem: its validation names it
    given = extension.setdefault(THRESHOLDS, [])
    if isinstance(given, list):
        given.extend(flags)
    return joined


def output_problems(args: argparse.Namespace) -> list[str]:
    """Why an output file could not be written, a line each (checked before any load)."""
    named = {"--" + name.replace("_", "-"): getattr(args, name, None) for name in OUTPUTS}
    return [line for flag, value in named.items() if value is not None for line in file_problems(flag, value)]


def file_problems(flag: str, value: str) -> list[str]:
    """Why the file ``flag`` names could not be written: a folder, under a file, or where this user cannot
    write (missing folders are made when it is written)."""
    path = Path(value)
    try:
        if path.is_dir():
            return [f"{flag}: {show(value)} is a folder; name a file"]
        existing = next(parent for parent in path.absolute().parents if parent.exists())
        if not existing.is_dir():
            return [f"{flag}: {show(value)}: {show(str(existing))} is a file, not a folder"]
        writable = os.access(existing, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    except OSError as error:  # a folder on the way this user may not search
        return [f"{flag}: {show(value)}: {error.strerror or error}"]
    return [] if writable else [f"{flag}: {show(value)} cannot be written here"]


def write_file(path: Path, text: str) -> None:
    """``text`` to ``path`` in one step, its folders made first; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)


def write_outputs(runs: Sequence[JobResults], args: argparse.Namespace) -> list[str]:
    """Write each output asked for, of the job's runs (more than one with --repeat); what could not be
    written, a line each."""
    errors = []
    for name, render in OUTPUTS.items():
        value = getattr(args, name, None)
        if value is None or not runs:
            continue
        try:
            write_file(Path(value), render(runs))
        except OSError as error:
            errors.append(f"{value}: could not be written ({error.strerror or error})")
    return errors
