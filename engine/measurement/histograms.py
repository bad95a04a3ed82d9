"""The histograms every measurement uses: HdrHistogram in microseconds, its bounds, its wire form.

HdrHistogram (3 significant figures: at most 0.1 % relative error) rather than
Locust's own response-time buckets, which round to 2 significant figures (up to
5 % off) and do not merge per second.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes: longer requests are recorded as 10 minutes
SIGNIFICANT_FIGURES = 3
REPORTED_PERCENTILES = (50.0, 95.0, 99.0)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def percentiles_ms(histogram: HdrHistogram, quantiles: Iterable[float]) -> dict[float, float | None]:
    """Each quantile's (e.g. 95.0) latency in ms, None for an empty histogram.

    HdrHistogram's own rule (``get_value_at_percentile``: the first count index whose running
    total reaches the target count, read as the highest value equivalent to it), computed with
    numpy over the counts array in one pass for all of them: hdrh walks its ~21,000 counts in
    Python, 2-5 ms a histogram, and a timeline or a window needs many."""
    wanted = list(quantiles)
    total = histogram.get_total_count()
    if total == 0:
        return dict.fromkeys(wanted)
    counts = np.ctypeslib.as_array(histogram.counts)[: histogram.encoder.payload.counts_len]
    running = np.cumsum(counts, dtype=np.int64)
    found: dict[float, float | None] = {}
    for quantile in wanted:
        target = max(int(min(quantile, 100.0) * total / 100 + 0.5), 1)  # hdrh's get_target_count_at_percentile
        index = int(np.searchsorted(running, target, side="left"))
        if index >= len(running):
            found[quantile] = 0.0
            continue
        value = histogram.get_value_from_index(index)
        edge = histogram.get_highest_equivalent_value if quantile else histogram.get_lowest_equivalent_value
        found[quantile] = float(edge(value)) / 1000.0
    return found


def bounded(us: float) -> int:
    return min(max(round(us), LOWEST_US), HIGHEST_US)


def encoded(histogram: HdrHistogram) -> str | None:
    return histogram.encode().decode("ascii") if histogram.get_total_count() else None


def decoded(text: str | None) -> HdrHistogram:
    """The histogram ``encoded`` wrote (an empty one for None); raises ValueError on anything else.

    hdrh raises whatever its layers meet (its own length and cookie exceptions, zlib.error,
    binascii.Error, struct.error): one error type here lets every reader report damage in one line."""
    if not text:
        return new_histogram()
    if not isinstance(text, str):
        raise ValueError("a histogram that is not text")
    try:
        return HdrHistogram.decode(text)
    except Exception as error:
        raise ValueError(f"a damaged histogram ({type(error).__name__})") from None
