"""The ``loadrec`` command line: parses arguments, reads the job, maps outcomes to exit codes.

Exit codes: 0 done, 1 a run failed, 2 bad input (nothing was sent), 130 interrupted.
Bad input prints one line per problem on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.job import JobRunner, prepare_job
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
from engine.loadtest import RunSettings, SetupError
from engine.monitor import MonitorSettings
from engine.outcome import COMPLETED
from engine.prices import PriceFileError, load_prices
from engine.ranking import Importance, Weights
from engine.report import write_report
from engine.summary import render_describe, summarize
from shapes.preview import render_per_second_json, render_preview

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
USERNAME_ENV, PASSWORD_ENV = "LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"

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

    aws_request = commands.add_parser("aws-request", help="print the job's AWS request (without the Loadrec key)")
    _add_job_arguments(aws_request)

    run = commands.add_parser("run", help="run the job's load tests headless and write results")
    _add_job_arguments(run)
    run.add_argument(
        "--processes",
        type=_non_negative,
        default=0,
        metavar="N",
        help="run the load on Locust's master with N local worker processes (default: this process)",
    )
    _add_test_arguments(run)
    run.add_argument("--seed", type=int, default=None, help="repeatable payload order per user")
    run.add_argument("--master", action="store_true", help="run as Locust master for workers started elsewhere")
    run.add_argument("--expect-workers", type=_positive, default=1, metavar="N", help="with --master: wait for N")
    run.add_argument("--master-bind-host", default="0.0.0.0", help="with --master: address to listen on")
    run.add_argument("--master-bind-port", type=_positive, default=5557, help="with --master: port (default 5557)")
    run.add_argument(
        "--publish-metrics",
        action="store_true",
        help="publish ClientInvocations, ClientInvocationErrors, ClientLatency, NumberOfUsers to CloudWatch",
    )
    levels = [level.label for level in Importance]
    defaults = Weights()
    for objective in ("cost", "latency", "throughput"):
        default = getattr(defaults, objective).label
        run.add_argument(
            f"--{objective}-importance",
            choices=levels,
            default=default,
            help=f"how much {objective} weighs in the ranking (default {default})",
        )

    ui = commands.add_parser("ui", help="run one test of the job in the Locust web UI")
    _add_job_arguments(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address the web UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=_positive, default=8089, help="web UI port (default 8089)")
    ui.add_argument("--test-index", type=_non_negative, default=0, help="which endpoint configuration (default 0)")
    _add_test_arguments(ui)
    ui.add_argument(
        "--insecure-no-auth", action="store_true", help="allow a non-loopback --host without a login (not advised)"
    )

    describe_run = commands.add_parser("describe", help="print the status and recommendation table of a run")
    describe_run.add_argument("out", metavar="DIR", help="a results directory written by loadrec run")

    endpoint = commands.add_parser("sample-endpoint", help="serve the built-in sample model endpoint", add_help=False)
    endpoint.add_argument("rest", nargs=argparse.REMAINDER)
    worker = commands.add_parser("worker", help="a load worker for a master run", add_help=False)
    worker.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``minimum`` or more."""

    def whole_number(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not a whole number of {minimum} or more")
        return value

    return whole_number


_positive, _non_negative = _at_least(1), _at_least(0)


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


def _add_test_arguments(parser: argparse.ArgumentParser) -> None:
    """What every way of running a test takes: results, monitor timing, payloads, prices."""
    parser.add_argument("--out", metavar="DIR", help="results directory (default: results/JOBNAME)")
    parser.add_argument(
        "--window",
        type=_positive,
        default=MonitorSettings.window_s,
        metavar="S",
        help="trailing window of the stopping conditions, seconds (default 60)",
    )
    parser.add_argument(
        "--evaluate-every",
        type=_positive,
        default=MonitorSettings.evaluate_every_s,
        metavar="S",
        help="how often the stopping conditions are evaluated, seconds (default 5)",
    )
    parser.add_argument("--payloads", metavar="PATH_OR_S3_URI", help="sample payloads (overrides the job's)")
    parser.add_argument("--prices", metavar="FILE", help="price table overriding the bundled us-east-1 prices")


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


def cmd_aws_request(args: argparse.Namespace) -> int:
    print(json.dumps(load_spec(args).request, indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    spec = load_spec(args)
    if not args.job:
        raise BadInput(["loadrec run needs a JOB file: each test runs in its own process, which reads it"])
    job_path = Path(args.job).resolve()
    out = Path(args.out) if args.out else Path("results") / spec.name
    try:
        tests = prepare_job(spec, job_path.parent, args.payloads)
        if args.prices:
            load_prices(Path(args.prices))
    except (SetupError, PriceFileError) as error:
        raise BadInput([str(error)]) from None
    if args.master and args.processes:
        raise BadInput(["--master waits for workers started elsewhere; --processes starts local ones: pick one"])
    settings = RunSettings(
        monitor=MonitorSettings(window_s=args.window, evaluate_every_s=args.evaluate_every),
        seed=args.seed,
        processes=args.processes,
        expect_workers=args.expect_workers if args.master else 0,
        master_bind_host=args.master_bind_host,
        master_bind_port=args.master_bind_port if args.master else 0,
        job_path=str(job_path),
        limits=args.limits,
        payloads_override=args.payloads,
    )
    weights = Weights(*(Importance.parse(getattr(args, f"{o}_importance")) for o in ("cost", "latency", "throughput")))
    print(summarize(spec), flush=True)
    runner = JobRunner(
        spec, tests, settings, out, weights, args.prices, _progress, publish_metrics=args.publish_metrics
    )
    outcome = runner.run()
    report = write_report(out)
    print()
    print(render_describe(json.loads((out / "describe.json").read_text())))
    print(f"results in {out}/: describe.json, steps.json, timeline.csv, {report.name}")
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if outcome.status == COMPLETED else EXIT_FAILED


def cmd_ui(args: argparse.Namespace) -> int:
    spec = load_spec(args)
    if not args.job:
        raise BadInput(["loadrec ui needs a JOB file"])
    job_path = Path(args.job).resolve()
    try:
        tests = prepare_job(spec, job_path.parent, args.payloads)
    except SetupError as error:
        raise BadInput([str(error)]) from None
    if args.test_index >= len(tests):
        raise BadInput([f"--test-index: {args.test_index} is past the job's {len(tests)} endpoint configurations"])
    login = web_login_configured()
    if not is_loopback(args.host) and not login and not args.insecure_no_auth:
        raise BadInput(
            [
                f"--host: {args.host} exposes the web UI beyond this machine; set {USERNAME_ENV} and "
                f"{PASSWORD_ENV} for a login, or pass --insecure-no-auth"
            ]
        )
    if not is_loopback(args.host) and not login:
        print(f"warning: the web UI on {args.host} has no login: anyone who reaches it can start load", file=sys.stderr)
    argv = ["locust", "-f", str(LOCUSTFILE), "--job", str(job_path), "--limits", args.limits]
    argv += ["--web-host", args.host, "--web-port", str(args.port), "--test-index", str(args.test_index)]
    argv += ["--results-dir", args.out or str(Path("results") / spec.name)]
    argv += ["--window", str(args.window), "--evaluate-every", str(args.evaluate_every)]
    for flag, value in (("--payloads", args.payloads), ("--prices", args.prices)):
        if value:
            argv += [flag, value]
    if login:
        argv.append("--web-login")
    from locust.main import main as locust_main

    sys.argv = argv
    locust_main()  # exits when the web UI is stopped (Ctrl-C)
    return EXIT_OK


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_login_configured() -> bool:
    return bool(os.environ.get(USERNAME_ENV)) and bool(os.environ.get(PASSWORD_ENV))


def cmd_describe(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        body = json.loads((out / "describe.json").read_text())
    except FileNotFoundError:
        raise BadInput([f"{out}: no describe.json here (is it a results directory of loadrec run?)"]) from None
    except json.JSONDecodeError as error:
        raise BadInput(
            [f"{out / 'describe.json'}: invalid JSON at line {error.lineno}, column {error.colno}"]
        ) from None
    print(render_describe(body))
    return EXIT_OK


def _progress(line: str) -> None:
    print(line, flush=True)


def _sample_endpoint(argv: list[str]) -> int:
    from engine.sample_endpoint import main as sample_endpoint_main

    return sample_endpoint_main(argv)


def _worker(argv: list[str]) -> int:
    from engine.worker import main as worker_main

    return worker_main(argv)


# Commands with a parser of their own: everything after the command name is theirs.
PASSTHROUGH = {"sample-endpoint": _sample_endpoint, "worker": _worker}


COMMANDS = {
    "validate": cmd_validate,
    "schedule": cmd_schedule,
    "aws-request": cmd_aws_request,
    "run": cmd_run,
    "describe": cmd_describe,
    "ui": cmd_ui,
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in PASSTHROUGH:
        return PASSTHROUGH[arguments[0]](arguments[1:])
    args = build_parser().parse_args(arguments)
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
