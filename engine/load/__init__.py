"""Sending load: how one test invokes its target, its virtual users, and its lifecycle on Locust.

- ``settings``: a test's settings (one frozen dataclass) and the options that fill them
- ``invocation``: request templates and SigV4 signing (botocore's chain and signer)
- ``prepare``: everything that can fail on bad input, before any load
- ``exchange``: one request on the wire (no redirects, a bounded answer, a whole-request timeout)
- ``users``: the virtual user, a Locust user on its own connection
- ``live_monitor``: the greenlet that feeds the pure monitor and acts on its decisions
- ``session``: one test's lifecycle on Locust's events, the same for every entry point
- ``runners``: a headless test's LocalRunner, or master and workers
- ``distributed``: how a test reaches workers and their seconds come back
- ``worker``: the ``loadrec worker`` process (an entry point)

Importing the package imports none of its modules (some are process entry points, which
let gevent patch the standard library before anything else): import the module you need.
"""

__all__ = [
    "distributed",
    "exchange",
    "invocation",
    "live_monitor",
    "prepare",
    "runners",
    "session",
    "settings",
    "users",
    "worker",
]
