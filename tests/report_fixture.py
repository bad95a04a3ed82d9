"""A job's typed results for the report's tests and ``make report-screenshot``.

Three configurations: ml.c5.large completed on a plateau (STAIRS of 2 users every 8 s,
throughput flat from 6 users, one second with only timeouts), the second (a hostile
label) failed before any traffic, the third not in the base fixture's results.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.measurement.metrics import TimelineRow
from loadrec.engine.measurement.monitor import Level
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.model import Benchmark, JobResults, job_results

MALICIOUS = "<img src=x onerror=alert(1)>"
CREATED = datetime(2026, 11, 24, 14, 44, 41, 555000, tzinfo=UTC).timestamp()
UPDATED = datetime(2026, 11, 24, 14, 46, 14, 98000, tzinfo=UTC).timestamp()

REQUEST: dict[str, Any] = {
    "JobName": "report-job",
    "JobType": "Advanced",
    "JobDescription": "Fixture for the report & its <escaping>",
    "InputConfig": {
        "TrafficPattern": {
            "TrafficType": "STAIRS",
            "Stairs": {"DurationInSeconds": 48, "NumberOfSteps": 6, "UsersPerStep": 2},
        },
        "EndpointConfigurations": [
            {"InstanceType": "ml.c5.large"},
            {"InstanceType": "ml.c5.xlarge"},
            {"InstanceType": "ml.c5.2xlarge"},
        ],
    },
    "StoppingConditions": {
        "MaxInvocations": 30000,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
        "FlatInvocations": "Stop",
    },
    "Loadrec": {"Targets": [{"Http": {"Url": f"http://127.0.0.1:{port}/invocations"}} for port in (1, 2, 3)]},
}

COMPLETED = Benchmark(
    index=0,
    label="ml.c5.large",
    status=Status.COMPLETED,
    stop_reason="flat invocations",
    stop_detail="invocations flat at 13320/min from 6 users",
    sizing=Sizing(4, 53280, 51263, 0.476, None),
    plateau=Level(6, 16, 24, 13320.0),
)
FAILED = Benchmark(
    index=1,
    label=MALICIOUS,
    status=Status.FAILED,
    stop_reason="error",
    failure_reason="endpoint answered <b>500</b> & closed",
)


def rows() -> tuple[TimelineRow, ...]:
    """Test 0's seconds."""
    found = []
    for second in range(42):
        users = 2 + 2 * (second // 8)
        served = 37 * min(users, 6) + second % 3 - 1
        p50 = 27.0 * max(1.0, users / 6) + second % 4 * 0.2
        latency: dict[float, float | None] = {50.0: p50, 95.0: p50 * 1.06, 99.0: p50 * 1.12}
        failures, errors = 0, {}
        if second == 30:  # nothing succeeded: no latency, a gap in the lines
            served, failures, errors = 0, 5, {"timeout": 5}
            latency = {50.0: None, 95.0: None, 99.0: None}
        found.append(TimelineRow(second, users, users, 0, served, failures, latency, errors))
    return tuple(found)


def fixture_results(benchmarks: tuple[Benchmark, ...] = (COMPLETED, FAILED), timelines: bool = True) -> JobResults:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    return job_results(
        spec, "fixture", benchmarks, (CREATED, UPDATED), Weights(), timelines={0: rows()} if timelines else {}
    )
