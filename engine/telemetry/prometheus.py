"""Live metrics for dashboards: a Prometheus endpoint (``--metrics-port``) on ``loadrec run``, ``loadrec ui``
and a master (``run --master``), served by prometheus_client.

What is exposed is read from the run's results folder at each scrape, as the web UI
reads it: each test's seconds file is followed as it grows (each record, a second of
one load process, is added once, so the counters are exact in distributed runs too),
its result.json says its status and stop, and window.json the window the monitor last
judged. Nothing on the load path changes; a scrape costs what the new seconds cost.
Labels: ``test`` (its index) and ``configuration`` (its label, as the results show it).

- ``loadrec_test_status{status}`` 1 for the test's status; ``loadrec_test_stop_reason{reason}`` once stopped
- ``loadrec_target_users``, ``loadrec_running_users``, ``loadrec_workers``: the last users sample
- ``loadrec_invocations_total``, ``loadrec_failures_total{kind}``, ``loadrec_output_tokens_total``
- ``loadrec_latency_seconds`` and ``loadrec_ttft_seconds``: histograms, from the recorded HdrHistograms
- ``loadrec_monitor_invocations_per_minute``, ``loadrec_monitor_latency_seconds{quantile}``: the last judged
  window; ``loadrec_monitor_max_invocations`` and ``loadrec_monitor_latency_threshold_seconds{quantile}``: the
  job's stopping conditions they are judged against
- ``loadrec_generator_cpu_percent``, ``loadrec_generator_loop_lag_seconds``,
  ``loadrec_generator_send_delay_seconds`` (the last second's worst process), ``loadrec_generator_bound`` (the
  last judged window: 1 when loadrec itself was short of CPU)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.measurement.health import WIRE_KEY as HEALTH_KEY
from loadrec.engine.measurement.histograms import decoded
from loadrec.engine.results.files import RESULT, SECONDS, ResultsFolder, ResultsFolderError
from loadrec.engine.results.seconds import START_KEY, SecondsFileError, SecondsFollower

LABELS = ["test", "configuration"]
# Seconds: web-service latencies to an LLM's long answers.
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0, 120.0)


@dataclass
class Buckets:
    """A Prometheus histogram's cumulative form, filled from HdrHistograms (values in µs)."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(BUCKETS_S) + 1, dtype=np.int64))
    sum_s: float = 0.0

    def add(self, histogram: HdrHistogram) -> None:
        counts = np.ctypeslib.as_array(histogram.counts)[: histogram.encoder.payload.counts_len]
        for index in np.flatnonzero(counts):
            value_s = histogram.get_highest_equivalent_value(histogram.get_value_from_index(int(index))) / 1e6
            self.counts[int(np.searchsorted(BUCKETS_S, value_s, side="left"))] += int(counts[index])
            self.sum_s += value_s * int(counts[index])

    def samples(self) -> list[tuple[str, float]]:
        running = np.cumsum(self.counts)
        bounds = [f"{bound:g}" for bound in BUCKETS_S] + ["+Inf"]
        return [(bound, float(count)) for bound, count in zip(bounds, running, strict=True)]


@dataclass
class TestMeter:
    """One test's totals, from each record of its seconds file as it is read (added once each)."""

    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    output_tokens: int = 0
    latency: Buckets = field(default_factory=Buckets)
    ttft: Buckets | None = None
    users: tuple[int, int, int] | None = None  # target, running, workers
    health: dict[str, float] | None = None

    def add(self, record: dict[str, Any]) -> None:
        if "u" in record:
            self.users = (record["t"], record["r"], record["w"])
            return
        self.successes += record["ok"]
        for kind, count in record.get("err", {}).items():
            self.failures[kind] = self.failures.get(kind, 0) + count
        unnamed = record["ko"] - sum(record.get("err", {}).values())
        if unnamed > 0:
            self.failures["other"] = self.failures.get("other", 0) + unnamed
        if record.get("h"):
            self.latency.add(decoded(record["h"]))
        if "tok" in record:
            self.output_tokens += record["tok"]
            self.ttft = self.ttft or Buckets()
            if record.get("tt"):
                self.ttft.add(decoded(record["tt"]))
        if HEALTH_KEY in record:
            self.health = record[HEALTH_KEY]


class RunCollector(Collector):
    """The metrics of the run ``folder()`` names (None: no run yet), for prometheus_client's registry."""

    def __init__(self, spec: JobSpec, folder: Callable[[], ResultsFolder | None]) -> None:
        self.spec, self._folder = spec, folder
        self._current: ResultsFolder | None = None
        self._followers: dict[int, SecondsFollower] = {}
        self._meters: dict[int, TestMeter] = {}
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # scrapes may come at once (one thread each): each record is still added once
            return iter(self._collect())

    def _collect(self) -> list[Metric]:
        folder = self._folder()
        if folder is not self._current:  # a new run (the web UI's next START): its own counters
            self._current, self._followers, self._meters = folder, {}, {}
        families = _families()
        if folder is not None:
            for index in range(len(self.spec.cases)):
                labels = [str(index), self.spec.label_of(index)]
                meter = self._meter(folder, index)
                if meter is not None:
                    _meter_samples(families, labels, meter)
                _result_samples(families, labels, folder, index)
        _condition_samples(families, self.spec)
        return list(families.values())

    def _meter(self, folder: ResultsFolder, index: int) -> TestMeter | None:
        if index not in self._followers:
            self._followers[index] = SecondsFollower(folder.test_dir(index) / SECONDS, self._listener(index))
        try:
            timeline = self._followers[index].read()
        except SecondsFileError:
            pass  # what was read before the damage still counts; the results say the rest
        else:
            if timeline is None:
                return None
        return self._meters.get(index)

    def _listener(self, index: int) -> Callable[[dict[str, Any]], None]:
        def listen(record: dict[str, Any]) -> None:
            if START_KEY in record:  # the file started (anew: the test restarted), and so do its totals
                self._meters[index] = TestMeter()
            else:
                self._meters[index].add(record)

        return listen


def _families() -> dict[str, Any]:
    def gauge(name: str, text: str, *extra: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, text, labels=[*LABELS, *extra])

    def counter(name: str, text: str, *extra: str) -> CounterMetricFamily:
        return CounterMetricFamily(name, text, labels=[*LABELS, *extra])

    def histogram(name: str, text: str) -> HistogramMetricFamily:
        return HistogramMetricFamily(name, text, labels=LABELS)

    return {
        "status": gauge("loadrec_test_status", "1 for the test's status", "status"),
        "stop": gauge("loadrec_test_stop_reason", "1 for why the test stopped", "reason"),
        "target": gauge("loadrec_target_users", "users the schedule asks for"),
        "running": gauge("loadrec_running_users", "users running"),
        "workers": gauge("loadrec_workers", "worker processes carrying the load (0: the test's own process)"),
        "invocations": counter("loadrec_invocations", "successful invocations"),
        "failures": counter("loadrec_failures", "failed invocations, by kind", "kind"),
        "tokens": counter("loadrec_output_tokens", "output tokens streamed"),
        "latency": histogram("loadrec_latency_seconds", "end-to-end latency of successful invocations"),
        "ttft": histogram("loadrec_ttft_seconds", "time to first token of streamed answers"),
        "window_rate": gauge("loadrec_monitor_invocations_per_minute", "the last judged window's invocations/min"),
        "window_latency": gauge("loadrec_monitor_latency_seconds", "the last judged window's latency", "quantile"),
        "bound": gauge("loadrec_generator_bound", "1 when the last judged window was generator-bound"),
        "cpu": gauge("loadrec_generator_cpu_percent", "the load generator's CPU, the busiest process"),
        "lag": gauge("loadrec_generator_loop_lag_seconds", "the load generator's event loop lag"),
        "delay": gauge("loadrec_generator_send_delay_seconds", "how late the load generator sent requests"),
        "max": GaugeMetricFamily("loadrec_monitor_max_invocations", "StoppingConditions.MaxInvocations (per minute)"),
        "threshold": GaugeMetricFamily(
            "loadrec_monitor_latency_threshold_seconds", "StoppingConditions' latency threshold", labels=["quantile"]
        ),
    }


def _meter_samples(families: dict[str, Any], labels: list[str], meter: TestMeter) -> None:
    if meter.users is not None:
        for key, value in zip(("target", "running", "workers"), meter.users, strict=True):
            families[key].add_metric(labels, value)
    families["invocations"].add_metric(labels, meter.successes)
    for kind, count in sorted(meter.failures.items()):
        families["failures"].add_metric([*labels, kind], count)
    families["latency"].add_metric(labels, meter.latency.samples(), meter.latency.sum_s)
    if meter.ttft is not None:
        families["tokens"].add_metric(labels, meter.output_tokens)
        families["ttft"].add_metric(labels, meter.ttft.samples(), meter.ttft.sum_s)
    if meter.health is not None:
        families["cpu"].add_metric(labels, float(meter.health.get("c", 0.0)))
        families["lag"].add_metric(labels, float(meter.health.get("l", 0.0)) / 1000)
        families["delay"].add_metric(labels, float(meter.health.get("d", 0.0)) / 1000)


def _result_samples(families: dict[str, Any], labels: list[str], folder: ResultsFolder, index: int) -> None:
    """The test's status and stop (result.json), and its monitor's last window (window.json)."""
    try:
        result = json.loads((folder.test_dir(index) / RESULT).read_text(encoding="utf-8"))
        window = folder.read_window(index)
    except (OSError, ValueError, ResultsFolderError):
        return  # not written yet (or torn by a kill): the next scrape reads it
    if isinstance(result, dict) and isinstance(result.get("status"), str):
        families["status"].add_metric([*labels, result["status"]], 1)
        if result.get("stop_reason"):
            families["stop"].add_metric([*labels, str(result["stop_reason"])], 1)
    if window is not None:
        families["window_rate"].add_metric(labels, window.invocations_per_minute)
        for quantile, ms in sorted(window.latency_ms.items()):
            if ms is not None:
                families["window_latency"].add_metric([*labels, f"{quantile / 100:g}"], ms / 1000)
        if window.generator is not None:
            families["bound"].add_metric(labels, 1.0 if window.generator.bound else 0.0)


def _condition_samples(families: dict[str, Any], spec: JobSpec) -> None:
    stopping = spec.stopping
    if stopping.max_invocations is not None:
        families["max"].add_metric([], stopping.max_invocations)
    if stopping.latency is not None:
        families["threshold"].add_metric([f"{stopping.latency.quantile / 100:g}"], stopping.latency.value_ms / 1000)


def metric_names() -> Iterable[str]:
    """Every metric family this exposes (the dashboard's queries use only these)."""
    return [family.name for family in _families().values()]
