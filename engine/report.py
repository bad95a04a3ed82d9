"""The HTML report of a finished run: ``report.html``, one self-contained page from describe.json and timeline.csv.

This module owns the page: the header (job, status, times, stopping conditions in
words), the table comparing every endpoint configuration with the top pick
highlighted, and three charts per test (load, latency, throughput against users).
The file must open offline and from anywhere (an e-mail, a ticket), so the CSS is
inline, the charts are inline SVG drawn by ``engine.svg_charts``, and the page loads
nothing: no scripts, fonts, images or links. Everything read from the results files is
escaped, since labels and failure reasons are free text.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from engine.svg_charts import ChartOptions, HRule, PointMark, Series, VRule, line_chart, scatter_chart

REPORT_NAME = "report.html"
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
STATUS_CLASS = {"COMPLETED": "ok", "FAILED": "bad", "STOPPED": "warn", "NOT_RUN": "off"}

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


def render_report(describe: dict[str, Any], timeline: pd.DataFrame) -> str:
    """The whole page for one run, as HTML text."""
    loadrec = describe.get("Loadrec") or {}
    tests = _tests(describe, timeline)
    matched = _match(tests, describe.get("InferenceRecommendations") or describe.get("EndpointPerformances") or [])
    top = _top_index(loadrec, tests, matched)
    body = [_header(describe), _table(loadrec, tests, matched, top), "<h2>Tests</h2>"]
    body += [_section(test, _rows(timeline, test), describe) for test in tests]
    body.append('<p class="meta">Written by loadrec from describe.json and timeline.csv.</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>loadrec report: {_text(describe.get('JobName', 'unnamed job'))}</title>\n<style>{STYLE}</style>\n"
        "</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def write_report(out_dir: Path) -> Path:
    """Render ``out_dir/report.html`` from the run's files, replacing any previous report in one step."""
    describe = json.loads((out_dir / "describe.json").read_text())
    timeline_path = out_dir / "timeline.csv"
    timeline = pd.read_csv(timeline_path) if timeline_path.exists() else pd.DataFrame()
    text = render_report(describe, timeline)
    target = out_dir / REPORT_NAME
    # A unique temporary name in the same directory: the replace is atomic, and two writers never share a file.
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".report.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; the report is meant to be shared like the other results
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _tests(describe: dict[str, Any], timeline: pd.DataFrame) -> list[dict[str, Any]]:
    """Loadrec.Tests, or (files without it) one entry per test seen in the timeline."""
    tests = (describe.get("Loadrec") or {}).get("Tests")
    if tests or "test" not in timeline.columns:
        return [dict(t) for t in tests or []]
    labels = timeline.groupby("test")["configuration"].first() if "configuration" in timeline.columns else {}
    return [{"Index": i, "Configuration": labels.get(i, i), "Status": "?"} for i in sorted(timeline["test"].unique())]


def _label(recommendation: dict[str, Any]) -> str:
    endpoint = recommendation.get("EndpointConfiguration") or {}
    if endpoint.get("InstanceType"):
        return str(endpoint["InstanceType"])
    if serverless := endpoint.get("ServerlessConfig"):
        return f"serverless {serverless.get('MemorySizeInMB')} MB x{serverless.get('MaxConcurrency')}"
    return str((recommendation.get("EndpointInfo") or {}).get("EndpointName", ""))


def _match(tests: list[dict[str, Any]], recommendations: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Each test's recommendation, keyed by test Index: by RecommendationId, else by label, else by position."""
    by_id = {r["RecommendationId"]: r for r in recommendations if r.get("RecommendationId")}
    matched = {t["Index"]: by_id[t["RecommendationId"]] for t in tests if t.get("RecommendationId") in by_id}
    used = {id(r) for r in matched.values()}
    # Recommendations list the measured (COMPLETED) tests in test order: the n-th of those is the last resort.
    for position, test in enumerate(t for t in tests if t.get("Status") == "COMPLETED"):
        if test["Index"] in matched:
            continue
        same = [r for r in recommendations if id(r) not in used and _label(r) == str(test.get("Configuration"))]
        by_position = [r for r in recommendations[position : position + 1] if id(r) not in used]
        if choice := next(iter(same + by_position), None):
            matched[test["Index"]] = choice
            used.add(id(choice))
    return matched


def _top_index(loadrec: dict[str, Any], tests: list[dict[str, Any]], matched: dict[Any, dict[str, Any]]) -> Any:
    """TopRecommendation when the run ranked; otherwise the COMPLETED test with the most invocations."""
    if (loadrec.get("TopRecommendation") or {}).get("Index") is not None:
        return loadrec["TopRecommendation"]["Index"]
    scored = [
        (value, -position, test["Index"])
        for position, test in enumerate(tests)
        if test.get("Status") == "COMPLETED"
        and (value := _number((matched.get(test["Index"], {}).get("Metrics") or {}).get("MaxInvocations"))) is not None
    ]
    return max(scored)[2] if scored else None


def _header(describe: dict[str, Any]) -> str:
    created, completed = describe.get("CreationTime"), describe.get("CompletionTime")
    when = _when(created)
    if completed:
        span = _seconds_between(created, completed)
        when += f" to {_when(completed)}" + (f" ({_duration(span)})" if span is not None else "")
    lines = [
        f"<h1>{_text(describe.get('JobName', 'unnamed job'))} {_badge(describe.get('Status'))}</h1>",
        f'<p class="meta">{escape(when)}</p>' if created else "",
        f'<p class="meta">{_text(describe["JobDescription"])}</p>' if describe.get("JobDescription") else "",
        f'<p class="meta">{escape(_stopping(describe.get("StoppingConditions") or {}))}</p>',
        f'<p class="meta">Job failure: {_text(describe["FailureReason"])}</p>' if describe.get("FailureReason") else "",
    ]
    return '<header class="card">' + "\n".join(line for line in lines if line) + "</header>"


def _stopping(stopping: dict[str, Any]) -> str:
    reasons = [
        f"{t.get('Percentile', '?')} model latency exceeds {t.get('ValueInMilliseconds', '?')} ms"
        for t in stopping.get("ModelLatencyThresholds") or []
    ]
    if _number(stopping.get("MaxInvocations")):
        reasons.append(f"invocations reach {float(stopping['MaxInvocations']):,.0f} per minute")
    if stopping.get("FlatInvocations") == "Stop":
        reasons.append("invocations stop growing as users are added")
    reasons.append("the traffic pattern ends")
    text = "Each test stops when " + ", ".join(reasons[:-1]) + (", or " if len(reasons) > 1 else "") + reasons[-1]
    if stopping.get("FlatInvocations") == "Continue":
        text += "; flat invocations are recorded and the test goes on"
    return text + "."


def _table(loadrec: dict[str, Any], tests: list[dict[str, Any]], matched: dict[Any, dict[str, Any]], top: Any) -> str:
    ranks = {r.get("Index"): r for r in loadrec.get("Ranking") or []}
    metrics = {i: (r.get("Metrics") or {}) for i, r in matched.items()}
    extra = [(k, h) for k, h in (("CpuUtilization", "CPU (%)"), ("MemoryUtilization", "memory (%)"))
             if any(k in m for m in metrics.values())]  # fmt: skip
    heads = ["", *(["rank", "score"] if ranks else []), "configuration", "status", "stopped by"]
    heads += ["max invocations / min", "model latency (ms)", "instances", "cost / hour ($)", "cost / inference ($)"]
    heads += [heading for _, heading in extra]
    text_columns = {"": "", "configuration": "", "status": "", "stopped by": ' class="stop"'}
    align = [text_columns.get(h, ' class="num"') for h in heads]
    rows = ["<tr>" + "".join(f"<th{a}>{h}</th>" for a, h in zip(align, heads, strict=True)) + "</tr>"]
    for test in tests:
        index, found = test["Index"], metrics.get(test["Index"], {})
        stop = _text(test.get("StopReason") or DASH)
        if test.get("StopDetail"):
            stop += f'<br><span class="detail">{_text(test["StopDetail"])}</span>'
        latency = _number(found.get("ModelLatency"))
        rank = ranks.get(index, {})
        cells = ['<span class="pick">★ top pick</span>' if index == top else ""]
        cells += [_cell(rank.get("Rank"), "{:.0f}"), _cell(rank.get("Score"), "{:.2f}")] if ranks else []
        cells += [_text(test.get("Configuration", "")), _badge(test.get("Status")), stop]
        cells += [_cell(found.get("MaxInvocations"), "{:,.0f}"), _cell(latency and latency / 1000, "{:.1f}")]
        count = (matched.get(index, {}).get("EndpointConfiguration") or {}).get("InitialInstanceCount")
        cells += [_cell(count, "{:.0f}"), _cell(found.get("CostPerHour"), "{:.3f}")]
        cells += [_cell(found.get("CostPerInference"), "{:.3g}")] + [_cell(found.get(k), "{:.1f}") for k, _ in extra]
        tds = "".join(f"<td{a}>{c}</td>" for a, c in zip(align, cells, strict=True))
        rows.append(('<tr class="top">' if index == top else "<tr>") + f"{tds}</tr>")
        if test.get("FailureReason"):
            reason = _text(test["FailureReason"])
            rows.append(f'<tr class="reason"><td></td><td colspan="{len(heads) - 1}">{reason}</td></tr>')
    notes = ["Model latency is reported in microseconds and shown here in milliseconds; costs cover all instances."]
    if loadrec.get("Importance"):
        weights = ", ".join(f"{_text(k).lower()} {_text(v)}" for k, v in loadrec["Importance"].items())
        notes.insert(0, f"Ranked by importance: {weights}.")
    table = f'<div class="wide"><table>{"".join(rows)}</table></div>' + "".join(
        f'<p class="meta">{n}</p>' for n in notes
    )
    return f'<h2>Recommendation</h2><section class="card">{table}</section>'


def _section(test: dict[str, Any], rows: pd.DataFrame, describe: dict[str, Any]) -> str:
    name = f"Test {test.get('Index')} · {test.get('Configuration', '')}"
    title = f"<h3>{_text(name)} {_badge(test.get('Status'))}</h3>"
    stop_second = _stop_second(test, rows)
    at = f" at {stop_second:g} s" if stop_second is not None else ""
    facts = [
        f"Stopped by {test['StopReason']}{at}" + (f": {test['StopDetail']}." if test.get("StopDetail") else ".")
        if test.get("StopReason") else "",
        f"Failure: {test['FailureReason']}" if test.get("FailureReason") else "",
        "Errors: " + ", ".join(f"{k} × {n}" for k, n in test["Errors"].items()) if test.get("Errors") else "",
    ]  # fmt: skip
    meta = "".join(f'<p class="meta">{_text(f)}</p>' for f in facts if f)
    if rows.empty:
        return f'<section class="card">{title}{meta}<p class="nodata">No data: the timeline has no rows.</p></section>'
    plateau = test.get("Plateau") or {}
    figures = [
        _load_chart(rows, plateau, stop_second),
        _latency_chart(rows, describe.get("StoppingConditions") or {}, test, stop_second),
        _throughput_chart(rows, plateau),
    ]
    charts = "".join(f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>" for svg, caption in figures)
    return f'<section class="card">{title}{meta}<div class="charts">{charts}</div></section>'


def _load_chart(rows: pd.DataFrame, plateau: dict[str, Any], stop_second: float | None) -> tuple[str, str]:
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
    if _number(plateau.get("StartSecond")) is not None:
        users_text = f" ({plateau['Users']} users)" if plateau.get("Users") is not None else ""
        vrules.append(VRule(float(plateau["StartSecond"]), f"plateau{users_text}", PLATEAU, "plateau"))
    options = ChartOptions("Load", "seconds from test start", "invocations / min", "target users", y2_integer=True)
    return line_chart(series, options, vrules=vrules), LOAD_CAPTION


def _latency_chart(
    rows: pd.DataFrame, stopping: dict[str, Any], test: dict[str, Any], stop_second: float | None
) -> tuple[str, str]:
    seconds = rows["second"].astype(float).tolist()
    series = [
        Series(name, list(zip(seconds, _values(rows, column), strict=True)), colour)
        for column, name, colour in PERCENTILES
    ]
    hrules = [
        HRule(value, f"{t.get('Percentile', '')} threshold {value:g} ms", FAILURES, "threshold")
        for t in stopping.get("ModelLatencyThresholds") or []
        if (value := _number(t.get("ValueInMilliseconds"))) is not None
    ]
    stop = f"stop: {test.get('StopReason') or 'end'}"
    vrules = [] if stop_second is None else [VRule(stop_second, stop, STOP, "stop")]
    options = ChartOptions("Latency", "seconds from test start", "latency (ms)")
    return line_chart(series, options, hrules, vrules), LATENCY_CAPTION


def _throughput_chart(rows: pd.DataFrame, plateau: dict[str, Any]) -> tuple[str, str]:
    # The last second is the one in which the test stops, usually cut short: left out unless it is all there is.
    measured = rows.iloc[:-1] if len(rows) > 1 else rows
    levels = measured.assign(per_minute=_column(measured, "invocations") * 60).groupby("users")["per_minute"].mean()
    points = [(float(u), float(v)) for u, v in levels.items() if _number(u) is not None]
    marks, vrules = [], []
    if (users := _number(plateau.get("Users"))) is not None:
        # A ring on the curve, and the words on a line up to the top band, clear of the data wherever the curve runs.
        rate = _number(plateau.get("InvocationsPerMinute"))
        marks.append(PointMark(users, dict(points).get(users, rate if rate is not None else 0.0), "", PLATEAU))
        label = f"plateau: {users:g} users" + (f", {rate:,.0f}/min" if rate is not None else "")
        vrules.append(VRule(users, label, PLATEAU, "plateau"))
    options = ChartOptions("Throughput against users", "target users", "invocations / min", x_integer=True)
    series = [Series("mean invocations / min", points, INVOCATIONS)]
    return scatter_chart(series, options, vrules=vrules, marks=marks), THROUGHPUT_CAPTION


def _rows(timeline: pd.DataFrame, test: dict[str, Any]) -> pd.DataFrame:
    if "second" not in timeline.columns or not {"test", "configuration"} & set(timeline.columns):
        return pd.DataFrame(columns=["second"])
    key, value = (
        ("test", test.get("Index")) if "test" in timeline.columns else ("configuration", test.get("Configuration"))
    )
    return timeline[timeline[key] == value].sort_values("second").reset_index(drop=True)


def _stop_second(test: dict[str, Any], rows: pd.DataFrame) -> float | None:
    """StopSecond, else the test's invocation time span, else the end of its last recorded second."""
    if (second := _number(test.get("StopSecond"))) is not None:
        return second
    if (span := _seconds_between(test.get("InvocationStartTime"), test.get("InvocationEndTime"))) is not None:
        return float(round(span))
    return float(rows["second"].max()) + 1 if not rows.empty else None


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


def _text(value: Any) -> str:
    return escape(str(value))


def _badge(status: Any) -> str:
    return f'<span class="badge {STATUS_CLASS.get(str(status), "off")}">{_text(status or "?")}</span>'


def _cell(value: Any, form: str) -> str:
    number = _number(value)
    return DASH if number is None else escape(form.format(number))


def _when(text: Any) -> str:
    return str(text) if (moment := _parse_time(text)) is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _seconds_between(start: Any, end: Any) -> float | None:
    first, last = _parse_time(start), _parse_time(end)
    return None if first is None or last is None else (last - first).total_seconds()


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
