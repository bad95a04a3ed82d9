"""tools/update_prices.py against an offer file in the shape of AWS's Price List bulk API: what it keeps
(hosting, this region, per hour), what it carries over, and that loadrec reads what it writes."""

from __future__ import annotations

import datetime
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from loadrec.engine.measurement.prices import instance_price, load_prices

SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "update_prices.py"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_prices", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def product(name: str, component: str = "Hosting", region: str = "us-east-1") -> dict[str, Any]:
    return {"productFamily": "ML Instance",
            "attributes": {"component": component, "regionCode": region, "instanceName": name}}  # fmt: skip


def on_demand(usd: str, unit: str = "Hrs") -> dict[str, Any]:
    return {"T": {"priceDimensions": {"R": {"unit": unit, "pricePerUnit": {"USD": usd}}}}}


OFFER = {
    "publicationDate": "2026-11-30T00:00:00Z",
    "products": {
        "A": product("ml.c5.large"),
        "B": product("ml.r5.xlarge"),
        "C": product("ml.c5.large", component="Training"),
        "D": product("ml.c5.large", region="eu-west-1"),
        "E": product("ml.g5.xlarge"),
    },
    "terms": {"OnDemand": {"A": on_demand("0.1020000000"), "B": on_demand("0.2820000000"), "C": on_demand("9.0"),
                           "D": on_demand("8.0"), "E": on_demand("1.0", unit="Quantity")}},
}  # fmt: skip


def test_only_hosting_in_the_region_priced_per_hour_is_kept() -> None:
    assert script().hosting_prices(OFFER, "us-east-1") == {"ml.c5.large": 0.102, "ml.r5.xlarge": 0.282}


def test_the_written_table_is_what_loadrec_reads_dated_with_serverless_carried_over(tmp_path: Path) -> None:
    previous = {"RealTimeInstanceHour": {"ml.c5.large": 0.1}, "Unpriced": ["ml.p2.xlarge"],
                "Serverless": {"ComputePerGBSecond": 2e-05, "DataProcessedPerGB": 0.016}}  # fmt: skip
    document = script().table(OFFER, "us-east-1", previous, datetime.date(2026, 12, 2))
    assert document["RetrievedOn"] == "2026-12-02" and "publicationDate 2026-11-30" in document["Source"]
    assert document["Unpriced"] == ["ml.p2.xlarge"] and document["Serverless"] == previous["Serverless"]
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    table = load_prices(path)
    assert instance_price(table, "ml.r5.xlarge") == 0.282 and table.serverless_per_gb_second == 2e-05


def test_the_script_runs_from_an_offer_copy(tmp_path: Path) -> None:
    offer, out = tmp_path / "offer.json", tmp_path / "prices-us-east-1.json"
    offer.write_text(json.dumps(OFFER))
    assert script().main(["--offer", str(offer), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["RealTimeInstanceHour"] == {"ml.c5.large": 0.102, "ml.r5.xlarge": 0.282}
