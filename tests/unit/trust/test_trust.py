"""Which CAs a target trusts (engine/trust/bundles.py and its use in invocation.py): a ``CaBundle`` is read and
checked once, before any load, from the job's folder; AWS_CA_BUNDLE does the same for SageMaker targets."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.job.targets import HttpTarget, SageMakerTarget, parse_target, target_entry
from loadrec.engine.load.invocation import TargetError, prepare
from loadrec.engine.trust.bundles import MAX_BUNDLE_BYTES, TrustError, read_bundle
from tests.tls import private_ca

URL = "https://models.internal:8443/invocations"


@pytest.fixture(scope="module")
def ca_pem() -> str:
    return private_ca().ca_pem


def test_a_bundle_s_certificates_are_read_whatever_surrounds_them(tmp_path: Path, ca_pem: str) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca_pem + ca_pem)  # a bundle may hold several certificates
    assert read_bundle(bundle) == f"{ca_pem.strip()}\n{ca_pem.strip()}"
    # as an editor or a distribution writes one: a byte-order mark, UTF-8 comments, CRLF line ends
    commented = "\ufeff# Issuer: CN=Főtanúsítvány\r\n" + ca_pem.replace("\n", "\r\n") + "# end\r\n"
    bundle.write_bytes(commented.encode("utf-8"))
    assert read_bundle(bundle).replace("\r", "") == ca_pem.strip()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot be read (No such file or directory)"),
        (b"", "not a PEM file of CA certificates"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "not a PEM file of CA certificates"),
        (b"\x00\xff" * 100, "not a PEM file of CA certificates"),
        (b"x" * (MAX_BUNDLE_BYTES + 1), "larger than 1024 KiB, not a CA bundle"),
    ],
    ids=["missing", "empty", "bad-base64", "binary", "huge"],
)
def test_a_file_that_is_not_a_ca_bundle_is_named_with_the_reason(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)
    with pytest.raises(TrustError) as refused:
        read_bundle(bundle)
    assert str(refused.value) == f"{bundle}: {reason}"


def test_a_folder_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match=r"is a directory, not a CA bundle$"):
        read_bundle(tmp_path)


def test_a_fifo_or_a_device_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.pem"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(TrustError, match=r"not a regular file \(a device, a pipe or a socket\), not a CA bundle$"):
            read_bundle(path)


def test_an_http_target_s_bundle_is_read_from_the_job_s_folder(
    tmp_path: Path, ca_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text(ca_pem)
    monkeypatch.chdir("/")  # not the working directory's
    invocation = prepare(HttpTarget(URL, ca_bundle="certs/ca.pem"), base_dir=tmp_path)
    assert invocation.ca_pem == ca_pem.strip()
    assert prepare(HttpTarget(URL), base_dir=tmp_path).ca_pem is None  # certifi's, by default


def test_a_wrong_bundle_stops_the_test_before_any_load(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(TargetError) as refused:
        prepare(HttpTarget(URL, ca_bundle="ca.pem"), base_dir=tmp_path)
    assert str(refused.value) == f"CaBundle: {tmp_path / 'ca.pem'}: not a PEM file of CA certificates"


def test_a_sagemaker_target_trusts_aws_ca_bundle_as_boto3_does(
    tmp_path: Path, ca_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    target = SageMakerTarget("churn", region="eu-west-1")
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    assert prepare(target).ca_pem is None
    (tmp_path / "corporate.pem").write_text(ca_pem)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "corporate.pem"))
    assert prepare(target).ca_pem == ca_pem.strip()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(TargetError, match=r"^AWS_CA_BUNDLE \(or the profile's ca_bundle\): .*missing.pem: cannot be"):
        prepare(target)


def test_the_bundle_travels_with_a_target_sent_to_workers() -> None:
    target = HttpTarget(URL, ca_bundle="certs/ca.pem")
    assert parse_target(target_entry(target)) == target


@pytest.mark.parametrize(
    ("http", "line"),
    [
        (
            {"Url": "http://127.0.0.1:9/x", "CaBundle": "ca.pem"},
            "Loadrec.Targets[0].Http.CaBundle: is for an https:// Url only",
        ),
        ({"Url": URL, "CaBundle": 5}, "Loadrec.Targets[0].Http.CaBundle: 5 is an integer, expected a string"),
        ({"Url": URL, "CaBundle": " "}, 'Loadrec.Targets[0].Http.CaBundle: " " is not a file path'),
        ({"Url": URL, "CaBundle": "a\u0000b"}, "Loadrec.Targets[0].Http.CaBundle: "),
    ],
    ids=["http-url", "number", "blank", "nul"],
)
def test_a_misplaced_or_malformed_bundle_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], http: dict[str, Any], line: str
) -> None:
    request = copy.deepcopy(request_dict)
    request["Loadrec"] = {"Targets": [{"Http": http}]}
    (tmp_path / "job.json").write_text(json.dumps(request))
    code = main(["validate", "--limits", "relaxed", str(tmp_path / "job.json")])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert any(x.startswith(line) for x in err.splitlines()), err
