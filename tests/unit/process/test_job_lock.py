"""A run holds its job's lock (engine/process/job_lock.py), and ``loadrec cleanup`` refuses while it is held."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.process.job_lock import job_running, lock_dir, running_job


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))


def test_a_job_is_running_while_a_run_holds_its_lock_and_only_then() -> None:
    assert not job_running("churn")
    with running_job("churn"), running_job("churn"):  # two runs of one job at once: both hold it
        assert job_running("churn") and not job_running("fraud")
    assert not job_running("churn")
    assert lock_dir().stat().st_mode & 0o777 == 0o700


def test_a_hostile_name_stays_inside_the_lock_folder() -> None:
    with running_job("../../etc/passwd\x00"):
        assert job_running("../../etc/passwd\x00")
    assert all(path.parent == lock_dir() for path in lock_dir().iterdir())


def test_cleanup_refuses_a_job_running_here(capsys: pytest.CaptureFixture[str]) -> None:
    with running_job("churn-sizing"):
        code = main(["cleanup", "churn-sizing", "--region", "us-east-1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_BAD_INPUT and err == [
        'cleanup: "churn-sizing" is running on this machine: its endpoints are in use '
        "(stop the run first, or pass --force)"
    ]


def test_a_folder_that_cannot_be_made_costs_no_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "file"))
    with running_job("churn"):
        assert not job_running("churn")  # no lock to be had, none claimed


def test_cleanup_checks_its_region_and_url_before_any_call_is_signed(capsys: pytest.CaptureFixture[str]) -> None:
    for flags, field in ((["--region", "\n"], "--region"), (["--api-endpoint-url", "ftp://x\n"], "--api-endpoint-url")):
        code = main(["cleanup", "j", "--dry-run", *flags])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == EXIT_BAD_INPUT and len(err) == 1 and err[0].startswith(f"{field}: "), err
        assert "Signature" not in err[0] and "Credential" not in err[0]
