"""A test's settings, declared once: the frozen ``RunSettings`` and the command-line options that fill it.

``loadrec run``, ``loadrec ui`` and the stock locustfile take the same options from the
one ``OPTIONS`` table (each option says which of them offer it: Locust has its own
``--processes`` and ``--master`` flags, so the stock locustfile leaves those to Locust).
The settings travel to a test's process whole, as JSON in the run's ``run.json``; nothing
re-declares or re-parses them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from loadrec.engine.job.headers import host_problem
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import show
from loadrec.engine.measurement.monitor import MonitorSettings
from loadrec.engine.measurement.ranking import Importance, Weights
from loadrec.engine.measurement.records import DEFAULT_LIMIT as DEFAULT_RECORDS
from loadrec.engine.measurement.records import MAX_LIMIT as MAX_RECORDS

RUN, UI, STOCK, SERVE = "run", "ui", "stock", "serve"  # the entry points that take options
LIMITS_ENV = "LOADREC_LIMITS"  # the stock locustfile's --limits may come from here
DEFAULT_WORKER_TIMEOUT_S = 120.0  # how long a master waits for its workers to connect and confirm
DEFAULT_MASTER_PORT = 5557
AUTO = -1  # --processes auto: decided per job (RunSettings.for_job)
# From this many users at the pattern's peak, --processes auto spreads a test over one load process per core:
# below it one process keeps up (docs/several-machines.md, "Load processes", gives the measurements) and
# workers would only add their start-up (about 2.7 s a test on a 2-core machine) to a short test.
AUTO_MIN_USERS = 64


@dataclass(frozen=True)
class MasterSettings:
    """A Locust master waiting for workers started elsewhere (``--master``)."""

    expect_workers: int = 1
    bind_host: str = "0.0.0.0"
    bind_port: int = DEFAULT_MASTER_PORT


@dataclass(frozen=True)
class RunSettings:
    """How one test runs and is judged, whatever starts it."""

    limits: LimitsMode = LimitsMode.AWS
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    seed: int | None = None
    payloads: str | None = None  # overrides the job's sample payloads
    prices: str | None = None  # a price file over the bundled table (an absolute path)
    weights: Weights = field(default_factory=Weights)
    publish_metrics: bool = False
    processes: int = 0  # N > 0: Locust master + N local worker processes; AUTO until for_job decides
    master: MasterSettings | None = None  # Locust master for workers started elsewhere
    worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S
    keep_endpoints: bool = False  # endpoints loadrec creates stay after their test (loadrec cleanup removes them)
    strict: bool = False  # a test whose figures come from a generator-bound window is FAILED (for CI)
    records: int = 0  # N > 0: each test keeps at most N per-request records (--records); 0: none

    @property
    def distributed(self) -> bool:
        return self.processes > 0 or self.master is not None

    def for_job(self, peak_users: int, cores: int) -> RunSettings:
        """``--processes auto`` decided for a job peaking at ``peak_users`` on a machine of ``cores``: one load
        process per core (as ``locust --processes -1`` and k6 use the machine) from AUTO_MIN_USERS users on,
        else the test's own process; workers started elsewhere (``--master``) need none."""
        if self.processes != AUTO:
            return self
        if self.master is not None or cores < 2 or peak_users < AUTO_MIN_USERS:
            return replace(self, processes=0)
        return replace(self, processes=cores)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"] = {name: level.label for name, level in data["weights"].items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        master = data.get("master")
        return cls(
            **{
                **data,
                "limits": LimitsMode(data["limits"]),
                "monitor": MonitorSettings(**data["monitor"]),
                "weights": Weights(**{name: Importance.parse(label) for name, label in data["weights"].items()}),
                "master": MasterSettings(**master) if master else None,
            }
        )


CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # a container's CPU quota (cgroup v2): "QUOTA PERIOD" or "max PERIOD"


def usable_cores(cpu_max: Path = CPU_MAX) -> int:
    """The cores this process may run on: its CPU affinity, capped by a container's CPU quota (a 2-CPU
    container on a 64-core host has 2, not 64), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 quota here
        pass
    return max(1, cores)


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of ``minimum`` or more (and ``maximum`` or less)."""

    def whole_number(text: str) -> int:
        try:
            if not text.isascii():  # int() reads "٩٥" as 95: a number is written in ASCII digits
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{show(text[:20])} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            allowed = f"of {minimum} or more" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"{str(value)[:20]} is not a whole number {allowed}")
        return value

    return whole_number


positive, non_negative, port_number = at_least(1), at_least(0), at_least(1, 65535)


def host_address(text: str) -> str:
    """An argparse type: an address to listen on or connect to (job.headers.host_problem), ``*`` for all."""
    if problem := host_problem(text, wildcard=True):
        raise argparse.ArgumentTypeError(f"{show(text)} {problem}")
    return text


MAX_PROCESSES = 256  # local load processes of one test: beyond, a typo that would fork the machine to a halt


def process_count(text: str) -> int:
    """An argparse type: ``auto`` (AUTO) or a whole number from 0 to MAX_PROCESSES."""
    return AUTO if text.strip().lower() == "auto" else at_least(0, MAX_PROCESSES)(text)


@dataclass(frozen=True)
class Option:
    """One command-line option: its flags, argparse keywords, and the entry points that offer it."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any]
    where: frozenset[str] = frozenset({RUN, UI, STOCK, SERVE})


_LEVELS = [level.label for level in Importance]
_DEFAULTS, _MONITOR = Weights(), MonitorSettings()

LIMITS = Option(
    ("--limits",),
    {
        "choices": [m.value for m in LimitsMode],
        "default": LimitsMode.AWS.value,
        "help": "aws (default): AWS's documented limits; relaxed: only botocore's minimums",
    },
)

OPTIONS: tuple[Option, ...] = (
    Option(
        ("--out", "--results-dir"),
        {"dest": "out", "metavar": "DIR", "help": "results (default results/JOBNAME)"},
        frozenset({RUN, UI, STOCK}),  # the API server keeps each job's results under its data directory
    ),
    Option(
        ("--overwrite",),
        {"action": "store_true", "help": "replace the results of an earlier run in the results directory"},
        frozenset({RUN, STOCK}),  # the web UI never replaces a run: each START writes a folder of its own
    ),
    Option(
        ("--window",),
        {
            "type": positive,
            "default": _MONITOR.window_s,
            "metavar": "S",
            "help": f"trailing window of the stopping conditions, seconds (default {_MONITOR.window_s})",
        },
    ),
    Option(
        ("--evaluate-every",),
        {
            "type": positive,
            "default": _MONITOR.evaluate_every_s,
            "metavar": "S",
            "help": f"how often the stopping conditions are evaluated, seconds (default {_MONITOR.evaluate_every_s})",
        },
    ),
    Option(
        ("--payloads",),
        {"metavar": "PATH_OR_S3_URI", "help": "sample payloads (overrides the job's)"},
        frozenset({RUN, UI, STOCK}),  # a job sent to the API server names its own
    ),
    Option(("--prices",), {"metavar": "FILE", "help": "price table overriding the bundled us-east-1 prices"}),
    Option(("--seed",), {"type": int, "default": None, "help": "repeatable payload order per user"}),
    *(
        Option(
            (f"--{objective}-importance",),
            {
                "choices": _LEVELS,
                "default": getattr(_DEFAULTS, objective).label,
                "help": f"how much {objective} weighs in the ranking (default {getattr(_DEFAULTS, objective).label})",
            },
        )
        for objective in ("cost", "latency", "throughput")
    ),
    Option(
        ("--publish-metrics",),
        {
            "action": "store_true",
            "help": "publish ClientInvocations, ClientInvocationErrors, ClientLatency, NumberOfUsers to CloudWatch",
        },
    ),
    Option(
        ("--processes",),
        {
            "type": process_count,
            "default": AUTO,
            "metavar": "N|auto",
            "help": "N > 0: Locust's master with N local worker processes; 0: the test's own process; "
            f"auto (default): one per core from {AUTO_MIN_USERS} users at the peak, else 0",
        },
        frozenset({RUN, UI, SERVE}),
    ),
    Option(
        ("--master",),
        {"action": "store_true", "help": "run as Locust master for workers started elsewhere"},
        frozenset({RUN, UI}),
    ),
    Option(
        ("--expect-workers",),
        {"type": positive, "default": 1, "metavar": "N", "help": "with --master: wait for N workers"},
        frozenset({RUN, UI}),
    ),
    Option(
        ("--master-bind-host",),
        {"type": host_address, "default": "0.0.0.0", "help": "with --master: address to listen on"},
        frozenset({RUN, UI}),
    ),
    Option(
        ("--master-bind-port",),
        {
            "type": port_number,
            "default": DEFAULT_MASTER_PORT,
            "help": f"with --master: port (default {DEFAULT_MASTER_PORT})",
        },
        frozenset({RUN, UI}),
    ),
    Option(
        ("--keep-endpoints",),
        {
            "action": "store_true",
            "help": "keep the endpoints loadrec creates after their tests (loadrec cleanup JOB_NAME removes them)",
        },
        frozenset({RUN, UI, SERVE}),
    ),
    Option(
        ("--strict",),
        {
            "action": "store_true",
            "help": "a test whose measured window is generator-bound (loadrec short of CPU) ends FAILED",
        },
    ),
    Option(
        ("--records",),
        {
            "type": at_least(1, MAX_RECORDS),
            "nargs": "?",
            "const": DEFAULT_RECORDS,
            "default": 0,
            "metavar": "LIMIT",
            "help": "write each test's per-request records (tests/N/records.jsonl.gz), at most LIMIT of them "
            f"(default {DEFAULT_RECORDS:,}; beyond, an even sample, each record weighted)",
        },
        frozenset({RUN, UI}),
    ),
    Option(
        ("--test-index",),
        {"type": non_negative, "default": 0, "help": "which endpoint configuration to test (default 0)"},
        frozenset({STOCK}),
    ),
)


def add_options(parser: argparse.ArgumentParser, where: str, **extra: Any) -> None:
    """Add the options ``where`` offers; ``extra`` goes to every add_argument (e.g. Locust's ``include_in_web_ui``)."""
    if where == STOCK:  # Locust's parser is configargparse's: it reads environment variables
        parser.add_argument(*LIMITS.flags, **LIMITS.kwargs, env_var=LIMITS_ENV, **extra)
    for option in OPTIONS:
        if where in option.where:
            parser.add_argument(*option.flags, **option.kwargs, **extra)


def settings_from(options: argparse.Namespace, where: str) -> RunSettings:
    """The settings the options parsed for ``where`` name (in stock runs, distribution is Locust's own)."""
    master, processes = None, 0
    if where != STOCK:  # Locust's own flags distribute a stock run
        processes = options.processes
        if getattr(options, "master", False):
            master = MasterSettings(options.expect_workers, options.master_bind_host, options.master_bind_port)
    weights = Weights(
        *(Importance.parse(getattr(options, f"{o}_importance")) for o in ("cost", "latency", "throughput"))
    )
    return RunSettings(
        limits=LimitsMode(options.limits or LimitsMode.AWS.value),
        monitor=MonitorSettings(window_s=options.window, evaluate_every_s=options.evaluate_every),
        seed=options.seed,
        payloads=getattr(options, "payloads", None),
        prices=str(Path(options.prices).resolve()) if options.prices else None,
        weights=weights,
        publish_metrics=options.publish_metrics,
        processes=processes,
        master=master,
        keep_endpoints=bool(getattr(options, "keep_endpoints", False)),
        strict=bool(getattr(options, "strict", False)),
        records=int(getattr(options, "records", 0) or 0),
    )
