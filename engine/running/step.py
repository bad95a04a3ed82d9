"""One job step (one load test) in its own process: ``python -P -m loadrec.engine.running.step DIR N``.

The orchestrator starts one of these per endpoint configuration, so tests running in
parallel never share a Locust runner or a gevent hub, and a crash in one cannot take
the others with it. Everything comes from ``DIR/run.json`` (the job, the settings):
the job is validated and the payloads loaded once. A test whose endpoint loadrec creates
gets it here first (``Loadrec.Provisioner``), and deletes it on the way out, whatever the
way. The test runs in a
:class:`~loadrec.engine.load.session.LoadTestSession`, which writes ``DIR/tests/N/`` as it
goes. SIGTERM, Ctrl-C or SIGHUP stops the test and still writes what it measured, marked
STOPPED; so does the end of the process that started this one (it watches its parent).

``main`` is a stack of context managers, entered in this order and left in the reverse:
the stops (signal handlers and the watch on the parent: left last, so that a second
signal while the endpoint is deleted cannot cut the deletion short), the endpoint, the
runner.
"""

from gevent import monkey

monkey.patch_all()  # a process entry point: before anything imports ssl

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import gevent
from locust.runners import STATE_STOPPED

from loadrec.engine.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_RESULTS_NOT_WRITTEN
from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.context import TestContext
from loadrec.engine.load.prepare import SetupError, load_payloads, prepare_test
from loadrec.engine.load.runners import LoadTestRunner, create_runner
from loadrec.engine.load.session import LoadTestSession, SessionState
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.prices import PriceFileError, load_prices
from loadrec.engine.process.lifeline import STOP_SIGNALS, outlive_the_terminal, watch_parent
from loadrec.engine.provision.base import Provisioned, ProvisionError, delete_and_record, provisioner_for
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark, Status
from loadrec.engine.running.manifest import RunManifest, read_manifest


class Stops:
    """The stops that come from outside the test: a stop signal, or the end of the process that started this
    one. The first is kept (a stop before the session exists still stops it); each goes to the session."""

    def __init__(self) -> None:
        self.first: tuple[StopReason, str] | None = None
        self._session: LoadTestSession | None = None

    def __call__(self, detail: str, reason: StopReason = StopReason.STOPPED_BY_USER) -> None:
        if self.first is None:
            self.first = (reason, detail)
        if self._session is not None:
            self._session.stop(reason, detail)

    @property
    def heard(self) -> bool:
        return self.first is not None

    def reach(self, session: LoadTestSession) -> None:
        """From now on a stop goes to ``session``; one heard already stops it now."""
        self._session = session
        if self.first is not None:
            session.stop(*self.first)


@contextlib.contextmanager
def stops_heard(parent_pid: int) -> Iterator[Stops]:
    """Stop signals and the end of the parent (SIGKILL included: it cannot pass them on) stop the test."""
    stops = Stops()
    handlers = [gevent.signal_handler(sig, stops, "stopped by a signal") for sig in STOP_SIGNALS]
    ended = StopReason.JOB_PROCESS_ENDED  # the job's process killed: no person stopped this test
    lifeline = watch_parent(
        lambda parent: stops(f"the process that ran the job (pid {parent}) ended", ended), parent_pid
    )
    try:
        yield stops
    finally:
        lifeline.kill(block=False)
        for handler in handlers:
            handler.cancel()


@contextlib.contextmanager
def created_endpoint(
    spec: JobSpec, index: int, manifest: RunManifest, folder: ResultsFolder, say: Say, stops: Stops
) -> Iterator[Provisioned | None]:
    """The endpoint loadrec creates for test ``index`` (None: the job names one), deleted on the way out
    (or kept, with --keep-endpoints). Raises ProvisionError when it cannot be created."""
    if spec.target_of(index) is not None or spec.extension.provisioner is None:
        yield None
        return
    provisioner = provisioner_for(spec, Path(manifest.job_dir), say, manifest.run_id)
    record = partial(folder.write_provisioned, index)
    provisioned = provisioner.create(spec.case(index), record, lambda: stops.heard)
    try:
        yield provisioned
    finally:
        if manifest.settings.keep_endpoints:
            say(f"kept what was created for this test ({provisioned.target.label}): --keep-endpoints")
        else:
            delete_and_record(provisioner, provisioned, record)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # this process's own output: a closed terminal must not end the test
        outlive_the_terminal()
    out, index_text = (sys.argv[1:] if argv is None else argv)[:2]
    index = int(index_text)
    folder = ResultsFolder(Path(out))
    try:
        manifest = read_manifest(folder)
    except ResultsFolderError as error:  # the folder was removed or damaged since the job started
        print(f"test {index_text}: {error}", file=sys.stderr)
        return EXIT_FAILED
    # From here on a signal, or the end of the process that started this one, stops the test, even before it starts
    # (reading the job takes a moment: botocore loads its model).
    with stops_heard(manifest.pid) as stops:
        settings, spec, job_dir = manifest.settings, manifest.spec(), Path(manifest.job_dir)
        prefix = f"[{index} {spec.label_of(index)}]"

        def say(line: str) -> None:
            print(f"{prefix} {line}", flush=True)

        with contextlib.ExitStack() as held:
            try:
                prices = load_prices(Path(settings.prices) if settings.prices else None)
                payloads = load_payloads(spec, job_dir, settings.payloads)
                provisioned = held.enter_context(created_endpoint(spec, index, manifest, folder, say, stops))
                test = prepare_test(spec, index, payloads, job_dir, provisioned.target if provisioned else None)
            except (SetupError, PriceFileError, ProvisionError, OSError) as error:  # no load was sent
                return _not_started(folder, manifest.run_id, spec.label_of(index), index, str(error), stops)
            test_runner = held.enter_context(contextlib.closing(create_runner(spec, test, settings)))
            session = LoadTestSession(
                test_runner.environment, TestContext(spec, test, settings, prices, folder, manifest.run_id, say)
            )
            stops.reach(session)
            started = _run(session, test_runner, job_dir)
        # The runner is closed and the endpoint deleted (or kept): its facts go beside the result.
        if provisioned is not None and session.benchmark is not None:
            _with_endpoint_facts(folder, session.benchmark, provisioned)
    if not started:
        return EXIT_INTERRUPTED if stops.heard else EXIT_FAILED
    if session.write_error is not None:
        return EXIT_RESULTS_NOT_WRITTEN  # the job says "results not written", not an exit code
    return EXIT_INTERRUPTED if stops.heard else EXIT_OK


def _run(session: LoadTestSession, test_runner: LoadTestRunner, job_dir: Path) -> bool:
    """The test, until its session has finished; False when it could not start (workers that did not connect
    or could not take the test: FAILED, unless a stop came first)."""
    context = session.context
    try:
        if context.settings.distributed and not session.finished.is_set():
            wanted = session.finished.is_set  # a stop ends the wait for workers
            session.workers = test_runner.connect_workers(
                context.spec, context.test, context.settings, job_dir, lambda: not wanted()
            )
        gevent.sleep(1.0 - (time.time() % 1.0))  # start on a whole second: timeline and schedule seconds coincide
        if not session.finished.is_set():
            test_runner.runner.start_shape()
        while not session.finished.wait(timeout=1.0):
            if test_runner.runner.state == STATE_STOPPED and session.state is SessionState.READY:
                session.fail("the test ended before any user started")  # Locust fires no test_start then
    except SetupError as error:
        session.fail(str(error))  # a stop that ended the wait stands
        return False
    return True


def _with_endpoint_facts(folder: ResultsFolder, benchmark: Benchmark, provisioned: Provisioned) -> None:
    target = provisioned.target
    created = replace(benchmark, endpoint=target.label, endpoint_name=target.endpoint_name, ready_s=provisioned.ready_s)
    with contextlib.suppress(OSError):
        folder.write_benchmark(created)


def _not_started(folder: ResultsFolder, run_id: str, label: str, index: int, reason: str, stops: Stops) -> int:
    """The test could not start (or was stopped before it could): its result says why; no load was sent."""
    if stops.first is not None:
        outcome = Benchmark(index, label, Status.STOPPED, stops.first[0].value, stops.first[1])
    else:
        outcome = Benchmark(index, label, Status.FAILED, failure_reason=reason)
    print(reason, file=sys.stderr)
    with contextlib.suppress(OSError):  # the job sees an unwritten result as this process's failure
        folder.write_benchmark(replace(outcome, run_id=run_id))
    return EXIT_INTERRUPTED if stops.heard else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
