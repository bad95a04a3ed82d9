"""loadrec inside a stock Locust process: options, user, shape, monitor, results and the web UI tab.

``engine/locustfile.py`` imports this, so ``locust -f engine/locustfile.py --job JOB`` works
headless, with the web UI, and as ``--master``/``--worker``; ``loadrec ui`` is the same with
the options filled in. Per test run (each Start in the UI): a fresh timeline and monitor
start on ``test_start``; on ``test_stop`` the results are written exactly as ``loadrec run``
writes them. A Stop decided by the monitor stops the runner, in the UI too.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from engine.cli import PASSWORD_ENV, USERNAME_ENV
from engine.distributed import (
    WORKER_REPORT_INTERVAL_S,
    attach_recorder,
    collect_from_workers,
    ship_seconds,
)
from engine.jobfile import load_job
from engine.jobspec import JobSpec
from engine.limits import LimitsMode
from engine.loadtest import PreparedTest, RunSettings, TestRecord, load_payloads, prepare_test
from engine.metrics import SecondRecorder, Timeline
from engine.monitor import MonitorSettings, StopReason
from engine.monitor_greenlet import LiveMonitor
from engine.prices import load_prices
from engine.users import InvocationUser

logger = logging.getLogger(__name__)

STATUS_PATH = "/loadrec/status"
TAB_KEY = "recommender"


class JobUser(InvocationUser):
    """The job's virtual user; bound to the job's target when Locust starts."""


@events.init_command_line_parser.add_listener
def _options(parser: argparse.ArgumentParser) -> None:
    for flag, kwargs in (
        ("--test-index", {"type": int, "default": 0, "help": "loadrec: which endpoint configuration to test"}),
        ("--results-dir", {"default": None, "help": "loadrec: results directory (default results/JOBNAME)"}),
        ("--window", {"type": int, "default": MonitorSettings.window_s, "help": "loadrec: trailing window, s"}),
        ("--evaluate-every", {"type": int, "default": MonitorSettings.evaluate_every_s, "help": "loadrec: s"}),
        ("--payloads", {"default": None, "help": "loadrec: sample payloads (overrides the job's)"}),
        ("--prices", {"default": None, "help": "loadrec: price table file"}),
    ):
        with contextlib.suppress(argparse.ArgumentError):  # registered already (imported under two names)
            parser.add_argument(flag, **kwargs)


class Session:
    """One job in one Locust process; a test per Start."""

    def __init__(self, environment: Environment, spec: JobSpec, test: PreparedTest, settings: RunSettings, out: Path):
        self.environment, self.spec, self.test, self.settings, self.out = environment, spec, test, settings, out
        prices = getattr(environment.parsed_options, "prices", None)
        self.prices = load_prices(Path(prices) if prices else None)
        self.timeline: Timeline | None = None
        self.monitor: LiveMonitor | None = None
        self.state = "ready"
        self.result: dict[str, Any] | None = None
        runner = environment.runner
        self.recorder: SecondRecorder | None = None
        if isinstance(runner, MasterRunner):
            # Listeners are registered once; each test's seconds go to that test's timeline.
            collect_from_workers(environment, runner, self._add)
        else:
            self.recorder = SecondRecorder()
            attach_recorder(environment, self.recorder)

    def _add(self, seconds: list[dict[str, Any]]) -> None:
        if self.timeline is not None:
            self.timeline.add(seconds)

    def start(self, **_: Any) -> None:
        runner = self.environment.runner
        assert runner is not None
        if self.recorder is not None:
            self.recorder.take_all()  # whatever a previous run left behind
        self.timeline = Timeline(time.time())
        lag = int(WORKER_REPORT_INTERVAL_S) + 1 if isinstance(runner, MasterRunner) else 0
        self.monitor = LiveMonitor(
            runner, self.timeline, self.spec.schedule, self.spec.stopping, self.settings.monitor, self.recorder, lag,
            lambda line: logger.info("%s", line),
        )  # fmt: skip
        self.state, self.result = "running", None
        gevent.spawn(self.monitor.run)

    def finish(self, **_: Any) -> None:
        """Write the results of the test that just stopped (runs inside runner.stop())."""
        from engine.job import job_status
        from engine.ranking import Weights
        from engine.report import write_report
        from engine.results import write_job, write_test
        from engine.step import result_of, with_utilization

        monitor, timeline = self.monitor, self.timeline
        if monitor is None or timeline is None or self.state != "running":
            return
        if self.recorder is not None:
            timeline.add(s.to_wire() for s in self.recorder.take_all())
        if monitor.reason is None:
            ended_early = time.time() - timeline.start_epoch < self.spec.schedule.duration_s - 1
            monitor.reason = StopReason.STOPPED_BY_USER if ended_early else StopReason.PATTERN_COMPLETE
        record = TestRecord(self.test.index, self.test.label, timeline, monitor, timeline.start_epoch, time.time())
        result = with_utilization(self.spec, result_of(self.spec, self.test, self.settings, record, self.prices))
        write_test(self.out, result, timeline.rows())
        status = job_status([result], interrupted=False)
        body = write_job(self.out, self.spec, status, (timeline.start_epoch, time.time()), [result], weights=Weights())
        write_report(self.out)
        self.state = "finished"
        self.result = body
        options = self.environment.parsed_options
        if options is not None and options.headless and self.environment.runner is not None:
            gevent.spawn(self.environment.runner.quit)

    def status(self) -> dict[str, Any]:
        """What the recommender tab shows, as JSON."""
        monitor = self.monitor
        body: dict[str, Any] = {"state": self.state, "job": self.spec.name, "test": self.test.label}
        body["results_dir"] = str(self.out.resolve())
        if monitor is not None and monitor.history:
            window, evaluation = monitor.history[-1].window, monitor.history[-1].evaluation
            body["window"] = {
                "seconds": window.span_s,
                "users": window.users,
                "invocations_per_minute": round(window.invocations_per_minute, 1),
                "failures": window.failures,
                "latency_ms": {f"p{q:g}": v for q, v in window.latency_ms.items()},
            }
            body["conditions"] = condition_rows(self.spec, window)
            body["closest"] = evaluation.closest
        if monitor is not None and monitor.reason is not None:
            body["stop_reason"], body["stop_detail"] = monitor.reason.value, monitor.detail
        if self.result is not None:
            body["status"] = self.result["Status"]
            body["recommendations"] = self.result.get("InferenceRecommendations", [])
        return body


def condition_rows(spec: JobSpec, window: Any) -> list[dict[str, str]]:
    """Each stopping condition's live value against its limit."""
    rows = []
    latency = spec.stopping.latency
    if latency is not None:
        value = window.latency_ms.get(latency.quantile)
        shown = "-" if value is None else f"{value:.1f} ms"
        rows.append({"item": f"{latency.percentile} latency", "value": shown, "limit": f"{latency.value_ms} ms"})
    if spec.stopping.max_invocations is not None:
        rows.append(
            {
                "item": "invocations per minute",
                "value": f"{window.invocations_per_minute:.0f}",
                "limit": f"{spec.stopping.max_invocations}",
            }
        )
    rows.append({"item": "failures in window", "value": f"{window.failures}/{window.requests}", "limit": "half"})
    rows.append({"item": "flat invocations", "value": "watching", "limit": spec.stopping.flat_invocations})
    return rows


def _install_ui(environment: Environment, session: Session) -> None:
    from flask import jsonify, request

    web_ui = environment.web_ui
    assert web_ui is not None and web_ui.app is not None
    app = web_ui.app
    web_ui.template_args["extended_tabs"] = [{"title": "Recommender", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [
        {
            "key": TAB_KEY,
            "structure": [
                {"key": "item", "title": "Condition"},
                {"key": "value", "title": "Now"},
                {"key": "limit", "title": "Limit"},
            ],
        }
    ]

    @app.route(STATUS_PATH)
    @web_ui.auth_required_if_enabled
    def loadrec_status() -> Any:
        return jsonify(session.status())

    @app.after_request
    def add_recommender_rows(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            status = session.status()
            rows = list(status.get("conditions", []))
            if "stop_reason" in status:
                rows.append(
                    {"item": "stopped by", "value": status["stop_reason"], "limit": status.get("stop_detail", "")}
                )
            for recommendation in status.get("recommendations", []):
                invocations = recommendation["Metrics"]["MaxInvocations"]
                instances = recommendation["EndpointConfiguration"].get("InitialInstanceCount", 1)
                rows.append(
                    {
                        "item": "recommendation",
                        "value": f"{invocations} invocations/min",
                        "limit": f"{instances} instance(s)",
                    }
                )
            response.set_data(jsonify({**response.json, "extended_stats": [{"key": TAB_KEY, "data": rows}]}).get_data())
        return response

    if environment.parsed_options is not None and environment.parsed_options.web_login:
        _install_login(environment)


def _install_login(environment: Environment) -> None:
    """Username and password from the environment, checked in constant time."""
    from flask import redirect, request, session, url_for
    from flask_login import UserMixin, login_user

    web_ui = environment.web_ui
    assert web_ui is not None and web_ui.app is not None
    username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    # Flask signs the login session with this; a fresh one per process logs everyone out on restart.
    web_ui.app.secret_key = secrets.token_bytes(32)

    class WebUser(UserMixin):
        def __init__(self, name: str) -> None:
            self.id = name

    @web_ui.login_manager.user_loader
    def load_user(user_id: str) -> WebUser | None:
        return WebUser(user_id) if username and user_id == username else None

    web_ui.auth_args = {"username_password_callback": "/loadrec/login"}

    @web_ui.app.route("/loadrec/login", methods=["POST"])
    def loadrec_login() -> Any:
        given_user, given_password = request.form.get("username", ""), request.form.get("password", "")
        if username and hmac.compare_digest(given_user, username) and hmac.compare_digest(given_password, password):
            login_user(WebUser(username))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))


def _configure_worker(environment: Environment, runner: WorkerRunner) -> None:
    locust.runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S
    recorder = SecondRecorder()
    attach_recorder(environment, recorder)
    ship_seconds(environment, runner, recorder)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not getattr(options, "job", None):
        return  # not a loadrec run (a library import, or a locustfile without --job)
    job = options.job
    spec = load_job(job, LimitsMode(options.limits or LimitsMode.AWS.value))
    payloads = load_payloads(spec, Path(job).resolve().parent, options.payloads)
    test = prepare_test(spec, options.test_index, payloads)
    JobUser.configure(test.invocation, test.payloads, None, spec.extension.request_timeout_s)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _configure_worker(environment, runner)
        return
    if environment.shape_class is not None and hasattr(environment.shape_class, "follow"):
        environment.shape_class.follow(spec.schedule)
    settings = RunSettings(
        monitor=MonitorSettings(window_s=options.window, evaluate_every_s=options.evaluate_every),
        job_path=str(Path(job).resolve()),
        limits=options.limits or LimitsMode.AWS.value,
        payloads_override=options.payloads,
    )
    out = Path(options.results_dir) if options.results_dir else Path("results") / spec.name
    session = Session(environment, spec, test, settings, out)
    environment.events.test_start.add_listener(session.start)
    environment.events.test_stop.add_listener(session.finish)
    if environment.web_ui is not None:
        _install_ui(environment, session)
