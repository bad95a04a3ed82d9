"""The commands that read a results folder: ``describe``, ``scaling-recommendation`` and ``cleanup``.

Part of the command line (a leaf: only :mod:`loadrec.engine.cli` imports it); bad input raises
``BadInput``, which the command line reports with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadrec.engine.exit_codes import EXIT_FAILED, EXIT_OK
from loadrec.engine.job.problems import BadInput
from loadrec.engine.job.spec import JobSpecError
from loadrec.engine.load.settings import at_least, non_negative, positive
from loadrec.engine.measurement.scaling import DEFAULT_CPU_PER_CORE
from loadrec.engine.results.aws import NoSuchRecommendation, scaling_configuration
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.outputs.terminal import render_results
from loadrec.engine.running.manifest import load_results
from loadrec.engine.running.orchestrator import write_job_files


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    describe_run = commands.add_parser("describe", help="print the status and recommendation table of a run")
    describe_run.add_argument("out", metavar="DIR", help="a results directory written by loadrec run")

    scaling = commands.add_parser(
        "scaling-recommendation",
        help="auto scaling advice for a run's recommendation (GetScalingConfigurationRecommendation's answer)",
    )
    scaling.add_argument("out", metavar="DIR", help="a results directory written by loadrec run")
    chosen = scaling.add_mutually_exclusive_group()
    chosen.add_argument("--recommendation-id", metavar="ID", help="the recommendation (default: the top one)")
    chosen.add_argument("--endpoint-name", metavar="NAME", help="the tested endpoint, instead of a recommendation")
    scaling.add_argument(
        "--target-cpu-utilization-per-core", type=at_least(1, 100), default=DEFAULT_CPU_PER_CORE, metavar="N",
        help=f"percent of an instance's measured peak to run at (default {DEFAULT_CPU_PER_CORE})",
    )  # fmt: skip
    scaling.add_argument("--min-invocations-per-minute", type=non_negative, metavar="N")
    scaling.add_argument("--max-invocations-per-minute", type=positive, metavar="N")

    clean = commands.add_parser("cleanup", help="delete the SageMaker endpoints, configs and models a job left behind")
    clean.add_argument("job_name", metavar="JOB_NAME", help="the job's name (its resources carry it as a tag)")
    clean.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    clean.add_argument("--region", help="AWS region (default: botocore's chain)")
    clean.add_argument("--api-endpoint-url", metavar="URL", help="the SageMaker API elsewhere (e.g. a local stand-in)")
    clean.add_argument("--force", action="store_true", help="delete even while a run of the job goes on here")
    clean.add_argument("--out", metavar="DIR", help="also what a results folder's records name (model servers too)")


def cmd_describe(args: argparse.Namespace) -> int:
    """The run's status and table; the job files of a run that is no longer live are rendered anew."""
    folder = ResultsFolder(Path(args.out))
    try:
        running = folder.in_use()
        try:
            results = load_results(folder, running) if running else write_job_files(folder, running)
        except OSError:  # a read-only copy of the results: show them without rewriting them
            results = load_results(folder, running)
    except (ResultsFolderError, JobSpecError) as error:
        raise BadInput([f"{args.out}: cannot describe these results: {error}".splitlines()[0]]) from None
    print(render_results(results))
    return EXIT_OK


def cmd_scaling_recommendation(args: argparse.Namespace) -> int:
    """GetScalingConfigurationRecommendation's answer for one of a run's recommendations."""
    low, high = args.min_invocations_per_minute, args.max_invocations_per_minute
    if low is not None and high is not None and low > high:
        raise BadInput([f"--min-invocations-per-minute: {low} is above --max-invocations-per-minute ({high})"])
    try:
        results = load_results(ResultsFolder(Path(args.out)))
        body = scaling_configuration(
            results, args.recommendation_id, args.endpoint_name, args.target_cpu_utilization_per_core, low, high
        )
    except (ResultsFolderError, JobSpecError) as error:
        raise BadInput([f"{args.out}: cannot read these results: {error}".splitlines()[0]]) from None
    except NoSuchRecommendation as error:
        flag = {"RecommendationId": "--recommendation-id", "EndpointName": "--endpoint-name"}.get(error.field or "")
        raise BadInput([f"{flag}: {error.message}" if flag else error.message]) from None
    print(json.dumps(body, indent=2))
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    """What a job left behind: its results folder's records (--out), and its SageMaker resources (by tag)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from loadrec.engine.provision.leftovers import cleanup

    try:
        done = cleanup(args.job_name, args.region, args.api_endpoint_url, args.dry_run, args.force, args.out, print)
    except (BotoCoreError, ClientError) as error:
        print(f"cleanup: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not done:
        print(f"nothing left by {args.job_name}")
    return EXIT_OK


COMMANDS = {
    "describe": cmd_describe,
    "scaling-recommendation": cmd_scaling_recommendation,
    "cleanup": cmd_cleanup,
}
