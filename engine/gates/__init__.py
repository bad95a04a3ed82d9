"""Gates for pipelines: what CI systems read of a run, and the comparison of two runs.

- ``ci_outputs``: JUnit XML (``--junit``) and a Markdown summary (``--summary-markdown``)
- ``flags``: the command line's ``--threshold``, ``--junit`` and ``--summary-markdown``

The thresholds' verdicts themselves are results (:mod:`loadrec.engine.results.thresholds`).
"""

__all__ = ["ci_outputs", "flags"]
