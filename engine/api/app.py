"""The API server's HTTP side: SageMaker's JSON protocol at ``POST /``, a read-only job list at ``GET /``.

``POST /``: the operation named by ``X-Amz-Target``, signed with SigV4 by a configured key
(:mod:`.sigv4`), parameters checked against botocore's model, the answer in the output
shape (:mod:`.protocol`); every error is AWS's ``{"__type", "message"}`` with its HTTP
status, never a traceback. ``GET /`` lists the jobs with links to each job's
report.html, describe.json, steps.json and timeline.csv (``/jobs/NAME/FILE``; nothing
else is served from disk), behind HTTP Basic (a browser cannot sign a request): the web
login of ``LOADREC_WEB_USERNAME``/``LOADREC_WEB_PASSWORD``, or, from this machine only,
an access key id and its secret key. Without keys
(``--insecure-no-auth``, loopback only) only a loopback Host is answered, so a web page
cannot reach the server through DNS rebinding.
"""

from __future__ import annotations

import hmac
import json
import math
import sys
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Flask, Response, request, send_file

from loadrec.engine.access.login import LoginThrottle, credentials_match, is_loopback, too_many_logins
from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.operations import OPERATIONS
from loadrec.engine.api.protocol import CONTENT_TYPE, MAX_BODY_BYTES, ApiError, operation, read_params, to_wire
from loadrec.engine.api.sigv4 import AuthError, SignedRequest, verify
from loadrec.engine.results.files import MEDIA_TYPES, SHARED_FILES, shared_file
from loadrec.engine.results.outputs.report import STATUS_CLASS, STYLE

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
HERE = Path(__file__).resolve().parent
REALM = 'Basic realm="loadrec", charset="UTF-8"'

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("loadrec.engine.api", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)


def create_app(
    jobs: JobManager, keys: Mapping[str, str] | None, clock: Callable[[], float], served: Mapping[str, Any] = OPERATIONS
) -> Flask:
    """The server over ``jobs``; ``keys`` None: no authentication (loopback only, checked by the caller)."""
    app = Flask(__name__, static_folder=None, root_path=str(HERE), instance_path=str(HERE))
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    throttle = LoginThrottle()  # on the monotonic clock: a wall clock set back must not lock anyone out

    @app.before_request
    def guard() -> Any:
        if keys is None and not is_loopback(urlsplit(f"//{request.host}").hostname or ""):
            return _error(ApiError("AccessDeniedException", "this server answers on its loopback address only", 403))
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(413)
    def too_large(_: Any) -> Any:
        return _error(TOO_LARGE)

    @app.post("/")
    def api() -> Any:
        body = _bounded_body()
        if body is None:
            return _error(TOO_LARGE)
        try:
            if keys is not None:
                verify(_signed(body), keys, datetime.fromtimestamp(clock(), UTC), jobs.config.region)
            model = operation(request.headers.get("X-Amz-Target"), served)
            params = read_params(body, model)
            answer = served[model.name](jobs, params)
        except AuthError as error:
            return _error(ApiError(error.code, error.message, error.status))
        except ApiError as error:
            return _error(error)
        except Exception as error:  # a defect: the caller gets AWS's shape, the log one line, never a traceback
            print(f"internal error: {type(error).__name__}: {error}".splitlines()[0][:500], file=sys.stderr)
            return _error(ApiError("InternalFailure", "the request could not be processed", 500))
        return Response(json.dumps(to_wire(answer, model.output_shape)), 200, content_type=CONTENT_TYPE)

    @app.get("/")
    def index() -> Any:
        if refused := _page_login(keys, throttle):
            return refused
        rows = sorted(jobs.store.all(), key=lambda r: r.created, reverse=True)
        page = _templates.get_template("jobs.html.j2").render(
            jobs=rows, files=SHARED_FILES, style=STYLE, status_class=STATUS_CLASS, when=_when
        )
        response = Response(page, 200, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = POLICY
        return response

    @app.get("/jobs/<name>/<file>")
    def result_file(name: str, file: str) -> Any:
        if refused := _page_login(keys, throttle):
            return refused
        record = jobs.store.get(name)
        path = None if record is None else shared_file(jobs.folder_of(record).path, file)
        if path is None:
            return Response("no such results file\n", 404, content_type="text/plain")
        response = send_file(path, mimetype=MEDIA_TYPES[file], max_age=0)
        response.headers["Content-Security-Policy"] = POLICY
        return response

    return app


UNREAD_BODY = "loadrec.unread_body"  # environ key: the body was refused unread (serve.py's handler acts on it)
TOO_LARGE = ApiError("ValidationException", f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")


def _bounded_body() -> bytes | None:
    """The request's body, or None past MAX_BODY_BYTES. A chunked body has no length to refuse up front, and
    Werkzeug's limit on it cuts the body short without a word (a 20 MB body became 1 MiB and failed its
    signature): the server's own input, which ends where the chunks do, is read one byte past the bound."""
    declared = request.content_length
    stream = request.environ["wsgi.input"] if request.environ.get("wsgi.input_terminated") else request.stream
    body = b"" if declared is not None and declared > MAX_BODY_BYTES else stream.read(MAX_BODY_BYTES + 1)
    if (declared is not None and declared > MAX_BODY_BYTES) or len(body) > MAX_BODY_BYTES:
        request.environ[UNREAD_BODY] = True  # the server closes the connection instead of reading the rest
        return None
    return bytes(body)


def _signed(body: bytes) -> SignedRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = request.query_string.decode("latin-1")
    return SignedRequest(request.method, request.path, query, headers, body)


def _page_login(keys: Mapping[str, str] | None, throttle: LoginThrottle) -> Response | None:
    """None when the caller may see the page; else the answer: log in (401), or wait (429) after too many
    wrong guesses from its address."""
    if keys is None:
        return None
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return _ask_login()
    username, password, address = auth.username, auth.password, request.remote_addr or ""
    wait_s = throttle.attempt(address, lambda: _basic_ok(keys, username, password, is_loopback(address)))
    if wait_s is None:
        return None
    if wait_s > 0:
        return Response(too_many_logins(wait_s) + "\n", 429,
                        {"Retry-After": str(math.ceil(wait_s)), "Content-Type": "text/plain"})  # fmt: skip
    return _ask_login()


def _basic_ok(keys: Mapping[str, str], username: str, password: str, local: bool) -> bool:
    """The page's login: the web login (LOADREC_WEB_USERNAME/PASSWORD) from anywhere; an access key id and its
    secret from this machine only (Basic sends them in clear: a secret that signs API calls never crosses a
    network that way)."""
    if credentials_match(username, password):
        return True
    secret = keys.get(username, "")
    return local and bool(secret) and hmac.compare_digest(password.encode(), secret.encode())


def _ask_login() -> Response:
    return Response("log in: the web login, or (from this machine) an access key id and its secret key\n", 401,
                    {"WWW-Authenticate": REALM, "Content-Type": "text/plain"})  # fmt: skip


def _error(error: ApiError) -> Response:
    return Response(json.dumps(error.body()), error.status, content_type=CONTENT_TYPE)


def _when(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
