"""Inline SVG charts for the HTML report: line, step and scatter charts with axes, ticks, legend and annotations.

Pure functions from numbers to SVG text. The report must open offline as one file, so
charts are drawn here rather than by a JavaScript library; they use presentation
attributes only (no classes, no ids), so each ``<svg>`` element stands on its own and
several can sit in one page. Every text drawn is escaped, and the markup is well-formed
XML. No ``xmlns`` is written: inline SVG in HTML needs none.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

Point = tuple[float, float | None]  # y None: no value there, the line breaks

FONT = 12
CHAR_WIDTH = 6.6  # average advance of a 12 px sans-serif glyph, to lay out legends without measuring text
GRID = "#e5e7eb"
AXIS = "#6b7280"
INK = "#1f2937"
HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"'


@dataclass(frozen=True)
class Series:
    """One line (or set of points) on a chart; ``axis=2`` plots it against the right-hand axis."""

    label: str
    points: Sequence[Point]
    colour: str
    step: bool = False  # hold each value until the next point, as a schedule does
    dash: str = ""  # stroke-dasharray
    axis: int = 1
    markers: bool = False
    line: bool = True
    width: float = 2.0


@dataclass(frozen=True)
class HRule:
    """A horizontal reference line (a threshold), labelled at its right end."""

    value: float
    label: str
    colour: str
    legend: str = ""


@dataclass(frozen=True)
class VRule:
    """A vertical event line (a stop, a plateau start), labelled at the top of the plot."""

    value: float
    label: str
    colour: str
    legend: str = ""


@dataclass(frozen=True)
class PointMark:
    """A ringed point (a plateau), with an optional note beside it."""

    x: float
    y: float
    label: str
    colour: str


@dataclass(frozen=True)
class ChartOptions:
    title: str
    x_label: str
    y_label: str
    y2_label: str = ""
    width: int = 460
    height: int = 300
    x_integer: bool = False  # ticks on whole numbers only (users)
    y2_integer: bool = False


@dataclass(frozen=True)
class _Scale:
    lo: float
    hi: float
    start: float  # pixel of lo
    end: float  # pixel of hi

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (value - self.lo) / span * (self.end - self.start)


def nice_step(raw: float, integer: bool = False) -> float:
    """The smallest round step (1, 2, 2.5, 5 × 10^k) not below ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0):
        step = multiple * magnitude
        if step >= raw * (1 - 1e-9) and (not integer or (step >= 1 and step == int(step))):
            return step
    return 10 * magnitude if not integer else float(max(1, math.ceil(raw)))


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi]; the first and last are the axis ends."""
    if not hi > lo:
        hi = lo + 1
    step = nice_step((hi - lo) / count, integer)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(round((last - first) / step) + 1)]


def format_number(value: float, thousands: bool = False) -> str:
    """Tick and label text: 2.5, 950, 9,500, 12k (or 2.5k with ``thousands``), 1.5M."""
    value = round(value, 10)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 10_000 or (thousands and abs(value) >= 1_000):
        return f"{value / 1_000:g}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:.3g}"


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """One style along an axis: all in thousands once the largest tick is (2.5k, 5k, 7.5k, 10k, not 7,500 and 10k)."""
    thousands = max((abs(t) for t in ticks), default=0.0) >= 10_000
    return [format_number(t, thousands) for t in ticks]


def line_chart(
    series: Sequence[Series],
    options: ChartOptions,
    hrules: Sequence[HRule] = (),
    vrules: Sequence[VRule] = (),
    marks: Sequence[PointMark] = (),
) -> str:
    """Lines (or steps) of y against x, with an optional right-hand axis for ``axis=2`` series."""
    return _chart(series, options, hrules, vrules, marks)


def scatter_chart(
    series: Sequence[Series],
    options: ChartOptions,
    hrules: Sequence[HRule] = (),
    vrules: Sequence[VRule] = (),
    marks: Sequence[PointMark] = (),
) -> str:
    """Points joined by thin lines (a measured curve, one point per x): ``markers`` forced on."""
    dotted = [replace(s, markers=True, width=min(s.width, 1.5)) for s in series]
    return _chart(dotted, options, hrules, vrules, marks)


def _chart(
    series: Sequence[Series],
    options: ChartOptions,
    hrules: Sequence[HRule],
    vrules: Sequence[VRule],
    marks: Sequence[PointMark],
) -> str:
    width, height = options.width, options.height
    legend, legend_rows = _legend(series, hrules, vrules, 62, width - 16)
    dual = any(s.axis == 2 for s in series)
    left, right = 62.0, float(width - (52 if dual else 18))
    top, bottom = 34.0 + legend_rows * 18 + 6, float(height - 42)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(options.title)}" font-size="{FONT}" fill="{INK}">',
        f"<title>{escape(options.title)}</title>",
        f'<text x="{left:.0f}" y="18" font-size="14" font-weight="600">{escape(options.title)}</text>',
        legend,
    ]
    xs = [p[0] for s in series for p in s.points] + [r.value for r in vrules] + [m.x for m in marks]
    ys1 = [p[1] for s in series if s.axis == 1 for p in s.points if p[1] is not None]
    # Headroom above reference lines, and above the data when event labels take the top of the plot.
    ys1 += [r.value * 1.1 for r in hrules] + [m.y for m in marks]
    if vrules and ys1:
        ys1.append(max(ys1) * 1.12)
    ys2 = [p[1] for s in series if s.axis == 2 for p in s.points if p[1] is not None]
    if not xs or not (ys1 or ys2):
        parts.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="#f9fafb"/>')
        parts.append(
            f'<text x="{(left + right) / 2:.1f}" y="{(top + bottom) / 2:.1f}" text-anchor="middle" '
            f'fill="{AXIS}">no data</text></svg>'
        )
        return "\n".join(parts)
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs), 6, options.x_integer)
    y_ticks = nice_ticks(min([0.0, *ys1]), max(ys1, default=1.0), 5)
    x = _Scale(x_ticks[0], x_ticks[-1], left, right)
    y = _Scale(y_ticks[0], y_ticks[-1], bottom, top)
    parts += _axes(options, x, y, x_ticks, y_ticks)
    y2 = y
    if dual:
        # The right axis shares the left one's gridlines: same number of intervals, its own round step.
        intervals = len(y_ticks) - 1
        step = nice_step(max(ys2, default=1.0) / intervals, options.y2_integer)
        y2 = _Scale(0.0, step * intervals, bottom, top)
        parts += _right_axis(options, y2, [i * step for i in range(intervals + 1)], right)
    for threshold in hrules:
        py = y(threshold.value)
        parts.append(_line(left, py, right, py, threshold.colour, "6 4", 1.5))
        # Labelled at the left end: thresholds sit above the early, low values, and events are drawn to the right.
        parts.append(
            f'<text x="{left + 6:.1f}" y="{py - 5:.1f}" fill="{threshold.colour}" {HALO}>'
            f"{escape(threshold.label)}</text>"
        )
    for index, rule in enumerate(vrules):
        px = x(rule.value)
        parts.append(_line(px, top, px, bottom, rule.colour, "4 3", 1.5))
        # Labels sit inside the plot, staggered so two events never overprint.
        at = _label_at(px, 5, rule.label, left, right)
        parts.append(
            f'<text {at} y="{top + 13 + 15 * index:.1f}" fill="{rule.colour}" font-weight="600" {HALO}>'
            f"{escape(rule.label)}</text>"
        )
    for s in reversed(series):  # the first series, the one the chart is about, is drawn on top
        parts.append(_series(s, x, y2 if s.axis == 2 else y))
    for mark in marks:
        px, py = x(mark.x), y(mark.y)
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="7" fill="none" stroke="{mark.colour}" stroke-width="2"/>')
        if mark.label:
            at = _label_at(px, 11, mark.label, left, right)
            parts.append(
                f'<text {at} y="{py + 4:.1f}" fill="{mark.colour}" font-weight="600" {HALO}>{escape(mark.label)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _label_at(px: float, gap: float, label: str, left: float, right: float) -> str:
    """x and anchor of a bold label: right of ``px`` if it fits, else left of it, else moved to stay in the plot."""
    width = len(label) * CHAR_WIDTH * 1.1
    if px + gap + width <= right:
        return f'x="{px + gap:.1f}"'
    if px - gap - width >= left:
        return f'x="{px - gap:.1f}" text-anchor="end"'
    return f'x="{max(left + 2, right - width):.1f}"'


def _legend(
    series: Sequence[Series], hrules: Sequence[HRule], vrules: Sequence[VRule], left: float, limit: float
) -> tuple[str, int]:
    entries = [(s.label, s.colour, s.dash, s.markers and not s.line) for s in series]
    entries += [(r.legend, r.colour, "6 4", False) for r in hrules if r.legend]
    entries += [(r.legend, r.colour, "4 3", False) for r in vrules if r.legend]
    parts, px, row = [], left, 0
    for label, colour, dash, dot in entries:
        span = 24 + len(label) * CHAR_WIDTH + 14
        if px + span > limit and px > left:
            px, row = left, row + 1
        py = 36 + row * 18
        if dot:
            parts.append(f'<circle cx="{px + 9:.1f}" cy="{py - 4}" r="3.5" fill="{colour}"/>')
        else:
            parts.append(_line(px, py - 4, px + 18, py - 4, colour, dash, 2.5))
        parts.append(f'<text x="{px + 24:.1f}" y="{py}">{escape(label)}</text>')
        px += span
    return "\n".join(parts), row + 1 if entries else 0


def _axes(options: ChartOptions, x: _Scale, y: _Scale, x_ticks: list[float], y_ticks: list[float]) -> list[str]:
    left, right, top, bottom = x.start, x.end, y.end, y.start
    parts = []
    for tick, text in zip(y_ticks, tick_labels(y_ticks), strict=True):
        py = y(tick)
        parts.append(_line(left, py, right, py, GRID, "", 1))
        parts.append(f'<text x="{left - 6:.1f}" y="{py + 4:.1f}" text-anchor="end" fill="{AXIS}">{text}</text>')
    for tick, text in zip(x_ticks, tick_labels(x_ticks), strict=True):
        px = x(tick)
        parts.append(_line(px, bottom, px, bottom + 5, AXIS, "", 1))
        parts.append(f'<text x="{px:.1f}" y="{bottom + 18:.1f}" text-anchor="middle" fill="{AXIS}">{text}</text>')
    parts.append(_line(left, bottom, right, bottom, AXIS, "", 1))
    parts.append(_line(left, top, left, bottom, AXIS, "", 1))
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 36:.1f}" text-anchor="middle">'
        f"{escape(options.x_label)}</text>"
    )
    middle = (top + bottom) / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})">'
        f"{escape(options.y_label)}</text>"
    )
    return parts


def _right_axis(options: ChartOptions, y2: _Scale, ticks: list[float], right: float) -> list[str]:
    parts = [_line(right, y2.end, right, y2.start, AXIS, "", 1)]
    for tick, text in zip(ticks, tick_labels(ticks), strict=True):
        parts.append(f'<text x="{right + 6:.1f}" y="{y2(tick) + 4:.1f}" fill="{AXIS}">{text}</text>')
    middle, px = (y2.start + y2.end) / 2, options.width - 10
    parts.append(
        f'<text x="{px}" y="{middle:.1f}" text-anchor="middle" transform="rotate(90 {px} {middle:.1f})">'
        f"{escape(options.y2_label)}</text>"
    )
    return parts


def _series(s: Series, x: _Scale, y: _Scale) -> str:
    parts = []
    if s.line:
        for run in _runs(s.points):
            commands = [f"M{x(run[0][0]):.1f},{y(run[0][1]):.1f}"]
            for (_, before), (px, py) in itertools.pairwise(run):
                if s.step and before != py:
                    commands.append(f"H{x(px):.1f}V{y(py):.1f}")
                elif s.step:
                    commands.append(f"H{x(px):.1f}")
                else:
                    commands.append(f"L{x(px):.1f},{y(py):.1f}")
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            parts.append(
                f'<path d="{"".join(commands)}" fill="none" stroke="{s.colour}" stroke-width="{s.width}"'
                f'{dash} stroke-linejoin="round"/>'
            )
    if s.markers:
        for run in _runs(s.points):
            parts += [f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3.5" fill="{s.colour}"/>' for px, py in run]
    return "\n".join(parts)


def _runs(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """Unbroken stretches of points with a value; a missing value ends a stretch."""
    runs: list[list[tuple[float, float]]] = [[]]
    for px, py in points:
        if py is None or not math.isfinite(py):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((px, py))
    return [run for run in runs if run]


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, dash: str, width: float) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="{width}"{dashed}/>'
    )
