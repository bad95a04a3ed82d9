"""A test's settings: declared once, the same from every entry point, handed to child processes whole."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest
from locust.argument_parser import LocustArgumentParser

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.load.settings import (
    AUTO,
    AUTO_MIN_USERS,
    MAX_PROCESSES,
    RUN,
    STOCK,
    UI,
    MasterSettings,
    RunSettings,
    add_options,
    host_address,
    process_count,
    settings_from,
)
from loadrec.engine.measurement.monitor import MonitorSettings
from loadrec.engine.measurement.ranking import Importance, Weights

COMMON = ["--window", "8", "--evaluate-every", "2", "--seed", "3", "--payloads", "s3://b/p.tar.gz"]
COMMON += ["--cost-importance", "Lowest", "--publish-metrics", "--prices", "prices.json"]


def parse(where: str, args: list[str], parser: argparse.ArgumentParser | None = None) -> RunSettings:
    parser = parser or argparse.ArgumentParser()
    if where != STOCK:
        parser.add_argument("--limits", default="aws")
    add_options(parser, where)
    return settings_from(parser.parse_args(args), where)


def test_run_ui_and_the_stock_locustfile_read_the_same_options_the_same_way() -> None:
    run = parse(RUN, ["--limits", "relaxed", *COMMON])
    ui = parse(UI, ["--limits", "relaxed", *COMMON])
    stock = parse(
        STOCK, ["--limits", "relaxed", *COMMON, "--results-dir", "out", "--test-index", "1"], LocustArgumentParser()
    )
    assert run == ui == replace(stock, processes=AUTO)  # a stock run is distributed by Locust's own flags
    assert run.limits is LimitsMode.RELAXED and run.monitor == MonitorSettings(window_s=8, evaluate_every_s=2)
    assert run.weights == Weights(cost=Importance.LOWEST) and run.publish_metrics and run.seed == 3
    assert run.prices == str(Path("prices.json").resolve())  # child processes may start elsewhere


def test_distribution_is_loadrec_s_own_option_in_run_and_the_web_ui() -> None:
    for where in (RUN, UI):
        assert parse(where, ["--processes", "2"]).processes == 2
        master = parse(where, ["--master", "--expect-workers", "3", "--master-bind-port", "6000"]).master
        assert master == MasterSettings(expect_workers=3, bind_host="0.0.0.0", bind_port=6000)
        assert not parse(where, []).distributed
        assert parse(where, ["--processes", "auto"]).processes == parse(where, []).processes == AUTO


@pytest.mark.parametrize(
    ("processes", "master", "peak_users", "cores", "decided"),
    [
        (AUTO, False, AUTO_MIN_USERS, 4, 4),  # one load process per core from AUTO_MIN_USERS users on
        (AUTO, False, AUTO_MIN_USERS - 1, 4, 0),  # a small test stays in its own process: no start-up to pay
        (AUTO, False, 10_000, 1, 0),  # one core: a second process only competes for it
        (AUTO, True, 10_000, 4, 0),  # --master: its workers are started elsewhere
        (3, False, 2, 8, 3),  # a number given is kept
        (0, False, 10_000, 8, 0),
    ],
)
def test_processes_auto_is_decided_from_the_peak_users_and_the_cores(
    processes: int, master: bool, peak_users: int, cores: int, decided: int
) -> None:
    settings = RunSettings(processes=processes, master=MasterSettings() if master else None)
    assert settings.for_job(peak_users, cores).processes == decided


def test_settings_travel_as_json_whole() -> None:
    settings = parse(RUN, ["--limits", "relaxed", *COMMON, "--master"])
    assert RunSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert RunSettings.from_dict(RunSettings().to_dict()) == RunSettings()


@pytest.mark.parametrize("text", ["1000000", "257", "-1", "99999999999999999999999"])
def test_a_process_count_beyond_the_bound_is_refused_before_anything_starts(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 0 to 256"):
        process_count(text)
    assert process_count(str(MAX_PROCESSES)) == MAX_PROCESSES and process_count("auto") == AUTO


@pytest.mark.parametrize("text", ["bad host", "", "\u202e127.0.0.1", "host_name", "-leading.example", "a" * 64,
                                  "127.0.0.1:5557", "tcp://master", "häst", "x\nwhat"])  # fmt: skip
def test_an_address_that_is_no_ip_or_host_name_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        host_address(text)
    assert "is not an IP address or a host name" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("text", ["127.0.0.1", "0.0.0.0", "::1", "fe80::1", "localhost", "master-1.internal", "*"])
def test_addresses_and_host_names_are_taken(text: str) -> None:
    assert host_address(text) == text
