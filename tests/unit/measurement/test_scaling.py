"""Auto scaling advice: the documented rule, by exact numbers, in a shape botocore's parser accepts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from loadrec.engine.cli import main
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.scaling import (
    Measured,
    Objective,
    capacities,
    scaling_recommendation,
    target_per_instance,
)
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark
from loadrec.engine.running.manifest import finish_manifest, load_results, new_manifest, write_manifest
from tests.aws_shapes import parse_as
from tests.report_fixture import REQUEST

MEASURED = Measured(max_invocations=4800, instances=2, model_latency_us=51_263)  # 2,400 a minute per instance


@pytest.mark.parametrize(
    ("cpu", "objective", "target", "minimum", "maximum"),
    [
        (50, Objective(), 1200, 1, 4),  # half the peak; no objective: twice the instances that carry the peak
        (75, Objective(), 1800, 1, 4),
        (50, Objective(3000, 10000), 1200, 3, 9),  # ceil(3000/1200), ceil(10000/1200)
        (50, Objective(max_invocations_per_minute=600), 1200, 1, 1),
        (50, Objective(min_invocations_per_minute=5000, max_invocations_per_minute=1000), 1200, 5, 5),
        (1, Objective(), 24, 1, 4),
    ],
)
def test_targets_and_capacities_follow_the_rule(
    cpu: int, objective: Objective, target: int, minimum: int, maximum: int
) -> None:
    assert target_per_instance(MEASURED, cpu) == target
    assert capacities(MEASURED, target, objective) == (minimum, maximum)


def test_a_tiny_measurement_still_targets_one_invocation() -> None:
    assert target_per_instance(Measured(1, 1, None), 1) == 1


def test_the_answer_is_what_botocore_parses() -> None:
    body = scaling_recommendation(
        "churn-job", MEASURED, recommendation_id="5d9e3c0a1b2c", cpu_per_core=50, objective=Objective(3000, 10000)
    )
    parsed = parse_as("GetScalingConfigurationRecommendation", body)
    assert parsed["RecommendationId"] == "5d9e3c0a1b2c" and parsed["TargetCpuUtilizationPerCore"] == 50
    assert parsed["ScalingPolicyObjective"] == {"MinInvocationsPerMinute": 3000, "MaxInvocationsPerMinute": 10000}
    assert parsed["Metric"] == {"InvocationsPerInstance": 1200, "ModelLatency": 51_263}
    dynamic = parsed["DynamicScalingConfiguration"]
    assert (dynamic["MinCapacity"], dynamic["MaxCapacity"]) == (3, 9)
    assert (dynamic["ScaleInCooldown"], dynamic["ScaleOutCooldown"]) == (300, 300)
    assert dynamic["ScalingPolicies"] == [
        {
            "TargetTracking": {
                "MetricSpecification": {
                    "Predefined": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
                },
                "TargetValue": 1200.0,
            }
        }
    ]
    endpoint = scaling_recommendation("churn-job", MEASURED, endpoint_name="churn-c5")
    assert "ScalingPolicyObjective" not in endpoint and endpoint["EndpointName"] == "churn-c5"
    parse_as("GetScalingConfigurationRecommendation", endpoint)


SERVERLESS = {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}


def a_measured_run(tmp_path: Path, serverless: int = 0) -> tuple[Path, str]:
    """A finished run of two measured configurations (the first ranks first), the first ``serverless`` of them
    serverless; returns its folder and the second's RecommendationId."""
    request = copy.deepcopy(REQUEST)
    configurations = request["InputConfig"]["EndpointConfigurations"]
    configurations[:serverless] = [SERVERLESS] * serverless
    spec = parse_job(request, LimitsMode.RELAXED)
    folder = ResultsFolder(tmp_path / "out")
    folder.claim(overwrite=False)
    manifest = new_manifest(spec, tmp_path, RunSettings(limits=LimitsMode.RELAXED), 1_000.0)
    write_manifest(folder, finish_manifest(manifest, 1_100.0, interrupted=False))
    sizings = (Sizing(2, 4800, 51_263, 0.2, 0.2 / 288_000), Sizing(1, 1500, 70_000, 0.3, 0.3 / 90_000))
    for index, sizing in enumerate(sizings):
        label = spec.case(index).label
        folder.write_benchmark(Benchmark(index, label, Status.COMPLETED, sizing=sizing, run_id=manifest.run_id))
    folder.release()
    results = load_results(folder)
    return folder.path, results.recommendation_id(results.benchmarks[1])


def test_the_command_scales_the_top_recommendation_or_the_one_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, second = a_measured_run(tmp_path)
    assert main(["scaling-recommendation", str(out)]) == 0
    top = parse_as("GetScalingConfigurationRecommendation", json.loads(capsys.readouterr().out))
    assert top["Metric"]["InvocationsPerInstance"] == 1200 and top["DynamicScalingConfiguration"]["MaxCapacity"] == 4
    arguments = ["--recommendation-id", second, "--target-cpu-utilization-per-core", "80"]
    assert main(["scaling-recommendation", str(out), *arguments, "--max-invocations-per-minute", "6000"]) == 0
    named = json.loads(capsys.readouterr().out)
    assert named["RecommendationId"] == second and named["Metric"]["InvocationsPerInstance"] == 1200  # 1500 × 0.8
    assert named["DynamicScalingConfiguration"]["MaxCapacity"] == 5
    assert main(["scaling-recommendation", str(out), "--endpoint-name", "127-0-0-1-2-invocations"]) == 0
    assert json.loads(capsys.readouterr().out)["EndpointName"] == "127-0-0-1-2-invocations"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--recommendation-id", "nope"], '--recommendation-id: "nope" is not one of '),
        (["--endpoint-name", "other"], '--endpoint-name: "other" was not tested in this run (127-0-0-1-1-'),
        (
            ["--min-invocations-per-minute", "9", "--max-invocations-per-minute", "5"],
            "--min-invocations-per-minute: 9 is above",
        ),
    ],
)  # fmt: skip
def test_bad_choices_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], expected: str
) -> None:
    out, _ = a_measured_run(tmp_path)
    assert main(["scaling-recommendation", str(out), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith(expected) and len(error.strip().splitlines()) == 1, error


def test_a_serverless_recommendation_gets_no_instance_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, second = a_measured_run(tmp_path / "one", serverless=1)
    assert main(["scaling-recommendation", str(out)]) == 0  # the top is serverless: the best instance-based one
    assert json.loads(capsys.readouterr().out)["RecommendationId"] == second
    first = load_results(ResultsFolder(out))
    first_id = first.recommendation_id(first.benchmarks[0])
    assert main(["scaling-recommendation", str(out), "--recommendation-id", first_id]) == 2
    assert capsys.readouterr().err.strip() == (
        f'--recommendation-id: "{first_id}" is serverless: a serverless endpoint scales by itself up to its '
        "MaxConcurrency; this advice is for instances"
    )
    only_serverless, _ = a_measured_run(tmp_path / "both", serverless=2)
    assert main(["scaling-recommendation", str(only_serverless)]) == 2
    assert capsys.readouterr().err.startswith("no recommendation to scale: a serverless endpoint scales by itself")
