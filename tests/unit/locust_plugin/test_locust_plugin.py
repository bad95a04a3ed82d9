"""The Locust plugin's options and how a shape is handed its job (no Locust run: a real parser, an injected clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from locust.argument_parser import LocustArgumentParser

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.load.settings import LIMITS_ENV
from loadrec.engine.locust_plugin import plugin
from loadrec.shapes.locust_shapes import PhasesShape, StairsShape
from tests.conftest import EXAMPLES


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def parsed(*args: str) -> object:
    parser = LocustArgumentParser()
    plugin._options(parser)
    return parser.parse_args(list(args))


def test_the_job_and_limits_come_from_flags_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(plugin.JOB_ENV, raising=False)
    monkeypatch.delenv(LIMITS_ENV, raising=False)
    options = parsed()
    assert options.job is None and options.limits == "aws"
    monkeypatch.setenv(plugin.JOB_ENV, str(EXAMPLES / "stairs.json"))
    monkeypatch.setenv(LIMITS_ENV, "relaxed")
    options = parsed()
    assert options.job == str(EXAMPLES / "stairs.json") and options.limits == "relaxed"
    assert parsed("--limits", "aws").limits == "aws"


def test_the_options_are_read_once_and_not_offered_for_editing_in_the_web_ui() -> None:
    parser = LocustArgumentParser()
    plugin._options(parser)
    assert set(parser.args_included_in_web_ui) <= {"help"}  # the parser's own -h; none of loadrec's


def test_a_shape_follows_the_job() -> None:
    clock = FakeClock()
    shape = StairsShape(clock=clock, sleep=clock.sleep)
    plugin.load_job_for(shape, str(EXAMPLES / "stairs.json"), LimitsMode.AWS)
    assert shape.tick() == (2, 10.0)
    clock.now = 121.0
    assert shape.tick() == (4, 10.0)


def test_a_shape_without_a_job_ends_the_test_with_a_message(caplog: pytest.LogCaptureFixture) -> None:
    assert StairsShape(clock=FakeClock()).tick() is None
    assert "StairsShape has no schedule" in caplog.text and "--job" in caplog.text


def test_a_shape_of_the_wrong_kind_is_refused_with_the_right_one() -> None:
    with pytest.raises(plugin.BadJob) as refused:
        plugin.load_job_for(PhasesShape(clock=FakeClock()), str(EXAMPLES / "stairs.json"), LimitsMode.AWS)
    assert len(refused.value.lines) == 1
    assert "PhasesShape runs PHASES jobs" in refused.value.lines[0] and "use StairsShape" in refused.value.lines[0]


def test_an_invalid_job_gives_its_problems_and_relaxed_limits_allow_it(tmp_path: Path) -> None:
    job = json.loads((EXAMPLES / "phases.json").read_text())
    job["InputConfig"]["TrafficPattern"]["Phases"][0]["DurationInSeconds"] = 5
    path = tmp_path / "short.json"
    path.write_text(json.dumps(job))
    shape = PhasesShape(clock=FakeClock())
    with pytest.raises(plugin.BadJob) as refused:
        plugin.load_job_for(shape, str(path), LimitsMode.AWS)
    assert any("Phases[0].DurationInSeconds: 5 is below the AWS limit of 120" in p for p in refused.value.lines)
    assert shape.tick() is None
    plugin.load_job_for(shape, str(path), LimitsMode.RELAXED)
    assert shape.tick() == (1, 2.0)
