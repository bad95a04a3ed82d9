"""The typed results: job status, ranking, Benchmark files, and AWS's response shapes as botocore parses them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from loadrec.engine.measurement.health import Health, verdict
from loadrec.engine.measurement.monitor import Level
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Importance, Weights
from loadrec.engine.results import aws
from loadrec.engine.results.model import Benchmark, ended_early, job_results, job_status, not_run
from tests.aws_shapes import parse_as
from tests.report_fixture import COMPLETED, CREATED, UPDATED, fixture_results


def measured(index: int, per_minute: int, latency_us: int, cost_per_hour: float) -> Benchmark:
    sizing = Sizing(1, per_minute, latency_us, cost_per_hour, cost_per_hour / (per_minute * 60))
    return Benchmark(index, f"c{index}", Status.COMPLETED, "pattern complete", sizing=sizing, start_epoch=CREATED,
                     end_epoch=UPDATED)  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "interrupted", "expected"),
    [
        ((Status.COMPLETED, Status.FAILED), False, Status.COMPLETED),
        ((Status.FAILED, Status.NOT_RUN), False, Status.FAILED),
        ((), False, Status.FAILED),
        ((Status.COMPLETED,), True, Status.STOPPED),
    ],
)
def test_job_status(statuses: tuple[Status, ...], interrupted: bool, expected: Status) -> None:
    benchmarks = [Benchmark(i, f"c{i}", status) for i, status in enumerate(statuses)]
    assert job_status(benchmarks, interrupted) is expected
    assert job_status(benchmarks, interrupted, running=True) is Status.IN_PROGRESS


def test_a_person_stopping_one_test_stops_the_job_whatever_started_it() -> None:
    stopped = Benchmark(0, "c0", Status.STOPPED, "stopped by user")
    assert job_status([stopped, measured(1, 100, 1000, 1.0)], interrupted=False) is Status.STOPPED


def test_the_ranking_and_failure_reason_come_with_the_end_of_the_job() -> None:
    cheap, fast = measured(0, 1000, 50_000, 0.1), measured(1, 4000, 20_000, 1.0)
    failed = Benchmark(2, "c2", Status.FAILED, failure_reason="no successful invocation")
    spec = fixture_results().spec
    running = job_results(spec, "r", [cheap, fast, failed], (0.0, 1.0), Weights(), running=True)
    assert running.status is Status.IN_PROGRESS and running.ranking == () and running.top is None
    done = job_results(spec, "r", [fast, failed, cheap], (0.0, 1.0), Weights(Importance.HIGHEST, Importance.LOWEST,
                                                                         Importance.LOWEST))  # fmt: skip
    assert [b.index for b in done.benchmarks] == [0, 1, 2]
    assert done.status is Status.COMPLETED and done.top == cheap and [r.index for r in done.ranking] == [0, 1]
    nothing = job_results(spec, "r", [failed], (0.0, 1.0), Weights())
    assert nothing.status is Status.FAILED and nothing.failure_reason == "c2: no successful invocation"


def test_a_benchmark_file_round_trips_and_strict_json_is_enforced() -> None:
    benchmark = dataclasses.replace(
        measured(0, 1200, 40_000, 0.2),
        plateau=Level(3, 10, 20, 1180.0),
        errors={"HTTP 503": 2},
        worker_events=({"Second": 4, "Worker": "w1", "Event": "lost"},),
        generator=verdict([Health(cpu_percent=97.0, lag_ms=80.0)] * 3),
        generator_test=verdict([Health(cpu_percent=20.0)] * 30),
    )
    assert Benchmark.from_json(benchmark.to_json()) == benchmark
    damaged = json.loads(benchmark.to_json())
    damaged["generator"]["CpuPercent"] = "97"  # what loadrec never writes: read as damage, not shown
    with pytest.raises(TypeError):
        Benchmark.from_json(json.dumps(damaged))
    with pytest.raises(ValueError):
        dataclasses.replace(benchmark, end_epoch=float("nan")).to_json()


def test_a_test_that_ended_early_keeps_what_it_had() -> None:
    running = Benchmark(0, "c0", Status.IN_PROGRESS, start_epoch=100.0, plateau=Level(2, 0, 4, 60.0))
    ended = ended_early(running, "its process was killed by SIGKILL", 7)
    assert ended.status is Status.FAILED and ended.stop_second == 7 and ended.end_epoch == 107.0
    assert ended.plateau == running.plateau
    assert ended.failure_reason == "its process was killed by SIGKILL"


def test_describe_and_steps_are_what_botocore_parses() -> None:
    results = fixture_results((measured(0, 1000, 50_000, 0.1), not_run(1, "ml.c5.xlarge", "MaxNumberOfTests is 1")))
    describe, steps = aws.describe(results), aws.steps(results)
    parsed = parse_as("DescribeInferenceRecommendationsJob", describe)
    assert parsed["Status"] == "COMPLETED" and len(parsed["InferenceRecommendations"]) == 1
    recommendation = parsed["InferenceRecommendations"][0]
    assert recommendation["Metrics"]["ModelLatency"] == 50_000  # µs, as AWS reports it
    assert recommendation["EndpointConfiguration"]["InitialInstanceCount"] == 1
    parsed_steps = parse_as("ListInferenceRecommendationsJobSteps", steps)
    assert [s["Status"] for s in parsed_steps["Steps"]] == ["COMPLETED", "STOPPED"]
    assert parsed_steps["Steps"][1]["InferenceBenchmark"]["FailureReason"] == "not run: MaxNumberOfTests is 1"
    tests = describe["Loadrec"]["Tests"]
    assert [t["Status"] for t in tests] == ["COMPLETED", "NOT_RUN"]
    assert tests[0]["RecommendationId"] == recommendation["RecommendationId"]
    assert describe["Loadrec"]["TopRecommendation"] == {"Index": 0, "Configuration": "c0"}


def test_recommendation_ids_are_unique_per_run() -> None:
    one = fixture_results((measured(0, 1000, 50_000, 0.1),))
    other = dataclasses.replace(one, run_id="another")
    assert one.recommendation_id(one.benchmarks[0]) != other.recommendation_id(other.benchmarks[0])


def test_a_result_sized_to_no_instance_is_refused_as_damage() -> None:
    record = json.loads(COMPLETED.to_json())
    record["sizing"]["initial_instance_count"] = 0  # every per-instance figure would divide by it
    with pytest.raises(ValueError, match="no instance"):
        Benchmark.from_json(json.dumps(record))
