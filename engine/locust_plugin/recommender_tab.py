"""The Recommender tab of Locust's own web UI (a stock ``locust -f`` run) and ``GET /loadrec/status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locust.env import Environment

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.locust_plugin.web_login import install_login
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, closest, readings

if TYPE_CHECKING:
    from loadrec.engine.locust_plugin.plugin import LocustJob

STATUS_PATH = "/loadrec/status"
TAB_KEY = "recommender"


def status(job: LocustJob) -> dict[str, Any]:
    """What the recommender tab shows, as JSON."""
    session = job.session
    monitor = session.monitor
    body: dict[str, Any] = {"state": session.state.value, "job": job.prepared.spec.name, "test": session.context.label}
    body["results_dir"] = str(job.folder.path.resolve())
    if job.refused is not None:
        body["refused"] = job.refused
    if monitor is not None and monitor.history:
        window, evaluation = monitor.history[-1].window, monitor.history[-1].evaluation
        body["window"] = {
            "seconds": window.span_s,
            "users": window.users,
            "invocations_per_minute": round(window.invocations_per_minute, 1),
            "failures": window.failures,
            "latency_ms": {f"p{q:g}": v for q, v in window.latency_ms.items()},
        }
        body["conditions"] = condition_rows(job.prepared.spec, job.prepared.settings.monitor, window)
        body["closest"] = evaluation.closest
    if monitor is not None and monitor.reason is not None:
        body["stop_reason"], body["stop_detail"] = monitor.reason.value, monitor.detail
    results = job.results
    if results is not None:
        body["status"] = results.status.aws
        body["recommendations"] = [
            {
                "Configuration": b.label,
                "MaxInvocations": b.sizing.max_invocations,
                "InitialInstanceCount": b.sizing.initial_instance_count,
            }
            for b in results.measured
            if b.sizing is not None
        ]
    return body


def condition_rows(spec: JobSpec, settings: MonitorSettings, window: WindowStats) -> list[dict[str, str]]:
    """Each stopping condition's live value against its limit, as the monitor reads it; the closest marked."""
    found = readings(spec.stopping, settings, window)
    nearest = closest(found)
    rows = [
        {
            "item": r.condition + (" (closest)" if r is nearest else ""),
            "value": r.value,
            "limit": r.limit + ("" if r.ratio is None else f" ({r.ratio:.0%} reached)"),
        }
        for r in found
    ]
    rows.append({"item": "flat invocations", "value": "watching", "limit": spec.stopping.flat_invocations})
    return rows


def install(environment: Environment, job: LocustJob) -> None:
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
        return jsonify(status(job))

    @app.before_request
    def keep_the_jobs_target() -> Any:
        """The target comes from the job: a Start asking for another host is refused, not half obeyed."""
        test = job.prepared.test
        assert test.invocation is not None and test.target is not None  # stock runs load existing endpoints
        target = test.invocation.base_url
        asked = request.form.get("host", "").strip().rstrip("/") if request.path == "/swarm" else ""
        if asked and asked != target.rstrip("/"):
            message = f"the target is set by the job ({test.target.label}); it cannot be changed here"
            return jsonify({"success": False, "message": message, "host": target})
        return None

    @app.after_request
    def add_recommender_rows(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            body = status(job)
            rows = list(body.get("conditions", []))
            if "stop_reason" in body:
                rows.append({"item": "stopped by", "value": body["stop_reason"], "limit": body.get("stop_detail", "")})
            for recommendation in body.get("recommendations", []):
                rows.append(
                    {
                        "item": "recommendation",
                        "value": f"{recommendation['MaxInvocations']} invocations/min",
                        "limit": f"{recommendation['InitialInstanceCount']} instance(s)",
                    }
                )
            response.set_data(jsonify({**response.json, "extended_stats": [{"key": TAB_KEY, "data": rows}]}).get_data())
        return response

    if environment.parsed_options is not None and environment.parsed_options.web_login:
        install_login(environment)
