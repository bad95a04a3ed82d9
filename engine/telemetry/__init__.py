"""Telemetry: what loadrec exposes live for dashboards while a run goes on.

- ``prometheus``: the metrics a Prometheus server scrapes (``--metrics-port``), read from the run's folder
- ``serve``: the ``--metrics-host``/``--metrics-port`` flags and the endpoint's server
"""

__all__ = ["prometheus", "serve"]
