"""Text renderings of a schedule: the readable preview and the per-second JSON table."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

from loadrec.shapes.schedule import Schedule

CHART_WIDTH = 40
PREVIEW_ROWS = 100  # change points shown before the rest is summarized in one line


def format_seconds(at: Fraction | int) -> str:
    """``Fraction(100, 3)`` → ``"33.33 s"``; whole seconds print without decimals."""
    value = Fraction(at)
    text = f"{int(value)}" if value.denominator == 1 else f"{float(value):.2f}"
    return f"{text} s"


def format_clock(at: Fraction | int) -> str:
    """Seconds as m:ss, e.g. 120 → ``2:00``."""
    whole = int(at)
    return f"{whole // 60}:{whole % 60:02d}"


def render_preview(schedule: Schedule) -> str:
    """Change points with a bar chart of target users, then the end of the pattern."""
    peak = schedule.peak_users
    lines = [f"{'from':>10}  {'(m:ss)':>7}  {'users':>5}"]
    changes = schedule.change_points()
    for change in itertools.islice(changes, PREVIEW_ROWS):
        bar = "█" * max(1, round(change.users / peak * CHART_WIDTH))
        lines.append(f"{format_seconds(change.at):>10}  {format_clock(change.at):>7}  {change.users:>5}  {bar}")
    if (more := sum(1 for _ in changes)) > 0:
        lines.append(f"{'…':>10}  {'':>7}  {'':>5}  {more} more change points, up to {peak} users")
    end = schedule.duration_s
    lines.append(f"{format_seconds(end):>10}  {format_clock(end):>7}  {'end':>5}")
    return "\n".join(lines)


def render_per_second_json(schedule: Schedule) -> str:
    """A JSON array with ``{"t": second, "users": target}`` for every whole second."""
    rows = [json.dumps({"t": t, "users": users}) for t, users in enumerate(schedule.per_second())]
    return "[\n" + ",\n".join(rows) + "\n]" if rows else "[]"
