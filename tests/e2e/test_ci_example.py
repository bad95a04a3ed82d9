"""The documented CI workflow (examples/ci/github-actions.yml), its shell steps run as a runner would run
them: the model server started, the job run with thresholds (JUnit and step summary written), the run
compared with a baseline, and the gate step's verdict. Actions (checkout, cache, upload) are GitHub's own
and are not run here; ``loadrec`` is the one installed in this environment."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.servers import stop_process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
STEP_TIMEOUT_S = 240


def steps() -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return {step.get("name", step.get("uses", "")): step for step in workflow["jobs"]["load-test"]["steps"]}


def run_step(script: str, workspace: Path, outputs: Path, summary: Path, **env: str) -> int:
    environment = {
        **os.environ,
        **yaml.safe_load(WORKFLOW.read_text())["jobs"]["load-test"]["env"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        **env,
    }
    # GitHub runs `run:` with bash -e {0}.
    done = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=environment, timeout=STEP_TIMEOUT_S)
    return done.returncode


def outputs_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_ci_example_gates_a_run_and_compares_it(tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    (workspace / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "demo.json", workspace / "examples")
    shutil.copytree(ROOT / "examples" / "payloads", workspace / "examples" / "payloads")
    found = steps()
    summary, run_outputs, compare_outputs = tmp_path / "summary.md", tmp_path / "run.out", tmp_path / "compare.out"
    server = subprocess.Popen(["bash", "-e", "-c", found["Start the model server"]["run"] + "\nwait"], cwd=workspace,
                              env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
                              start_new_session=True)  # fmt: skip
    try:
        script = found["Run the job with thresholds"]["run"]
        assert run_step(script, workspace, run_outputs, summary) == 0
        assert outputs_of(run_outputs)["code"] == "0"
        text = summary.read_text()
        assert "## loadrec: loadrec-demo: COMPLETED" in text and "All 8 thresholds passed." in text
        suite = ET.parse(workspace / "results" / "junit.xml").getroot().find("testsuite")
        assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("10", "0")
        shutil.copytree(workspace / "results" / "candidate", workspace / "baseline")  # as the cache restores it
        assert run_step(found["Compare with the baseline"]["run"], workspace, compare_outputs, summary) == 0
        assert outputs_of(compare_outputs)["code"] == "0"
        assert "| ml.c5.large | MaxInvocations (/min) |" in summary.read_text()
        gate = found["The gate"]["run"].replace("${{ steps.run.outputs.code }}", "0")
        assert run_step(gate.replace("${{ steps.compare.outputs.code }}", "99"), workspace, tmp_path / "o", summary)
        assert run_step(gate.replace("${{ steps.compare.outputs.code }}", "0"), workspace, tmp_path / "o", summary) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the step's servers, started in the background
        stop_process(server)
