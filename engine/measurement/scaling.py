"""Auto scaling advice from a measured recommendation, in GetScalingConfigurationRecommendation's shape. Pure.

The rule (docs/results.md says the same):
- **Target per instance.** SageMaker's target-tracking metric
  ``SageMakerVariantInvocationsPerInstance`` counts invocations per minute per instance.
  Its target is the measured maximum per instance (MaxInvocations / InitialInstanceCount,
  under the latency threshold) times a safety factor. AWS's load-testing guidance uses
  0.5. Here the factor is ``TargetCpuUtilizationPerCore`` / 100, whose default of 50 %
  gives that 0.5: an instance runs at about half its measured peak, with room for
  traffic to grow while new instances start. The target is rounded down to a whole
  invocation, and is at least 1.
- **MinCapacity.** ``ceil(MinInvocationsPerMinute / target)`` and at least 1; 1 without
  an objective.
- **MaxCapacity.** ``ceil(MaxInvocationsPerMinute / target)`` and at least MinCapacity.
  Without an objective it is the recommendation's InitialInstanceCount (what carries
  StoppingConditions.MaxInvocations at the measured peak) doubled, because the
  instances run at half their peak; it is still at least MinCapacity.
- **Cooldowns.** ``ScaleInCooldown`` 300 s and ``ScaleOutCooldown`` 300 s, the defaults
  Application Auto Scaling documents for SageMaker variants.
- **Metric.** ``Metric.InvocationsPerInstance`` is the target.
  ``Metric.ModelLatency`` is the latency measured at the recommendation's maximum, in µs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DEFAULT_CPU_PER_CORE = 50
SCALE_IN_COOLDOWN_S = 300
SCALE_OUT_COOLDOWN_S = 300
METRIC_TYPE = "SageMakerVariantInvocationsPerInstance"


@dataclass(frozen=True)
class Objective:
    """The traffic the endpoint should serve (ScalingPolicyObjective), invocations per minute."""

    min_invocations_per_minute: int | None = None
    max_invocations_per_minute: int | None = None


@dataclass(frozen=True)
class Measured:
    """What the recommendation measured: its maximum for all its instances, their count, its latency."""

    max_invocations: int
    instances: int
    model_latency_us: int | None


def target_per_instance(measured: Measured, cpu_per_core: int = DEFAULT_CPU_PER_CORE) -> int:
    per_instance = measured.max_invocations / max(measured.instances, 1)
    return max(1, math.floor(per_instance * cpu_per_core / 100))


def capacities(measured: Measured, target: int, objective: Objective) -> tuple[int, int]:
    low = objective.min_invocations_per_minute
    high = objective.max_invocations_per_minute
    minimum = max(1, math.ceil(low / target)) if low else 1
    maximum = math.ceil(high / target) if high else 2 * max(measured.instances, 1)
    return minimum, max(minimum, maximum)


def scaling_recommendation(
    job_name: str,
    measured: Measured,
    *,
    recommendation_id: str | None = None,
    endpoint_name: str | None = None,
    cpu_per_core: int = DEFAULT_CPU_PER_CORE,
    objective: Objective | None = None,
) -> dict[str, Any]:
    """The GetScalingConfigurationRecommendation response for one recommendation (or endpoint)."""
    objective = objective or Objective()
    target = target_per_instance(measured, cpu_per_core)
    minimum, maximum = capacities(measured, target, objective)
    body: dict[str, Any] = {"InferenceRecommendationsJobName": job_name}
    if recommendation_id is not None:
        body["RecommendationId"] = recommendation_id
    if endpoint_name is not None:
        body["EndpointName"] = endpoint_name
    body["TargetCpuUtilizationPerCore"] = cpu_per_core
    stated = {
        key: value
        for key, value in (
            ("MinInvocationsPerMinute", objective.min_invocations_per_minute),
            ("MaxInvocationsPerMinute", objective.max_invocations_per_minute),
        )
        if value is not None
    }
    if stated:
        body["ScalingPolicyObjective"] = stated
    metric: dict[str, Any] = {"InvocationsPerInstance": target}
    if measured.model_latency_us is not None:
        metric["ModelLatency"] = measured.model_latency_us
    body["Metric"] = metric
    body["DynamicScalingConfiguration"] = {
        "MinCapacity": minimum,
        "MaxCapacity": maximum,
        "ScaleInCooldown": SCALE_IN_COOLDOWN_S,
        "ScaleOutCooldown": SCALE_OUT_COOLDOWN_S,
        "ScalingPolicies": [
            {
                "TargetTracking": {
                    "MetricSpecification": {"Predefined": {"PredefinedMetricType": METRIC_TYPE}},
                    "TargetValue": float(target),
                }
            }
        ],
    }
    return body
