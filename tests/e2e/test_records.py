"""Per-request records (``--records``) end to end: one for each request the server served, pandas reads them.

``tests.truth_server`` notes when each request arrived; the records of a request-rate test
must hold as many requests, due 1/rate apart per user and sent on time, from both load
processes of a distributed run; past ``--records LIMIT`` they are an even, weighted sample.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.jobs import loadrec, results, streaming_job
from tests.e2e.servers import truth_server

pytestmark = pytest.mark.e2e

FAST_ANSWER = ("--ttft-ms", "5", "--token-ms", "1", "--tokens", "4")
RATE = {"RequestRate": {"RequestsPerSecondPerUser": 10}}


def arrived(url: str) -> int:
    with urllib.request.urlopen(f"{url}/truth", timeout=10) as answer:
        return len(json.load(answer)["arrived"])


def test_every_request_the_server_got_has_its_record_from_each_process(tmp_path: Path) -> None:
    with truth_server(*FAST_ANSWER) as url:
        job = streaming_job(tmp_path, url, users=4, seconds=8, extension=RATE)
        done = loadrec(job, tmp_path / "out", "--records", "--processes", "2")
        served = arrived(url)
    assert done.returncode == 0, done.stderr[-2000:]
    _, test, _ = results(tmp_path / "out")
    summary = test["Records"]
    assert summary["File"] == "tests/0/records.jsonl.gz" and summary["Sampled"] is False
    frame = pd.read_json(tmp_path / "out" / summary["File"], lines=True)
    assert summary["Records"] == len(frame) == summary["Requests"]
    in_flight = test["RequestRate"]["InFlightAtStop"]
    # One record per request answered, every one of them served; a request cut off at the stop may or may not
    # have reached the server before its user was killed.
    assert len(frame) <= served <= len(frame) + in_flight, (len(frame), in_flight, served)
    assert set(frame["status"]) == {"ok"} and (frame["output_tokens"] == 4).all()
    assert frame["worker"].nunique() == 2  # both load processes sent theirs
    late_ms = (frame["sent"] - frame["intended"]) * 1000
    assert (late_ms >= 0).all() and late_ms.median() < 20
    assert (frame["latency_ms"] >= frame["ttft_ms"]).all() and frame["ttft_ms"].min() >= 5
    # 40 arrivals a second in all, each user's 100 ms apart: the due times say the rate, whatever the answers.
    span = frame["intended"].max() - frame["intended"].min()
    assert abs(len(frame) / span - 40) <= 4, len(frame) / span


def test_past_the_limit_the_records_are_an_even_weighted_sample(tmp_path: Path) -> None:
    with truth_server(*FAST_ANSWER) as url:
        job = streaming_job(tmp_path, url, users=4, seconds=8, extension=RATE)
        done = loadrec(job, tmp_path / "out", "--records", "50")
    assert done.returncode == 0, done.stderr[-2000:]
    _, test, _ = results(tmp_path / "out")
    summary = test["Records"]
    frame = pd.read_json(tmp_path / "out" / summary["File"], lines=True)
    assert summary["Sampled"] is True and len(frame) == summary["Records"] <= 50
    assert set(frame["weight"]) == {summary["Weight"]} and summary["Weight"] >= 4
    assert abs(frame["weight"].sum() - summary["Requests"]) < summary["Weight"]  # they stand for every request
    quarter = (frame["intended"].max() - frame["intended"].min()) / 4
    spread = pd.cut(frame["intended"], 4).value_counts()
    assert quarter > 1 and spread.min() >= len(frame) // 4 - 2  # even over the test, not its start
    assert f"every {summary['Weight']}th: each record's weight is {summary['Weight']}" in done.stdout
