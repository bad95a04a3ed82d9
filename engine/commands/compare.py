"""``loadrec compare BASELINE CANDIDATE``: two results folders of the same job, figure by figure.

Exit codes: 0 compared; 2 a folder cannot be read, a run still runs, or the runs are not
comparable (each difference named); 99 with ``--fail-on-regression PCT``, when a figure
is worse beyond the noise by more than PCT percent, or the candidate lost a configuration
the baseline measured. The comparison itself is :mod:`loadrec.engine.gates.compare`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from loadrec.engine.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_THRESHOLDS_FAILED
from loadrec.engine.gates.compare import NotComparable, Run, compare, regressions
from loadrec.engine.gates.compare_view import render_html, render_markdown, render_terminal
from loadrec.engine.gates.flags import file_problems, write_file
from loadrec.engine.job.problems import BadInput
from loadrec.engine.job.spec import JobSpecError
from loadrec.engine.load.settings import non_negative
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.running.manifest import load_results


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("compare", help="compare two runs of a job figure by figure, beyond the noise")
    parser.add_argument("baseline", metavar="BASELINE", help="the results directory to compare against")
    parser.add_argument("candidate", metavar="CANDIDATE", help="the results directory of the run to judge")
    parser.add_argument(
        "--fail-on-regression", type=non_negative, metavar="PCT",
        help=f"exit {EXIT_THRESHOLDS_FAILED} when a figure is worse beyond the noise by more than PCT percent",
    )  # fmt: skip
    parser.add_argument("--markdown", metavar="FILE", help="also write the comparison as Markdown")
    parser.add_argument("--html", metavar="FILE", help="also write the comparison as an HTML page")


def read_run(value: str, name: str) -> Run:
    """A results folder's run, with each measured test's window seconds; raises BadInput."""
    folder = ResultsFolder(Path(value))
    timelines: dict[int, Timeline | None] = {}

    def read_timeline(index: int) -> Timeline | None:
        timelines[index] = folder.read_timeline(index)
        return timelines[index]

    try:
        if folder.in_use():
            raise BadInput([f"{name} {value}: a run is still going on there; compare once it has ended"])
        results = load_results(folder, False, read_timeline=read_timeline)
    except (ResultsFolderError, JobSpecError) as error:
        raise BadInput([f"{name} {value}: cannot read these results: {error}".splitlines()[0]]) from None
    except (ValueError, TypeError, KeyError, ArithmeticError) as error:  # a result that read but means nothing
        raise BadInput([f"{name} {value}: damaged results ({type(error).__name__}: {str(error)[:80]})"]) from None
    seconds = {}
    for benchmark in results.measured:
        timeline, window = timelines.get(benchmark.index), benchmark.window
        if timeline is not None and window is not None:
            seconds[benchmark.index] = timeline.wires(window.start, window.end)
    return Run(results, seconds)


def cmd_compare(args: argparse.Namespace) -> int:
    outputs = {"--markdown": args.markdown, "--html": args.html}
    if problems := [line for flag, value in outputs.items() if value for line in file_problems(flag, value)]:
        raise BadInput(problems)
    baseline, candidate = read_run(args.baseline, "BASELINE"), read_run(args.candidate, "CANDIDATE")
    try:
        changes = compare(baseline, candidate)
    except NotComparable as error:
        raise BadInput(
            [f"cannot compare {args.baseline} with {args.candidate}: {line}" for line in error.lines]
        ) from None
    except (ValueError, TypeError, KeyError, ArithmeticError) as error:  # a damaged histogram or figure
        raise BadInput(
            [f"cannot compare: the results are damaged ({type(error).__name__}: {str(error)[:80]})"]
        ) from None
    title = f"{baseline.results.spec.name}: {args.baseline} against {args.candidate}"
    named = (("baseline", args.baseline, baseline), ("candidate", args.candidate, candidate))
    header = [f"{name} {path}: run {run.results.run_id}, {_when(run.results.created)}" for name, path, run in named]
    print(render_terminal([f"compare {title}", *header], changes))
    code = EXIT_OK
    for path, text in ((args.markdown, render_markdown(title, header, changes)),
                       (args.html, render_html(title, header, changes))):  # fmt: skip
        if path:
            try:
                write_file(Path(path), text)
            except OSError as error:
                print(f"{path}: could not be written ({error.strerror or error})", file=sys.stderr)
                code = EXIT_FAILED
    if args.fail_on_regression is not None and (found := regressions(changes, args.fail_on_regression)):
        print(f"regressions past {args.fail_on_regression:g}%:")
        print("\n".join(f"  {line}" for line in found))
        return EXIT_THRESHOLDS_FAILED if code == EXIT_OK else code
    return code


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


COMMANDS = {"compare": cmd_compare}
