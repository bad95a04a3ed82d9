"""The sample endpoint's WSGI app called directly: routes, status codes, headers, failure injection, slots."""

from __future__ import annotations

import io
import json
from typing import Any

import gevent
import pytest

from loadrec.engine.sample.endpoint import MAX_BODY_BYTES, SampleEndpoint, capacity_per_minute, main
from loadrec.engine.sample.model import N_FEATURES

CSV_BODY = b"1,2,3,4,5,6,7,8\n0,0,0,0,0,0,0,0\n"


class Response:
    def __init__(self, app: SampleEndpoint, environ: dict[str, Any]) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}
        result = app(environ, self._start_response)
        self.body = b"".join(result)
        close = getattr(result, "close", None)  # as a WSGI server must, once the body is written
        if close is not None:
            close()

    def _start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = status
        self.headers = dict(headers)
        return lambda data: None

    @property
    def code(self) -> int:
        return int(self.status.split()[0])

    def json(self) -> Any:
        assert self.headers["Content-Type"] == "application/json"
        return json.loads(self.body)


def call(
    app: SampleEndpoint,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str | None = None,
    accept: str | None = None,
    **extra: str,
) -> Response:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **extra,
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    return Response(app, environ)


@pytest.fixture
def app() -> SampleEndpoint:
    return SampleEndpoint(workers=2, service_ms=0)


def test_ping(app: SampleEndpoint) -> None:
    response = call(app, "GET", "/ping")
    assert response.code == 200
    assert response.body == b"ok"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["x-Amzn-Invoked-Production-Variant"] == "AllTraffic"


def test_invocations_csv_returns_json_predictions(app: SampleEndpoint) -> None:
    response = call(app, "POST", "/invocations", CSV_BODY, "text/csv")
    assert response.code == 200
    assert response.headers["x-Amzn-Invoked-Production-Variant"] == "AllTraffic"
    assert response.headers["Content-Length"] == str(len(response.body))
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    assert all(0.0 < p < 1.0 for p in predictions)
    assert app.stats.invocations == 1


def test_runtime_path_with_endpoint_name_query_string_and_authorization(app: SampleEndpoint) -> None:
    response = call(
        app,
        "POST",
        "/endpoints/my-endpoint.v2/invocations",
        json.dumps({"instances": [[0.5] * N_FEATURES]}).encode(),
        "application/json",
        accept="text/csv",
        QUERY_STRING="X-Amz-Date=20240101T000000Z",
        HTTP_AUTHORIZATION="AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request",
    )
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/csv"
    lines = response.body.decode().splitlines()
    assert len(lines) == 1
    assert 0.0 < float(lines[0]) < 1.0


def test_same_input_same_prediction_on_both_paths(app: SampleEndpoint) -> None:
    direct = call(app, "POST", "/invocations", CSV_BODY, "text/csv").json()
    runtime = call(app, "POST", "/endpoints/any/invocations", CSV_BODY, "text/csv").json()
    assert direct == runtime


@pytest.mark.parametrize("path", ["/", "/invoke", "/endpoints//invocations", "/endpoints/a/b/invocations", "/ping/"])
def test_unknown_path_is_404(app: SampleEndpoint, path: str) -> None:
    response = call(app, "POST", path, CSV_BODY, "text/csv")
    assert response.code == 404
    assert path in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("GET", "/invocations", "POST"), ("PUT", "/endpoints/e/invocations", "POST"), ("POST", "/ping", "GET")],
)
def test_wrong_method_is_405(app: SampleEndpoint, method: str, path: str, allow: str) -> None:
    response = call(app, method, path)
    assert response.code == 405
    assert response.headers["Allow"] == allow
    assert method in response.json()["error"]


def test_bad_input_is_400_with_the_message(app: SampleEndpoint) -> None:
    response = call(app, "POST", "/invocations", b"1,2,3\n", "text/csv")
    assert response.code == 400
    assert response.json() == {"error": "CSV line 1 has 3 values, expected 8"}
    assert app.stats.rejected == 1
    assert app.stats.invocations == 0


def test_unknown_content_type_is_400(app: SampleEndpoint) -> None:
    response = call(app, "POST", "/invocations", CSV_BODY, "application/octet-stream")
    assert response.code == 400
    assert "unsupported Content-Type 'application/octet-stream'" in response.json()["error"]


def test_oversized_payload_is_413_without_reading_it(app: SampleEndpoint) -> None:
    response = call(app, "POST", "/invocations", b"", "text/csv", CONTENT_LENGTH=str(MAX_BODY_BYTES + 1))
    assert response.code == 413


def test_error_rate_one_fails_every_invocation_but_not_ping() -> None:
    app = SampleEndpoint(workers=1, service_ms=0, error_rate=1.0)
    for _ in range(5):
        response = call(app, "POST", "/invocations", CSV_BODY, "text/csv")
        assert response.code == 500
        assert response.json() == {"error": "injected failure"}
        assert response.headers["x-Amzn-Invoked-Production-Variant"] == "AllTraffic"
    assert call(app, "GET", "/ping").code == 200
    assert app.stats.injected_failures == 5
    assert app.stats.invocations == 0


def test_error_rate_is_a_seeded_fraction() -> None:
    def outcomes(seed: int) -> list[int]:
        app = SampleEndpoint(workers=1, service_ms=0, error_rate=0.3, seed=seed)
        return [call(app, "POST", "/invocations", CSV_BODY, "text/csv").code for _ in range(400)]

    first = outcomes(seed=5)
    assert first == outcomes(seed=5)
    assert set(first) == {200, 500}
    assert 0.22 < first.count(500) / len(first) < 0.38


@pytest.mark.parametrize(("error_rate", "code"), [(0.0, 200), (1.0, 500)])
def test_a_request_holds_its_slot_for_the_rest_of_the_service_time(
    monkeypatch: pytest.MonkeyPatch, error_rate: float, code: int
) -> None:
    # The sleep is recorded instead of taken: the test checks what the slot would wait for.
    naps: list[float] = []
    monkeypatch.setattr(gevent, "sleep", naps.append)
    app = SampleEndpoint(workers=1, service_ms=250, error_rate=error_rate)
    assert call(app, "POST", "/invocations", CSV_BODY, "text/csv").code == code
    assert len(naps) == 1
    assert 0.2 < naps[0] <= 0.25  # the service time less the compute already spent in the slot


def test_bad_input_fails_fast_without_the_service_time(monkeypatch: pytest.MonkeyPatch) -> None:
    naps: list[float] = []
    monkeypatch.setattr(gevent, "sleep", naps.append)
    app = SampleEndpoint(workers=1, service_ms=250)
    assert call(app, "POST", "/invocations", b"x", "text/csv").code == 400
    assert naps == []


def test_a_request_is_in_progress_until_its_response_is_closed(app: SampleEndpoint) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/ping", "wsgi.input": io.BytesIO()}
    result = app(environ, lambda status, headers, exc_info=None: lambda data: None)
    assert b"".join(result) == b"ok"
    assert not app.drain(0)  # the body has not been written out yet
    result.close()  # type: ignore[attr-defined]
    assert app.drain(0)


def test_a_draining_endpoint_closes_connections_after_each_response(app: SampleEndpoint) -> None:
    assert "Connection" not in call(app, "GET", "/ping").headers
    assert app.drain(0)
    response = call(app, "POST", "/invocations", CSV_BODY, "text/csv")
    assert response.code == 200  # requests still arriving are served...
    assert response.headers["Connection"] == "close"  # ...but their clients must reconnect


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workers": 0, "service_ms": 1},
        {"workers": 1, "service_ms": -1},
        {"workers": 1, "service_ms": 1, "error_rate": 1.5},
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SampleEndpoint(**kwargs)


def test_capacity_per_minute() -> None:
    assert capacity_per_minute(2, 20) == 6000
    assert capacity_per_minute(1, 1000) == 60
    assert capacity_per_minute(4, 0) == float("inf")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert", "server.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "server.key"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "/nonexistent/server.pem", "--tls-key", "/nonexistent/server.key"], "--tls-cert/--tls-key: "),
    ],
)
def test_tls_flags_are_both_given_and_readable_or_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0", *flags])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"sample-endpoint: error: {message}"), err


@pytest.mark.parametrize("value", ["99999999999999999999999", "0", "1e400", "nan"])
def test_a_worker_count_out_of_range_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0", "--workers", value])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and "--workers" in err, err
