"""The web UI's HTTP side: a Flask app (Flask comes with Locust) over one :class:`JobConsole`.

Routes: ``/`` the page (the plan, then the live run); ``/loadrec/view`` the live part
alone, which the page fetches every second (``?cost=&latency=&throughput=`` re-rank the
table); ``/loadrec/status`` the same as JSON; ``POST /loadrec/start`` and
``POST /loadrec/stop``; ``/loadrec/runs/K/FILE`` the run's report.html, describe.json,
steps.json and timeline.csv (nothing else is served from disk); ``/login``.

Nothing on the page edits the job: the target, the pattern and the settings come from
the job file and the command line. Guards, for a page that can start load: with a login
configured every route but the login needs it; a POST needs the page's own header (a
form on another site cannot send one) and no foreign Origin; on a loopback bind only a
loopback Host is answered (DNS rebinding); a strict Content-Security-Policy.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Flask, Response, jsonify, redirect, request, send_file, session
from flask_login import LoginManager, current_user, login_user, logout_user

from loadrec.engine.access.login import LoginThrottle, form_login, is_loopback
from loadrec.engine.access.web_user import WebUser, load_user
from loadrec.engine.measurement.outcome import Status
from loadrec.engine.results.files import MEDIA_TYPES, SHARED_FILES, shared_file
from loadrec.engine.results.outputs.report import STATUS_CLASS, STYLE
from loadrec.engine.webui import views
from loadrec.engine.webui.console import READY, RUN_PREFIX, RUNNING, STOPPING, ConsoleError, JobConsole

REQUEST_HEADER = "X-Loadrec-Request"  # set by the page's script on every POST
OPEN_PATHS = frozenset({"/login", "/loadrec/static/console.js", "/favicon.ico"})
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


@cache
def _style() -> str:
    """The report's style and the page's own (inline, as the report's is: the page is one document)."""
    return STYLE + (STATIC / "console.css").read_text(encoding="utf-8")


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("loadrec.engine.webui", "templates"),
                jinja2.PackageLoader("loadrec.engine.results.outputs", "templates"),  # the parts the report shares
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    """A page or fragment of the UI, with the names its templates share."""
    return _templates().get_template(template).render(
        status_class=STATUS_CLASS, style=_style(), RUNNING=RUNNING, STOPPING=STOPPING, PENDING=views.PENDING,
        IN_PROGRESS=Status.IN_PROGRESS.value, OBJECTIVES=views.OBJECTIVES, **context,
    )  # fmt: skip


def create_app(console: JobConsole, login: bool, loopback: bool, port: int = 0) -> Flask:
    """The web UI over ``console``: ``login`` on every route but the login's own; ``loopback``: only a
    loopback Host is answered (the UI listens there alone)."""
    # Paths given: Flask cannot find them itself for a package installed under another folder name.
    app = Flask(__name__, static_folder=None, root_path=str(HERE), instance_path=str(HERE))
    app.secret_key = secrets.token_bytes(32)  # a restart logs everyone out
    app.config.update(
        SESSION_COOKIE_NAME=f"loadrec-{port}",  # cookies ignore ports: another UI on this host keeps its own
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: load_user(user_id) if login else None)
    throttle = LoginThrottle()

    @app.before_request
    def guard() -> Any:
        if loopback and not is_loopback(urlsplit(f"//{request.host}").hostname or ""):
            return _refuse(403, "this web UI answers on its loopback address only")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin != request.host_url.rstrip("/"):
                return _refuse(403, "a request from another site")
            if request.path != "/login" and request.headers.get(REQUEST_HEADER) != "1":
                return _refuse(403, f"a POST needs the {REQUEST_HEADER} header the page sends")
        if login and request.path not in OPEN_PATHS and not current_user.is_authenticated:
            if request.method == "GET" and request.path in ("/", "/loadrec/view"):
                return redirect("/login")
            return _refuse(401, "log in first")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make a form post say Origin: null
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def live_view() -> dict[str, Any] | None:
        weights = views.weights_from(request.args, console.settings.weights)  # refused even before a run
        snapshot = console.snapshot()
        return None if snapshot is None else views.live(snapshot, console.spec, console.settings, weights)

    def fragment() -> str:
        run = live_view()
        return render("live.html.j2", state=console.state, run=run, levels=views.LEVELS, files=SHARED_FILES)

    @app.errorhandler(views.BadWeights)
    def bad_weights(error: views.BadWeights) -> Any:
        return _refuse(400, str(error))

    @app.get("/")
    def index() -> str:
        plan = views.plan(console.spec, console.tests, console.settings)
        show_plan = console.state == READY  # once a run exists, the run comes first; the plan stays a click away
        return render("console.html.j2", plan=plan, show_plan=show_plan, live=fragment(), login=login)

    @app.get("/loadrec/view")
    def view() -> str:
        return fragment()

    @app.get("/loadrec/status")
    def status() -> Any:
        return jsonify(views.status(console.state, live_view()))

    @app.post("/loadrec/start")
    def start() -> Any:
        try:
            number = console.start()
        except ConsoleError as error:
            return _refuse(409, str(error))
        return jsonify({"success": True, "message": f"run {number} started", "run": number})

    @app.post("/loadrec/stop")
    def stop() -> Any:
        try:
            console.stop()
        except ConsoleError as error:
            return _refuse(409, str(error))
        return jsonify({"success": True, "message": f"run {console.number} stopping", "run": console.number})

    @app.get("/loadrec/runs/<int:number>/<name>")
    def result_file(number: int, name: str) -> Any:
        path = shared_file(console.base / f"{RUN_PREFIX}{number}", name)
        if path is None:
            return _refuse(404, "no such results file")
        return send_file(path, mimetype=MEDIA_TYPES[name], max_age=0)

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return Response(status=204)  # none: a browser asks for one, and a 404 would only be noise

    @app.get("/loadrec/static/console.js")
    def script() -> Any:
        return send_file(STATIC / "console.js", mimetype="text/javascript", max_age=0)

    @app.route("/login", methods=["GET", "POST"])
    def login_page() -> Any:
        if not login:
            return redirect("/")
        if request.method == "POST":
            username, password = request.form.get("username", ""), request.form.get("password", "")
            error = form_login(throttle, request.remote_addr or "", username, password)
            if error is None:
                login_user(WebUser(username))
                return redirect("/")
            session["login_error"] = error
            return redirect("/login")
        error = session.pop("login_error", "")
        return render("login.html.j2", job=console.spec.name, error=error)

    @app.post("/logout")
    def logout() -> Any:
        logout_user()
        return jsonify({"success": True})

    return app


def _refuse(code: int, message: str) -> Any:
    response = jsonify({"success": False, "message": message})
    response.status_code = code
    return response
