"""The Docker packaging: Dockerfile, compose file, smoke job and smoke script, checked without a Docker engine."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "docker-compose.yml"
SMOKE_JOB = DOCKER / "smoke-job.json"
SMOKE_SCRIPT = DOCKER / "smoke.sh"
DOCKERIGNORE = ROOT / ".dockerignore"

AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE")
REFERENCE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}")


# ---- Dockerfile ----------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def of(kind: str) -> list[str]:
    return [arguments for keyword, arguments in instructions(DOCKERFILE) if keyword == kind]


def test_dockerfile_has_two_stages_on_the_slim_base() -> None:
    stages = of("FROM")
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    for stage in stages:
        assert stage.split()[0] == "python:3.11-slim", stage


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = of("USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]
    useradd = " ".join(a for a in of("RUN") if "useradd" in a)
    assert re.search(rf"useradd\b.*--uid 10001\b.*\b{re.escape(user)}\b", useradd), useradd


def test_dockerfile_entrypoint_cmd_env_and_ports() -> None:
    assert [json.loads(e) for e in of("ENTRYPOINT")] == [["loadrec"]]
    assert json.loads(of("CMD")[-1]) == ["--help"]
    assert of("WORKDIR")[-1] == "/work"
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", " ".join(of("ENV")))
    exposed = {port for e in of("EXPOSE") for port in e.split()}
    assert {"8089", "5557"} <= exposed


def test_dockerfile_builds_without_buildkit_from_pinned_versions() -> None:
    runs = of("RUN")
    assert not any("--mount" in run for run in runs), "RUN --mount needs BuildKit"
    installs = [part for run in runs for part in run.split("&&") if re.search(r"pip (install|wheel)", part)]
    assert installs and all("--constraint constraints.txt" in part for part in installs), installs
    assert "constraints.txt" in of("COPY")[0]
    assert any(copy.startswith("--from=build /opt/loadrec") for copy in of("COPY"))
    useradd = " ".join(run for run in runs if "useradd" in run)
    assert "--system" not in useradd and "--no-log-init" in useradd  # uid 10001 is not a system uid


def test_make_installs_from_the_same_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install [^\n]*--constraint constraints\.txt[^\n]*-e '\.\[test\]'", makefile)
    pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line and line[0] != "#"]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[^\s=]+", pin) for pin in pins), pins[:3]
    pinned = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    for needed in ("locust", "boto3", "botocore", "gevent", "hdrhistogram", "moto", "hypothesis", "pip"):
        assert needed in pinned, needed


def test_dockerfile_builds_a_wheel_and_installs_no_test_extra() -> None:
    runs = " ".join(of("RUN"))
    assert "pip wheel --no-deps" in runs
    installs = [a for a in of("RUN") if re.search(r"pip install", a)]
    assert installs, "the runtime stage installs loadrec"
    for install in installs:
        assert not re.search(r"\[[^\]]*\btest\b[^\]]*\]", install), f"installs the test extra: {install}"
        for tool in ("moto", "ruff", "mypy"):
            assert tool not in install, f"installs {tool}: {install}"
    assert any("[tokenizer]" in install for install in installs), "the image counts tokens with a tokenizer.json"


def test_dockerfile_bakes_in_no_credentials() -> None:
    for keyword in ("ENV", "ARG", "LABEL"):
        for arguments in of(keyword):
            assert not re.search(r"AWS_|SECRET|PASSWORD|TOKEN", arguments, re.IGNORECASE), f"{keyword} {arguments}"
    assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", DOCKERFILE.read_text())


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: ``**`` any folders, ``*`` and ``?`` within one name."""
    out = ""
    for token in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
        if token in ("**", "**/"):
            out += "(.*/)?" if token == "**/" else ".*"
        elif token == "*":
            out += "[^/]*"
        elif token == "?":
            out += "[^/]"
        else:
            out += re.escape(token)
    return re.compile(out)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` (or a folder holding it) out of the build context."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = pattern_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = not negated
    return verdict


def test_every_copy_source_exists_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    copies = of("COPY") + of("ADD")
    assert copies
    for arguments in copies:
        words = shlex.split(arguments)
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        assert len(paths) >= 2, arguments
        for source in paths[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv", "results", ".git", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"):
        assert ignored(path, patterns), f"{path} is sent to the Docker build"
    for path in ("engine", "shapes", "payloads", "pyproject.toml", "README.md"):
        assert not ignored(path, patterns), f"{path} is needed by the build"


# ---- docker-compose.yml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the compose file cannot be parsed")
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict)
    return found


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def environment(service: dict[str, Any]) -> dict[str, Any]:
    """A service's environment as a mapping; list entries without ``=`` pass through (value None)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {item.partition("=")[0]: (item.partition("=")[2] if "=" in item else None) for item in env}
    return dict(env)


def published(service: dict[str, Any]) -> set[str]:
    """Container ports a service publishes, from short (``[IP:]HOST:CONTAINER``) or long syntax."""
    ports: set[str] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(str(entry["target"]))
        else:
            ports.add(str(entry).split("/")[0].rsplit(":", 1)[-1])
    return ports


def test_compose_has_master_worker_and_smoke_endpoint(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert {"master", "worker", "endpoint"} <= set(found)
    assert found["endpoint"].get("profiles") == ["smoke"]
    assert "profiles" not in found["master"] and "profiles" not in found["worker"]


def test_one_image_built_once_serves_every_service(compose: dict[str, Any]) -> None:
    found = services(compose)
    image = found["master"]["image"]
    build = found["master"]["build"]
    assert build["dockerfile"] == "docker/Dockerfile"
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for name in ("worker", "endpoint", "ui"):
        assert found[name]["image"] == image, name


def test_master_runs_the_job_headless_and_publishes_its_ports(compose: dict[str, Any]) -> None:
    master = services(compose)["master"]
    words = command_words(master)
    assert words[0] == "run" and words[1].startswith("/jobs/")
    assert "--master" in words
    assert words[words.index("--expect-workers") + 1] == "${WORKERS:-2}"
    assert words[words.index("--out") + 1].startswith("/results/")
    assert published(master) == {"5557"}  # the headless master serves no web UI


def test_the_ui_service_publishes_the_web_ui_alone_on_loopback(compose: dict[str, Any]) -> None:
    ui = services(compose)["ui"]
    assert ui.get("profiles") == ["ui"] and ui["entrypoint"] == ["loadrec", "ui"]
    assert ui["ports"] == ["${UI_BIND:-127.0.0.1}:8089:8089"]


def test_compose_names_its_project_and_never_pulls_the_image_it_builds(compose: dict[str, Any]) -> None:
    assert compose["name"] == "loadrec"
    ours = {name: s for name, s in services(compose).items() if s["image"] == "${LOADREC_IMAGE:-loadrec:latest}"}
    assert set(ours) == set(services(compose)) - {"prometheus", "grafana"}  # the metrics profile pulls its own
    for name, service in ours.items():
        assert service["pull_policy"] == "${LOADREC_PULL_POLICY:-never}", name


def test_worker_connects_to_the_master_and_scales(compose: dict[str, Any]) -> None:
    worker = services(compose)["worker"]
    words = command_words(worker)
    assert words[0] == "worker"
    assert "--master-host master" in " ".join(words)
    assert not worker.get("ports"), "published ports would clash when the worker is scaled"
    assert "container_name" not in worker, "a fixed container name forbids --scale"


def test_a_lost_worker_restarts_and_costs_the_job_only_its_share(compose: dict[str, Any]) -> None:
    """`up --exit-code-from master` implies --abort-on-container-exit: one lost worker stopped the whole job.
    The documented way runs detached and waits for the master alone; a failed worker comes back."""
    assert services(compose)["worker"]["restart"] == "on-failure"
    text = COMPOSE.read_text() + (DOCKER / "README.md").read_text()
    usage = [line for line in text.splitlines() if "docker compose" in line and " up " in line]
    assert usage and not [line for line in usage if "--exit-code-from" in line and "smoke" not in line], usage
    assert "wait master" in text


def test_the_master_is_healthy_once_its_job_has_started(compose: dict[str, Any]) -> None:
    check = services(compose)["master"]["healthcheck"]
    assert check["test"] == ["CMD", "test", "-f", "/results/${RUN_NAME:-run}/run.json"]
    assert "--out /results/${RUN_NAME:-run}" in " ".join(command_words(services(compose)["master"]))


def test_endpoint_serves_on_all_interfaces_for_the_smoke_job(compose: dict[str, Any]) -> None:
    endpoint = services(compose)["endpoint"]
    words = command_words(endpoint)
    assert words[0] == "sample-endpoint"
    assert words[words.index("--host") + 1] == "0.0.0.0"
    assert words[words.index("--port") + 1] == "8080"
    assert "healthcheck" in endpoint


def test_jobs_are_mounted_read_only_at_the_same_path_and_results_on_the_master(compose: dict[str, Any]) -> None:
    found = services(compose)
    for name in ("master", "worker"):
        mounts = [str(v) for v in found[name]["volumes"]]
        assert any(v.endswith(":/jobs:ro") for v in mounts), f"{name}: {mounts}"
    assert any(str(v).endswith(":/results") for v in found["master"]["volumes"])


def test_aws_credentials_pass_through_and_are_never_written(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        assert str(service.get("user", "")).split(":")[0] not in ("root", "0"), name
        assert "env_file" not in service, f"{name}: credentials could come from a file in the repository"
        env = environment(service)
        for key, value in env.items():
            if key.startswith("AWS_") or re.search(r"SECRET|PASSWORD|TOKEN", key):
                assert value is None or REFERENCE.fullmatch(str(value)), f"{name}: {key} has a literal value"
    for name in ("master", "worker"):
        env = environment(services(compose)[name])
        missing = [v for v in AWS_VARIABLES if v not in env]
        assert not missing, f"{name} does not pass through {missing}"


def test_compose_text_holds_no_secret_values() -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", text), "an AWS access key id"
    for line in text.splitlines():
        code = line.split("#", 1)[0]
        match = re.search(r"\b(AWS_[A-Z_]+|[A-Z_]*(SECRET|PASSWORD|TOKEN)[A-Z_]*)\b\s*[:=]\s*(\S.*)?$", code)
        if match and match.group(3):
            value = match.group(3).strip().strip("\"'")
            assert REFERENCE.fullmatch(value), f"literal value in: {line.strip()}"


# ---- smoke job and script ------------------------------------------------------------------


def test_smoke_job_validates_under_relaxed_limits() -> None:
    command = [sys.executable, "-m", "loadrec.engine.cli", "validate", "--limits", "relaxed", str(SMOKE_JOB)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "loadrec-docker-smoke is valid under relaxed limits" in done.stdout


def test_smoke_job_targets_the_compose_endpoint_with_two_csv_rows() -> None:
    job = json.loads(SMOKE_JOB.read_text())
    (target,) = job["Loadrec"]["Targets"]
    assert target["Http"]["Url"] == "http://endpoint:8080/invocations"
    folder = SMOKE_JOB.parent / job["Loadrec"]["SamplePayloadUrl"]
    assert folder.resolve() == (DOCKER / "smoke-payloads").resolve()
    rows = [line for path in sorted(folder.glob("*.csv")) for line in path.read_text().splitlines() if line.strip()]
    assert len(rows) == 2
    for row in rows:
        values = [float(value) for value in row.split(",")]
        assert len(values) == 8


def run_smoke_with_docker(tmp_path: Path, message: str, **env: str) -> subprocess.CompletedProcess[str]:
    """smoke.sh with a ``docker`` command that fails ``docker info`` with ``message``."""
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    fake.chmod(0o755)
    environ = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    environ |= {"PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    return subprocess.run(
        ["bash", str(SMOKE_SCRIPT)], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=30
    )


def test_smoke_script_is_strict_and_skips_without_a_docker_engine(tmp_path: Path) -> None:
    text = SMOKE_SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "--profile smoke" in text and "--exit-code-from master" in text and "describe.json" in text
    assert SMOKE_SCRIPT.stat().st_mode & stat.S_IXUSR, "smoke.sh is not executable"
    done = run_smoke_with_docker(tmp_path, "Cannot connect to the Docker daemon. Is the docker daemon running?")
    assert done.returncode == 0, done.stderr
    assert "no Docker engine: skipped" in done.stdout


@pytest.mark.parametrize(
    ("message", "env"),
    [
        ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock", {}),
        ("Cannot connect to the Docker daemon at tcp://10.0.0.9:2376.", {"DOCKER_HOST": "tcp://10.0.0.9:2376"}),
    ],
)
def test_smoke_script_fails_when_an_engine_exists_but_cannot_be_reached(
    tmp_path: Path, message: str, env: dict[str, str]
) -> None:
    done = run_smoke_with_docker(tmp_path, message, **env)
    assert done.returncode == 1 and "skipped" not in done.stdout
    assert f"cannot be reached: {message}" in done.stderr


def test_the_serve_service_answers_the_api_on_loopback_and_keeps_its_jobs(compose: dict[str, Any]) -> None:
    serve = services(compose)["serve"]
    words = command_words(serve)
    assert serve.get("profiles") == ["serve"] and words[0] == "serve"
    assert words[words.index("--port") + 1] == "8085" and words[words.index("--config") + 1] == "/config/server.json"
    assert serve["ports"] == ["${SERVE_BIND:-127.0.0.1}:8085:8085"]
    assert "${SERVE_DATA_DIR:-../serve-data}:/data" in serve["volumes"]
    assert "LOADREC_API_SECRET" in serve["environment"]  # passed through, never written here
