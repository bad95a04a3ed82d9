"""The sample endpoint as a real process on loopback: routes, clean shutdown, and saturation at its capacity."""

from __future__ import annotations

import json
import signal
import statistics
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import gevent
import pytest
from geventhttpclient import HTTPClient

from loadrec.engine.sample.endpoint import capacity_per_minute
from tests.e2e.servers import sample_endpoint, start_sample_endpoint

pytestmark = pytest.mark.e2e

WORKERS = 2
SERVICE_MS = 20.0
CSV_ROW = b"1,2,3,4,5,6,7,8\n"
MAX_REQUESTS = 2000  # a hard bound on what one load loop may send, whatever the timing


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with sample_endpoint(workers=WORKERS, service_ms=SERVICE_MS) as url:
        yield url


def client_for(url: str) -> HTTPClient:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"  # load only ever goes to loopback
    return HTTPClient(parts.hostname, parts.port, connection_timeout=5, network_timeout=10)


def post(client: HTTPClient, path: str, body: bytes, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    response = client.post(path, body, headers={"Content-Type": "text/csv", **headers})
    try:
        return response.status_code, response.read(), {k.lower(): v for k, v in response.items()}
    finally:
        response.release()


def drive(url: str, concurrency: int, duration_s: float) -> tuple[float, list[float]]:
    """``concurrency`` closed-loop clients for ``duration_s``; returns (completed per second, latencies in ms)."""
    latencies: list[float] = []
    failures: list[int] = []

    def user() -> None:
        client = client_for(url)
        try:
            while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS:
                sent = time.perf_counter()
                status, _, _ = post(client, "/invocations", CSV_ROW)
                latencies.append((time.perf_counter() - sent) * 1000.0)
                if status != 200:
                    failures.append(status)
        finally:
            client.close()

    started = time.perf_counter()
    deadline = started + duration_s
    users = [gevent.spawn(user) for _ in range(concurrency)]
    gevent.joinall(users, timeout=duration_s + 15, raise_error=True)
    elapsed = time.perf_counter() - started
    assert all(u.dead for u in users)
    assert failures == []
    return len(latencies) / elapsed, latencies


def test_ping(endpoint: str) -> None:
    client = client_for(endpoint)
    response = client.get("/ping")
    try:
        assert response.status_code == 200
        assert response.read() == b"ok"
    finally:
        response.release()
        client.close()


def test_csv_invocation_on_both_paths(endpoint: str) -> None:
    client = client_for(endpoint)
    try:
        status, body, headers = post(client, "/invocations", CSV_ROW + b"0,0,0,0,0,0,0,0\n", Accept="text/csv")
        assert status == 200
        assert headers["content-type"] == "text/csv"
        assert headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        values = [float(line) for line in body.decode().splitlines()]
        assert len(values) == 2
        assert all(0.0 < v < 1.0 for v in values)

        status, body, _ = post(
            client, "/endpoints/demo-endpoint/invocations?trace=1", CSV_ROW, Authorization="AWS4-HMAC-SHA256 x"
        )
        assert status == 200
        assert json.loads(body)["predictions"] == pytest.approx(values[:1])

        status, body, _ = post(client, "/invocations", b"feature_1,feature_2\n")
        assert status == 400
        assert "header line" in json.loads(body)["error"]
    finally:
        client.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_exits_cleanly(signum: int) -> None:
    server = start_sample_endpoint(workers=1, service_ms=0)
    assert server.stop(signum) == 0
    assert server.stderr_text == ""  # no traceback


def test_sigterm_lets_a_request_in_its_slot_finish() -> None:
    server = start_sample_endpoint(workers=1, service_ms=300)
    client = client_for(server.url)
    try:
        request = gevent.spawn(post, client, "/invocations", CSV_ROW)
        gevent.sleep(0.1)  # the request is now holding the only slot
        server.process.send_signal(signal.SIGTERM)
        status, body, _ = request.get(timeout=5)
        code = server.process.wait(timeout=10)  # exits by itself once the request is done
    finally:
        client.close()
        server.stop()
    assert status == 200
    assert len(json.loads(body)["predictions"]) == 1
    assert code == 0
    assert server.stderr_text == ""


def test_error_rate_flag_reaches_the_server() -> None:
    with sample_endpoint(workers=1, service_ms=0, error_rate=1.0) as url:
        client = client_for(url)
        try:
            status, body, _ = post(client, "/invocations", CSV_ROW)
        finally:
            client.close()
    assert status == 500
    assert json.loads(body) == {"error": "injected failure"}


def test_saturates_at_capacity_and_queues_beyond_it(endpoint: str) -> None:
    capacity_per_s = capacity_per_minute(WORKERS, SERVICE_MS) / 60.0  # 100/s
    rate, latencies = drive(endpoint, concurrency=8, duration_s=3.0)
    assert rate == pytest.approx(capacity_per_s, rel=0.15)
    # 8 clients on 2 slots: each request waits for about 3 others ahead of it (~80 ms in all).
    p50 = statistics.median(latencies)
    assert p50 > 2.5 * SERVICE_MS
    assert p50 < 8 * SERVICE_MS


def test_one_client_sees_the_service_time(endpoint: str) -> None:
    _, latencies = drive(endpoint, concurrency=1, duration_s=1.0)
    p50 = statistics.median(latencies)
    assert SERVICE_MS <= p50 < SERVICE_MS + 10
