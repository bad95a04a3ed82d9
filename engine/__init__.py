"""loadrec's engine, one subpackage per concern; importing it loads nothing and patches nothing.

Front ends (each its own, sharing only what lies below them):

- ``cli``: the ``loadrec`` command (a leaf: nothing imports it); ``commands``: its commands beyond ``run``
- ``webui``: ``loadrec ui``; ``api``: ``loadrec serve``; ``locust_plugin``: loadrec inside stock Locust
- ``sample``: the built-in sample endpoint, its model and the demo

Below them, highest first (a room imports only rooms below it: tests/unit/test_layers.py):

- ``telemetry``: live Prometheus metrics of a run
- ``running``: which test runs when, the run's manifest, the job's orchestration, one test's process
- ``gates``: what CI reads of a run, ``--repeat``'s spread, ``loadrec compare``
- ``provision``: the endpoints loadrec creates
- ``load``: a test's settings and context, invocations, virtual users, the live monitor, its session, workers
- ``results``: the typed results model, AWS's response shapes, the results folder, the outputs people read
- ``measurement``: per-second histograms, the pure stopping-condition rules, outcome, ranking, prices
- ``access``, ``trust``: who may log in and what of a secret may leave; which CAs a target trusts
- ``job``: reading a job (file or AWS CLI flags), validating it, its typed spec, limits, the Loadrec key
- ``streaming``: a streamed answer's frames and tokens
- ``process``, ``exit_codes``: a process's signals, parent, ports and locks; every exit code

Process entry points (the CLI, a test's process, a worker, the sample endpoint, the demo)
let gevent patch the standard library before anything else is imported.
"""

__all__ = [
    "access",
    "api",
    "cli",
    "commands",
    "exit_codes",
    "gates",
    "job",
    "load",
    "locust_plugin",
    "measurement",
    "process",
    "provision",
    "results",
    "running",
    "sample",
    "streaming",
    "telemetry",
    "trust",
    "webui",
]
