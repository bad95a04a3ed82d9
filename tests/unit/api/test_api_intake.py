"""From an AWS request to the engine's job (engine/api/intake.py): the server's configuration, never the
caller, fills in the ``Loadrec`` key, and a local SamplePayloadUrl is read only under a payload root."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.api.config import ServerConfig
from loadrec.engine.api.intake import engine_request
from loadrec.engine.load.prepare import AWS_PAYLOAD_FIELD
from tests.conftest import VALID_REQUEST

STAGING = {"Http": {"Url": "http://10.0.0.5:8080/invocations"}, "PricePerHour": 0.2}
PROVISIONER = {"Command": {"Run": ["serve-model", "--port", "{port}"], "Url": "http://127.0.0.1:{port}/invocations"}}
DEFAULT_PAYLOADS = "/srv/default-payloads/"


def endpoints_request(*names: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid request for existing endpoints ``names``, with ``payload`` as its PayloadConfig."""
    request = copy.deepcopy(VALID_REQUEST)
    config = request["InputConfig"]
    del config["EndpointConfigurations"]
    config["Endpoints"] = [{"EndpointName": name} for name in names]
    config["ResourceLimit"] = {"MaxNumberOfTests": len(names), "MaxParallelOfTests": 1}
    if payload is not None:
        config["ContainerConfig"] = {"Domain": "MACHINE_LEARNING", "PayloadConfig": payload}
    return request


def server(roots: tuple[Path, ...] = (), **extension: Any) -> ServerConfig:
    """A configuration with ``roots`` and ``extension`` (a default SamplePayloadUrl unless one is given)."""
    extension.setdefault("SamplePayloadUrl", DEFAULT_PAYLOADS)
    return ServerConfig(
        region="eu-west-1",
        access_keys={"AKIDLOADRECTEST00001": "not-a-real-secret"},
        payload_roots=roots,
        endpoints={"churn-staging": STAGING},
        extension=extension,
    )


def paths(problems: list[Any]) -> list[str]:
    return [p.path for p in problems]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A payload root (resolved, as the configuration gives it) holding a folder and a file of payloads."""
    folder = (tmp_path / "payloads").resolve()
    (folder / "churn").mkdir(parents=True)
    (folder / "churn" / "1.json").write_text('{"x": 1}')
    (folder / "single.csv").write_text("1,2,3\n")
    (folder / "rows.tar.gz").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("the server's own file")
    return folder


# --- the Loadrec key and targets -----------------------------------------------------------


def test_a_loadrec_key_in_the_request_is_a_problem_and_never_reaches_the_engine() -> None:
    request = endpoints_request("churn-staging")
    request["Loadrec"] = {
        "Targets": [{"Http": {"Url": "http://attacker.example/steal"}}],
        "Provisioner": {"Command": {"Run": ["sh", "-c", "cat /etc/shadow"], "Url": "http://127.0.0.1:1/"}},
        "SamplePayloadUrl": "/etc/",
    }
    engine, problems = engine_request(request, server(SamplePayloadUrl=DEFAULT_PAYLOADS))
    assert paths(problems) == ["Loadrec"]
    assert engine["Loadrec"] == {"Targets": [STAGING], "SamplePayloadUrl": DEFAULT_PAYLOADS}
    assert "attacker" not in repr(engine) and "shadow" not in repr(engine)


def test_endpoint_names_are_mapped_by_the_configuration_else_to_sagemaker_in_its_region() -> None:
    engine, problems = engine_request(endpoints_request("churn-staging", "fraud-prod"), server())
    assert problems == []
    assert engine["Loadrec"]["Targets"] == [
        STAGING,
        {"SageMaker": {"EndpointName": "fraud-prod", "Region": "eu-west-1"}},
    ]
    assert engine["InputConfig"]["Endpoints"] == [{"EndpointName": "churn-staging"}, {"EndpointName": "fraud-prod"}]


def test_an_unmapped_endpoint_uses_the_configured_region() -> None:
    config = ServerConfig(region="ap-southeast-2")
    engine, _ = engine_request(endpoints_request("fraud-prod"), config)
    assert engine["Loadrec"]["Targets"] == [{"SageMaker": {"EndpointName": "fraud-prod", "Region": "ap-southeast-2"}}]


def test_the_request_and_the_configuration_are_left_as_they_were() -> None:
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": "s3://bucket/p.tar.gz"})
    sent = copy.deepcopy(request)
    config = server(SamplePayloadUrl=DEFAULT_PAYLOADS)
    engine, _ = engine_request(request, config)
    engine["Loadrec"]["Targets"][0]["PricePerHour"] = 99
    assert request == sent  # the store keeps the request as the caller sent it
    assert config.extension == {"SamplePayloadUrl": DEFAULT_PAYLOADS}
    assert config.endpoints["churn-staging"]["PricePerHour"] == 0.2


def test_endpoint_configurations_without_a_provisioner_are_a_problem() -> None:
    engine, problems = engine_request(copy.deepcopy(VALID_REQUEST), server())
    assert paths(problems) == ["InputConfig.EndpointConfigurations"]
    assert "Provisioner" in problems[0].message
    assert "Targets" not in engine["Loadrec"]


def test_endpoint_configurations_with_a_provisioner_are_accepted() -> None:
    engine, problems = engine_request(copy.deepcopy(VALID_REQUEST), server(Provisioner=PROVISIONER))
    assert problems == []
    assert engine["Loadrec"] == {"Provisioner": PROVISIONER, "SamplePayloadUrl": DEFAULT_PAYLOADS}


def with_ranges(*names: str) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    parameters = [{"Name": name, "Value": ["1"]} for name in names]
    request["InputConfig"]["EndpointConfigurations"] = [
        {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": {"CategoricalParameterRanges": parameters}}
    ]
    return request


def test_a_caller_sets_only_the_environment_names_the_server_allows() -> None:
    attack = with_ranges("BROWSER", "PYTHONWARNINGS", "LOADREC_SAMPLE_WORKERS")
    where = "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges.CategoricalParameterRanges"
    _, problems = engine_request(attack, server(Provisioner=PROVISIONER))  # none allowed by default
    assert [str(p) for p in problems] == [
        f'{where}[{index}].Name: "{name}" is not an environment parameter this server lets a caller set (allowed: none)'
        for index, name in enumerate(("BROWSER", "PYTHONWARNINGS", "LOADREC_SAMPLE_WORKERS"))
    ]
    allowing = {"Command": {**PROVISIONER["Command"], "AllowedEnvironment": ["LOADREC_SAMPLE_WORKERS"]}}
    _, problems = engine_request(attack, server(Provisioner=allowing))
    assert paths(problems) == [f"{where}[0].Name", f"{where}[1].Name"]
    assert problems[0].message.endswith("(allowed: LOADREC_SAMPLE_WORKERS)")
    assert engine_request(with_ranges("LOADREC_SAMPLE_WORKERS"), server(Provisioner=allowing))[1] == []


def test_a_sagemaker_provisioner_takes_the_caller_s_environment_as_aws_does() -> None:
    _, problems = engine_request(with_ranges("OMP_NUM_THREADS"), server(Provisioner={"SageMaker": {}}))
    assert problems == []


def test_a_request_without_input_config_gets_no_loadrec_key_to_check() -> None:
    request = {"JobName": "j", "JobType": "Default"}
    engine, problems = engine_request(request, server())
    assert (engine, problems) == (request, [])


# --- sample payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "under_root"),
    [
        ("{root}/churn/", "churn"),
        ("{root}/churn", "churn"),
        ("{root}/rows.tar.gz", "rows.tar.gz"),
        ("file://{root}/churn/", "churn"),
        ("{root}/churn/../rows.tar.gz", "rows.tar.gz"),
        ("{root}//churn/./", "churn"),
        ("{root}/inner-link", "churn"),  # a link that stays inside the root
    ],
)
def test_a_local_payload_under_a_root_moves_to_the_loadrec_key(root: Path, url: str, under_root: str) -> None:
    (root / "inner-link").symlink_to(root / "churn")
    request = endpoints_request(
        "churn-staging", payload={"SamplePayloadUrl": url.format(root=root), "SupportedContentTypes": ["text/csv"]}
    )
    engine, problems = engine_request(request, server((root,), SamplePayloadUrl=DEFAULT_PAYLOADS))
    assert problems == []
    assert engine["Loadrec"]["SamplePayloadUrl"] == str(root / under_root)
    assert engine["InputConfig"]["ContainerConfig"]["PayloadConfig"] == {"SupportedContentTypes": ["text/csv"]}
    assert request["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"] == url.format(root=root)


def test_a_local_payload_under_the_second_root_is_accepted(root: Path, tmp_path: Path) -> None:
    other = (tmp_path / "more").resolve()
    other.mkdir()
    (other / "x.tgz").write_bytes(b"")
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": f"{other}/x.tgz"})
    engine, problems = engine_request(request, server((root, other)))
    assert problems == []
    assert engine["Loadrec"]["SamplePayloadUrl"] == str(other / "x.tgz")


@pytest.mark.parametrize("url", ["{root}/single.csv", "{root}/not-yet-there", "{root}/churn/1.json"])
def test_a_local_payload_must_be_a_folder_or_an_archive_that_exists(root: Path, url: str) -> None:
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": url.format(root=root)})
    _, problems = engine_request(request, server((root,)))
    assert paths(problems) == [AWS_PAYLOAD_FIELD]
    assert problems[0].message.endswith("no such folder or .tar.gz/.tgz archive")


def test_without_any_sample_payloads_the_field_is_required() -> None:
    config = ServerConfig(endpoints={"churn-staging": STAGING})
    _, problems = engine_request(endpoints_request("churn-staging"), config)
    assert [(p.path, p.message) for p in problems] == [
        (AWS_PAYLOAD_FIELD, "is required: this server has no default sample payloads")
    ]


@pytest.mark.parametrize(
    "url",
    [
        "{tmp}/secret.txt",
        "/etc/passwd",
        "/",
        "{tmp}",
        "{root}/../secret.txt",
        "{root}/churn/../../secret.txt",
        "{root}-evil/x.json",  # a sibling whose name starts like the root's
        "file://{tmp}/secret.txt",
        "file:///etc/passwd",
        "{root}/outer-link",  # a link inside the root leading out of it
        "{root}/outer-link/",
        "{root}/link-to-parent/secret.txt",
        "payloads/churn/",
        "./churn",
        "~/payloads",
        "file://payloads/churn",
        "file://localhost{root}/churn",
        "http://example.com/payloads.tar.gz",
        "S3://bucket/payloads.tar.gz",
        "https://bucket.example/p.tar.gz",  # AWS's field allows it; loadrec reads s3:// URIs
    ],
)
def test_a_local_payload_outside_every_root_is_a_problem(root: Path, tmp_path: Path, url: str) -> None:
    (root.parent / "payloads-evil").mkdir()
    (root / "outer-link").symlink_to(tmp_path / "secret.txt")
    (root / "link-to-parent").symlink_to(tmp_path)
    spelled = url.format(root=root, tmp=tmp_path.resolve())
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": spelled})
    engine, problems = engine_request(request, server((root,), SamplePayloadUrl=DEFAULT_PAYLOADS))
    assert paths(problems) == [AWS_PAYLOAD_FIELD]
    assert engine["Loadrec"].get("SamplePayloadUrl") != spelled
    assert not str(engine["Loadrec"].get("SamplePayloadUrl", "")).startswith(str(tmp_path.resolve() / "secret"))


@pytest.mark.parametrize("url", ["{root}/churn/", "/etc/passwd", "relative/path"])
def test_no_local_payload_is_read_when_no_root_is_configured(root: Path, url: str) -> None:
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": url.format(root=root)})
    _, problems = engine_request(request, server(SamplePayloadUrl=DEFAULT_PAYLOADS))
    assert paths(problems) == [AWS_PAYLOAD_FIELD]
    assert "PayloadRoots" in problems[0].message


@pytest.mark.parametrize("url", ["s3://bucket/payloads.tar.gz", "s3://bucket/prefix/"])
def test_a_remote_payload_is_kept_and_the_default_dropped(root: Path, url: str) -> None:
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": url})
    engine, problems = engine_request(request, server((root,), SamplePayloadUrl=DEFAULT_PAYLOADS))
    assert problems == []
    assert engine["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"] == url
    assert "SamplePayloadUrl" not in engine["Loadrec"]


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"SamplePayloadUrl": ""}, {"SupportedContentTypes": ["text/csv"]}],
    ids=["no-container-config", "empty-payload-config", "empty-url", "no-url"],
)
def test_without_a_sample_payload_url_the_configured_default_is_used(payload: dict[str, Any] | None) -> None:
    engine, problems = engine_request(
        endpoints_request("churn-staging", payload=payload), server(SamplePayloadUrl=DEFAULT_PAYLOADS)
    )
    assert problems == []
    assert engine["Loadrec"]["SamplePayloadUrl"] == DEFAULT_PAYLOADS


def test_every_problem_is_reported_at_once(root: Path) -> None:
    request = copy.deepcopy(VALID_REQUEST)
    request["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": "/etc/passwd"}}
    request["Loadrec"] = {}
    _, problems = engine_request(request, server((root,)))
    assert paths(problems) == ["Loadrec", "InputConfig.EndpointConfigurations", AWS_PAYLOAD_FIELD]


@pytest.mark.parametrize(
    "url", ["{root}/churn/\x00.json", "/etc/\x00", "{root}/loop-a/x.json"], ids=["nul-in-root", "nul", "link-loop"]
)
def test_a_path_that_cannot_be_resolved_is_a_problem(root: Path, url: str) -> None:
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    request = endpoints_request("churn-staging", payload={"SamplePayloadUrl": url.format(root=root)})
    _, problems = engine_request(request, server((root,)))
    assert paths(problems) == [AWS_PAYLOAD_FIELD]
