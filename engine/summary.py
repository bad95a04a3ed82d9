"""One-paragraph, human-readable summary of a validated job (``loadrec validate``)."""

from __future__ import annotations

from typing import Any

from engine.jobspec import JobSpec
from shapes.preview import format_clock


def summarize(spec: JobSpec) -> str:
    schedule = spec.schedule
    traffic = spec.traffic
    if traffic.kind == "PHASES":
        count = len(traffic.phases)
        pattern = f"a PHASES pattern of {count} phase{'s' if count != 1 else ''}"
    else:
        assert traffic.stairs is not None
        pattern = f"a STAIRS pattern of {traffic.stairs.number_of_steps} steps"
    parts = [
        f"{spec.name} is valid under {spec.limits.value} limits: {pattern}, "
        f"{schedule.duration_s} s in all ({format_clock(schedule.duration_s)}), "
        f"peaking at {schedule.peak_users} users",
        _targets(spec),
        _stopping(spec),
    ]
    return "; ".join(parts) + "."


def _targets(spec: JobSpec) -> str:
    limit = spec.resource_limit
    tests = f"at most {limit.max_number_of_tests} tests, {limit.max_parallel_of_tests} at a time"
    if spec.existing_endpoints:
        return f"existing endpoint {', '.join(spec.existing_endpoints)}, {tests}"
    labels = ", ".join(c.label for c in spec.endpoint_configurations)
    count = len(spec.endpoint_configurations)
    return f"{count} endpoint configuration{'s' if count != 1 else ''} ({labels}), {tests}"


def _stopping(spec: JobSpec) -> str:
    stopping = spec.stopping
    reasons = []
    if stopping.latency is not None:
        reasons.append(f"{stopping.latency.percentile} latency exceeds {stopping.latency.value_ms} ms")
    if stopping.max_invocations is not None:
        reasons.append(f"invocations reach {stopping.max_invocations} per minute")
    if stopping.flat_invocations == "Stop":
        reasons.append("invocations flatten")
    reasons.append("the pattern ends")
    text = "each test stops when " + ", ".join(reasons[:-1]) + (" or " if len(reasons) > 1 else "") + reasons[-1]
    if stopping.flat_invocations == "Continue":
        text += " (flat invocations are recorded and the test goes on)"
    return text


# (heading, width, alignment) of the recommendation table
COLUMNS = (
    ("", 1, "<"),
    ("rank", 4, ">"),
    ("configuration", 28, "<"),
    ("status", 10, "<"),
    ("stopped by", 18, "<"),
    ("max inv/min", 11, ">"),
    ("latency ms", 10, ">"),
    ("instances", 9, ">"),
    ("$/hour", 8, ">"),
    ("$/inference", 12, ">"),
)


def _row(values: list[str]) -> str:
    return " ".join(f"{value[:width]:{align}{width}}" for value, (_, width, align) in zip(values, COLUMNS, strict=True))


def render_describe(body: dict[str, Any]) -> str:
    """The job status and recommendation table of a describe.json, for the terminal."""
    extra = body.get("Loadrec", {})
    by_id = {r["RecommendationId"]: r for r in body.get("InferenceRecommendations", [])}
    ranks = {r["Index"]: r["Rank"] for r in extra.get("Ranking", [])}
    top = extra.get("TopRecommendation", {}).get("Index")
    lines = [f"{body.get('JobName', '?')}: {body.get('Status', '?')}", _row([c[0] for c in COLUMNS])]
    for test in extra.get("Tests", []):
        recommendation = by_id.get(test.get("RecommendationId", ""), {})
        metrics = recommendation.get("Metrics", {})
        latency = metrics.get("ModelLatency")
        values = [
            "*" if test["Index"] == top else "",
            _cell(ranks.get(test["Index"]), "{}"),
            test["Configuration"],
            test["Status"],
            test.get("StopReason", "-"),
            _cell(metrics.get("MaxInvocations"), "{}"),
            _cell(None if latency is None else latency / 1000, "{:.1f}"),
            _cell(recommendation.get("EndpointConfiguration", {}).get("InitialInstanceCount"), "{}"),
            _cell(metrics.get("CostPerHour"), "{:.3f}"),
            _cell(metrics.get("CostPerInference"), "{:.3e}"),
        ]
        lines.append(_row(values))
        if test.get("FailureReason"):
            lines.append(f"       {test['FailureReason']}")
    if top is not None:
        importance = ", ".join(f"{k.lower()} {v.lower()}" for k, v in extra.get("Importance", {}).items())
        lines.append(f"* top recommendation: {extra['TopRecommendation']['Configuration']} (importance: {importance})")
    if body.get("FailureReason"):
        lines.append(f"FailureReason: {body['FailureReason']}")
    return "\n".join(lines)


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)
