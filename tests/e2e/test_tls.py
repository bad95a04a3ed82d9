"""``loadrec run`` against an https model server whose certificate a private CA issued (the sample endpoint
with ``--tls-cert``): refused, by name, until the target's CaBundle names that CA; then measured like any
endpoint, by every load process (each reads the bundle itself)."""

from __future__ import annotations

import socket
import ssl
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.jobs import loadrec, results, write_job
from tests.e2e.servers import start_sample_endpoint
from tests.tls import private_ca

pytestmark = pytest.mark.e2e

STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 2000}]}


def test_an_https_endpoint_of_a_private_ca_is_measured_once_its_bundle_is_given(tmp_path: Path) -> None:
    _, chain, key = private_ca().write(tmp_path)
    server = start_sample_endpoint(2, 20, 0.0, "--tls-cert", str(chain), "--tls-key", str(key))
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = tmp_path / "trusted"
        trusted.mkdir()
        (trusted / "ca.pem").write_text((tmp_path / "ca.pem").read_text())
        target = {"Http": {"Url": f"{server.url}/invocations", "CaBundle": "ca.pem"}}  # from the job's folder
        done = loadrec(write_job(trusted, target, STOP, stairs=(6, 2, 1)), trusted / "out", "--processes", "2")
        assert done.returncode == 0, done.stderr[-2000:]
        body, test, timeline = results(trusted / "out")
        assert body["Status"] == "COMPLETED" and test["WorkerProcesses"] == 2
        assert timeline["invocations"].sum() > 50 and timeline["failures"].sum() == 0
        untrusted = tmp_path / "untrusted"
        untrusted.mkdir()
        target = {"Http": {"Url": f"{server.url}/invocations"}}  # certifi's CAs only
        refused = loadrec(write_job(untrusted, target, STOP, stairs=(4, 1, 1)), untrusted / "out")
        body, test, timeline = results(untrusted / "out")
        assert timeline["invocations"].sum() == 0
        assert test["Errors"]["TLS certificate not trusted"] == timeline["failures"].sum() > 0, test["Errors"]
        assert body["Status"] == "FAILED" and refused.returncode != 0
    finally:
        server.stop()
    assert server.stderr_text.count("Traceback") == 0


def test_a_wrong_bundle_stops_the_job_before_any_load(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    target = {"Http": {"Url": "https://127.0.0.1:9/invocations", "CaBundle": "ca.pem"}}
    done = loadrec(write_job(tmp_path, target, STOP), tmp_path / "out")
    assert done.returncode == 2
    assert f"Loadrec.Targets[0]: CaBundle: {tmp_path / 'ca.pem'}: not a PEM file of CA certificates" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_client_cut_off_mid_request_leaves_no_traceback(tmp_path: Path) -> None:
    """A load test that stops cuts its connections mid-request, TLS ones without a close_notify: the server's
    read ends in an EOF, which is the client's affair."""
    _, chain, key = private_ca().write(tmp_path)
    server = start_sample_endpoint(2, 20, 0.0, "--tls-cert", str(chain), "--tls-key", str(key))
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        port = int(server.url.rsplit(":", 1)[1])
        for _ in range(3):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            secured = context.wrap_socket(raw, server_hostname="127.0.0.1")  # it takes the socket over
            secured.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n1,2,3")
            secured.shutdown(socket.SHUT_RDWR)  # the socket's, not TLS's: no close_notify, the body never ends
            secured.close()
        with urllib.request.urlopen(f"{server.url}/ping", context=context, timeout=5) as answer:
            assert answer.status == 200  # the server answers on
    finally:
        server.stop()
    assert server.stderr_text.count("Traceback") == 0, server.stderr_text[-2000:]
