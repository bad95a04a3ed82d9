"""loadrec's engine, one subpackage per concern; importing it loads nothing and patches nothing.

- ``job``: reading a job (file or AWS CLI flags), validating it, its typed spec, limits, the Loadrec key
- ``measurement``: per-second histograms, the pure stopping-condition rules, outcome, ranking, prices
- ``load``: a test's settings, invocations, virtual users, the live monitor, one test's session, workers
- ``running``: which test runs when, the run's manifest, the job's orchestration, one test's process
- ``results``: the typed results model, AWS's response shapes, the results folder, CloudWatch
- ``presentation``: what people read: the terminal summary and tables, the HTML report and charts
- ``locust_plugin``: loadrec inside a stock Locust process: options, web UI tab, login, locustfile
- ``sample``: the built-in sample endpoint, its model and the demo
- ``cli``: the ``loadrec`` command (a leaf: nothing imports it)

Process entry points (the CLI, a test's process, a worker, the sample endpoint, the demo)
let gevent patch the standard library before anything else is imported.
"""

__all__ = [
    "cli",
    "job",
    "load",
    "locust_plugin",
    "measurement",
    "presentation",
    "results",
    "running",
    "sample",
]
