"""The ``loadrec`` command line: parses arguments, reads the job, maps outcomes to exit codes.

Exit codes: 0 done, 1 a run failed, 2 bad input (nothing was sent), 130 interrupted.
Bad input prints one line per problem on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from engine.jobfile import (
    CLI_JSON_FLAGS,
    CLI_TEXT_FLAGS,
    JobFileError,
    json_argument,
    read_request,
    request_from_cli_flags,
)
from engine.jobspec import JobSpec, JobSpecError, parse_job
from engine.limits import LimitsMode
from engine.summary import summarize
from shapes.preview import render_per_second_json, render_preview

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BadInput(Exception):
    """Input problems, one line each; reported with exit code 2."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadrec",
        description="Self-hosted load tests and recommendations from a CreateInferenceRecommendationsJob request.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a job file and summarize it")
    _add_job_arguments(validate)

    schedule = commands.add_parser("schedule", help="preview the traffic schedule of a job")
    _add_job_arguments(schedule)
    schedule.add_argument("--json", action="store_true", help="print target users for every second as JSON")
    return parser


def _add_job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job", nargs="?", metavar="JOB", help="JSON file with the CreateInferenceRecommendationsJob request"
    )
    parser.add_argument(
        "--limits",
        choices=[m.value for m in LimitsMode],
        default=LimitsMode.AWS.value,
        help="aws (default): AWS's documented limits; relaxed: only botocore's minimums",
    )
    aws = parser.add_argument_group("AWS CLI form (instead of JOB, as for create-inference-recommendations-job)")
    for flag in (*CLI_TEXT_FLAGS, *CLI_JSON_FLAGS):
        aws.add_argument("--" + flag.replace("_", "-"), dest=flag, metavar="VALUE")
    aws.add_argument("--cli-input-json", metavar="JSON", help="the whole request, inline or file://PATH")


def load_spec(args: argparse.Namespace) -> JobSpec:
    """The validated job named by JOB or the AWS CLI flags; raises BadInput."""
    flags: dict[str, Any] = {name: getattr(args, name) for name in (*CLI_TEXT_FLAGS, *CLI_JSON_FLAGS)}
    uses_flags = any(value is not None for value in flags.values()) or args.cli_input_json is not None
    if args.job and uses_flags:
        raise BadInput(["give either a JOB file or the AWS CLI flags (--job-name, --input-config, ...), not both"])
    if not args.job and not uses_flags:
        raise BadInput(["no job given: name a JOB file, or use the AWS CLI flags (--job-name, --input-config, ...)"])
    try:
        if args.job:
            request = read_request(args.job)
        else:
            base = _cli_input_json(args.cli_input_json)
            request = request_from_cli_flags(flags, base)
        return parse_job(request, LimitsMode(args.limits))
    except JobFileError as error:
        raise BadInput([str(error)]) from None
    except JobSpecError as error:
        raise BadInput([str(p) for p in error.problems]) from None


def _cli_input_json(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    request = json_argument(value, "--cli-input-json")
    if not isinstance(request, dict):
        raise JobFileError("--cli-input-json: the request must be a JSON object")
    return request


def cmd_validate(args: argparse.Namespace) -> int:
    print(summarize(load_spec(args)))
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    spec = load_spec(args)
    if args.json:
        print(render_per_second_json(spec.schedule))
    else:
        print(f"{spec.name}: {spec.traffic.kind}, {spec.schedule.duration_s} s, peak {spec.schedule.peak_users} users")
        print(render_preview(spec.schedule))
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "schedule": cmd_schedule}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BadInput as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
