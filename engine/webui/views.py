"""What the web UI's page says, as plain values for its templates: pure functions of the job and a snapshot.

- ``plan``: before START, the job as it will run (pattern and its chart, stopping
  conditions, limits, configurations and their targets, payloads);
- ``live``: one run as it stands: per configuration the users, the monitor's last
  window (invocations per minute, p50/p95/p99 from loadrec's histograms), each stopping
  condition against its limit with the closest marked, the plateau, the stop, and the
  report's charts; at the end the ranked table, re-ranked by the importances asked for.

The numbers come from the same functions as the terminal, the report and the monitor
(``readings``, ``recommendation_table``, ``test_section``): the page cannot disagree with them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadrec.engine.job.provisioning import CommandProvisioning, Provisioning
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import HttpTarget, Target
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import AUTO, AUTO_MIN_USERS, RunSettings
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, closest, readings
from loadrec.engine.measurement.prices import PriceFileError, PriceTable, instance_price, load_prices
from loadrec.engine.measurement.ranking import Importance, Weights
from loadrec.engine.results.model import Benchmark, JobResults, Status
from loadrec.engine.results.outputs.charts import ChartOptions, Series, line_chart
from loadrec.engine.results.outputs.report import USERS, recommendation_table, test_section
from loadrec.engine.results.outputs.terminal import search_sentence, stopping_sentence, test_notes
from loadrec.engine.webui.console import Snapshot

OBJECTIVES = ("cost", "latency", "throughput")
LEVELS = tuple(level.label for level in Importance)
PENDING = "PENDING"  # a test of a running job that has not started yet (the page's word, never in results)
PLAN_CHART_POINTS = 2_000  # a relaxed pattern may have a billion steps: the chart samples it


class BadWeights(ValueError):
    """An importance that is not one of Studio's five levels."""


def weights_from(query: Mapping[str, str], default: Weights) -> Weights:
    """The importances a query asks for (``cost=High&latency=Lowest``), the run's own otherwise."""
    chosen = {}
    for objective in OBJECTIVES:
        text = query.get(objective)
        if text is None:
            chosen[objective] = getattr(default, objective)
        elif text in LEVELS:
            chosen[objective] = Importance.parse(text)
        else:
            raise BadWeights(f"{objective}: {text[:20]!r} is not one of {', '.join(LEVELS)}")
    return Weights(**chosen)


def shown_target(target: Target | None, provisioning: Provisioning | None = None) -> str:
    """A target as the page shows it: a URL without its query (it may hold a key) or an endpoint's name;
    for an endpoint loadrec creates, the URL it will answer at."""
    if target is None:
        if isinstance(provisioning, CommandProvisioning):
            return f"created for the test, at {shown_target(HttpTarget(provisioning.url))}"
        return "a SageMaker endpoint created for the test" if provisioning is not None else "created for the test"
    return target.label  # an URL's query values masked


def plan(spec: JobSpec, tests: list[PreparedTest], settings: RunSettings) -> dict[str, Any]:
    """What START will run, before it runs: the page's top section."""
    schedule = spec.schedule
    limit = spec.resource_limit
    rules = [f"at most {limit.max_number_of_tests} tests, {limit.max_parallel_of_tests} at a time"]
    if spec.job_duration_s is not None:
        rules.append(f"no test starts after {spec.job_duration_s} s (JobDurationInSeconds)")
    payloads = tests[0].payloads if tests else ()
    table = _table(settings)
    content_types = sorted({p.content_type for p in payloads if p.content_type})
    return {
        "name": spec.name,
        "description": spec.description or "",
        "limits": spec.limits.value,
        "pattern": f"{spec.traffic.kind}: {schedule.duration_s} s, peaking at {schedule.peak_users} users"
        if spec.extension.search is None
        else search_sentence(spec.extension.search),
        "chart": _schedule_chart(spec),
        "conditions": _conditions(spec, settings.monitor),
        "stopping": stopping_sentence(spec.stopping, spec.extension.search),
        "rules": rules,
        "payloads": f"{len(payloads)} payload{'s' if len(payloads) != 1 else ''}"
        + (f" ({', '.join(content_types)})" if content_types else ""),
        "load": _load_text(settings),
        "configurations": [
            {
                "index": test.index,
                "label": test.label,
                "target": shown_target(test.target, spec.extension.provisioner),
                "price": _price(spec, test.index, table),
            }
            for test in tests
        ],
    }


def _price(spec: JobSpec, index: int, table: PriceTable | None) -> str:
    """What the test will cost, as the results will price it: the target's own price, else the table's for
    its instance type (the bundled one unless --prices), else by use for serverless; "-" when none."""
    target = spec.target_of(index)
    if target is not None and target.price_per_hour is not None:
        return f"${target.price_per_hour:g}/hour"
    configuration = spec.configuration_of(index)
    if configuration is None or table is None:
        return "-"
    if configuration.serverless is not None:
        return "by use (serverless)" if table.serverless_per_gb_second is not None else "-"
    price = instance_price(table, configuration.instance_type) if configuration.instance_type else None
    return "-" if price is None else f"${price:g}/hour ({table.region})"


def _table(settings: RunSettings) -> PriceTable | None:
    try:
        return load_prices(Path(settings.prices) if settings.prices else None)
    except PriceFileError:  # refused when the run starts, with its reason
        return None


def _conditions(spec: JobSpec, monitor: MonitorSettings) -> list[tuple[str, str]]:
    stopping = spec.stopping
    rows = [("endpoint errors", f"more than {monitor.error_ratio:.0%} of requests fail in the window")]
    if stopping.latency is not None:
        rows.append((f"{stopping.latency.percentile} model latency", f"{stopping.latency.value_ms} ms"))
    rows += [(threshold.name, f"{threshold.value_ms:g} ms") for threshold in stopping.tokens.thresholds]
    slo = stopping.slo
    if slo is not None and slo.min_attainment is not None:
        rows.append(("SLO attainment", f"at least {slo.min_attainment:g}% of requests good"))
    if stopping.max_invocations is not None:
        rows.append(("invocations per minute", f"{stopping.max_invocations:,}"))
    rows.append(("flat invocations", stopping.flat_invocations))
    rows.append(("window", f"trailing {monitor.window_s} s, evaluated every {monitor.evaluate_every_s} s"))
    return rows


def _load_text(settings: RunSettings) -> str:
    if settings.master is not None:
        return f"a Locust master per test, waiting for {settings.master.expect_workers} loadrec worker(s)"
    if settings.processes == AUTO:
        return f"one load process per core when the pattern peaks at {AUTO_MIN_USERS} users or more, else one"
    if settings.processes:
        return f"a Locust master per test with {settings.processes} local worker processes"
    return "one load process per test"


def _schedule_chart(spec: JobSpec) -> str:
    schedule = spec.schedule
    points: list[tuple[float, float | None]] = [
        (float(p.at), float(p.users)) for p in itertools.islice(schedule.change_points(), PLAN_CHART_POINTS + 1)
    ]
    if len(points) > PLAN_CHART_POINTS:  # too many steps to draw one by one: sample the pattern evenly
        step = schedule.duration_s / PLAN_CHART_POINTS
        points = [(i * step, float(schedule.users_at(i * step) or 0)) for i in range(PLAN_CHART_POINTS)]
    if points:
        points.append((float(schedule.duration_s), points[-1][1]))
    options = ChartOptions("Traffic pattern", "seconds from test start", "target users", width=460, height=220)
    return line_chart([Series("target users", points, USERS, step=True)], options)


def live(snapshot: Snapshot, spec: JobSpec, settings: RunSettings, weights: Weights) -> dict[str, Any]:
    """One run as it stands, its table ranked by ``weights`` (the page's choice, else the run's own)."""
    results = snapshot.results
    view: dict[str, Any] = {"number": snapshot.number, "folder": str(snapshot.folder), "problem": snapshot.problem}
    view["stopping"] = snapshot.stopping
    if results is None:
        return {**view, "status": Status.IN_PROGRESS.value, "when": "", "tests": [], "table": None, "failure": None}
    results = results.with_weights(weights)
    view["status"] = results.status.value
    view["when"] = _when(results)
    view["failure"] = results.failure_reason
    started = {b.index: b for b in results.benchmarks}
    view["tests"] = [
        _test(results, started[index], snapshot.windows.get(index), settings.monitor)
        if index in started
        else {"index": index, "label": spec.label_of(index), "status": PENDING}
        for index in range(len(spec.cases))
    ]
    view["table"] = recommendation_table(results) if results.status.finished else None
    view["weights"] = {objective: getattr(weights, objective).label for objective in OBJECTIVES}
    view["files_ranking"] = "" if weights == settings.weights else _files_note(settings.weights)
    view["ranking"] = [_ranked(results, b) for b in results.in_rank_order] if results.status.finished else []
    return view


def _files_note(weights: Weights) -> str:
    levels = ", ".join(f"{objective} {getattr(weights, objective).label}" for objective in OBJECTIVES)
    return f"The files below keep the run's own ranking ({levels})."


def _ranked(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    """One row of the ranked table in numbers, for ``/loadrec/status`` (the page shows the same, formatted)."""
    ranked, sizing = results.rank_of(benchmark), benchmark.sizing if benchmark.measured else None
    top = results.top
    return {
        "configuration": benchmark.label,
        "rank": ranked.rank if ranked else None,
        "score": ranked.score if ranked else None,
        "top": top is not None and top.index == benchmark.index,
        "status": benchmark.status.value,
        "stop_reason": benchmark.stop_reason,
        "max_invocations": sizing.max_invocations if sizing else None,
        "model_latency_us": sizing.model_latency_us if sizing else None,
        "instances": sizing.initial_instance_count if sizing else None,
        "cost_per_hour": sizing.cost_per_hour if sizing else None,
        "cost_per_inference": sizing.cost_per_inference if sizing else None,
    }


def _test(
    results: JobResults, benchmark: Benchmark, window: WindowStats | None, monitor: MonitorSettings
) -> dict[str, Any]:
    rows = results.timelines.get(benchmark.index, ())
    last = rows[-1] if rows else None
    if last is not None and benchmark.status.finished:  # after the pattern the target is 0: show where it ended
        last = next((row for row in reversed(rows) if row.users), last)
    view: dict[str, Any] = {
        "index": benchmark.index,
        "label": benchmark.label,
        "status": benchmark.status.value,
        "users": f"{last.users} target, {last.running_users} running" if last else "-",
        "workers": last.workers if last else 0,
        "stop": benchmark.stop_reason,
        "detail": benchmark.stop_detail,
        "failure": benchmark.failure_reason,
        "plateau": _plateau(benchmark),
        "window": None,
        "readings": [],
        "figures": test_section(results, benchmark)["figures"],
        "generator": _generator(benchmark, window),
        "notes": test_notes(benchmark),  # its prompts, records, rate, search and, once measured, its intervals
    }
    if window is not None:
        found = readings(results.spec.stopping, monitor, window)
        nearest = closest(found)
        view["window"] = {
            "span": f"{window.start}–{window.end} s",
            "invocations": f"{window.invocations_per_minute:,.0f}",
            "latency": [(f"p{q:g}", _ms(window.latency_ms.get(q))) for q in REPORTED_PERCENTILES],
            "streamed": _streamed(window),
        }
        view["readings"] = [
            {
                "condition": r.condition,
                "value": r.value,
                "limit": r.limit,
                "percent": "-" if r.ratio is None else f"{r.ratio:.0%}",
                "closest": r is nearest,
                "waiting": r.waiting,  # not judged yet, and why
            }
            for r in found
        ]
    return view


def _generator(benchmark: Benchmark, window: WindowStats | None) -> dict[str, Any] | None:
    """The load generator's verdict: the measured window's once the test has ended, else the live window's."""
    verdict = benchmark.generator if benchmark.status.finished else (window.generator if window else None)
    if verdict is None:
        return None
    return {"bound": verdict.bound, "text": verdict.summary()}


def _plateau(benchmark: Benchmark) -> str:
    plateau = benchmark.plateau
    if plateau is None:
        return ""
    rate = plateau.invocations_per_minute
    return f"flat at {rate:,.0f} invocations/min from {plateau.users} users (from {plateau.start} s)"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _when(results: JobResults) -> str:
    started = datetime.fromtimestamp(results.created, UTC).strftime("%H:%M:%S UTC")
    if not results.status.finished:
        return f"started {started}"
    seconds = round(results.updated - results.created)
    return f"started {started}, ran {seconds} s"


def _streamed(window: WindowStats) -> list[tuple[str, str]]:
    """A streamed test's live values: TTFT p50/p95, ITL p95 (ms) and output tokens per second; with an SLO the
    share of good requests and good requests per second; in a request-rate test the arrivals dropped."""
    found = []
    if window.ttft_ms is not None and window.itl_ms is not None:
        found += [
            ("TTFT p50", _ms(window.ttft_ms.get(50.0))),
            ("TTFT p95", _ms(window.ttft_ms.get(95.0))),
            ("ITL p95", _ms(window.itl_ms.get(95.0))),
            ("tokens/s", f"{window.output_tokens_per_second:,.0f}"),
        ]
    if window.attainment is not None and window.good_per_second is not None:
        found += [("SLO met", f"{window.attainment:.1%}"), ("good/s", f"{window.good_per_second:,.1f}")]
    if window.dropped:
        found.append(("dropped", f"{window.dropped:,}"))
    return found


def status(state: str, run: dict[str, Any] | None) -> dict[str, Any]:
    """The live view as JSON (``/loadrec/status``), for scripts and checks: the same values as the page."""
    body: dict[str, Any] = {"state": state}
    if run is None:
        return body
    body |= {key: run.get(key) for key in ("number", "folder", "status", "failure", "problem")}
    body["tests"] = [{key: value for key, value in test.items() if key != "figures"} for test in run["tests"]]
    if run.get("ranking"):
        body["recommendations"] = run["ranking"]
    return body
