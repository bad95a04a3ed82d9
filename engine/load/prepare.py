"""Everything about a test that can fail on bad input, done before any load: payloads, target, credentials.

``prepare_job`` checks every test of a job (``loadrec run`` does it once, before the
first request); ``prepare_test`` readies one (each test's process does it once), and
``prepare_chosen_test`` the one a stock Locust process runs (``--test-index``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadrec.engine.job.provisioning import template_target
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import Target
from loadrec.engine.load.invocation import Invocation, TargetError, prepare
from loadrec.payloads import Payload, PayloadError, open_source
from loadrec.payloads.prompts import PromptSet, PromptSummary, build_prompts


class SetupError(Exception):
    """The test cannot start (bad target, credentials, payloads, workers); nothing was sent."""


@dataclass(frozen=True)
class PreparedTest:
    index: int
    label: str
    target: Target | None  # None: created by the provisioner when the test starts
    invocation: Invocation | None  # None until then
    payloads: tuple[Payload, ...]
    prompts: PromptSummary | None = None  # what the bodies hold, when Loadrec.Prompts made them
    count_tokens: Callable[[str], int] | None = None  # and its tokenizer, for answers the server does not count


# A test's bodies: payload files, or the prompts Loadrec.Prompts made (with their summary).
Bodies = tuple[Payload, ...] | PromptSet
AWS_PAYLOAD_FIELD = "InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl"


def payload_url(spec: JobSpec, override: str | None) -> tuple[str, str]:
    """(where the sample payloads are, the flag or field that said so)."""
    chosen = [
        (url, where)
        for url, where in (
            (override, "--payloads"),
            (spec.extension.sample_payload_url, "Loadrec.SamplePayloadUrl"),
            (spec.payload.sample_payload_url, AWS_PAYLOAD_FIELD),
        )
        if url
    ]
    if not chosen:
        raise SetupError(f"no sample payloads: set {AWS_PAYLOAD_FIELD}, Loadrec.SamplePayloadUrl or --payloads")
    return chosen[0]


def load_payloads(spec: JobSpec, base_dir: Path, override: str | None = None) -> Bodies:
    """The job's bodies: its ``Loadrec.Prompts`` made, or its payload files read; SetupError before any load."""
    if spec.extension.prompts is not None:
        if override:
            raise SetupError("--payloads: the job's Loadrec.Prompts makes the request bodies; drop one of them")
        targets = [*spec.extension.targets, spec.extension.provisioner]
        streams = any(t is not None and t.framing is not None for t in targets)  # the key made them all alike
        try:
            return build_prompts(spec.extension.prompts, base_dir, streams, spec.extension.s3_endpoint_url)
        except PayloadError as error:
            raise SetupError(str(error)) from None
    content_type = spec.payload.content_types[0] if spec.payload.content_types else None
    url, where = payload_url(spec, override)
    try:
        source = open_source(
            url,
            content_type=content_type,
            base_dir=base_dir,
            s3_endpoint_url=spec.extension.s3_endpoint_url,
        )
        return source.load()
    except PayloadError as error:
        raise SetupError(f"{where}: {error}") from None


def prepare_test(
    spec: JobSpec, index: int, payloads: Bodies, base_dir: Path, target: Target | None = None
) -> PreparedTest:
    """Test ``index`` ready to load: its job's target, or ``target`` (an endpoint created for it); a path in
    the target is read from ``base_dir``, the job's folder.

    A test whose endpoint the provisioner creates has no target until then: it is checked
    with the provisioner's template (its headers' ``env:`` values) and comes back without
    an invocation."""
    target = target or spec.target_of(index)
    provisioner = spec.extension.provisioner
    if target is not None:
        checked = target
    elif provisioner is not None:
        checked = template_target(provisioner, 1, dict(spec.case(index).environment))
    else:
        raise SetupError(
            f"Loadrec.Targets[{spec.case(index).configuration}]: no target for this endpoint configuration "
            "(add a SageMaker or Http target for each one, in order, or a Loadrec.Provisioner to create them)"
        )
    where = f"Loadrec.Targets[{spec.case(index).configuration}]" if target else "Loadrec.Provisioner"
    try:
        invocation = prepare(checked, spec.extension, base_dir=base_dir)
    except TargetError as error:
        raise SetupError(f"{where}: {error}") from None
    label, invoked = spec.label_of(index), invocation if target else None
    if isinstance(payloads, PromptSet):
        return PreparedTest(index, label, target, invoked, payloads.payloads, payloads.summary, payloads.count)
    return PreparedTest(index, label, target, invoked, payloads)


def prepare_chosen_test(spec: JobSpec, index: int, base_dir: Path, payloads_override: str | None) -> PreparedTest:
    """The one test ``--test-index`` chooses, with its payloads; raises SetupError before any load."""
    if index >= len(spec.cases):
        raise SetupError(f"--test-index: {index} is past the job's {len(spec.cases)} tests")
    test = prepare_test(spec, index, load_payloads(spec, base_dir, payloads_override), base_dir)
    if test.invocation is None:
        raise SetupError(f"--test-index: test {index} needs an endpoint loadrec creates: use loadrec run or loadrec ui")
    return test


def prepare_job(spec: JobSpec, base_dir: Path, payloads_override: str | None) -> list[PreparedTest]:
    """Every test, ready to run (or to provision); raises SetupError before any load."""
    payloads = load_payloads(spec, base_dir, payloads_override)
    return [prepare_test(spec, index, payloads, base_dir) for index in range(len(spec.cases))]
