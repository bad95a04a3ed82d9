"""Prices for costing a tested endpoint configuration, as Inference Recommender's CostPerHour does.

This module owns the price table: the bundled us-east-1 table in engine/measurement/data/prices-us-east-1.json
(on-demand real-time inference per instance-hour, serverless inference per GB-second and per GB
processed, with where each figure came from), the user's override file in the same format, and the
arithmetic that turns a serverless endpoint's measured traffic into a cost per hour. A type or a
price the table does not know is None, never a guess: a result without a price says so.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from loadrec.engine.job.files import MAX_INTEGER_DIGITS, FileRefused, read_regular
from loadrec.engine.job.limits import MAX_PRICE_PER_HOUR
from loadrec.engine.job.problems import is_number
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.measurement.outcome import Measured

BUNDLED_PACKAGE = "loadrec.engine.measurement.data"
BUNDLED_FILE = "prices-us-east-1.json"
MAX_PRICE_FILE_BYTES = 16 * 1024 * 1024  # every region's table is well under this; /dev/zero is not

# Sections a price file may hold. The descriptive ones are read by people, not by this module; an
# unknown key is refused so that a misspelt section cannot silently fall back to the bundled prices.
_PRICE_SECTIONS = ("RealTimeInstanceHour", "Serverless")
_DESCRIPTIVE = ("Region", "Currency", "Source", "RetrievedOn", "Notes", "Provenance", "Unpriced")
_SERVERLESS_KEYS = ("ComputePerGBSecond", "DataProcessedPerGB")
KB_PER_GB = 1024 * 1024  # AWS bills data processed in binary GB, as the SageMaker benchmarking tools count it


class PriceFileError(ValueError):
    """A price file that cannot be used. The message is one line: the file, the field, the value."""


@dataclass(frozen=True)
class PriceTable:
    region: str
    instance_hour: Mapping[str, float]  # USD per instance-hour, real-time inference, on demand
    serverless_per_gb_second: float | None  # USD per GB-second of serverless compute
    serverless_per_gb_processed: float | None  # USD per GB of serverless data in plus out
    source: str


def _fail(origin: str, field: str, problem: str, value: object) -> PriceFileError:
    shown = repr(value)
    if len(shown) > 80:  # keep the message one short line whatever the file holds
        shown = shown[:77] + "..."
    return PriceFileError(f"{origin}: {field}: {problem}, got {shown}")


def _price(origin: str, field: str, value: object) -> float:
    # bool is an int to Python, and json reads NaN and Infinity: none of them is a price.
    if not is_number(value):
        raise _fail(origin, field, "must be a number of US dollars", value)
    if not 0 <= value <= MAX_PRICE_PER_HOUR:
        raise _fail(origin, field, f"must be from 0 to {MAX_PRICE_PER_HOUR:,} US dollars", value)
    return float(value)


def _text(origin: str, doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(origin, key, "must be a non-empty string", value)
    return value


def _instance_hours(origin: str, section: object) -> dict[str, float]:
    if not isinstance(section, dict):
        raise _fail(origin, "RealTimeInstanceHour", "must be an object of instance type to price", section)
    hours: dict[str, float] = {}
    for name, value in section.items():
        field = f"RealTimeInstanceHour.{name}"
        # SageMaker names every hosting type ml.*; an EC2 name here would never match a variant.
        if not name.startswith("ml."):
            raise _fail(origin, field, "instance types are named ml.<family>.<size>", name)
        hours[name] = _price(origin, field, value)
    return hours


def _serverless(origin: str, section: object) -> dict[str, float | None]:
    if not isinstance(section, dict):
        raise _fail(origin, "Serverless", "must be an object", section)
    prices: dict[str, float | None] = {}
    for key, value in section.items():
        field = f"Serverless.{key}"
        if key not in _SERVERLESS_KEYS:
            raise _fail(origin, field, f"unknown key, expected one of {', '.join(_SERVERLESS_KEYS)}", key)
        # null states that the price is unknown, which also clears a bundled one.
        prices[key] = None if value is None else _price(origin, field, value)
    return prices


def _parse(origin: str, text: str, base: PriceTable | None) -> PriceTable:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        problem = f"not valid JSON at line {error.lineno} column {error.colno}"
        raise _fail(origin, "(document)", problem, error.msg) from None
    except ValueError:  # an integer of more digits than Python converts (no price has them)
        problem = f"holds an integer too long to be read (more than {MAX_INTEGER_DIGITS:,} digits)"
        raise PriceFileError(f"{origin}: (document): {problem}") from None
    if not isinstance(doc, dict):
        raise _fail(origin, "(document)", "must be a JSON object", doc)
    for key in doc:
        if key not in _PRICE_SECTIONS and key not in _DESCRIPTIVE:
            raise _fail(origin, key, f"unknown section, expected one of {', '.join(_PRICE_SECTIONS)}", key)
    currency = _text(origin, doc, "Currency")
    if currency is not None and currency != "USD":
        raise _fail(origin, "Currency", "prices are compared in USD only", currency)
    region = _text(origin, doc, "Region")
    source = _text(origin, doc, "Source")
    for key in ("RetrievedOn", "Notes"):
        _text(origin, doc, key)
    hours = _instance_hours(origin, doc["RealTimeInstanceHour"]) if "RealTimeInstanceHour" in doc else {}
    serverless = _serverless(origin, doc["Serverless"]) if "Serverless" in doc else {}

    own_source = source or origin
    # Another region's file stands alone: us-east-1 figures filling its gaps would be wrong, not missing.
    if base is None or region not in (None, base.region):
        if region is None:
            raise _fail(origin, "Region", "must name the region the prices are for", None)
        base = PriceTable(region, {}, None, None, own_source)
        merged_source = own_source
    else:
        merged_source = f"{own_source}; otherwise {base.source}"
    merged = {**base.instance_hour, **hours}
    return PriceTable(
        region=base.region,
        instance_hour=MappingProxyType(dict(sorted(merged.items()))),
        serverless_per_gb_second=serverless.get("ComputePerGBSecond", base.serverless_per_gb_second),
        serverless_per_gb_processed=serverless.get("DataProcessedPerGB", base.serverless_per_gb_processed),
        source=merged_source,
    )


@functools.cache
def bundled() -> PriceTable:
    """The us-east-1 table shipped in engine/measurement/data, read once."""
    data = resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE)
    return _parse(f"{BUNDLED_PACKAGE}/{BUNDLED_FILE} (bundled)", data.read_text(encoding="utf-8"), None)


def load_prices(path: Path | None) -> PriceTable:
    """The bundled table, or the file's entries over it (sections the file leaves out stay bundled)."""
    if path is None:
        return bundled()
    try:
        text = read_regular(path, MAX_PRICE_FILE_BYTES).decode("utf-8")
    except (FileRefused, UnicodeDecodeError) as error:  # a FIFO, a device, a file without end, not UTF-8
        raise _fail(str(path), "(file)", "cannot be read", str(error)) from None
    return _parse(str(path), text, bundled())


def instance_price(table: PriceTable, instance_type: str) -> float | None:
    """USD per instance-hour of real-time inference, or None when the table has no price for the type."""
    return table.instance_hour.get(instance_type)


def serverless_cost_per_hour(
    table: PriceTable,
    memory_mb: int,
    invocations_per_minute: float,
    mean_duration_ms: float,
    payload_kb: float = 0.0,
) -> float | None:
    """USD for one hour of serverless traffic at this rate, or None when the table has no serverless price.

    AWS bills serverless inference by compute time (memory in GB times the duration of each invocation,
    per GB-second) and by data processed (request and response bytes, per GB); there is no instance-hour.
    The cost of an hour of the measured traffic is therefore the honest analogue of CostPerHour:

        invocations/hour x (memory_mb / 1024) GB x (mean_duration_ms / 1000) s x price per GB-second
        + invocations/hour x payload_kb / 1024**2 GB x price per GB processed (when the table has it)

    payload_kb is the data in plus the data out of one invocation, in KB (1024 bytes); AWS charges both
    directions at the same rate. Cold starts and AWS's rounding of billed duration are not modelled.
    """
    if memory_mb <= 0:
        raise ValueError(f"memory_mb must be positive, got {memory_mb!r}")
    for name, value in (
        ("invocations_per_minute", invocations_per_minute),
        ("mean_duration_ms", mean_duration_ms),
        ("payload_kb", payload_kb),
    ):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number, 0 or more, got {value!r}")
    if table.serverless_per_gb_second is None:
        return None
    invocations_per_hour = invocations_per_minute * 60.0
    gb_seconds = invocations_per_hour * (memory_mb / 1024.0) * (mean_duration_ms / 1000.0)
    cost = gb_seconds * table.serverless_per_gb_second
    if table.serverless_per_gb_processed is not None:
        cost += invocations_per_hour * (payload_kb / KB_PER_GB) * table.serverless_per_gb_processed
    return cost


def price_per_hour(spec: JobSpec, index: int, measured: Measured, table: PriceTable) -> float | None:
    """Test ``index``'s price: its target's own, else the table's, per instance-hour or for serverless traffic."""
    target = spec.target_of(index)
    if target is not None and target.price_per_hour is not None:
        return target.price_per_hour
    configuration = spec.configuration_of(index)
    if configuration is None:
        return None
    if configuration.serverless is not None:
        # Billed duration: the threshold-percentile latency, an upper bound of the mean. Serverless cost grows
        # linearly with the rate, so sizing scales it like instances.
        return serverless_cost_per_hour(
            table, configuration.serverless.memory_size_mb, measured.invocations_per_minute, measured.latency_ms or 0.0
        )
    return instance_price(table, configuration.instance_type) if configuration.instance_type else None
