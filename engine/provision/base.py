"""The provisioner interface: create an endpoint for one test, say when it is ready, delete it after.

A test's process (:mod:`loadrec.engine.running.step`) asks for its endpoint before any
load, loads the target it gets, and deletes it in a ``finally``: after success, a failed
test, a stop, a signal or an exception. What a provisioner creates is written down as it
is created (``tests/N/provisioned.json``), before it is ready, so that the process that
runs the job can remove it if the test's process is killed before it could.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from loadrec.engine.job.cases import TestCase
from loadrec.engine.job.problems import Say
from loadrec.engine.job.provisioning import CommandProvisioning, SageMakerProvisioning
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import Target


class ProvisionError(Exception):
    """The endpoint could not be created or did not become ready; one line (or a few of its output)."""


@dataclass(frozen=True)
class Provisioned:
    """An endpoint created for a test: the target to load, how long it took to be ready, what to delete."""

    target: Target
    ready_s: float
    record: dict[str, Any] = field(default_factory=dict)  # as written to provisioned.json


Record = Callable[[dict[str, Any]], None]  # writes what was created, as soon as it exists
Cancelled = Callable[[], bool]  # a stop came: give up waiting


class Provisioner(Protocol):
    def create(self, case: TestCase, record: Record, cancelled: Cancelled) -> Provisioned:
        """Create the endpoint for ``case`` and wait until it is ready; raises ProvisionError (having deleted
        whatever it created)."""
        ...

    def delete(self, provisioned: Provisioned) -> bool:
        """Remove what ``create`` made; True when all of it is gone. Never raises: a failure is said, and the
        record stays (not marked deleted) for the job's leftover removal or ``loadrec cleanup``."""
        ...


def delete_and_record(provisioner: Provisioner, provisioned: Provisioned, record: Record) -> None:
    """Remove what was created and, once all of it is gone, say so in its record: the run's leftover removal
    and ``loadrec cleanup`` then skip it (a second delete would only print false failures)."""
    if provisioner.delete(provisioned):
        with contextlib.suppress(OSError):
            record({**provisioned.record, "Deleted": True})


def provisioner_for(spec: JobSpec, job_dir: Path, progress: Say, run_id: str) -> Provisioner:
    """The provisioner the job's ``Loadrec.Provisioner`` names."""
    provisioning = spec.extension.provisioner
    if isinstance(provisioning, SageMakerProvisioning):
        from loadrec.engine.provision.sagemaker import SageMakerProvisioner

        return SageMakerProvisioner(spec, provisioning, progress, run_id)
    from loadrec.engine.provision.command import CommandProvisioner

    assert isinstance(provisioning, CommandProvisioning)
    return CommandProvisioner(provisioning, job_dir, progress)


def remove_leftover(record: dict[str, Any]) -> str | None:
    """Delete what a killed test's process left behind, from its record; what was done, or None."""
    if record.get("Kind") == "SageMaker":
        from loadrec.engine.provision.sagemaker import remove_leftover as remove_endpoint

        return remove_endpoint(record)
    from loadrec.engine.provision.command import remove_leftover as remove_command

    return remove_command(record)
