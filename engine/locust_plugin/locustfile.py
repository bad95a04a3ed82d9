"""A stock Locust entry point for loadrec jobs (``loadrec locustfile`` prints its path)::

    locust -f "$(loadrec locustfile)" --job job.json [--limits relaxed] [--test-index 0] [--out DIR]

works headless (``--headless``), with the web UI (the default), and as ``--master`` /
``--worker`` (each worker needs the job file and payloads on its own machine; for
workers that get the job from the master, use ``loadrec worker``). Locust picks up
``JobUser`` and ``JobShape`` from here; the rest is wired on Locust's events.
"""

from loadrec.engine.locust_plugin.plugin import JobShape, JobUser

__all__ = ["JobShape", "JobUser"]
