"""The HTML report of a run: ``report.html``, one self-contained page rendered from ``JobResults``.

This module owns the page's content: the header (job, status, times, stopping
conditions in words), the table comparing every endpoint configuration with the top
pick highlighted, and three charts per test (load, latency, throughput against users).
The page itself is a Jinja2 template with autoescaping (labels and failure reasons are
free text); Jinja2 comes with Locust's web UI (Flask). The file must open offline and
from anywhere (an e-mail, a ticket), so the CSS is inline, the charts are inline SVG
drawn by :mod:`loadrec.engine.results.outputs.charts`, and the page loads nothing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import pandas as pd

from loadrec.engine.job.spec import StoppingConditions
from loadrec.engine.measurement.health import LIMITS
from loadrec.engine.measurement.monitor import Level
from loadrec.engine.results.model import Benchmark, JobResults
from loadrec.engine.results.outputs.charts import (
    ChartOptions,
    HRule,
    PointMark,
    Series,
    VRule,
    line_chart,
    scatter_chart,
)
from loadrec.engine.results.outputs.terminal import (
    goodput_summary,
    stopping_sentence,
    streamed_summary,
    test_notes,
    threshold_lines,
)
from loadrec.engine.results.outputs.timeline import timeline_frame
from loadrec.engine.results.separation import cannot_tell_apart

TEMPLATE = "report.html.j2"
SMOOTHING_SECONDS = 5  # per-second counts jump by one or two requests; a short trailing mean shows the trend
DASH = "–"
USERS, INVOCATIONS, FAILURES, STOP, PLATEAU = "#6b7280", "#2563eb", "#dc2626", "#111827", "#16a34a"
PERCENTILES = (("p50_ms", "p50", "#0d9488"), ("p95_ms", "p95", "#d97706"), ("p99_ms", "p99", "#7c3aed"))
LOAD_CAPTION = (
    f"Invocations per minute: successful invocations in each second × 60, averaged over a trailing "
    f"{SMOOTHING_SECONDS}-second window. Target users follow the traffic schedule (right axis)."
)
LATENCY_CAPTION = "Latency percentiles of each second's successful invocations; a gap is a second without a success."
THROUGHPUT_CAPTION = "Mean of per-second invocations × 60 at each target user level; the last second is left out."
TOKENS_CAPTION = (
    "Streamed answers: time to first token and inter-token latency percentiles of each second's answers, and "
    f"output tokens per second averaged over a trailing {SMOOTHING_SECONDS}-second window (right axis)."
)
GENERATOR_CAPTION = (
    "The load generator's own health each second (the worst load process): CPU share (left) and event-loop lag "
    "(right: how late a ready user got the loop). Past the dashed lines a second is generator-bound."
)
GENERATOR_SERIES = (("cpu_percent", "CPU %", "#7c3aed"),)
TOKEN_SERIES = (("ttft_p50_ms", "TTFT p50", "#0d9488"), ("ttft_p95_ms", "TTFT p95", "#d97706"),
                ("itl_p95_ms", "ITL p95", "#7c3aed"))  # fmt: skip
STATUS_CLASS = {"COMPLETED": "ok", "FAILED": "bad", "STOPPED": "warn", "NOT_RUN": "off", "IN_PROGRESS": "off"}
UTILIZATION = (("CpuUtilization", "CPU (%)"), ("MemoryUtilization", "memory (%)"))

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2937;margin:0;
background:#f3f4f6}main{max-width:1380px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}h3{font-size:16px;margin:0 0 4px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin-bottom:16px}
.meta{color:#4b5563;margin:2px 0}.detail{color:#6b7280;font-size:12px}.nodata{color:#6b7280;font-style:italic}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;vertical-align:middle}
.ok{background:#dcfce7;color:#166534}.bad{background:#fee2e2;color:#991b1b}.warn{background:#fef3c7;color:#92400e}
.off{background:#e5e7eb;color:#374151}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{font-size:12px;color:#4b5563;background:#f9fafb;vertical-align:bottom}td.num,th.num{text-align:right}
td.num{white-space:nowrap}td.stop{min-width:180px}.wide{overflow-x:auto}
tr.top td{background:#ecfdf5}tr.top td:first-child{box-shadow:inset 4px 0 #16a34a}
.pick{color:#166534;font-weight:700;white-space:nowrap}tr.reason td{color:#991b1b;font-size:13px;padding-top:0}
tr:has(+ tr.reason) td{border-bottom:0}
.charts{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:14px;margin-top:12px}
@media (max-width:1100px){.charts{grid-template-columns:1fr}}
figure{margin:0}figure svg{width:100%;height:auto;display:block}figcaption{color:#6b7280;font-size:12px;margin-top:4px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
"""


@cache
def template(name: str = TEMPLATE) -> jinja2.Template:
    """One of this room's pages (autoescaped: every value from a job or an endpoint is text)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("loadrec.engine.results.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(name)


def render_report(results: JobResults) -> str:
    """The whole page for one run, as HTML text."""
    return template().render(
        style=STYLE,
        status_class=STATUS_CLASS,
        job=_header(results),
        table=recommendation_table(results),
        tests=[test_section(results, benchmark) for benchmark in results.benchmarks],
    )


def _header(results: JobResults) -> dict[str, Any]:
    when = _when(results.created)
    if results.status.finished:
        when += f" to {_when(results.updated)} ({_duration(results.updated - results.created)})"
    return {
        "name": results.spec.name,
        "status": results.status.value,
        "when": when,
        "description": results.spec.description,
        "stopping": stopping_sentence(results.spec.stopping, results.spec.extension.search),
        "failure": results.failure_reason,
    }


def recommendation_table(results: JobResults) -> dict[str, Any]:
    """The table comparing every configuration, ranked; the report and the web UI show the same."""
    top = results.top
    ranked = bool(results.ranking)
    extra = [
        (key, heading)
        for key, heading in UTILIZATION
        if any(key in (b.utilization or {}) for b in results.benchmarks if b.measured)
    ]
    heads = [("", ""), *([("rank", "num"), ("score", "num")] if ranked else [])]
    heads += [("configuration", ""), ("status", ""), ("stopped by", "stop")]
    heads += [(h, "num") for h in ("max invocations / min", "model latency (ms)", "instances")]
    heads += [(h, "num") for h in ("cost / hour ($)", "cost / inference ($)")]
    heads += [(heading, "num") for _, heading in extra]
    rows = []
    for benchmark in results.in_rank_order:
        sizing = benchmark.sizing if benchmark.measured else None
        rank = results.rank_of(benchmark)
        latency = sizing.model_latency_us / 1000 if sizing and sizing.model_latency_us is not None else None
        numbers = [
            _cell(sizing.max_invocations if sizing else None, "{:,.0f}"),
            _cell(latency, "{:.1f}"),
            _cell(sizing.initial_instance_count if sizing else None, "{:.0f}"),
            _cell(sizing.cost_per_hour if sizing else None, "{:.3f}"),
            _cell(sizing.cost_per_inference if sizing else None, "{:.3g}"),
        ]
        numbers += [_cell((benchmark.utilization or {}).get(key) if sizing else None, "{:.1f}") for key, _ in extra]
        rows.append(
            {
                "top": top is not None and benchmark.index == top.index,
                "rank": _cell(rank.rank if rank else None, "{:.0f}"),
                "score": _cell(rank.score if rank else None, "{:.2f}"),
                "label": benchmark.label,
                "status": benchmark.status.value,
                "stop": benchmark.stop_reason or DASH,
                "detail": benchmark.stop_detail,
                "numbers": numbers,
                "failure": benchmark.failure_reason,
            }
        )
    notes = ["Model latency is reported in microseconds and shown here in milliseconds; costs cover all instances."]
    if ranked:
        weights = results.weights
        notes.insert(
            0,
            f"Ranked by importance: cost {weights.cost.label}, latency {weights.latency.label}, "
            f"throughput {weights.throughput.label}.",
        )
    if ranked and (apart := cannot_tell_apart(results)) is not None:
        notes.append(f"Warning: {apart}.")
    notes += threshold_lines(results)
    return {"heads": heads, "rows": rows, "ranked": ranked, "notes": notes}


def test_section(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    """One test's title, status, facts and charts (load, latency, throughput against users, and the tokens of
    a streamed endpoint)."""
    rows = timeline_frame(
        benchmark.index, benchmark.label, list(results.timelines.get(benchmark.index, ())), benchmark.start_epoch or 0
    )
    stop_second = _stop_second(benchmark, rows) if benchmark.status.finished else None  # a running test has none
    at = f" at {stop_second:g} s" if stop_second is not None else ""
    facts = []
    if benchmark.stop_reason:
        detail = f": {benchmark.stop_detail}." if benchmark.stop_detail else "."
        facts.append(f"Stopped by {benchmark.stop_reason}{at}{detail}")
    if benchmark.failure_reason:
        facts.append(f"Failure: {benchmark.failure_reason}")
    if benchmark.errors:
        facts.append("Errors: " + ", ".join(f"{k} × {n}" for k, n in benchmark.errors.items()))
    sizing = benchmark.sizing
    if sizing is not None and sizing.output_tokens_per_second is not None:
        facts.append(f"Streamed, at the recommendation: {streamed_summary(sizing)}.")
    if sizing is not None and sizing.good_requests_per_second is not None:
        facts.append(f"{goodput_summary(sizing)}.")
    facts += [f"{note[0].upper()}{note[1:]}." for note in test_notes(benchmark)]
    if benchmark.generator is not None:
        mark = "⚠ " if benchmark.generator.bound else ""
        facts.append(f"{mark}Measured window: {benchmark.generator.summary()}.")
    elif benchmark.generator_test is not None:
        facts.append(f"Whole test: {benchmark.generator_test.summary()}.")
    figures = []
    if not rows.empty:
        figures = [
            _load_chart(rows, benchmark.plateau, stop_second),
            _latency_chart(rows, results.spec.stopping, benchmark, stop_second),
            _throughput_chart(rows, benchmark.plateau),
        ]
        if "ttft_p50_ms" in rows.columns:
            figures.append(_tokens_chart(rows, results.spec.stopping, benchmark, stop_second))
        if rows["cpu_percent"].notna().any():
            figures.append(_generator_chart(rows, benchmark, stop_second))
    return {
        "title": f"Test {benchmark.index} · {benchmark.label}",
        "status": benchmark.status.value,
        "facts": facts,
        "figures": figures,
    }


def _stop_second(benchmark: Benchmark, rows: pd.DataFrame) -> float | None:
    """StopSecond, else the test's invocation time span, else the end of its last recorded second."""
    if benchmark.stop_second is not None:
        return float(benchmark.stop_second)
    if benchmark.start_epoch is not None and benchmark.end_epoch is not None:
        return float(round(benchmark.end_epoch - benchmark.start_epoch))
    return float(rows["second"].max()) + 1 if not rows.empty else None


def _load_chart(rows: pd.DataFrame, plateau: Level | None, stop_second: float | None) -> tuple[str, str]:
    seconds = rows["second"].astype(float).tolist()
    users = list(zip(seconds, _values(rows, "users"), strict=True))
    if stop_second is not None and users and stop_second > users[-1][0]:
        users.append((stop_second, users[-1][1]))  # the last level holds until the test stops
    series = [
        Series("invocations / min", _per_minute(rows, "invocations"), INVOCATIONS),
        Series("target users", users, USERS, step=True, axis=2, dash="5 3"),
    ]
    if _column(rows, "failures").sum() > 0:
        series.insert(1, Series("failures / min", _per_minute(rows, "failures"), FAILURES))
    vrules = []
    if plateau is not None:
        vrules.append(VRule(float(plateau.start), f"plateau ({plateau.users} users)", PLATEAU, "plateau"))
    options = ChartOptions("Load", "seconds from test start", "invocations / min", "target users", y2_integer=True)
    return line_chart(series, options, vrules=vrules), LOAD_CAPTION


def _latency_chart(
    rows: pd.DataFrame, stopping: StoppingConditions, benchmark: Benchmark, stop_second: float | None
) -> tuple[str, str]:
    series = _lines(rows, PERCENTILES)
    latency = stopping.latency
    hrules = []
    if latency is not None:
        hrules.append(
            HRule(latency.value_ms, f"{latency.percentile} threshold {latency.value_ms:g} ms", FAILURES, "threshold")
        )
    options = ChartOptions("Latency", "seconds from test start", "latency (ms)")
    return line_chart(series, options, hrules, _stop_rule(benchmark, stop_second)), LATENCY_CAPTION


def _tokens_chart(
    rows: pd.DataFrame, stopping: StoppingConditions, benchmark: Benchmark, stop_second: float | None
) -> tuple[str, str]:
    seconds = rows["second"].astype(float).tolist()
    series = _lines(rows, TOKEN_SERIES)
    tokens = _column(rows, "output_tokens").rolling(SMOOTHING_SECONDS, min_periods=1).mean()
    series.append(Series("output tokens / s", list(zip(seconds, tokens.tolist(), strict=True)), USERS, axis=2))
    hrules = [
        HRule(t.value_ms, f"{t.name} threshold {t.value_ms:g} ms", FAILURES, "threshold")
        for t in stopping.tokens.thresholds
    ]
    options = ChartOptions("Tokens", "seconds from test start", "TTFT, ITL (ms)", "output tokens / s")
    return line_chart(series, options, hrules, _stop_rule(benchmark, stop_second)), TOKENS_CAPTION


def _generator_chart(rows: pd.DataFrame, benchmark: Benchmark, stop_second: float | None) -> tuple[str, str]:
    seconds = rows["second"].astype(float).tolist()
    series = _lines(rows, GENERATOR_SERIES)
    series.append(Series("loop lag ms", list(zip(seconds, _values(rows, "loop_lag_ms"), strict=True)), STOP, axis=2))
    hrules = [HRule(LIMITS.cpu_percent, f"CPU limit {LIMITS.cpu_percent:g} %", FAILURES, "limit")]
    options = ChartOptions("Load generator", "seconds from test start", "CPU (%)", "loop lag (ms)")
    return line_chart(series, options, hrules, _stop_rule(benchmark, stop_second)), GENERATOR_CAPTION


def _lines(rows: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> list[Series]:
    """A series per (column, name, colour) over the test's seconds."""
    seconds = rows["second"].astype(float).tolist()
    return [
        Series(name, list(zip(seconds, _values(rows, column), strict=True)), colour) for column, name, colour in columns
    ]


def _stop_rule(benchmark: Benchmark, stop_second: float | None) -> list[VRule]:
    return [] if stop_second is None else [VRule(stop_second, f"stop: {benchmark.stop_reason or 'end'}", STOP, "stop")]


def _throughput_chart(rows: pd.DataFrame, plateau: Level | None) -> tuple[str, str]:
    # The last second is the one in which the test stops, usually cut short: left out unless it is all there is.
    measured = rows.iloc[:-1] if len(rows) > 1 else rows
    levels = measured.assign(per_minute=_column(measured, "invocations") * 60).groupby("users")["per_minute"].mean()
    points = [(float(u), float(v)) for u, v in levels.items() if _number(u) is not None]
    marks, vrules = [], []
    if plateau is not None:
        # A ring on the curve, and the words on a line up to the top band, clear of the data wherever the curve runs.
        users, rate = float(plateau.users), round(plateau.invocations_per_minute, 1)
        marks.append(PointMark(users, dict(points).get(users, rate), "", PLATEAU))
        vrules.append(VRule(users, f"plateau: {users:g} users, {rate:,.0f}/min", PLATEAU, "plateau"))
    options = ChartOptions("Throughput against users", "target users", "invocations / min", x_integer=True)
    series = [Series("mean invocations / min", points, INVOCATIONS)]
    return scatter_chart(series, options, vrules=vrules, marks=marks), THROUGHPUT_CAPTION


def _per_minute(rows: pd.DataFrame, name: str) -> list[tuple[float, float | None]]:
    smoothed = _column(rows, name).rolling(SMOOTHING_SECONDS, min_periods=1).mean() * 60
    return list(zip(rows["second"].astype(float), smoothed.astype(float), strict=True))


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    if name not in rows.columns:
        return pd.Series(0.0, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce").fillna(0.0)


def _values(rows: pd.DataFrame, name: str) -> list[float | None]:
    numbers = pd.to_numeric(rows[name], errors="coerce") if name in rows.columns else [None] * len(rows)
    return [_number(v) for v in numbers]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _cell(value: Any, form: str) -> str:
    number = _number(value)
    return DASH if number is None else form.format(number)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
