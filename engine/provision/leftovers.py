"""What a results folder records that a provisioner created and never deleted, and ``loadrec cleanup``.

Each test that had an endpoint created keeps its record (``tests/N/provisioned.json``),
marked ``Deleted`` once it is gone. A record without it may stand for something still
running: a model server whose test's process was killed, a SageMaker endpoint still
billing. ``--overwrite`` refuses to erase such a record (it is the only way to find the
thing again); ``loadrec cleanup JOB --out DIR`` removes what the records name and marks
them, beside the SageMaker resources found by the job's tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadrec.engine.job.headers import region_problem, url_problem
from loadrec.engine.job.problems import BadInput, Say, show
from loadrec.engine.process.job_lock import job_running
from loadrec.engine.provision.base import remove_leftover
from loadrec.engine.provision.command import KIND as COMMAND_KIND
from loadrec.engine.provision.command import running_group
from loadrec.engine.results.files import TESTS, ResultsFolder


def undeleted(folder: ResultsFolder) -> list[tuple[int, dict[str, Any]]]:
    """Each test's record of what was created for it and not marked deleted."""
    found = []
    for path in sorted((folder.path / TESTS).glob("*")):
        if path.name.isdigit() and (record := folder.read_provisioned(int(path.name))) and not record.get("Deleted"):
            found.append((int(path.name), record))
    return found


def still_alive(record: dict[str, Any]) -> str | None:
    """What the record names, if it may still run: a model server whose process is there, or a SageMaker
    endpoint (loadrec cannot tell without calling AWS: it may be billing)."""
    if record.get("Kind") == COMMAND_KIND:
        group = running_group(record)
        return f"a model server still running (process group {group})" if group is not None else None
    created = [f"{key} {show(str(record[key]))}" for key in ("Endpoint", "EndpointConfig", "Model") if record.get(key)]
    return f"SageMaker's {', '.join(created)}, not recorded deleted (it may be billing)" if created else None


def overwrite_refusals(folder: ResultsFolder, job_name: str) -> list[str]:
    """Why ``--overwrite`` must not erase ``folder``'s records (empty: it may)."""
    return [
        f"--overwrite: {folder.path}: test {index}'s record names {alive}; erasing it would lose the only trace: "
        f"run loadrec cleanup {job_name} --out {folder.path} first"
        for index, record in undeleted(folder)
        if (alive := still_alive(record))
    ]


def clean_folder(folder: ResultsFolder, dry_run: bool) -> list[str]:
    """Remove what the folder's records name and mark each deleted; what was done, a line each."""
    lines = []
    for index, record in undeleted(folder):
        alive = still_alive(record)
        if dry_run:
            lines += [f"would remove test {index}'s {alive}"] if alive else []
            continue
        done = remove_leftover(record)
        lines.append(f"test {index}: {done or 'nothing left running'}")
        if record.get("Kind") == COMMAND_KIND or not (done and "could not" in done):
            folder.write_provisioned(index, {**record, "Deleted": True})  # a failed deletion keeps its record
    return lines


def cleanup(job_name: str, region: str | None, api_endpoint_url: str | None, dry_run: bool,
            force: bool, out: str | None, say: Say) -> int:  # fmt: skip
    """``loadrec cleanup``: the folder's records (``out``), then SageMaker's resources tagged with the job, each
    thing done said as it is done (so a failure of AWS's part loses none); how many. Raises BadInput before
    anything is signed or removed, and botocore's errors of AWS's part."""
    from loadrec.engine.provision.sagemaker import cleanup as sagemaker_cleanup
    from loadrec.engine.provision.sagemaker import client

    if region is not None and (problem := region_problem(region)):  # before any call is signed
        raise BadInput([f"--region: {show(region)} {problem}"])
    if api_endpoint_url is not None and (problem := url_problem(api_endpoint_url)):
        raise BadInput([f"--api-endpoint-url: {show(api_endpoint_url)} {problem}"])
    if not (force or dry_run) and job_running(job_name):
        raise BadInput([
            f"cleanup: {show(job_name)} is running on this machine: its endpoints are in use "
            "(stop the run first, or pass --force)"
        ])  # fmt: skip
    lines = []
    if out is not None:
        folder = ResultsFolder(Path(out))
        if not (folder.path / TESTS).is_dir():
            raise BadInput([f"--out: {folder.path}: holds no test records"])
        lines = clean_folder(folder, dry_run)
        for line in lines:
            say(line)
    try:
        found = sagemaker_cleanup(client(region, api_endpoint_url), job_name, dry_run)
    except ValueError as error:  # botocore's word for a malformed endpoint URL
        raise BadInput([f"--api-endpoint-url: {error}"]) from None
    for line in found:
        say(line)
    return len(lines) + len(found)
