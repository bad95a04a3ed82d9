"""One test's context: what the test is, its settings and prices, its results folder and run, where it
reports and the clock it reads; one object, as Locust's Environment is for a run.

Whatever runs a test (a test's process, the Locust plugin) builds it once and hands it to
the :class:`~loadrec.engine.load.session.LoadTestSession`; the session hands the live
monitor the part it judges by (:meth:`TestContext.watch`), so the monitor's tests need no
folder or prices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.live_monitor import Watch
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.prices import PriceTable
from loadrec.engine.results.files import ResultsFolder
from loadrec.shapes.search import Search


@dataclass(frozen=True)
class TestContext:
    """One test of one run: the job, the test ready to load, the run's settings and prices, the folder it
    writes, the run it belongs to, where it reports and its clock."""

    __test__ = False  # a name pytest would otherwise collect

    spec: JobSpec
    test: PreparedTest
    settings: RunSettings
    prices: PriceTable
    folder: ResultsFolder
    run_id: str
    say: Say
    clock: Callable[[], float] = time.time

    @property
    def index(self) -> int:
        return self.test.index

    @property
    def label(self) -> str:
        return self.test.label

    def watch(self, search: Search | None) -> Watch:
        """What the live monitor judges this test by (``search``: the one its shape follows, if any)."""
        return Watch(self.spec.schedule, self.spec.stopping, self.settings.monitor, self.say, self.clock, search)
