"""The built-in sample endpoint: a real HTTP server with a real small model, and the demo that uses it.

- ``model``: a numpy logistic regression and its request and response formats
- ``endpoint``: the HTTP server with N worker slots (an entry point: ``loadrec sample-endpoint``)
- ``demo``: ``make demo`` (an entry point)
"""

__all__ = ["demo", "endpoint", "model"]
