"""The job's tests from EnvironmentParameterRanges, and the Command provisioner's checks."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from loadrec.engine.access.login import PASSWORD_ENV
from loadrec.engine.job.cases import MAX_TESTS, TestCase, combinations, expand
from loadrec.engine.job.environment_names import read_by_loaders
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.provisioning import CommandProvisioning, fill
from loadrec.engine.job.spec import JobSpecError, parse_job
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.provision.command import remove_leftover, server_environment
from loadrec.engine.results.aws import describe
from loadrec.engine.results.model import Benchmark, job_results
from loadrec.engine.running.plan import JobPlan

PATH = "Loadrec.Provisioner.Command"
COMMAND = {
    "Command": ["python", "-m", "loadrec.engine.sample.endpoint", "--port", "{port}"],
    "ReadyUrl": "http://127.0.0.1:{port}/ping",
    "Url": "http://127.0.0.1:{port}/invocations",
}


def ranges(*parameters: tuple[str, list[str]]) -> dict[str, Any]:
    return {"CategoricalParameterRanges": [{"Name": name, "Value": values} for name, values in parameters]}


def provisioned(
    request: dict[str, Any], *configurations: dict[str, Any], command: dict[str, Any] | None = None
) -> dict[str, Any]:
    request["InputConfig"]["EndpointConfigurations"] = list(configurations)
    request["InputConfig"].pop("ResourceLimit", None)
    request["Loadrec"] = {"Provisioner": {"Command": command or COMMAND}}
    return request


def problems(request: dict[str, Any], mode: LimitsMode = LimitsMode.AWS) -> list[str]:
    try:
        parse_job(request, mode)
    except JobSpecError as error:
        return [str(problem) for problem in error.problems]
    return []


def test_combinations_follow_the_documented_order() -> None:
    assert combinations([]) == [()]
    assert combinations([("A", ["1", "2"]), ("B", ["x", "y", "z"])]) == [
        (("A", "1"), ("B", "x")), (("A", "1"), ("B", "y")), (("A", "1"), ("B", "z")),
        (("A", "2"), ("B", "x")), (("A", "2"), ("B", "y")), (("A", "2"), ("B", "z")),
    ]  # fmt: skip
    cases = expand(["ml.c5.large", "ml.c5.xlarge"], [[("W", ["2", "4"])], []])
    assert cases == (
        TestCase(0, 0, "ml.c5.large", (("W", "2"),)),
        TestCase(1, 0, "ml.c5.large", (("W", "4"),)),
        TestCase(2, 1, "ml.c5.xlarge", ()),
    )
    assert [case.label for case in cases] == ["ml.c5.large (W=2)", "ml.c5.large (W=4)", "ml.c5.xlarge"]


def test_a_job_s_tests_are_its_configurations_times_their_combinations(request_dict: dict[str, Any]) -> None:
    request = provisioned(
        request_dict,
        {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("WORKERS", ["2", "4"]), ("MODE", ["a"]))},
        {"InstanceType": "ml.c5.xlarge"},
    )
    spec = parse_job(request)
    assert [case.label for case in spec.cases] == [
        "ml.c5.large (WORKERS=2, MODE=a)", "ml.c5.large (WORKERS=4, MODE=a)", "ml.c5.xlarge"
    ]  # fmt: skip
    assert spec.resource_limit.max_number_of_tests == 3  # without MaxNumberOfTests: every test
    assert [spec.target_of(i) for i in range(3)] == [None, None, None]  # all created by the provisioner
    assert spec.configuration_of(2) is not None and spec.configuration_of(2).instance_type == "ml.c5.xlarge"  # type: ignore[union-attr]
    assert spec.extension.provisioner == CommandProvisioning(
        command=("python", "-m", "loadrec.engine.sample.endpoint", "--port", "{port}"),
        ready_url="http://127.0.0.1:{port}/ping",
        url="http://127.0.0.1:{port}/invocations",
    )
    sizing = Sizing(1, 1200, 50_000, 0.1, 0.1 / 72_000)
    benchmarks = [Benchmark(i, spec.case(i).label, Status.COMPLETED, sizing=sizing) for i in range(3)]
    body = describe(job_results(spec, "run", benchmarks, (0.0, 1.0), Weights()))
    # a configuration without parameters has none (the model's list holds at least one member)
    environments = [r["ModelConfiguration"].get("EnvironmentParameters", []) for r in body["InferenceRecommendations"]]
    assert environments[1] == [
        {"Key": "WORKERS", "ValueType": "String", "Value": "4"},
        {"Key": "MODE", "ValueType": "String", "Value": "a"},
    ]
    assert (
        environments[2] == []
        and "EnvironmentParameters" not in body["InferenceRecommendations"][2]["ModelConfiguration"]
    )


def test_aws_limits_parameters_and_values_and_relaxed_mode_lifts_them(request_dict: dict[str, Any]) -> None:
    many = ranges(*[(f"P{i}", ["1"]) for i in range(6)])
    request = provisioned(request_dict, {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": many})
    path = "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges.CategoricalParameterRanges"
    assert problems(request) == [f"{path}: 6 entries is above the AWS limit of 5 (use --limits relaxed to allow it)"]
    assert problems(request, LimitsMode.RELAXED) == []
    request["InputConfig"]["EndpointConfigurations"][0]["EnvironmentParameterRanges"] = ranges(
        ("W", ["1", "2", "3", "4"])
    )
    assert problems(request) == [
        f"{path}[0].Value: 4 entries is above the AWS limit of 3 (use --limits relaxed to allow it)"
    ]
    assert problems(request, LimitsMode.RELAXED) == []


def test_parameter_names_values_and_the_number_of_tests_are_checked(request_dict: dict[str, Any]) -> None:
    path = "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges.CategoricalParameterRanges"
    request = provisioned(
        request_dict,
        {"InstanceType": "ml.c5.large",
         "EnvironmentParameterRanges": ranges(("BAD-NAME", ["1"]), ("OK", ["a\x00b"]), ("OK", ["c"]))},
    )  # fmt: skip
    assert problems(request) == [
        f'{path}[0].Name: "BAD-NAME" must be an environment name ([a-zA-Z_][a-zA-Z0-9_]*)',
        f"{path}[1].Value[0]: must not hold a NUL character",
        f'{path}[2].Name: "OK" is given twice',
    ]
    huge = ranges(*[(f"P{i}", [str(v) for v in range(10)]) for i in range(4)])
    request["InputConfig"]["EndpointConfigurations"][0]["EnvironmentParameterRanges"] = huge
    assert problems(request, LimitsMode.RELAXED) == [
        f"InputConfig.EndpointConfigurations: the environment parameter combinations make 10000 tests; "
        f"at most {MAX_TESTS} are allowed"
    ]


def test_parameters_need_an_endpoint_loadrec_creates(request_dict: dict[str, Any]) -> None:
    with_ranges = {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("W", ["1"]))}
    where = "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges"
    request = provisioned(request_dict, with_ranges)
    del request["Loadrec"]
    assert problems(request) == [f"{where}: needs an endpoint loadrec creates: configure Loadrec.Provisioner"]
    request["Loadrec"] = {
        "Targets": [{"Http": {"Url": "http://127.0.0.1:9/invocations"}}],
        "Provisioner": {"Command": COMMAND},
    }
    assert problems(request) == [
        f"{where}: needs an endpoint loadrec creates, but Loadrec.Targets[0] names one that exists: "
        "set it to null and configure Loadrec.Provisioner"
    ]
    request["Loadrec"]["Targets"] = [None]
    assert problems(request) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Command": []}, f"{PATH}.Command: must be a non-empty list of strings (or one string) naming a program"),
        (
            {"Command": "serve --port {prot}"},
            f'{PATH}.Command: "{{prot}}" is not a placeholder of configuration 0 (allowed: {{port}}, {{W}}; '
            "a literal brace is written {{ or }})",
        ),
        ({"ReadyUrl": "http://[::1/{port}"}, f"{PATH}.ReadyUrl: "),
        ({"Url": 5}, f"{PATH}.Url: 5 is an integer, expected a string"),
        ({"StartTimeoutSeconds": float("nan")}, f"{PATH}.StartTimeoutSeconds: "),
        ({"Headers": {"X-Key": "a\r\nb"}}, f"{PATH}.Headers.X-Key: "),
        ({"Shell": True}, f"{PATH}.Shell: unknown field (allowed here: Command, ReadyUrl, Url, Method, Headers, "),
        ({"Command": ["serve", "a\x00b"]}, f"{PATH}.Command: must not hold a NUL character"),
        ({"StopGraceSeconds": 30}, f"{PATH}.StopGraceSeconds: 30 is above the maximum of 10"),
        ({"StopGraceSeconds": 0}, f"{PATH}.StopGraceSeconds: 0 must be above 0"),
    ],
)  # fmt: skip
def test_the_command_provisioner_is_checked_field_by_field(
    request_dict: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    with_ranges = {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("W", ["1"]))}
    request = provisioned(request_dict, with_ranges, command={**COMMAND, **change})
    found = problems(request)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_command_string_is_split_as_a_shell_would_and_never_run_by_one(request_dict: dict[str, Any]) -> None:
    request = provisioned(
        request_dict,
        {"InstanceType": "ml.c5.large"},
        command={**COMMAND, "Command": "serve --name 'my model' --port {port}; rm -rf /"},
    )
    provisioning = parse_job(request).extension.provisioner
    assert provisioning is not None
    assert provisioning.command == ("serve", "--name", "my model", "--port", "{port};", "rm", "-rf", "/")


def test_doubled_braces_are_literal_so_a_command_can_carry_json(request_dict: dict[str, Any]) -> None:
    with_ranges = {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("W", ["4"]))}
    words = ["serve", "--config", '{{"workers": {W}, "x": {{}}}}', "--port", "{port}"]
    request = provisioned(request_dict, with_ranges, command={**COMMAND, "Command": words})
    assert problems(request) == []
    provisioning = parse_job(request).extension.provisioner
    assert isinstance(provisioning, CommandProvisioning)
    assert [fill(word, {"W": "4", "port": "9000"}) for word in provisioning.command] == [
        "serve", "--config", '{"workers": 4, "x": {}}', "--port", "9000"
    ]  # fmt: skip
    unescaped = provisioned(request_dict, with_ranges, command={**COMMAND, "Command": ["serve", '{"workers": 4}']})
    assert problems(unescaped)[0].startswith(f'{PATH}.Command: "{{\\"workers\\": 4}}" is not a placeholder')


def test_max_number_of_tests_runs_the_first_combinations(request_dict: dict[str, Any]) -> None:
    request = provisioned(
        request_dict, {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("W", ["1", "2", "3"]))}
    )
    request["InputConfig"]["ResourceLimit"] = {"MaxNumberOfTests": 2}
    spec = parse_job(request)
    plan = JobPlan(len(spec.cases), spec.resource_limit.max_number_of_tests, 1, None, 0.0)
    assert [(spec.case(n.index).label, n.reason) for n in plan.skipped] == [
        ("ml.c5.large (W=3)", "MaxNumberOfTests is 2")
    ]


def test_no_environment_parameter_may_take_the_port_s_name(request_dict: dict[str, Any]) -> None:
    with_port = {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges(("port", ["1"]))}
    assert problems(provisioned(request_dict, with_port)) == [
        f"{PATH}: {{port}} is the free port: no environment parameter may be named port"
    ]


def test_a_recorded_process_group_that_is_no_longer_ours_is_left_alone() -> None:
    """A number reused by another process (here: this one, started at another time) is never signalled."""
    assert remove_leftover({"Kind": "Command", "ProcessGroup": os.getpid(), "Started": 1}) is None
    assert remove_leftover({"Kind": "Command", "ProcessGroup": 1, "Started": 1}) is None  # init: never


@pytest.mark.parametrize(
    ("name", "read"),
    [("LD_PRELOAD", True), ("ld_library_path", True), ("PYTHONPATH", True), ("PYTHONWARNINGS", True),
     ("BROWSER", True), ("PERL5OPT", True), ("NODE_OPTIONS", True), ("AWS_CONFIG_FILE", True), ("PATH", True),
     ("http_proxy", True), ("BASH_ENV", True), ("JAVA_TOOL_OPTIONS", True), ("GLIBC_TUNABLES", True),
     ("LOADREC_SAMPLE_WORKERS", False), ("OMP_NUM_THREADS", False), ("MODEL_NAME", False), ("W", False)],
)  # fmt: skip
def test_names_a_loader_or_an_interpreter_reads(name: str, read: bool) -> None:
    assert read_by_loaders(name) is read


def test_an_environment_parameter_a_loader_reads_is_refused_unless_allowed(request_dict: dict[str, Any]) -> None:
    hostile = ranges(("BROWSER", ["/bin/sh -c 'id > marker' #%s"]), ("PYTHONWARNINGS", ["ignore::antigravity.x::0"]))
    request = provisioned(request_dict, {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": hostile})
    where = "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges"
    assert problems(copy.deepcopy(request)) == [
        f'{where}: "{name}" is read by a loader or an interpreter, so setting it could run any program: '
        f"name it in {PATH}.AllowedEnvironment if the model server needs it"
        for name in ("BROWSER", "PYTHONWARNINGS")
    ]
    request["Loadrec"]["Provisioner"]["Command"]["AllowedEnvironment"] = ["PYTHONWARNINGS", "BROWSER"]
    assert problems(request) == []  # the job owner's own choice


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [("PATH", f'{PATH}.AllowedEnvironment: "PATH" is a string, expected an array'),
     (["A B"], f'{PATH}.AllowedEnvironment[0]: "A B" is not an environment name ([a-zA-Z_][a-zA-Z0-9_]*)'),
     ([["LD_PRELOAD"]], f'{PATH}.AllowedEnvironment[0]: ["LD_PRELOAD"] is an array, expected a string'),
     ([f"N{i}" for i in range(101)], f"{PATH}.AllowedEnvironment: 101 entries is above the maximum of 100")],
)  # fmt: skip
def test_allowed_environment_is_a_list_of_names(request_dict: dict[str, Any], allowed: Any, expected: str) -> None:
    request = provisioned(
        request_dict, {"InstanceType": "ml.c5.large"}, command={**COMMAND, "AllowedEnvironment": allowed}
    )
    found = problems(request)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_job_s_env_secrets_are_kept_from_the_model_server_unless_allowed(
    request_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = {**COMMAND, "Headers": {"Authorization": "env:SERVER_TOKEN", "X-Other": "env:OTHER"},
               "AllowedEnvironment": ["SERVER_TOKEN"]}  # fmt: skip
    request = provisioned(request_dict, {"InstanceType": "ml.c5.large"}, command=command)
    provisioning = parse_job(request).extension.provisioner
    assert isinstance(provisioning, CommandProvisioning)
    assert provisioning.withheld == frozenset({"OTHER"})
    for name, value in (("SERVER_TOKEN", "given"), ("OTHER", "kept-back"), (PASSWORD_ENV, "ui-login")):
        monkeypatch.setenv(name, value)
    handed = server_environment({"W": "2"}, provisioning.withheld)
    assert handed["SERVER_TOKEN"] == "given" and handed["W"] == "2"
    assert "OTHER" not in handed and PASSWORD_ENV not in handed


def test_a_range_name_of_any_type_is_one_line_never_a_traceback(request_dict: dict[str, Any]) -> None:
    weird = {"CategoricalParameterRanges": [{"Name": ["A"], "Value": ["1"]}, {"Name": {"B": 1}, "Value": ["1"]}]}
    request = provisioned(request_dict, {"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": weird})
    found = problems(request)
    assert found and all(".Name" in line for line in found), found


def test_a_fixed_port_command_cannot_run_tests_in_parallel(request_dict: dict[str, Any]) -> None:
    fixed = {"Command": ["server", "--port", "8080"], "ReadyUrl": "http://127.0.0.1:8080/ping",
             "Url": "http://127.0.0.1:8080/invocations"}  # fmt: skip
    job = provisioned(request_dict, {"InstanceType": "ml.c5.large"}, {"InstanceType": "ml.c5.xlarge"}, command=fixed)
    assert problems(copy.deepcopy(job)) == []  # one test at a time: a fixed port is the template's choice
    job["InputConfig"]["ResourceLimit"] = {"MaxNumberOfTests": 2, "MaxParallelOfTests": 2}
    assert problems(job) == [
        f"{PATH}.Command: names no {{port}}, so every server listens on one fixed port, yet up to 2 tests run at "
        "once (ResourceLimit.MaxParallelOfTests): they would share a server; use {port}"
    ]
