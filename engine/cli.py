"""The ``loadrec`` command line: parses arguments, reads the job, maps outcomes to exit codes.

Exit codes (:mod:`loadrec.engine.exit_codes`): 0 done, 1 a run failed, 2 bad input (nothing was sent),
99 a threshold failed, 130 interrupted.
Bad input prints one line per problem on stderr, never a traceback. A leaf: nothing
imports this module; it is the process entry point, so gevent patches first.
"""

from gevent import monkey

monkey.patch_all()  # before anything imports ssl: Locust's users run on gevent

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loadrec.engine.access.login import PASSWORD_ENV, USERNAME_ENV, is_loopback, login_configured
from loadrec.engine.commands import compare as compare_command
from loadrec.engine.commands import results as results_commands
from loadrec.engine.commands import run as run_command
from loadrec.engine.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from loadrec.engine.gates.flags import (
    add_output_flags,
    add_threshold_flag,
    output_problems,
    with_flag_thresholds,
)
from loadrec.engine.job.files import (
    CLI_JSON_FLAGS,
    CLI_TEXT_FLAGS,
    JobFileError,
    json_argument,
    read_request,
    request_from_cli_flags,
)
from loadrec.engine.job.headers import authority
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import BadInput, say_on_stdout, terminal_safe_output
from loadrec.engine.job.provisioning import CommandProvisioning
from loadrec.engine.job.spec import JobSpec, JobSpecError, parse_job
from loadrec.engine.load.prepare import PreparedTest, SetupError, prepare_job
from loadrec.engine.load.settings import (
    LIMITS,
    RUN,
    UI,
    RunSettings,
    add_options,
    host_address,
    port_number,
    settings_from,
)
from loadrec.engine.measurement.prices import PriceFileError, PriceTable, load_prices
from loadrec.engine.process.lifeline import outlive_the_terminal, stop_signals
from loadrec.engine.results.files import default_folder
from loadrec.engine.results.outputs.terminal import search_sentence, summarize
from loadrec.engine.telemetry.prometheus import RunCollector
from loadrec.engine.telemetry.serve import add_metrics_flags, metrics_served
from loadrec.shapes.preview import render_per_second_json, render_preview

LOCUSTFILE = Path(__file__).resolve().parent / "locust_plugin" / "locustfile.py"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadrec",
        description="Self-hosted load tests and recommendations from a CreateInferenceRecommendationsJob request.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a job file and summarize it")
    _add_job_arguments(validate)
    add_threshold_flag(validate)

    schedule = commands.add_parser("schedule", help="preview the traffic schedule of a job")
    _add_job_arguments(schedule)
    schedule.add_argument("--json", action="store_true", help="print target users for every second as JSON")

    aws_request = commands.add_parser("aws-request", help="print the job's AWS request (without the Loadrec key)")
    _add_job_arguments(aws_request)

    run = commands.add_parser("run", help="run the job's load tests headless and write results")
    _add_job_arguments(run)
    add_options(run, RUN)
    add_threshold_flag(run)
    add_output_flags(run)
    add_metrics_flags(run)
    run_command.add_repeat_flag(run)

    ui = commands.add_parser("ui", help="run the whole job from a web page and watch it live")
    _add_job_arguments(ui)
    ui.add_argument("--host", type=host_address, default="127.0.0.1", help="web UI address (default 127.0.0.1)")
    ui.add_argument("--port", type=port_number, default=8089, help="web UI port (default 8089)")
    add_options(ui, UI)
    add_metrics_flags(ui)
    ui.add_argument(
        "--insecure-no-auth", action="store_true", help="allow a non-loopback --host without a login (not advised)"
    )

    results_commands.add_parsers(commands)
    compare_command.add_parsers(commands)
    commands.add_parser("locustfile", help="print the path of loadrec's locustfile, for locust -f")
    endpoint = commands.add_parser("sample-endpoint", help="serve the built-in sample model endpoint", add_help=False)
    endpoint.add_argument("rest", nargs=argparse.REMAINDER)
    worker = commands.add_parser("worker", help="a load worker for a master run", add_help=False)
    worker.add_argument("rest", nargs=argparse.REMAINDER)
    serve = commands.add_parser(
        "serve", help="answer boto3 and the AWS CLI: a SageMaker-compatible API", add_help=False
    )
    serve.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _add_job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job", nargs="?", metavar="JOB", help="JSON file with the CreateInferenceRecommendationsJob request"
    )
    parser.add_argument(*LIMITS.flags, **LIMITS.kwargs)
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
        return parse_job(with_flag_thresholds(request, getattr(args, "threshold", [])), LimitsMode(args.limits))
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
    if (search := spec.extension.search) is not None:  # its probes depend on the endpoint's answers
        bound = search.new_search()
        facts = {"Search": search.to_dict(), "MaxProbes": bound.max_probes, "MaxSeconds": bound.max_seconds}
        print(json.dumps(facts) if args.json else f"{spec.name}: {search_sentence(search)}")
    elif args.json:
        print(render_per_second_json(spec.schedule))
    else:
        print(f"{spec.name}: {spec.traffic.kind}, {spec.schedule.duration_s} s, peak {spec.schedule.peak_users} users")
        print(render_preview(spec.schedule))
    return EXIT_OK


def cmd_aws_request(args: argparse.Namespace) -> int:
    print(json.dumps(load_spec(args).request, indent=2))
    return EXIT_OK


def _job_dir(args: argparse.Namespace, command: str) -> Path:
    if not args.job:
        raise BadInput([f"loadrec {command} needs a JOB file (relative payload paths are read from its folder)"])
    return Path(args.job).resolve().parent


def _prices(settings: RunSettings) -> PriceTable:
    try:
        return load_prices(Path(settings.prices) if settings.prices else None)
    except PriceFileError as error:
        raise BadInput([str(error)]) from None


def cmd_run(args: argparse.Namespace) -> int:
    spec = load_spec(args)
    job_dir = _job_dir(args, "run")
    tests, settings = _prepared(args, spec, job_dir, RUN)
    if problems := output_problems(args):
        raise BadInput(problems)
    return run_command.run(args, spec, job_dir, tests, settings)


def cmd_ui(args: argparse.Namespace) -> int:
    """The whole job in a web page: the plan, START and STOP, the live tests, the ranked recommendation."""
    spec = load_spec(args)
    job_dir = _job_dir(args, "ui")
    login = login_configured()
    loopback = is_loopback(args.host)
    if not loopback and not login and not args.insecure_no_auth:
        raise BadInput(
            [
                f"--host: {args.host} exposes the web UI beyond this machine; set {USERNAME_ENV} and "
                f"{PASSWORD_ENV} for a login, or pass --insecure-no-auth"
            ]
        )
    tests, settings = _prepared(args, spec, job_dir, UI)
    base = Path(args.out) if args.out else default_folder(spec.name)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput([f"--out: {base}: cannot write results here ({error.strerror or error})"]) from None
    from loadrec.engine.webui.console import JobConsole

    console = JobConsole(spec, tests, settings, job_dir, base, say_on_stdout)
    with metrics_served(args, RunCollector(spec, lambda: console.folder)):
        return _serve_ui(args, spec, console, base, (login, loopback))


def _serve_ui(args: argparse.Namespace, spec: JobSpec, console: Any, base: Path, access: tuple[bool, bool]) -> int:
    """The web UI until Ctrl-C (``console``: its JobConsole, imported with the UI only when it is asked for;
    ``access``: whether a login is configured, whether the UI listens on loopback)."""
    from loadrec.engine.webui.serve import ListenError, WebUI

    login, loopback = access
    ui = WebUI(console, say_on_stdout)
    try:
        port = ui.listen(args.host, args.port, login, loopback)
    except ListenError as error:
        raise BadInput([f"--host/--port: {error}"]) from None
    if not loopback and not login:
        print(f"warning: the web UI on {args.host} has no login: anyone who reaches it can start load", file=sys.stderr)
    with stop_signals() as closing:  # before the address is announced: a Ctrl-C then already closes cleanly
        print(summarize(spec), flush=True)
        print(f"web UI on http://{authority(args.host, port)}/ (Ctrl-C to quit); runs go to {base}/run-N/", flush=True)
        ui.serve_until(closing)
    return EXIT_OK


def _prepared(
    args: argparse.Namespace, spec: JobSpec, job_dir: Path, where: str
) -> tuple[list[PreparedTest], RunSettings]:
    """Every test of the job ready (payloads loaded, targets checked) and the settings; raises BadInput."""
    if args.master and args.processes > 0:
        raise BadInput(["--master waits for workers started elsewhere; --processes starts local ones: pick one"])
    settings = settings_from(args, where)
    if settings.keep_endpoints and isinstance(spec.extension.provisioner, CommandProvisioning):
        raise BadInput(["--keep-endpoints: a Command provisioner's servers are local processes, always stopped after"
                        " their test (only SageMaker endpoints can be kept)"])  # fmt: skip
    _prices(settings)  # each test's process reads them; a bad file is refused now
    try:
        return prepare_job(spec, job_dir, settings.payloads), settings
    except SetupError as error:
        raise BadInput([str(error)]) from None


def cmd_locustfile(args: argparse.Namespace) -> int:
    print(LOCUSTFILE)
    return EXIT_OK


# Commands with a parser of their own (each module's ``main(argv)``): everything after the command name is theirs.
PASSTHROUGH = {
    "sample-endpoint": "loadrec.engine.sample.endpoint",
    "worker": "loadrec.engine.load.worker",
    "serve": "loadrec.engine.api.serve",
}


COMMANDS = {
    "validate": cmd_validate,
    "schedule": cmd_schedule,
    "aws-request": cmd_aws_request,
    "run": cmd_run,
    "ui": cmd_ui,
    "locustfile": cmd_locustfile,
    **results_commands.COMMANDS,
    **compare_command.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command's own process: a closed terminal must not fail a run writing its results
        outlive_the_terminal()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in PASSTHROUGH:
        entry: Callable[[list[str]], int] = importlib.import_module(PASSTHROUGH[arguments[0]]).main
        return entry(arguments[1:])
    with terminal_safe_output():  # no ESC of a value or a path reaches the terminal
        try:
            args = build_parser().parse_args(arguments)
            return COMMANDS[args.command](args)
        except BadInput as error:
            for line in error.lines:
                print(line, file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
