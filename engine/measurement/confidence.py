"""How sure a headline figure is: a seeded moving-block bootstrap over the measured window's seconds.

A test's MaxInvocations, ModelLatency, output tokens per second, TTFT and ITL come from
one window of seconds (:mod:`.outcome`). Those seconds are a sample of how the endpoint
serves at that load; resampling them says how far another window of the same length
could land. Seconds next to each other are correlated (a slow second's queue spills into
the next), so whole blocks of consecutive seconds are drawn, not single seconds: Künsch's
moving-block bootstrap, circular (a block may wrap from the window's end to its start),
blocks of round(n^(1/3)) seconds (4 s in a 60 s window, the usual rate for a mean), 1,000
resamples, the 2.5th and 97.5th percentiles of the replicates as the 95 % interval.

The seed is fixed (:data:`SEED`): the same seconds always give the same interval, so two
renderings of one run never disagree. Latency percentiles are resampled from each second's
HdrHistogram counts (merged over the drawn seconds, read by HdrHistogram's own percentile
rule), so an interval is of the very statistic the headline reports.

What an interval does not cover: MaxInvocations is the best of the test's windows, and
picking the best of several is itself optimistic; the interval is of the chosen window's
rate, as a second run holding that load would measure it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from loadrec.engine.measurement.histograms import decoded

LEVEL = 95.0  # percent
RESAMPLES = 1000
SEED = 0
CHUNK = 64  # resamples summed at once, at most
CELLS = 4_000_000  # and at most this many counts drawn at once (32 MB of int64), whatever the window

MAX_INVOCATIONS, MODEL_LATENCY, TOKENS, TTFT, ITL = (
    "MaxInvocations", "ModelLatency", "OutputTokensPerSecond", "TimeToFirstToken", "InterTokenLatency",
)  # fmt: skip


UNITS = {MAX_INVOCATIONS: "/min", MODEL_LATENCY: " ms", TOKENS: " tokens/s", TTFT: " ms", ITL: " ms"}


def _shown(bounds: Interval, unit: str) -> str:
    digits = ".0f" if unit in ("/min", " tokens/s") else ".1f"
    return f"{bounds.low:,{digits}}-{bounds.high:,{digits}}{unit}"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def to_list(self, digits: int = 3) -> list[float]:
        return [round(self.low, digits), round(self.high, digits)]

    @classmethod
    def from_list(cls, data: Any) -> Interval:
        low, high = (float(value) for value in data)
        if not low <= high:
            raise ValueError("an interval whose low end is above its high end")
        return cls(low, high)

    def scaled(self, factor: float) -> Interval:
        return Interval(self.low * factor, self.high * factor)


@dataclass(frozen=True)
class Counts:
    """One figure's per-second histogram counts over a window: only the buckets some second used."""

    matrix: np.ndarray  # (seconds, buckets), int64
    values_ms: np.ndarray  # (buckets,), ascending: each bucket's value as HdrHistogram reports it

    @classmethod
    def from_histograms(cls, histograms: Sequence[HdrHistogram | None]) -> Counts | None:
        """None when no second recorded anything."""
        arrays = [_counts(h) for h in histograms]
        used = sorted({int(i) for array in arrays if array is not None for i in np.flatnonzero(array)})
        if not used:
            return None
        columns = np.asarray(used)
        matrix = np.zeros((len(arrays), len(used)), dtype=np.int64)
        for row, array in enumerate(arrays):
            if array is not None:
                padded = np.zeros(columns[-1] + 1, dtype=np.int64)
                padded[: min(len(array), len(padded))] = array[: len(padded)]
                matrix[row] = padded[columns]
        reader = next(h for h in histograms if h is not None)
        values = [reader.get_highest_equivalent_value(reader.get_value_from_index(i)) / 1000.0 for i in used]
        return cls(matrix, np.asarray(values))

    @classmethod
    def from_values(cls, per_second: Sequence[Sequence[float]]) -> Counts | None:
        """Exact values (ms) per second: for data made up in tests, and for any figure not kept in histograms."""
        values = np.unique(np.concatenate([np.asarray(v, dtype=float) for v in per_second] or [np.zeros(0)]))
        if not len(values):
            return None
        matrix = np.zeros((len(per_second), len(values)), dtype=np.int64)
        for row, second in enumerate(per_second):
            np.add.at(matrix[row], np.searchsorted(values, np.asarray(second, dtype=float)), 1)
        return cls(matrix, values)

    def quantile(self, rows: np.ndarray | None, quantile: float) -> np.ndarray:
        """The ``quantile`` (e.g. 95.0) of the seconds each row of ``rows`` draws (None: all the seconds, once),
        by HdrHistogram's rule: the first bucket whose running count reaches round(q × total), at least 1."""
        drawn = np.arange(len(self.matrix))[None, :] if rows is None else rows
        found = np.empty(len(drawn))
        # The (chunk, seconds, buckets) draw is held at once: a long window of many buckets takes fewer rows.
        chunk = max(1, min(CHUNK, CELLS // max(1, self.matrix.shape[0] * self.matrix.shape[1])))
        for start in range(0, len(drawn), chunk):
            summed = self.matrix[drawn[start : start + chunk]].sum(axis=1)
            running = np.cumsum(summed, axis=1)
            total = running[:, -1]
            target = np.maximum((min(quantile, 100.0) * total / 100 + 0.5).astype(np.int64), 1)
            index = np.argmax(running >= target[:, None], axis=1)
            found[start : start + chunk] = np.where(total > 0, self.values_ms[index], np.nan)
        return found


def _counts(histogram: HdrHistogram | None) -> np.ndarray | None:
    if histogram is None or not histogram.get_total_count():
        return None
    return np.ctypeslib.as_array(histogram.counts)[: histogram.encoder.payload.counts_len].astype(np.int64)


@dataclass(frozen=True)
class WindowSamples:
    """A measured window's seconds, as the bootstrap draws them."""

    successes: np.ndarray  # (seconds,)
    tokens: np.ndarray | None = None  # output tokens per second (None: nothing streamed)
    latency: Counts | None = None
    ttft: Counts | None = None
    itl: Counts | None = None

    @property
    def seconds(self) -> int:
        return len(self.successes)

    @classmethod
    def from_wire(cls, seconds: Sequence[Mapping[str, Any] | None]) -> WindowSamples:
        """From a timeline's seconds in their wire form (None: a second with no data); raises ValueError on a
        damaged histogram."""
        found = [second or {} for second in seconds]
        streamed = any("tok" in second for second in found)
        return cls(
            np.asarray([second.get("ok", 0) for second in found], dtype=float),
            np.asarray([second.get("tok", 0) for second in found], dtype=float) if streamed else None,
            Counts.from_histograms([_histogram(second, "h") for second in found]),
            Counts.from_histograms([_histogram(second, "tt") for second in found]) if streamed else None,
            Counts.from_histograms([_histogram(second, "it") for second in found]) if streamed else None,
        )


def _histogram(second: Mapping[str, Any], key: str) -> HdrHistogram | None:
    return decoded(second[key]) if second.get(key) else None


def block_length(seconds: int) -> int:
    return max(1, round(seconds ** (1 / 3)))


def block_count(seconds: int) -> int:
    """How many blocks a window of ``seconds`` is drawn in (the t-widening's degrees of freedom + 1)."""
    return -(-seconds // block_length(seconds)) if seconds else 0


def resampled_rows(seconds: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, seconds) indices: each row ceil(n / b) circular blocks of b consecutive seconds, cut to n."""
    block = block_length(seconds)
    blocks = -(-seconds // block)
    starts = np.random.default_rng(seed).integers(0, seconds, size=(resamples, blocks))
    rows = (starts[:, :, None] + np.arange(block)[None, None, :]) % seconds
    return rows.reshape(resamples, blocks * block)[:, :seconds]


@dataclass(frozen=True)
class Quantiles:
    """The percentile each latency figure is reported at (the job's thresholds', else P95)."""

    latency: float = 95.0
    ttft: float = 95.0
    itl: float = 95.0


def latency_at(quantile: float) -> str:
    """The replicates' name for the latency at ``quantile`` (asked of ``replicates`` beside the figures)."""
    return f"latency {quantile:g}"


def replicates(
    samples: WindowSamples,
    quantiles: Quantiles,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    latencies: Sequence[float] = (),
) -> dict[str, np.ndarray]:
    """Each figure's bootstrap replicates, one instance's (figure name → ``resamples`` values; a figure the
    window has no data for is left out), and the latency at each of ``latencies`` (``latency_at``), all from
    the same draw. Replicates of no requests are NaN."""
    if not samples.seconds:
        return {}
    rows = resampled_rows(samples.seconds, resamples, seed)
    found = {MAX_INVOCATIONS: samples.successes[rows].mean(axis=1) * 60.0}
    if samples.latency is not None:
        found[MODEL_LATENCY] = samples.latency.quantile(rows, quantiles.latency)
        for quantile in latencies:
            found[latency_at(quantile)] = samples.latency.quantile(rows, quantile)
    if samples.tokens is not None:
        found[TOKENS] = samples.tokens[rows].mean(axis=1)
    if samples.ttft is not None:
        found[TTFT] = samples.ttft.quantile(rows, quantiles.ttft)
    if samples.itl is not None:
        found[ITL] = samples.itl.quantile(rows, quantiles.itl)
    return found


def interval(values: np.ndarray, level: float = LEVEL, blocks: int | None = None) -> Interval | None:
    """The central ``level`` percent of the replicates (None when none is a number), widened about their
    median by Student's t over the normal quantile with ``blocks`` − 1 degrees of freedom: a percentile
    interval from a few blocks is too narrow (measured: 82 % coverage for a nominal 95 % with 15 blocks of
    correlated seconds), and so is any bootstrap of a small sample, by that factor to first order."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return None
    tail = (100.0 - level) / 2
    low, middle, high = np.percentile(finite, [tail, 50.0, 100.0 - tail])
    widen = 1.0 if blocks is None or blocks < 2 else _t_over_z(level, blocks - 1)
    return Interval(float(middle - (middle - low) * widen), float(middle + (high - middle) * widen))


def _t_over_z(level: float, freedom: int) -> float:
    """Student's t quantile over the normal's at a two-sided ``level`` (Cornish-Fisher to 1/ν²: within 0.1 % for
    ν ≥ 10, 4 % at ν = 3; numpy has no t quantile, and this is not worth a scipy dependency)."""
    z = float(np.sqrt(2.0) * _erfinv(level / 100.0))
    nu = float(freedom)
    t = z + (z**3 + z) / (4 * nu) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)
    return t / z


def _erfinv(y: float) -> float:
    """The inverse error function by Newton's method on math.erf (a handful of steps to full precision)."""
    x = 0.0
    for _ in range(50):
        step = (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        x -= step
        if abs(step) < 1e-13:
            break
    return x


def change_interval(
    baseline: np.ndarray, candidate: np.ndarray, level: float = LEVEL, blocks: int | None = None
) -> Interval | None:
    """The percent change from baseline to candidate, from replicates drawn apart (pair i of each): how far
    the change could be from noise alone. None when either has no replicate to divide."""
    usable = np.isfinite(baseline) & np.isfinite(candidate) & (baseline != 0)
    if not usable.any():
        return None
    return interval((candidate[usable] / baseline[usable] - 1.0) * 100.0, level, blocks)


@dataclass(frozen=True)
class Confidence:
    """The 95 % intervals of a test's headline figures, in the units its results show them (MaxInvocations
    per minute for all its instances; latencies in ms; output tokens per second for all instances)."""

    seconds: int  # the measured window's length
    block_s: int
    intervals: Mapping[str, Interval]  # figure name → interval
    level: float = LEVEL
    resamples: int = RESAMPLES
    seed: int = SEED

    def get(self, figure: str) -> Interval | None:
        return self.intervals.get(figure)

    def summary(self) -> str:
        """The intervals in one line, for the terminal and the report."""
        shown = [f"{name} {_shown(bounds, UNITS[name])}" for name, bounds in self.intervals.items()]
        return f"{self.level:g} % intervals ({self.seconds} s window, block bootstrap): " + "; ".join(shown)

    def to_dict(self) -> dict[str, Any]:
        """As describe.json's ``Confidence`` shows it (and result.json keeps it)."""
        return {
            "LevelPercent": self.level,
            "Method": "moving-block bootstrap",
            "WindowSeconds": self.seconds,
            "BlockSeconds": self.block_s,
            "Resamples": self.resamples,
            "Seed": self.seed,
            "Intervals": {name: value.to_list() for name, value in self.intervals.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Confidence:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_dict`` writes."""
        intervals = {str(name): Interval.from_list(value) for name, value in dict(data["Intervals"]).items()}
        if unknown := set(intervals) - set(UNITS):
            raise ValueError(f"an interval of no figure loadrec reports ({sorted(unknown)[0][:40]})")
        return cls(int(data["WindowSeconds"]), int(data["BlockSeconds"]), intervals, float(data["LevelPercent"]),
                   int(data["Resamples"]), int(data["Seed"]))  # fmt: skip


def confidence(samples: WindowSamples, quantiles: Quantiles, instances: int = 1) -> Confidence | None:
    """The intervals of the figures ``samples`` hold, those of rates scaled to ``instances`` as the sizing
    scales them; None for a window without a second."""
    if not samples.seconds:
        return None
    found: dict[str, Interval] = {}
    blocks = block_count(samples.seconds)
    for figure, values in replicates(samples, quantiles).items():
        bounds = interval(values, blocks=blocks)
        if bounds is not None:
            found[figure] = bounds.scaled(instances) if figure in (MAX_INVOCATIONS, TOKENS) else bounds
    return Confidence(samples.seconds, block_length(samples.seconds), found)
