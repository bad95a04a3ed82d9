"""A request-rate test's own figures: the rate it asked for, what it sent, what it dropped, how late it went.

A closed-loop test sends what its users can; a request-rate test (``Loadrec.RequestRate``)
asks for a rate, and whether it got it is part of its result: the measured window's target
rate beside the rate it really sent, the arrivals dropped at the in-flight cap, and how
late the sends went after their intended times (every latency is timed from the intended
time, so this lateness is already inside them: it says how much of them is the
generator's own). ``RateFigures`` is what describe.json, the terminal and the report show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadrec.engine.job import request_rate
from loadrec.engine.job.loadrec_model import check_part
from loadrec.engine.job.request_rate import RequestRate
from loadrec.engine.measurement.histograms import percentiles_ms
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.shapes.arrivals import target_per_minute

LATENESS_PERCENTILES = (50.0, 99.0)


@dataclass(frozen=True)
class RateFigures:
    rate: RequestRate
    sent: int  # requests sent over the test (answered, failed, or cut off in flight at the stop)
    dropped: int  # arrivals not sent over the test
    late_ms: dict[float, float | None]  # the sends' lateness at LATENESS_PERCENTILES (None: nothing sent)
    late_max_ms: float | None
    # The measured window's: the rate its users asked for, the rate answered (successes and failures, each
    # sent in or before it), the arrivals dropped (None: no window).
    window_target_per_minute: float | None = None
    window_answered_per_minute: float | None = None
    window_dropped: int = 0
    in_flight_at_stop: int = 0  # sent (counted in ``sent``), cut off unanswered when the test stopped

    @property
    def dropped_share(self) -> float:
        arrivals = self.sent + self.dropped
        return self.dropped / arrivals if arrivals else 0.0

    def summary(self) -> str:
        """One line: the rate asked for and answered in the measured window, the drops, how late sends went."""
        parts = []
        if self.window_target_per_minute is not None and self.window_answered_per_minute is not None:
            answered, asked = self.window_answered_per_minute, self.window_target_per_minute
            parts.append(f"rate {answered:,.0f}/min answered of {asked:,.0f}/min asked in the measured window")
        parts.append(f"{self.dropped:,} of {self.sent + self.dropped:,} arrivals dropped ({self.dropped_share:.1%})")
        if self.in_flight_at_stop:
            parts.append(f"{self.in_flight_at_stop:,} cut off in flight at the stop")
        late = self.late_ms.get(99.0)
        if late is not None:
            parts.append(f"sends late P99 {late:.1f} ms")
        return "; ".join(parts)

    def warnings(self) -> list[str]:
        """What a reader must know before trusting the measured window's figures as the asked-for rate's."""
        found = []
        if self.window_dropped:
            found.append(
                f"{self.window_dropped:,} arrivals of the measured window were dropped at "
                f"MaxRequestsInFlight {self.rate.max_in_flight:,}: the endpoint was offered less than the target rate"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        """As describe.json's ``Loadrec.Tests[i].RequestRate`` shows it."""
        data: dict[str, Any] = {
            **self.rate.to_dict(),
            "Sent": self.sent,
            "Dropped": self.dropped,
            "InFlightAtStop": self.in_flight_at_stop,
            "DroppedShare": round(self.dropped_share, 6),
            "SendLatenessMs": {
                **{f"P{q:g}": _ms(self.late_ms.get(q)) for q in LATENESS_PERCENTILES},
                "Max": _ms(self.late_max_ms),
            },
        }
        if self.window_target_per_minute is not None:
            data["MeasuredWindow"] = {
                "TargetPerMinute": round(self.window_target_per_minute, 1),
                "AnsweredPerMinute": None
                if self.window_answered_per_minute is None
                else round(self.window_answered_per_minute, 1),
                "Dropped": self.window_dropped,
            }
        return data

    def to_record(self) -> dict[str, Any]:
        """For the test's record on disk (``from_record`` reads it back, checked)."""
        return {
            "rate": self.rate.to_dict(),
            "sent": self.sent,
            "dropped": self.dropped,
            "in_flight": self.in_flight_at_stop,
            "late_ms": {f"{q:g}": v for q, v in self.late_ms.items()},
            "late_max_ms": self.late_max_ms,
            "window": [self.window_target_per_minute, self.window_answered_per_minute, self.window_dropped],
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> RateFigures:
        """Raises KeyError, TypeError or ValueError on anything ``to_record`` does not write."""
        if problems := check_part(request_rate.KEY, data["rate"], "rate"):
            raise ValueError(str(problems[0]))
        rate = request_rate.parse(data["rate"])
        assert rate is not None  # checked
        target, sent_rate, window_dropped = data["window"]
        late = {float(q): None if v is None else float(v) for q, v in dict(data["late_ms"]).items()}
        maximum = data["late_max_ms"]
        return cls(
            rate, int(data["sent"]), int(data["dropped"]), late, None if maximum is None else float(maximum),
            None if target is None else float(target), None if sent_rate is None else float(sent_rate),
            int(window_dropped), int(data["in_flight"]),
        )  # fmt: skip


def rate_figures(rate: RequestRate, timeline: Timeline, window: WindowStats | None) -> RateFigures:
    """The figures of a request-rate test from its timeline and the window its results come from."""
    sent, dropped, in_flight, late = timeline.arrivals()
    late_max = float(late.get_max_value()) / 1000.0 if late.get_total_count() else None
    late_ms = percentiles_ms(late, LATENESS_PERCENTILES)
    if window is None or not window.span_s:
        return RateFigures(rate, sent, dropped, late_ms, late_max, in_flight_at_stop=in_flight)
    # The users each second asked for (a window may straddle a step), where the timeline sampled them.
    users = [u for u in (timeline.target_users(o) for o in range(window.start, window.end)) if u] or [window.users]
    return RateFigures(
        rate, sent, dropped, late_ms, late_max,
        target_per_minute(1, rate.per_user_per_s) * sum(users) / len(users),
        window.requests * 60.0 / window.span_s,
        window.dropped, in_flight,
    )  # fmt: skip


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
