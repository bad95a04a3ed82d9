"""The API server's configuration (engine/api/config.py): ``parse_config`` reports every problem at once with
its path, reads secrets from the environment it is given, resolves relative paths, and never shows a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.api.config import ConfigError, ServerConfig, load_config, parse_config
from tests.tls import private_ca

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYLOADRECKEY"
ENV_SECRET = "zQpLmNoPqRsTuVwXyZ0123456789/ENVSECRETKEY"
ENVIRON = {"LOADREC_TEST_API_SECRET": ENV_SECRET, "LOADREC_TEST_EMPTY": ""}
STAGING = {"Http": {"Url": "http://10.0.0.5:8080/invocations"}, "PricePerHour": 0.2}


def problems_of(raw: Any, base: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base, ENVIRON if environ is None else environ)
    error = caught.value
    assert str(error) == "\n".join(error.lines)
    return error.lines


def paths(lines: list[str]) -> list[str]:
    return [line.split(": ", 1)[0] for line in lines]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The configuration file's folder, with a payload folder and a file in it."""
    folder = (tmp_path / "conf").resolve()
    (folder / "payloads").mkdir(parents=True)
    (folder / "notes.txt").write_text("not a folder")
    return folder


def test_a_full_configuration_is_read(base: Path) -> None:
    raw = {
        "Region": "eu-west-1",
        "AccessKeys": {"AKIDLOADREC0000000001": "env:LOADREC_TEST_API_SECRET", "AKIDLOADREC0000000002": SECRET},
        "MaxConcurrentJobs": 5,
        "PayloadRoots": [str(base / "payloads")],
        "Endpoints": {"churn-staging": STAGING, "fraud": {"SageMaker": {"EndpointName": "fraud-prod"}}},
        "Loadrec": {"SamplePayloadUrl": "s3://bucket/default.tar.gz", "RequestTimeoutSeconds": 30},
    }
    config = parse_config(raw, base, ENVIRON)
    assert config == ServerConfig(
        region="eu-west-1",
        access_keys={"AKIDLOADREC0000000001": ENV_SECRET, "AKIDLOADREC0000000002": SECRET},
        max_concurrent_jobs=5,
        payload_roots=(base / "payloads",),
        endpoints={"churn-staging": STAGING, "fraud": {"SageMaker": {"EndpointName": "fraud-prod"}}},
        extension={"SamplePayloadUrl": "s3://bucket/default.tar.gz", "RequestTimeoutSeconds": 30},
        secret_variables=frozenset({"LOADREC_TEST_API_SECRET"}),  # taken out of the environment by serve
    )
    assert config.target_for("churn-staging") == STAGING
    assert config.target_for("other") == {"SageMaker": {"EndpointName": "other", "Region": "eu-west-1"}}
    assert not config.provisions


def test_an_empty_configuration_is_the_default(base: Path) -> None:
    assert parse_config({}, base, {}) == ServerConfig()
    assert load_config(None) == ServerConfig()
    assert ServerConfig().region == "us-east-1" and ServerConfig().max_concurrent_jobs == 2


def test_a_secret_is_read_from_the_environ_mapping_given(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADREC_TEST_API_SECRET", "the-process-environment-is-not-read")
    config = parse_config({"AccessKeys": {"AKID1": "env:LOADREC_TEST_API_SECRET"}}, base, ENVIRON)
    assert config.access_keys == {"AKID1": ENV_SECRET}
    monkeypatch.delenv("LOADREC_TEST_API_SECRET")
    assert paths(problems_of({"AccessKeys": {"AKID1": "env:LOADREC_TEST_API_SECRET"}}, base, {})) == [
        "AccessKeys.AKID1"
    ]


def test_every_problem_is_reported_at_once_with_its_path(base: Path) -> None:
    raw = {
        "Colour": "blue",
        "Region": "US_EAST",
        "AccessKeys": {"AKID1": "env:LOADREC_TEST_UNSET", "bad id": SECRET},
        "MaxConcurrentJobs": 0,
        "PayloadRoots": ["missing", "notes.txt"],
        "Endpoints": {"bad": {"Http": {"Url": "ftp://10.0.0.5/"}}, "nameless": {"SageMaker": {}}},
        "Loadrec": {"Targets": [STAGING]},
    }
    lines = problems_of(raw, base)
    assert paths(lines) == [  # what the model finds, then the rules on the values it accepted
        "Colour",
        "MaxConcurrentJobs",
        "Endpoints.nameless.SageMaker.EndpointName",
        "Region",
        'AccessKeys["bad id"]',
        "AccessKeys.AKID1",
        "PayloadRoots[0]",
        "PayloadRoots[1]",
        "Endpoints.bad.Http.Url",
        "Loadrec.Targets",
    ]
    assert 'the environment variable "LOADREC_TEST_UNSET" is not set' in lines[5]
    assert SECRET not in "\n".join(lines)


@pytest.mark.parametrize(
    ("raw", "path", "phrase"),
    [
        ({"Colour": 1}, "Colour", "unknown field"),
        ({"region": "us-east-1"}, "region", "unknown field"),
        ({"Region": "US-EAST-1"}, "Region", "is not an AWS region name"),
        ({"Region": "us_east_1"}, "Region", "is not an AWS region name"),
        ({"Region": ""}, "Region", "is not an AWS region name"),
        ({"Region": 5}, "Region", "5 is an integer, expected a string"),
        ({"AccessKeys": {"AKID1": "env:LOADREC_TEST_UNSET"}}, "AccessKeys.AKID1", "is not set"),
        ({"AccessKeys": {"AKID1": "env:LOADREC_TEST_EMPTY"}}, "AccessKeys.AKID1", "is not set"),
        ({"AccessKeys": {"AKID1": "env:"}}, "AccessKeys.AKID1", "is not set"),
        ({"AccessKeys": {"AKID1": ""}}, "AccessKeys.AKID1", "length 0 is below the minimum of 1"),
        ({"AccessKeys": {"AKID1": 5}}, "AccessKeys.AKID1", "the value is an integer, expected a string"),
        ({"AccessKeys": {"AKID 1": SECRET}}, 'AccessKeys["AKID 1"]', "letters and digits"),
        ({"AccessKeys": {"": SECRET}}, 'AccessKeys[""]', "length 0 is below the minimum of 1"),
        ({"AccessKeys": [SECRET]}, "AccessKeys", "the value is an array, expected an object"),
        ({"MaxConcurrentJobs": 0}, "MaxConcurrentJobs", "0 is below the minimum of 1"),
        ({"MaxConcurrentJobs": 101}, "MaxConcurrentJobs", "101 is above the maximum of 100"),
        ({"MaxConcurrentJobs": -1}, "MaxConcurrentJobs", "-1 is below the minimum of 1"),
        ({"MaxConcurrentJobs": 1.5}, "MaxConcurrentJobs", "1.5 is a number, expected an integer"),
        ({"MaxConcurrentJobs": True}, "MaxConcurrentJobs", "true is a boolean, expected an integer"),
        ({"MaxConcurrentJobs": "2"}, "MaxConcurrentJobs", '"2" is a string, expected an integer'),
        ({"PayloadRoots": "payloads"}, "PayloadRoots", '"payloads" is a string, expected an array'),
        ({"PayloadRoots": [""]}, "PayloadRoots[0]", "length 0 is below the minimum of 1"),
        ({"PayloadRoots": [5]}, "PayloadRoots[0]", "5 is an integer, expected a string"),
        ({"PayloadRoots": [" "]}, "PayloadRoots[0]", "is not a file path"),
        ({"PayloadRoots": ["missing"]}, "PayloadRoots[0]", "is not a folder"),
        ({"PayloadRoots": ["notes.txt"]}, "PayloadRoots[0]", "is not a folder"),
        ({"PayloadRoots": ["payloads", "missing"]}, "PayloadRoots[1]", "is not a folder"),
        ({"Endpoints": []}, "Endpoints", "the value is an array, expected an object"),  # a target may hold secrets
        ({"Endpoints": {"e": "http://10.0.0.5/"}}, "Endpoints.e", "the value is a string, expected an object"),
        ({"Endpoints": {"e": {}}}, "Endpoints.e", "needs exactly one of SageMaker or Http"),
        (
            {"Endpoints": {"e": {"Http": {"Url": "http://h/"}, "SageMaker": {"EndpointName": "x"}}}},
            "Endpoints.e",
            "exactly one",
        ),
        ({"Endpoints": {"e": {"SageMaker": {}}}}, "Endpoints.e.SageMaker.EndpointName", "is required"),
        ({"Endpoints": {"e": {"Http": {"Url": "ftp://h/"}}}}, "Endpoints.e.Http.Url", "is not an http(s) URL"),
        ({"Endpoints": {"e": {**STAGING, "PricePerHour": -1}}}, "Endpoints.e.PricePerHour", "-1 is below the minimum"),
        ({"Endpoints": {"e": {**STAGING, "Colour": 1}}}, "Endpoints.e.Colour", "unknown field"),
        ({"Loadrec": {"Targets": [STAGING]}}, "Loadrec.Targets", "not allowed here"),
        ({"Loadrec": {"Targets": []}}, "Loadrec.Targets", "not allowed here"),
        ({"Loadrec": []}, "Loadrec", "the value is an array, expected an object"),
        ({"Loadrec": {"Colour": 1}}, "Loadrec.Colour", "unknown field"),
        ({"Loadrec": {"RequestTimeoutSeconds": 0}}, "Loadrec.RequestTimeoutSeconds", "above 0"),
        ({"Loadrec": {"SamplePayloadUrl": ""}}, "Loadrec.SamplePayloadUrl", "length 0 is below the minimum of 1"),
        ({"Loadrec": {"Provisioner": 5}}, "Loadrec.Provisioner", "the value is an integer, expected an object"),
    ],
)
def test_each_problem_names_its_field(base: Path, raw: dict[str, Any], path: str, phrase: str) -> None:
    lines = problems_of(raw, base)
    assert paths(lines) == [path]
    assert phrase in lines[0]


@pytest.mark.parametrize("raw", [[], "config", 5, None])
def test_a_configuration_that_is_not_an_object_is_one_problem(base: Path, raw: Any) -> None:
    assert problems_of(raw, base) == ["the server configuration must be a JSON object"]


@pytest.mark.parametrize("jobs", [1, 2, 100])
def test_max_concurrent_jobs_from_1_to_100_is_accepted(base: Path, jobs: int) -> None:
    assert parse_config({"MaxConcurrentJobs": jobs}, base, {}).max_concurrent_jobs == jobs


def test_a_refused_targets_field_hides_no_other_extension_problem(base: Path) -> None:
    lines = problems_of({"Loadrec": {"Targets": [], "RequestTimeoutSeconds": 0, "Colour": 1}}, base)
    assert sorted(paths(lines)) == ["Loadrec.Colour", "Loadrec.RequestTimeoutSeconds", "Loadrec.Targets"]


# --- paths -------------------------------------------------------------------------------


def test_relative_payload_roots_are_read_from_the_configuration_folder(base: Path, tmp_path: Path) -> None:
    shared = (tmp_path / "shared").resolve()
    shared.mkdir()
    (base / "link-to-shared").symlink_to(shared)
    config = parse_config(
        {"PayloadRoots": ["payloads", "../shared", "./payloads/", str(shared), "link-to-shared"]}, base, {}
    )
    assert config.payload_roots == (base / "payloads", shared, base / "payloads", shared, shared)
    assert all(root.is_absolute() for root in config.payload_roots)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("payloads", "{base}/payloads"),
        ("payloads/", "{base}/payloads"),
        ("./payloads/churn.json", "{base}/payloads/churn.json"),
        ("../elsewhere", "{parent}/elsewhere"),
        ("/srv/payloads/default", "/srv/payloads/default"),
        ("s3://bucket/default.tar.gz", "s3://bucket/default.tar.gz"),
        ("https://bucket.example/default.tar.gz", "https://bucket.example/default.tar.gz"),
    ],
)
def test_a_relative_default_sample_payload_url_is_read_from_the_configuration_folder(
    base: Path, url: str, expected: str
) -> None:
    config = parse_config({"Loadrec": {"SamplePayloadUrl": url}}, base, {})
    assert config.extension["SamplePayloadUrl"] == expected.format(base=base, parent=base.parent)


def test_an_endpoint_s_relative_ca_bundle_is_read_from_the_configuration_folder(base: Path) -> None:
    https = "https://models.internal/invocations"
    (base / "certs").mkdir()
    (base / "certs" / "ca.pem").write_text(private_ca().ca_pem)
    raw = {"Endpoints": {"a": {"Http": {"Url": https, "CaBundle": "certs/ca.pem"}, "PricePerHour": 1},
                         "b": {"Http": {"Url": https, "CaBundle": str(base / "certs" / "ca.pem")}}}}  # fmt: skip
    config = parse_config(raw, base, {})
    assert config.endpoints["a"] == {
        "Http": {"Url": https, "CaBundle": str(base / "certs" / "ca.pem")},
        "PricePerHour": 1,
    }
    assert config.endpoints["b"]["Http"]["CaBundle"] == str(base / "certs" / "ca.pem")
    (base / "certs" / "ca.pem").write_text("not a certificate")
    with pytest.raises(ConfigError) as refused:  # read now, not when a job first uses it
        parse_config(raw, base, {})
    assert refused.value.lines == [
        f"Endpoints.a.Http.CaBundle: {base / 'certs' / 'ca.pem'}: not a PEM file of CA certificates",
        f"Endpoints.b.Http.CaBundle: {base / 'certs' / 'ca.pem'}: not a PEM file of CA certificates",
    ]


def test_load_config_reads_relative_paths_from_the_file_s_folder(base: Path) -> None:
    path = base / "server.json"
    path.write_text('{"PayloadRoots": ["payloads"], "Loadrec": {"SamplePayloadUrl": "payloads/default"}}')
    config = load_config(str(path), {})
    assert config.payload_roots == (base / "payloads",)
    assert config.extension == {"SamplePayloadUrl": str(base / "payloads" / "default")}


def test_load_config_reports_a_file_that_is_not_json(base: Path) -> None:
    path = base / "server.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    assert len(caught.value.lines) == 1 and "invalid JSON" in caught.value.lines[0]


# --- secrets -----------------------------------------------------------------------------


def test_the_repr_of_a_configuration_never_holds_a_secret(base: Path) -> None:
    config = parse_config(
        {"AccessKeys": {"AKIDLOADREC0000000001": "env:LOADREC_TEST_API_SECRET", "AKIDLOADREC0000000002": SECRET}},
        base,
        ENVIRON,
    )
    assert config.access_keys["AKIDLOADREC0000000001"] == ENV_SECRET
    for shown in (repr(config), str(config), f"{config}", f"{config!r}", repr([config]), repr({"c": config})):
        assert SECRET not in shown and ENV_SECRET not in shown
        assert "AKIDLOADREC0000000001" in shown  # the key ids are not secret


def test_no_problem_line_holds_a_secret(base: Path) -> None:
    raw = {
        "AccessKeys": {"AKID1": SECRET, "AKID2": "env:LOADREC_TEST_API_SECRET", "bad id": SECRET},
        "MaxConcurrentJobs": 0,
    }
    lines = problems_of(raw, base)
    assert paths(lines) == ["MaxConcurrentJobs", 'AccessKeys["bad id"]']
    assert SECRET not in "\n".join(lines) and ENV_SECRET not in "\n".join(lines)


@pytest.mark.parametrize("root", ["~nosuchuser/x", "a" * 300])
def test_a_payload_root_no_file_system_can_name_is_not_a_folder(base: Path, root: str) -> None:
    lines = problems_of({"PayloadRoots": [root]}, base)
    assert len(lines) == 1 and lines[0].startswith("PayloadRoots[0]: ") and lines[0].endswith("is not a folder")


def test_a_null_extension_is_no_extension(base: Path) -> None:
    assert parse_config({"Loadrec": None}, base, {}).extension == {}
