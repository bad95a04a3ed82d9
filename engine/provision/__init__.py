"""Endpoints loadrec creates for a test, and removes after it, on every path.

- ``base``: the interface (create → ready, with how long it took → a target to load →
  delete), the record of what was created, and the choice of a provisioner for a job
- ``command``: a local model server per test, started from a command template
- ``sagemaker``: a SageMaker model, endpoint configuration and endpoint per test; ``loadrec cleanup``

Importing the package imports none of its modules.
"""

__all__ = ["base", "command", "sagemaker"]
