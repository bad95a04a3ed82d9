"""The command line's commands beyond running a job, a module per family (a leaf, as the command line is).

- ``compare``: ``compare``, two runs of a job figure by figure
- ``results``: ``describe``, ``scaling-recommendation`` and ``cleanup``, which read a results folder
"""

__all__ = ["compare", "results"]
