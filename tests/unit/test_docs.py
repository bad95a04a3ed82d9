"""The docs' examples and the README: every fenced block names its language, and every ```json block of
docs/*.md and README.md parses and is one of the kinds below, checked as loadrec itself checks it.

A fragment (one member of the ``Loadrec`` key, say) is never fenced as something other than JSON to dodge
this: it is written as a whole object that names where it goes, ``{"Loadrec": {"RequestRate": {...}}}``,
so that it parses. The kinds:

- a job file (it has ``JobName`` or ``InputConfig``): valid for ``loadrec validate`` under AWS's limits,
  with no problem (engine/job/validation.py's ``check_request``, then ``parse_job`` for the ``Loadrec``
  key). Validation reads no file: payloads, prompts and tokenizers are read when a run starts.
- a part of the ``Loadrec`` key (its only key is ``Loadrec``): valid once it stands in an example job of
  examples/ (its members replace theirs): the one that uses the same member (a Prompts or Slo fragment
  needs that example's streaming target, a Search fragment its thresholds), else stairs.json; a fragment
  with a Provisioner has no targets, since the provisioner creates them.
- a ``loadrec serve`` configuration (``AccessKeys``, ``Endpoints``, ``PayloadRoots``, ...): valid for
  engine/api/config.py's ``parse_config``, every ``env:`` secret set, each of its PayloadRoots made as a
  folder under a temporary one (a root must be a folder of the serving machine).
- output loadrec writes, which only has to parse: a describe.json excerpt (``JobArn``, ``Status``,
  ``InferenceRecommendations`` or ``EndpointPerformances``), a steps.json excerpt (``Steps``), a Grafana
  dashboard (``panels``).

Any other JSON block fails: a kind this file does not know is a kind nobody checks. Each failure names the
file and the line of the block's opening fence.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.api.config import CONFIG_SHAPES, ConfigError, parse_config
from loadrec.engine.job.extension import KEY, split_request
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpecError, parse_job
from loadrec.engine.job.validation import check_request
from tests.conftest import EXAMPLES, ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 200
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

# The example job that holds each member of the Loadrec key a fragment needs the rest of a job for.
BASES = {"RequestRate": "request-rate.json", "Prompts": "prompts.json", "Slo": "prompts.json", "Search": "search.json"}
DEFAULT_BASE = "stairs.json"
SERVE_FIELDS = tuple(CONFIG_SHAPES["ServerConfig"]["members"])
SERVE_ONLY = set(SERVE_FIELDS) - {KEY}
OUTPUT_KINDS = {
    "a describe.json excerpt": {"JobArn", "Status", "InferenceRecommendations", "EndpointPerformances"},
    "a steps.json excerpt": {"Steps"},
    "a Grafana dashboard": {"panels"},
}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    """The fenced blocks of a Markdown file (a fence may be indented, inside a list item)."""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        assert end < len(lines), f"{path.relative_to(ROOT)}:{index + 1}: a fence that never closes"
        yield Block(path, index + 1, opening["info"].strip().split(" ")[0], "\n".join(body))
        index = end + 1


ALL_BLOCKS = [block for path in [README, *PAGES] for block in blocks(path)]
JSON_BLOCKS = [block for block in ALL_BLOCKS if block.language == "json"]


def kind(value: Any) -> str:
    """Which kind of block ``value`` is (the module's docstring lists them); raises AssertionError if none."""
    assert isinstance(value, dict), "a JSON block must be an object"
    keys = set(value)
    for name, marks in OUTPUT_KINDS.items():
        if keys & marks:
            return name
    if keys & {"JobName", "InputConfig"}:
        return "a job file"
    if keys == {KEY}:
        return "a part of the Loadrec key"
    if keys & SERVE_ONLY and keys <= set(SERVE_FIELDS):
        return "a loadrec serve configuration"
    raise AssertionError(f"not a kind the docs' test knows (keys {sorted(keys)}): see tests/unit/test_docs.py")


def job_problems(request: dict[str, Any]) -> list[str]:
    """Every problem ``loadrec validate`` finds with ``request`` under AWS's limits."""
    aws, _ = split_request(request)
    found = [str(problem) for problem in check_request(aws, LimitsMode.AWS)]
    try:
        parse_job(request, LimitsMode.AWS)
    except JobSpecError as error:
        found += [str(problem) for problem in error.problems if str(problem) not in found]
    return found


def in_example_job(fragment: dict[str, Any]) -> dict[str, Any]:
    """The example job that uses the fragment's members, with the fragment's members in place of its own."""
    members = fragment[KEY]
    assert isinstance(members, dict), f"{KEY} must be an object"
    base = next((BASES[name] for name in members if name in BASES), DEFAULT_BASE)
    request: dict[str, Any] = json.loads((EXAMPLES / base).read_text())
    extension = copy.deepcopy(request.get(KEY, {}))
    if "Provisioner" in members:
        extension.pop("Targets", None)  # the provisioner creates each configuration's endpoint
    request[KEY] = extension | members
    return request


def serve_problems(config: dict[str, Any], folder: Path) -> list[str]:
    """Every problem ``loadrec serve --config`` finds, its PayloadRoots made as folders under ``folder``."""
    config = copy.deepcopy(config)
    roots = config.get("PayloadRoots", [])
    if isinstance(roots, list):
        config["PayloadRoots"] = [str(folder / str(root).lstrip("/")) for root in roots]
        for root in config["PayloadRoots"]:
            Path(root).mkdir(parents=True, exist_ok=True)
    secrets = re.findall(r'"env:([A-Za-z_][A-Za-z0-9_]*)"', json.dumps(config))
    try:
        parse_config(config, folder, {name: "a-secret-of-the-docs-test" for name in secrets})
    except ConfigError as error:
        return error.lines
    return []


def test_the_docs_have_json_examples_to_check() -> None:
    assert PAGES, "no docs/*.md"
    assert len(JSON_BLOCKS) >= 5, [block.where for block in JSON_BLOCKS]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda block: block.where)
def test_every_fenced_block_names_its_language(block: Block) -> None:
    # An unnamed fence would let a JSON example slip past the checks below.
    assert block.language, f"{block.where}: a fenced block without a language (```json, ```sh, ```text ...)"


@pytest.mark.parametrize("block", JSON_BLOCKS, ids=lambda block: block.where)
def test_every_json_block_parses_and_holds_for_loadrec(block: Block, tmp_path: Path) -> None:
    try:
        value = json.loads(block.text)
    except json.JSONDecodeError as error:
        pytest.fail(f"{block.where}: not JSON (line {error.lineno} of the block, column {error.colno}: {error.msg})")
    try:
        found = kind(value)
    except AssertionError as error:
        pytest.fail(f"{block.where}: {error}")
    if found == "a job file":
        problems = job_problems(value)
    elif found == "a part of the Loadrec key":
        problems = job_problems(in_example_job(value))
    elif found == "a loadrec serve configuration":
        problems = serve_problems(value, tmp_path)
    else:
        problems = []  # output loadrec writes: parsing is all
    assert problems == [], f"{block.where}: {found} that loadrec refuses:\n" + "\n".join(problems)


def test_the_readme_stays_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines < MAX_README_LINES, f"README.md: {lines} lines; the docs site (docs/) is the place for more"


def test_the_readme_keeps_its_two_commands() -> None:
    text = README.read_text()
    for line in (
        "make demo   # sets everything up, then runs the built-in demo job",
        "make test   # sets everything up, then runs linters, type checks and the whole test suite",
    ):
        assert line in text.splitlines(), f"README.md: the quick start's line {line!r} is gone"


def test_every_relative_link_of_the_readme_points_to_a_file() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    relative = [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link) and not link.startswith("#")]
    assert relative, "README.md links to no page of the docs"
    missing = [link for link in relative if not (ROOT / link.split("#", 1)[0]).exists()]
    assert missing == [], f"README.md: links to files that do not exist: {missing}"
