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
"""

from gevent import monkey

monkey.patch_all()  # a process entry point: before anything imports ssl

import contextlib
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import gevent
from locust.runners import STATE_STOPPED

from loadrec.engine.exit_codes import EXIT_INTERRUPTED, EXIT_RESULTS_NOT_WRITTEN
from loadrec.engine.load.prepare import SetupError, load_payloads, prepare_test
from loadrec.engine.load.runners import create_runner
from loadrec.engine.load.session import READY, LoadTestSession
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.prices import PriceFileError, load_prices
from loadrec.engine.process.lifeline import STOP_SIGNALS, outlive_the_terminal, watch_parent
from loadrec.engine.provision.base import Provisioned, Provisioner, ProvisionError, delete_and_record, provisioner_for
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark, Status
from loadrec.engine.running.manifest import read_manifest


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
        return 1
    settings = manifest.settings
    # From here on a signal, or the end of the process that started this one, stops the test, even before it starts.
    stops: list[tuple[StopReason, str]] = []
    session: LoadTestSession | None = None

    def stop(detail: str, reason: StopReason = StopReason.STOPPED_BY_USER) -> None:
        stops.append((reason, detail))
        if session is not None:
            session.stop(reason, detail)

    handlers = [gevent.signal_handler(sig, stop, "stopped by a signal") for sig in STOP_SIGNALS]
    ended = StopReason.JOB_PROCESS_ENDED  # the job's process killed (SIGKILL): no person stopped this test
    lifeline = watch_parent(
        lambda parent: stop(f"the process that ran the job (pid {parent}) ended", ended), manifest.pid
    )
    spec = manifest.spec()
    prefix = f"[{index} {spec.label_of(index)}]"

    def say(line: str) -> None:
        print(f"{prefix} {line}", flush=True)

    provisioner: Provisioner | None = None
    provisioned: Provisioned | None = None
    test_runner = None
    try:
        try:
            prices = load_prices(Path(settings.prices) if settings.prices else None)
            payloads = load_payloads(spec, Path(manifest.job_dir), settings.payloads)
            if spec.target_of(index) is None and spec.extension.provisioner is not None:
                provisioner = provisioner_for(spec, Path(manifest.job_dir), say, manifest.run_id)
                record = partial(folder.write_provisioned, index)
                provisioned = provisioner.create(spec.case(index), record, lambda: bool(stops))
            test = prepare_test(
                spec, index, payloads, Path(manifest.job_dir), provisioned.target if provisioned else None
            )
        except (SetupError, PriceFileError, ProvisionError, OSError) as error:  # no load was sent
            return _not_started(folder, manifest.run_id, spec.label_of(index), index, str(error), stops)
        test_runner = create_runner(spec, test, settings)
        session = LoadTestSession(
            test_runner.environment, spec, test, settings, prices, folder, manifest.run_id, say
        )  # fmt: skip
        if stops:
            session.stop(*stops[0])
        try:
            if settings.distributed and not session.finished.is_set():
                wanted = session.finished.is_set  # a stop ends the wait for workers
                base_dir = Path(manifest.job_dir)
                session.workers = test_runner.connect_workers(spec, test, settings, base_dir, lambda: not wanted())
            gevent.sleep(1.0 - (time.time() % 1.0))  # start on a whole second: timeline and schedule seconds coincide
            if not session.finished.is_set():
                test_runner.runner.start_shape()
            while not session.finished.wait(timeout=1.0):
                if test_runner.runner.state == STATE_STOPPED and session.state == READY:
                    session.fail("the test ended before any user started")  # Locust fires no test_start then
        except SetupError as error:  # e.g. workers that did not connect or could not take the test
            session.fail(str(error))  # a stop that ended the wait stands
            return EXIT_INTERRUPTED if stops else 1
    finally:
        if test_runner is not None:
            test_runner.close()
        if provisioner is not None and provisioned is not None:
            if settings.keep_endpoints:
                say(f"kept what was created for this test ({provisioned.target.label}): --keep-endpoints")
            else:
                delete_and_record(provisioner, provisioned, partial(folder.write_provisioned, index))
            if session is not None and session.benchmark is not None:  # the endpoint's facts beside the result
                target = provisioned.target
                created = replace(
                    session.benchmark,
                    endpoint=target.label,
                    endpoint_name=target.endpoint_name,
                    ready_s=provisioned.ready_s,
                )
                with contextlib.suppress(OSError):
                    folder.write_benchmark(created)
        # Only now: a second signal while the endpoint is deleted must not cut the deletion short.
        lifeline.kill(block=False)
        for handler in handlers:
            handler.cancel()
    if session.write_error is not None:
        return EXIT_RESULTS_NOT_WRITTEN  # the job says "results not written", not an exit code
    return EXIT_INTERRUPTED if stops else 0


def _not_started(
    folder: ResultsFolder, run_id: str, label: str, index: int, reason: str, stops: list[tuple[StopReason, str]]
) -> int:
    """The test could not start (or was stopped before it could): its result says why; no load was sent."""
    if stops:
        outcome = Benchmark(index, label, Status.STOPPED, stops[0][0].value, stops[0][1])
    else:
        outcome = Benchmark(index, label, Status.FAILED, failure_reason=reason)
    print(reason, file=sys.stderr)
    with contextlib.suppress(OSError):  # the job sees an unwritten result as this process's failure
        folder.write_benchmark(replace(outcome, run_id=run_id))
    return EXIT_INTERRUPTED if stops else 1


if __name__ == "__main__":
    sys.exit(main())
