"""The API server's HTTP side through Flask's test client: who may read the job page, and what a caller gets
when a request cannot be served (AWS's error shape, never a traceback)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from loadrec.engine.access.login import MAX_FAILURES, PASSWORD_ENV, USERNAME_ENV
from loadrec.engine.api.app import create_app
from loadrec.engine.api.config import ServerConfig
from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.operations import OPERATIONS
from loadrec.engine.api.store import JobRecord, JobStore
from loadrec.engine.load.settings import RunSettings

KEY_ID, SECRET = "AKIDLOADRECUNIT00001", "unit-secret"
LOCAL, REMOTE = {"REMOTE_ADDR": "127.0.0.1"}, {"REMOTE_ADDR": "203.0.113.9"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def client(tmp_path: Path, keys: dict[str, str] | None, served: dict[str, Any] = OPERATIONS) -> FlaskClient:
    jobs = JobManager(ServerConfig(), JobStore(tmp_path), tmp_path, RunSettings(), lambda line: None, lambda: 0.0)
    return create_app(jobs, keys, lambda: 0.0, served).test_client()


@pytest.fixture(autouse=True)
def no_web_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def test_the_page_takes_an_access_key_from_this_machine_only(tmp_path: Path) -> None:
    app = client(tmp_path, {KEY_ID: SECRET})
    assert app.get("/", headers=basic(KEY_ID, SECRET), environ_base=LOCAL).status_code == 200
    remote = app.get("/", headers=basic(KEY_ID, SECRET), environ_base=REMOTE)
    assert remote.status_code == 401 and "Basic" in remote.headers["WWW-Authenticate"]
    assert app.get("/", headers=basic(KEY_ID, "wrong"), environ_base=LOCAL).status_code == 401
    assert app.get("/", environ_base=LOCAL).status_code == 401


def test_the_web_login_opens_the_page_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USERNAME_ENV, "admin")
    monkeypatch.setenv(PASSWORD_ENV, "page-password")
    app = client(tmp_path, {KEY_ID: SECRET})
    page = app.get("/", headers=basic("admin", "page-password"), environ_base=REMOTE)
    assert page.status_code == 200 and "No job yet" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert app.get("/", headers=basic("admin", "guess"), environ_base=REMOTE).status_code == 401


def test_guessing_the_page_s_login_is_throttled_per_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USERNAME_ENV, "admin")
    monkeypatch.setenv(PASSWORD_ENV, "page-password")
    app = client(tmp_path, {KEY_ID: SECRET})
    assert app.get("/", environ_base=REMOTE).status_code == 401  # no Authorization: not a guess
    for _ in range(MAX_FAILURES):
        assert app.get("/", headers=basic("admin", "guess"), environ_base=REMOTE).status_code == 401
    for path in ("/", "/jobs/x/report.html"):
        throttled = app.get(path, headers=basic("admin", "page-password"), environ_base=REMOTE)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0, path
        assert throttled.text.startswith("Too many failed logins from your address")
    assert app.get("/", headers=basic(KEY_ID, SECRET), environ_base=LOCAL).status_code == 200


def test_a_results_file_is_served_for_a_known_job_and_name_only(tmp_path: Path) -> None:
    app = client(tmp_path, None)
    assert app.get("/jobs/nope/report.html").status_code == 404
    assert app.get("/jobs/nope/run.json").status_code == 404


HOSTILE_PATHS = (
    "/jobs/done/describe.json%00.html", "/jobs/done%00/report.html", "/jobs/%00/%00", "/jobs/done/..%2f..%2fetc",
    "/jobs/done/report.html%0a", "/jobs/" + "x" * 5000 + "/report.html", "/%00", "/jobs/done/%ff%fe",
)  # fmt: skip


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_hostile_path_is_a_4xx_never_a_traceback(tmp_path: Path, path: str) -> None:
    jobs = JobManager(ServerConfig(), JobStore(tmp_path), tmp_path, RunSettings(), lambda line: None, lambda: 0.0)
    app = create_app(jobs, None, lambda: 0.0)
    app.config["PROPAGATE_EXCEPTIONS"] = True  # a defect raises here instead of hiding in a 500
    folder = tmp_path / "jobs" / "done"
    folder.mkdir(parents=True)
    (folder / "describe.json").write_text("{}")
    jobs.store.add(JobRecord("done", "arn", {"JobName": "done"}, "COMPLETED", 1.0, 2.0, 2.0, None, str(folder)))
    web = app.test_client()
    assert web.get("/jobs/done/describe.json").status_code == 200  # the file is there: only the path is wrong
    answer = web.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_an_unexpected_error_is_aws_internal_failure_and_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("a defect")

    app = client(tmp_path, None, {"DescribeInferenceRecommendationsJob": broken})
    answer = app.post(
        "/", data=b'{"JobName": "x"}', headers={"X-Amz-Target": "SageMaker.DescribeInferenceRecommendationsJob"}
    )
    assert answer.status_code == 500
    assert json.loads(answer.data) == {"__type": "InternalFailure", "message": "the request could not be processed"}
    assert capsys.readouterr().err == "internal error: KeyError: 'a defect'\n"


def test_an_unsigned_request_is_refused_as_aws_refuses_one(tmp_path: Path) -> None:
    app = client(tmp_path, {KEY_ID: SECRET})
    answer = app.post("/", data=b"{}", headers={"X-Amz-Target": "SageMaker.ListInferenceRecommendationsJobs"})
    assert answer.status_code == 403
    assert json.loads(answer.data)["__type"] == "MissingAuthenticationTokenException"
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.1"
