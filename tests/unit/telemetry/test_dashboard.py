"""The compose file's `metrics` profile and the Grafana dashboard: every query names a metric loadrec exposes,
the images are pinned, Prometheus scrapes the port the compose file documents, Grafana listens on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from loadrec.engine.telemetry.prometheus import metric_names

DOCKER = Path(__file__).resolve().parents[3] / "docker"
DASHBOARD = DOCKER / "grafana" / "loadrec-dashboard.json"
METRIC = re.compile(r"\b(loadrec_[a-z_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def exposed(name: str) -> bool:
    families = set(metric_names())
    return name in families or any(name.endswith(s) and name[: -len(s)] in families for s in SUFFIXES)


def test_every_dashboard_query_names_an_exposed_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [dashboard["templating"]["list"][0]["definition"]]
    named = {name for expr in expressions for name in METRIC.findall(expr)}
    assert named and all(exposed(name) for name in named), sorted(n for n in named if not exposed(n))
    used = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in named}
    assert {"loadrec_invocations", "loadrec_latency_seconds", "loadrec_ttft_seconds", "loadrec_target_users",
            "loadrec_failures", "loadrec_generator_cpu_percent"} <= used  # fmt: skip
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_metrics_profile_scrapes_the_master_and_pins_its_images() -> None:
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["metrics"]
        image = services[name]["image"]
        assert re.fullmatch(r"[a-z/]+:v?\d+\.\d+\.\d+", image), image  # a version, never :latest
    assert services["grafana"]["ports"] == ["${GRAFANA_BIND:-127.0.0.1}:3000:3000"]
    assert "ports" not in services["prometheus"]  # reached by Grafana inside the compose network only
    scrape = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["master:9464"]
    text = (DOCKER / "docker-compose.yml").read_text()
    assert 'RUN_ARGS="--metrics-port 9464 --metrics-host 0.0.0.0"' in text
    for mount in services["grafana"]["volumes"]:
        source = mount.split(":")[0]
        assert (DOCKER / source).exists(), source
    datasource = yaml.safe_load((DOCKER / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert json.loads(DASHBOARD.read_text())["panels"][0]["datasource"]["uid"] == uid
