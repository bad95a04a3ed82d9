"""Running a whole job: which test runs when, the test processes, the run's manifest.

- ``plan``: which test runs when under MaxNumberOfTests, MaxParallelOfTests, JobDurationInSeconds (pure)
- ``manifest``: run.json, and the job's results read back from a results folder
- ``orchestrator``: one process per test, reaped, the job's files rewritten as tests end
- ``runner``: what a front end needs of a job runner (the protocol the web UI and the API take)
- ``step``: one test's process (an entry point)

Importing the package imports none of its modules (some are process entry points, which
let gevent patch the standard library before anything else): import the module you need.
"""

__all__ = ["manifest", "orchestrator", "plan", "runner", "step"]
