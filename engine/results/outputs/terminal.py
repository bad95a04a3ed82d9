"""What the terminal shows: a job's one-paragraph summary (``loadrec validate``) and its results table."""

from __future__ import annotations

from typing import Any

from loadrec.engine.job.provisioning import SageMakerProvisioning
from loadrec.engine.job.search_key import SearchKey
from loadrec.engine.job.spec import JobSpec, StoppingConditions
from loadrec.engine.measurement.outcome import Sizing
from loadrec.engine.measurement.ranking import UNPRICED
from loadrec.engine.results.model import Benchmark, JobResults
from loadrec.engine.results.separation import cannot_tell_apart
from loadrec.engine.results.thresholds import failed, judge
from loadrec.shapes.preview import format_clock


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
    ]
    rate = spec.extension.request_rate
    if rate is not None:
        peak = rate.per_user_per_s * schedule.peak_users
        parts.append(f"each user sends {rate.per_user_per_s:g} requests a second ({rate.arrivals} arrivals, "
                     f"at most {rate.max_in_flight:,} in flight), {peak:g} a second at the peak")  # fmt: skip
    if (search := spec.extension.search) is not None:
        parts.append(search_sentence(search))
    prompts = spec.extension.prompts
    if prompts is not None:
        made = (f"{prompts.synthetic.count:,} synthetic prompts" if prompts.synthetic is not None
                else f"the prompts of {prompts.dataset}")  # fmt: skip
        counted = f"tokens counted by {prompts.tokenizer}" if prompts.tokenizer else "lengths counted in words"
        parts.append(f"the bodies are {made} in {prompts.template} bodies ({counted})")
    if thresholds := spec.extension.thresholds:
        parts.append(f"every configuration must meet {', '.join(map(str, thresholds))}")
    return "; ".join(parts) + ". " + stopping_sentence(spec.stopping, spec.extension.search)


def _targets(spec: JobSpec) -> str:
    limit = spec.resource_limit
    tests = f"at most {limit.max_number_of_tests} tests, {limit.max_parallel_of_tests} at a time"
    if spec.existing_endpoints:
        return f"existing endpoint {', '.join(spec.existing_endpoints)}, {tests}"
    labels = ", ".join(c.label for c in spec.endpoint_configurations)
    count = len(spec.endpoint_configurations)
    text = f"{count} endpoint configuration{'s' if count != 1 else ''} ({labels})"
    if len(spec.cases) != count:
        text += f" making {len(spec.cases)} tests with their environment parameters"
    untargeted = any(spec.target_of(case.index) is None for case in spec.cases)
    provisioner = spec.extension.provisioner
    if untargeted and provisioner is not None:
        kind = "SageMaker" if isinstance(provisioner, SageMakerProvisioning) else "Command"
        text += f", endpoints created per test by the {kind} provisioner"
    elif untargeted:  # a valid AWS request, which loadrec run cannot load yet: said now, not at the run
        text += (", with no target to load yet (loadrec run needs Loadrec.Targets, one per configuration, "
                 "or a Loadrec.Provisioner to create them)")  # fmt: skip
    return f"{text}, {tests}"


def stopping_sentence(stopping: StoppingConditions, search: SearchKey | None = None) -> str:
    """The stopping conditions in words, as one sentence (the summary and the report say the same); in a
    search, what makes a probe pass."""
    reasons = []
    if stopping.latency is not None:
        reasons.append(f"{stopping.latency.percentile} model latency exceeds {stopping.latency.value_ms} ms")
    reasons += [f"{t.name} exceeds {t.value_ms:g} ms" for t in stopping.tokens.thresholds]
    slo = stopping.slo
    if slo is not None and slo.min_attainment is not None:
        limits = [f"{name} at most {value:g} ms" for name, value in (("TTFT", slo.ttft_ms),
                  ("time per output token", slo.tpot_ms), ("end to end", slo.e2e_ms)) if value is not None]  # fmt: skip
        reasons.append(f"fewer than {slo.min_attainment:g}% of requests meet the SLO ({', '.join(limits)})")
    if search is not None:
        missed = ", ".join(reasons) + (", or " if reasons else "") + "more than half its requests fail"
        return (f"A probe fails when {missed}; the search ends once the most users that passed is within "
                f"{search.tolerance_percent:g}% of the fewest that failed, or MaxUsers passed.")  # fmt: skip
    if stopping.max_invocations:
        reasons.append(f"invocations reach {stopping.max_invocations:,} per minute")
    flat = "output tokens per second" if stopping.tokens.flat_in_tokens else "invocations"
    if stopping.flat_invocations == "Stop":
        reasons.append(f"{flat} stop growing as users are added")
    reasons.append("the traffic pattern ends")
    text = "Each test stops when " + ", ".join(reasons[:-1]) + (", or " if len(reasons) > 1 else "") + reasons[-1]
    if stopping.flat_invocations == "Continue":
        text += f"; flat {flat} are recorded and the test goes on"
    return text + "."


# (heading, width, alignment) of the recommendation table
COLUMNS = (
    ("", 1, "<"),
    ("rank", 4, ">"),
    ("configuration", 28, "<"),
    ("status", 11, "<"),
    ("stopped by", 18, "<"),
    ("seconds", 7, ">"),
    ("invocations", 11, ">"),
    ("max inv/min", 11, ">"),
    ("latency ms", 10, ">"),
    ("instances", 9, ">"),
    ("$/hour", 8, ">"),
    ("$/inference", 12, ">"),
)


LABEL_COLUMN = 2
MAX_LABEL_WIDTH = 72  # wider labels (many environment parameters) keep their start and their end


def _row(values: list[str], label_width: int) -> str:
    cells = []
    for column, (value, (_, width, align)) in enumerate(zip(values, COLUMNS, strict=True)):
        if column == LABEL_COLUMN:
            width = label_width
            if len(value) > width:  # the end tells a sweep's rows apart: the middle goes
                head = (width - 1) // 2
                value = value[:head] + "…" + value[-(width - 1 - head) :]
        cells.append(f"{value[:width]:{align}{width}}")
    return " ".join(cells).rstrip()


def render_results(results: JobResults) -> str:
    """The job status and recommendation table, for the terminal."""
    top = results.top
    labels = [benchmark.label for benchmark in results.benchmarks]
    label_width = min(MAX_LABEL_WIDTH, max([COLUMNS[LABEL_COLUMN][1], *map(len, labels)]))
    lines = [f"{results.spec.name}: {results.status.aws}", _row([c[0] for c in COLUMNS], label_width)]
    for benchmark in results.in_rank_order:
        sizing = benchmark.sizing if benchmark.measured else None
        ranked = results.rank_of(benchmark)
        rows = results.timelines.get(benchmark.index, ())
        latency = sizing.model_latency_us if sizing else None
        values = [
            "*" if top is not None and benchmark.index == top.index else "",
            _cell(ranked.rank if ranked else None, "{}"),
            benchmark.label,
            benchmark.status.value,
            benchmark.stop_reason or "-",
            _cell(len(rows) if rows else None, "{}"),
            _cell(sum(row.successes for row in rows) if rows else None, "{}"),
            _cell(sizing.max_invocations if sizing else None, "{}"),
            _cell(None if latency is None else latency / 1000, "{:.1f}"),
            _cell(sizing.initial_instance_count if sizing else None, "{}"),
            _cell(sizing.cost_per_hour if sizing else None, "{:.3f}"),
            _cell(sizing.cost_per_inference if sizing else None, "{:.3e}"),
        ]
        lines.append(_row(values, label_width))
        if sizing is not None and sizing.output_tokens_per_second is not None:
            lines.append(f"       {streamed_summary(sizing)}")
        if sizing is not None and sizing.good_requests_per_second is not None:
            lines.append(f"       {goodput_summary(sizing)}")
        lines += [f"       {note}" for note in test_notes(benchmark)]
        if benchmark.request_rate is not None:
            lines += [f"       ! {warning}" for warning in benchmark.request_rate.warnings()]
        if benchmark.failure_reason:
            lines.append(f"       {benchmark.failure_reason}")
        if benchmark.generator_bound and benchmark.generator is not None:
            lines.append(f"       ! {benchmark.generator.summary()}")
    if top is not None:
        weights = results.weights
        importance = (
            f"cost {weights.cost.label.lower()}, latency {weights.latency.label.lower()}, "
            f"throughput {weights.throughput.label.lower()}"
        )
        lines.append(f"* top recommendation: {top.label} (importance: {importance})")
        if (apart := cannot_tell_apart(results)) is not None:
            lines.append(f"WARNING: {apart}")
    if results.failure_reason:
        lines.append(f"FailureReason: {results.failure_reason}")
    lines += threshold_lines(results)
    unpriced = [r.label for r in results.ranking if r.warning]
    if unpriced:
        lines.append(f"WARNING: {', '.join(unpriced)} ranked with {UNPRICED}")
    bound = [b.label for b in results.benchmarks if b.generator_bound]
    if bound:
        lines.append(
            f"WARNING: figures of {', '.join(bound)} come from generator-bound windows (marked !): "
            "loadrec was short of CPU, so they understate the endpoint"
        )
    return "\n".join(lines)


def threshold_lines(results: JobResults) -> list[str]:
    """How many thresholds held, and a line per one that did not."""
    judgements = judge(results)
    if not judgements:
        return []
    bad = failed(judgements)
    lines = [f"thresholds: {len(judgements) - len(bad)} of {len(judgements)} passed"]
    return lines + [f"  {judgement.line()}" for judgement in bad]


def search_sentence(key: SearchKey) -> str:
    """What a search runs instead of the pattern, and its longest time."""
    bound = key.new_search()
    return (f"instead of the pattern a search probes {key.min_users} to {key.max_users} users, {key.probe_s} s a "
            f"probe, to within {key.tolerance_percent:g}% (at most {bound.max_probes} probes, "
            f"{format_clock(round(bound.max_seconds))})")  # fmt: skip


def test_notes(benchmark: Benchmark) -> list[str]:
    """What a test sent and found beside its figures, a line each (the table's and the report's): its prompts,
    its records, its request rate, its search, its figures' intervals."""
    confidence = benchmark.confidence if benchmark.measured else None
    found = (benchmark.prompts, benchmark.records, benchmark.request_rate, benchmark.search, confidence)
    return [part.summary() for part in found if part is not None]


def streamed_summary(sizing: Sizing) -> str:
    """A streamed endpoint's numbers at its recommendation, in one line."""
    parts = [f"{_cell(sizing.output_tokens_per_second, '{:.0f}')} output tokens/s "
             f"({_cell(sizing.answer_tokens_per_second, '{:.1f}')} per answer)"]  # fmt: skip
    parts.append(f"TTFT {_cell(sizing.ttft_ms, '{:.1f}')} ms, ITL {_cell(sizing.itl_ms, '{:.1f}')} ms")
    if sizing.cost_per_million_tokens is not None:
        parts.append(f"${sizing.cost_per_million_tokens:.3f} per million output tokens")
    return "; ".join(parts)


def goodput_summary(sizing: Sizing) -> str:
    """With an SLO: the measured window's attainment and goodput, in one line."""
    share = "-" if sizing.attainment is None else f"{sizing.attainment:.1%}"
    line = (f"SLO met by {share} of requests: {_cell(sizing.good_requests_per_second, '{:.2f}')} good requests/s, "
            f"{_cell(sizing.good_tokens_per_second, '{:.0f}')} good output tokens/s")  # fmt: skip
    if sizing.cost_per_million_good_tokens is not None:
        line += f"; ${sizing.cost_per_million_good_tokens:.3f} per million good output tokens"
    return line


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)
