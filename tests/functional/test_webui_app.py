"""The web UI's guards and routes, in-process through Flask's test client (no run is started here).

A page that can start load answers only its own page's requests: a loopback Host on a
loopback bind, POSTs with the page's header and no foreign Origin, the login on every
route when one is set, and only the run's four results files from disk.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from loadrec.engine.access.login import MAX_FAILURES, PASSWORD_ENV, USERNAME_ENV
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.load.prepare import prepare_test
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.webui.app import POLICY, REQUEST_HEADER, create_app
from loadrec.engine.webui.console import READY, JobConsole
from loadrec.payloads import Payload
from tests.report_fixture import REQUEST

PAYLOADS = (Payload("a.csv", b"1,2", "text/csv"),)
PAGE = {REQUEST_HEADER: "1"}


def console(base: Path) -> JobConsole:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    tests = [prepare_test(spec, index, PAYLOADS, Path()) for index in range(3)]
    return JobConsole(spec, tests, RunSettings(limits=LimitsMode.RELAXED), base, base / "results", print)


@pytest.fixture
def job(tmp_path: Path) -> JobConsole:
    return console(tmp_path)


def client(job: JobConsole, login: bool = False) -> FlaskClient:
    return create_app(job, login=login, loopback=True).test_client()


@pytest.fixture
def logged_out(job: JobConsole, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv(USERNAME_ENV, "ops")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    yield client(job, login=True)


def test_the_page_shows_the_plan_under_a_strict_policy(job: JobConsole) -> None:
    page = client(job).get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == POLICY
    assert "report-job" in html and "Fixture for the report &amp; its &lt;escaping&gt;" in html
    assert "STAIRS: 48 s, peaking at 12 users" in html and "http://127.0.0.1:3/invocations" in html
    assert 'id="start"' in html and "<input" not in html  # nothing on the page edits the job
    assert client(job).get("/loadrec/status").get_json() == {"state": READY}


@pytest.mark.parametrize(
    "host", ["localhost:8089", "127.0.0.1:8089", "127.0.0.2:8089", "[::1]:8089", "[::1]", "localhost"]
)
def test_a_loopback_host_is_answered(job: JobConsole, host: str) -> None:
    assert client(job).get("/loadrec/status", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["rebound.example:8089", "10.0.0.5:8089", "127.0.0.1.nip.io", "[::2]:8089"])
def test_any_other_host_is_refused_on_a_loopback_bind(job: JobConsole, host: str) -> None:
    refused = client(job).get("/loadrec/status", headers={"Host": host})
    assert refused.status_code == 403 and refused.get_json()["message"] == (
        "this web UI answers on its loopback address only"
    )


def test_a_post_without_the_page_s_header_or_from_another_site_starts_nothing(job: JobConsole) -> None:
    web = client(job)
    bare = web.post("/loadrec/start")
    foreign = web.post("/loadrec/start", headers={**PAGE, "Origin": "http://evil.example"})
    assert (bare.status_code, foreign.status_code) == (403, 403)
    assert REQUEST_HEADER in bare.get_json()["message"] and "another site" in foreign.get_json()["message"]
    assert job.state == READY and not (job.base).exists()


def test_stop_without_a_run_says_so(job: JobConsole) -> None:
    answer = client(job).post("/loadrec/stop", headers=PAGE)
    assert answer.status_code == 409 and answer.get_json() == {"success": False, "message": "no run is going"}


def test_bad_importances_are_refused_in_one_line(job: JobConsole) -> None:
    answer = client(job).get("/loadrec/view?throughput=%3Cb%3E")
    assert answer.status_code == 400
    assert answer.get_json()["message"] == "throughput: '<b>' is not one of Lowest, Low, Moderate, High, Highest"


def test_only_the_four_results_files_are_served(job: JobConsole) -> None:
    run = job.base / "run-1"
    run.mkdir(parents=True)
    for name in ("report.html", "describe.json", "run.json"):
        (run / name).write_text("{}")
    web = client(job)
    report = web.get("/loadrec/runs/1/report.html")
    assert report.status_code == 200 and report.mimetype == "text/html"
    assert web.get("/loadrec/runs/1/describe.json").mimetype == "application/json"
    for path in ("/loadrec/runs/1/run.json", "/loadrec/runs/1/steps.json", "/loadrec/runs/2/report.html"):
        assert web.get(path).status_code == 404, path
    outside = job.base.parent / "secret.txt"
    outside.write_text("not a result")
    (run / "steps.json").symlink_to(outside)  # a link in the folder leads nowhere else
    assert web.get("/loadrec/runs/1/steps.json").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/loadrec/runs/1/describe.json%00.txt", "/loadrec/runs/1/%00", "/loadrec/runs/1/..%2frun.json",
     "/loadrec/runs/99999999999999999999999/report.html", "/loadrec/view?throughput=%00", "/loadrec/%00",
     "/loadrec/runs/1/report.html%0a"],
)  # fmt: skip
def test_a_hostile_path_is_a_4xx_never_a_traceback(job: JobConsole, path: str) -> None:
    run = job.base / "run-1"
    run.mkdir(parents=True)
    (run / "describe.json").write_text("{}")
    app = create_app(job, login=False, loopback=True)
    app.config["PROPAGATE_EXCEPTIONS"] = True  # a defect raises here instead of hiding in a 500
    web = app.test_client()
    assert web.get("/loadrec/runs/1/describe.json").status_code == 200
    answer = web.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_with_a_login_every_route_needs_it(logged_out: FlaskClient, job: JobConsole) -> None:
    for page in ("/", "/loadrec/view"):
        assert logged_out.get(page).headers["Location"] == "/login"
    for path in ("/loadrec/status", "/loadrec/runs/1/report.html"):
        assert logged_out.get(path).status_code == 401, path
    for action in ("/loadrec/start", "/loadrec/stop", "/logout"):
        assert logged_out.post(action, headers=PAGE).status_code == 401, action
    assert job.state == READY
    form = {"username": "ops", "password": "s3cret-pass"}
    assert logged_out.post("/login", data=form, headers={"Origin": "http://evil.example"}).status_code == 403
    wrong = logged_out.post("/login", data={"username": "ops", "password": "wrong"}, follow_redirects=True)
    assert "Invalid username or password" in wrong.get_data(as_text=True)
    assert logged_out.get("/loadrec/status").status_code == 401
    right = logged_out.post("/login", data={"username": "ops", "password": "s3cret-pass"})
    assert right.headers["Location"] == "/"
    assert logged_out.get("/loadrec/status").get_json() == {"state": READY}
    assert "s3cret-pass" not in logged_out.get("/").get_data(as_text=True)
    logged_out.post("/logout", headers=PAGE)
    assert logged_out.get("/loadrec/status").status_code == 401


def test_guessing_the_password_is_throttled_per_address(logged_out: FlaskClient) -> None:
    for _ in range(MAX_FAILURES):
        wrong = logged_out.post("/login", data={"username": "ops", "password": "guess"}, follow_redirects=True)
        assert "Invalid username or password" in wrong.get_data(as_text=True)
    right = {"username": "ops", "password": "s3cret-pass"}
    throttled = logged_out.post("/login", data=right, follow_redirects=True)
    assert "Too many failed logins from your address: try again in" in throttled.get_data(as_text=True)
    assert logged_out.get("/loadrec/status").status_code == 401  # the right password was not even checked
    elsewhere = logged_out.post("/login", data=right, environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert elsewhere.headers["Location"] == "/"
