"""A comparison of two runs (:mod:`loadrec.engine.gates.compare`) for people: the terminal table, Markdown
and an HTML page (Jinja2, autoescaped, the report's style). Rows are built once, then laid out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loadrec.engine.gates.ci_outputs import markdown_cell
from loadrec.engine.gates.compare import ConfigurationChange, FigureChange, Verdict
from loadrec.engine.measurement.confidence import LEVEL, RESAMPLES
from loadrec.engine.results.outputs.report import STYLE, template

METHOD = (f"Change: candidate over baseline. Its {LEVEL:g} % interval comes from {RESAMPLES} block-bootstrap "
          "resamples of each run's measured window (seconds drawn in blocks of about the cube root of the window, "
          "seeded); an interval holding 0 is no change.")  # fmt: skip
BADGE = {Verdict.BETTER: "ok", Verdict.WORSE: "bad", Verdict.NO_CHANGE: "off", Verdict.NOT_JUDGED: "warn"}
FORMS = {"/min": "{:,.0f}", "ms": "{:,.1f}", "tokens/s": "{:,.1f}", "USD": "{:.4g}"}
HEADS = ("figure", "baseline", "candidate", "change", "95 % interval", "verdict")


@dataclass(frozen=True)
class Row:
    figure: str
    baseline: str
    candidate: str
    change: str
    interval: str
    verdict: str
    note: str
    css: str


def rows(change: ConfigurationChange) -> list[Row]:
    return [_row(figure) for figure in change.figures]


def _row(f: FigureChange) -> Row:
    form = FORMS.get(f.unit, "{:.4g}")
    shown = "-" if f.change_percent is None else f"{f.change_percent:+.1f} %"
    bounds = "-" if f.interval is None else f"{f.interval.low:+.1f} to {f.interval.high:+.1f} %"
    return Row(f"{f.figure} ({f.unit})", _value(f.baseline, form), _value(f.candidate, form), shown, bounds,
               f.verdict.value, f.note, BADGE[f.verdict])  # fmt: skip


def _value(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def render_terminal(header: Sequence[str], changes: Sequence[ConfigurationChange]) -> str:
    lines = list(header)
    for change in changes:
        lines.append(change.label)
        if change.note:
            lines.append(f"  {change.note}")
        table = [HEADS, *((r.figure, r.baseline, r.candidate, r.change, r.interval, r.verdict) for r in rows(change))]
        if len(table) == 1:
            continue
        widths = [max(len(row[i]) for row in table) for i in range(len(HEADS))]
        for row in table:
            cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:5], widths[1:5], strict=True))]
            lines.append("  " + "  ".join([*cells, row[5]]).rstrip())
    return "\n".join(lines)


def render_markdown(title: str, header: Sequence[str], changes: Sequence[ConfigurationChange]) -> str:
    lines = [f"## {markdown_cell(title)}", "", *(f"{markdown_cell(line)}  " for line in header), ""]
    lines += ["| configuration | " + " | ".join(HEADS) + " |", "|---|---|---:|---:|---:|---:|---|"]
    for change in changes:
        if change.note:
            lines.append(f"| {markdown_cell(change.label)} | {markdown_cell(change.note)} | | | | | |")
        for r in rows(change):
            verdict = {"worse": "❌ worse", "better": "✅ better"}.get(r.verdict, r.verdict)
            cells = [change.label, r.figure, r.baseline, r.candidate, r.change, r.interval, verdict]
            lines.append("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |")
    return "\n".join([*lines, "", markdown_cell(METHOD)]) + "\n"


def render_html(title: str, header: Sequence[str], changes: Sequence[ConfigurationChange]) -> str:
    configurations = [
        {"label": change.label, "note": change.note,
         "rows": [{**r.__dict__, "class": r.css} for r in rows(change)]}
        for change in changes
    ]  # fmt: skip
    return template("compare.html.j2").render(
        style=STYLE, title=title, header=header, configurations=configurations, method=METHOD
    )
