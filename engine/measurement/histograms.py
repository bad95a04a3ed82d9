"""The histograms every measurement uses: HdrHistogram in microseconds, its bounds, its wire form.

HdrHistogram (3 significant figures: at most 0.1 % relative error) rather than
Locust's own response-time buckets, which round to 2 significant figures (up to
5 % off) and do not merge per second.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes: longer requests are recorded as 10 minutes
SIGNIFICANT_FIGURES = 3
REPORTED_PERCENTILES = (50.0, 95.0, 99.0)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def percentiles_ms(histogram: HdrHistogram, quantiles: Iterable[float]) -> dict[float, float | None]:
    """Each quantile's (e.g. 95.0) latency in ms, None for an empty histogram.

    One pass over the counts for all of them (HdrHistogram's percentile dict), not one
    each: a timeline computes three for every second it shows."""
    wanted = list(quantiles)
    if histogram.get_total_count() == 0:
        return dict.fromkeys(wanted)
    values = histogram.get_percentile_to_value_dict(wanted)
    return {q: float(values[q]) / 1000.0 for q in wanted}


def bounded(us: float) -> int:
    return min(max(round(us), LOWEST_US), HIGHEST_US)


def encoded(histogram: HdrHistogram) -> str | None:
    return histogram.encode().decode("ascii") if histogram.get_total_count() else None


def decoded(text: str | None) -> HdrHistogram:
    return HdrHistogram.decode(text) if text else new_histogram()
