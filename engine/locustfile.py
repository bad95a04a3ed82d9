"""A stock Locust entry point for loadrec jobs.

    locust -f engine/locustfile.py --job job.json [--limits relaxed] [--test-index 0] [--results-dir DIR]

works headless (``--headless``), with the web UI (the default), and as ``--master`` /
``--worker`` (each worker needs the job file and payloads on its own machine; for
workers that get the job from the master, use ``loadrec worker``). Locust picks up
``JobUser`` and ``JobShape`` from here; the rest is wired on Locust's events.
"""

import engine  # noqa: F401  (gevent patches the standard library first)
from engine.locust_plugin import JobUser
from shapes.locust_shapes import JobShape

__all__ = ["JobShape", "JobUser"]
