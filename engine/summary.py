"""One-paragraph, human-readable summary of a validated job (``loadrec validate``)."""

from __future__ import annotations

from engine.jobspec import JobSpec
from engine.results import TestResult
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


def render_results(tests: list[TestResult]) -> str:
    """The recommendation table of a run, one line per test."""
    header = (
        f"{'configuration':<28} {'status':<10} {'stopped by':<18} {'max inv/min':>11} {'latency ms':>10} "
        f"{'instances':>9} {'$/hour':>8} {'$/inference':>12}"
    )
    lines = [header]
    for test in tests:
        sizing = test.sizing
        cells = ["-"] * 5
        if sizing is not None:
            cells = [
                f"{sizing.max_invocations}",
                "-" if sizing.model_latency_us is None else f"{sizing.model_latency_us / 1000:.1f}",
                f"{sizing.initial_instance_count}",
                "-" if sizing.cost_per_hour is None else f"{sizing.cost_per_hour:.3f}",
                "-" if sizing.cost_per_inference is None else f"{sizing.cost_per_inference:.3e}",
            ]
        lines.append(
            f"{test.label[:28]:<28} {test.status:<10} {test.stop_reason:<18} {cells[0]:>11} {cells[1]:>10} "
            f"{cells[2]:>9} {cells[3]:>8} {cells[4]:>12}"
        )
        if test.failure_reason:
            lines.append(f"    {test.failure_reason}")
    return "\n".join(lines)
