"""What people read of a run, each format rendered by a pure function of the typed results (JobResults):

- ``describe``: describe.json and steps.json, the recommender's own response files
- ``timeline``: timeline.csv, the job's and each ended test's (a pandas table)
- ``report``: report.html from a Jinja2 template (autoescaped), self-contained
- ``charts``: inline SVG line and scatter charts (pure functions)
- ``terminal``: a job's one-paragraph summary, its results table, the notes under a test
- ``job_files``: every job file's name and text, for the results folder to write

None of them writes: :class:`~loadrec.engine.results.files.ResultsFolder` writes what
``job_files`` renders, each file atomically.
"""

__all__ = ["charts", "describe", "job_files", "report", "terminal", "timeline"]
