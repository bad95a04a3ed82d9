"""The bundled price table, override files, and the serverless cost of an hour of traffic."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from loadrec.engine.measurement.prices import (
    BUNDLED_FILE,
    BUNDLED_PACKAGE,
    MAX_PRICE_FILE_BYTES,
    PriceFileError,
    PriceTable,
    bundled,
    instance_price,
    load_prices,
    serverless_cost_per_hour,
)


def production_variant_types() -> set[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("ProductionVariantInstanceType").enum)


def bundled_document() -> dict[str, Any]:
    text = resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def table(per_gb_second: float | None, per_gb_processed: float | None) -> PriceTable:
    return PriceTable("us-east-1", {}, per_gb_second, per_gb_processed, "test")


def test_the_bundled_table_loads_with_its_sourced_prices() -> None:
    prices = bundled()
    assert prices.region == "us-east-1"
    assert len(prices.instance_hour) == 20
    assert instance_price(prices, "ml.c5.xlarge") == 0.204
    assert instance_price(prices, "ml.t2.medium") == 0.056
    assert instance_price(prices, "ml.g5.xlarge") == 1.4084
    assert instance_price(prices, "ml.inf2.48xlarge") == 15.58
    assert instance_price(prices, "ml.r5.large") is None  # no sourced price: unknown, not guessed
    assert prices.serverless_per_gb_second == 0.00002
    assert prices.serverless_per_gb_processed == 0.016
    assert "foundation-model-benchmarking-tool" in prices.source
    assert "sm-serverless-benchmarking" in prices.source
    assert load_prices(None) is prices


def test_every_priced_type_is_a_production_variant_type() -> None:
    assert set(bundled().instance_hour) <= production_variant_types()


def test_all_bundled_prices_are_positive() -> None:
    prices = bundled()
    assert all(price > 0 for price in prices.instance_hour.values())
    assert prices.serverless_per_gb_second is not None and prices.serverless_per_gb_second > 0
    assert prices.serverless_per_gb_processed is not None and prices.serverless_per_gb_processed > 0


def test_the_file_is_sorted_and_says_what_it_left_out() -> None:
    document = bundled_document()
    priced = list(document["RealTimeInstanceHour"])
    assert priced == sorted(priced)
    unpriced = document["Unpriced"]
    assert unpriced == sorted(unpriced)
    assert not set(unpriced) & set(priced)
    assert set(unpriced) <= production_variant_types()
    sourced = {name for names in document["Provenance"].values() for name in names}
    assert set(priced) <= sourced
    assert document["RetrievedOn"] == "2026-11-24"


def test_a_file_overrides_and_adds_to_the_bundled_prices(tmp_path: Path) -> None:
    path = write(tmp_path, {"RealTimeInstanceHour": {"ml.c5.xlarge": 0.25, "ml.r5.large": 0.151}})
    prices = load_prices(path)
    assert instance_price(prices, "ml.c5.xlarge") == 0.25
    assert instance_price(prices, "ml.r5.large") == 0.151
    assert instance_price(prices, "ml.t2.medium") == 0.056  # left to the bundled table
    assert prices.region == "us-east-1"
    assert prices.serverless_per_gb_second == 0.00002
    assert prices.source.startswith(f"{path}; otherwise https://")
    assert list(prices.instance_hour) == sorted(prices.instance_hour)
    assert instance_price(bundled(), "ml.c5.xlarge") == 0.204  # the cached table is untouched


def test_a_serverless_section_overrides_key_by_key(tmp_path: Path) -> None:
    path = write(tmp_path, {"Serverless": {"ComputePerGBSecond": 0.00003, "DataProcessedPerGB": None}})
    prices = load_prices(path)
    assert prices.serverless_per_gb_second == 0.00003
    assert prices.serverless_per_gb_processed is None  # null clears the bundled price
    assert instance_price(prices, "ml.c5.xlarge") == 0.204


def test_another_regions_file_does_not_inherit_us_east_1_prices(tmp_path: Path) -> None:
    path = write(tmp_path, {"Region": "eu-west-1", "Source": "my copy", "RealTimeInstanceHour": {"ml.c5.xlarge": 0.23}})
    prices = load_prices(path)
    assert prices.region == "eu-west-1"
    assert dict(prices.instance_hour) == {"ml.c5.xlarge": 0.23}
    assert prices.serverless_per_gb_second is None
    assert prices.source == "my copy"


@pytest.mark.parametrize(
    ("content", "field", "value"),
    [
        ("{not json", "(document)", "Expecting property name"),
        ([1, 2], "(document)", "[1, 2]"),
        ({"RealTimeInstanceHour": [0.2]}, "RealTimeInstanceHour", "[0.2]"),
        ({"RealTimeInstanceHour": {"ml.c5.xlarge": "0.204"}}, "RealTimeInstanceHour.ml.c5.xlarge", "'0.204'"),
        ({"RealTimeInstanceHour": {"ml.c5.xlarge": -0.204}}, "RealTimeInstanceHour.ml.c5.xlarge", "-0.204"),
        ({"RealTimeInstanceHour": {"ml.c5.xlarge": True}}, "RealTimeInstanceHour.ml.c5.xlarge", "True"),
        ('{"RealTimeInstanceHour": {"ml.c5.xlarge": NaN}}', "RealTimeInstanceHour.ml.c5.xlarge", "nan"),
        ({"RealTimeInstanceHour": {"c5.xlarge": 0.17}}, "RealTimeInstanceHour.c5.xlarge", "'c5.xlarge'"),
        ({"Serverless": {"ComputePerGBSecond": -1}}, "Serverless.ComputePerGBSecond", "-1"),
        ({"Serverless": {"PerRequest": 0.1}}, "Serverless.PerRequest", "'PerRequest'"),
        ({"Serverless": 0.00002}, "Serverless", "2e-05"),
        ({"RealtimeInstanceHour": {}}, "RealtimeInstanceHour", "'RealtimeInstanceHour'"),
        ({"Region": 1}, "Region", "1"),
        ({"Currency": "EUR"}, "Currency", "'EUR'"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_field_and_value(
    tmp_path: Path, content: object, field: str, value: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(PriceFileError) as raised:
        load_prices(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: ")
    assert value in message


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(PriceFileError) as raised:
        load_prices(path)
    assert str(raised.value) == f"{path}: (file): cannot be read, got 'No such file or directory'"


def test_a_fifo_a_device_or_a_huge_file_is_refused_without_waiting_or_reading_it_all(tmp_path: Path) -> None:
    fifo = tmp_path / "prices.json"
    os.mkfifo(fifo)  # opening it would wait for a writer until Ctrl-C
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.truncate(MAX_PRICE_FILE_BYTES + 1)  # sparse: costs no disk
    for path, reason in ((fifo, "not a regular file (a device, a pipe or a socket)"),
                         (Path("/dev/zero"), "not a regular file (a device, a pipe or a socket)"),
                         (huge, f"larger than {MAX_PRICE_FILE_BYTES // 1024} KiB")):  # fmt: skip
        with pytest.raises(PriceFileError) as raised:
            load_prices(path)
        assert str(raised.value) == f"{path}: (file): cannot be read, got {reason!r}"


def test_serverless_compute_for_an_hour_of_traffic() -> None:
    # 600/min is 36,000 invocations an hour, each 2 GB for 0.1 s: 7,200 GB-seconds.
    cost = serverless_cost_per_hour(bundled(), 2048, 600, 100)
    assert cost == pytest.approx(36_000 * 2 * 0.1 * 0.00002, rel=1e-12)
    assert cost == pytest.approx(0.144, rel=1e-12)


def test_serverless_data_processed_is_added_per_gb() -> None:
    # 36,000 invocations x 16 KB in and out = 576,000 KB = 0.54931640625 GB at $0.016.
    cost = serverless_cost_per_hour(bundled(), 2048, 600, 100, payload_kb=16)
    assert cost == pytest.approx(0.144 + 0.54931640625 * 0.016, rel=1e-12)
    assert serverless_cost_per_hour(table(0.00002, None), 2048, 600, 100, payload_kb=16) == pytest.approx(0.144)


def test_serverless_without_a_price_is_unknown() -> None:
    assert serverless_cost_per_hour(table(None, 0.016), 2048, 600, 100, payload_kb=16) is None
    assert serverless_cost_per_hour(bundled(), 1024, 0, 100) == 0.0


@pytest.mark.parametrize(
    ("memory_mb", "per_minute", "duration_ms", "payload_kb"),
    [(0, 600, 100, 0), (2048, -1, 100, 0), (2048, 600, float("nan"), 0), (2048, 600, 100, -5)],
)
def test_serverless_refuses_impossible_traffic(
    memory_mb: int, per_minute: float, duration_ms: float, payload_kb: float
) -> None:
    with pytest.raises(ValueError):
        serverless_cost_per_hour(bundled(), memory_mb, per_minute, duration_ms, payload_kb)


def test_an_integer_too_long_to_read_is_one_line_not_python_s_advice(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"RealTimeInstanceHour": {"ml.c5.large": ' + "9" * 5001 + "}}")
    with pytest.raises(PriceFileError) as refused:
        load_prices(path)
    assert str(refused.value) == f"{path}: (document): holds an integer too long to be read (more than 4,300 digits)"
