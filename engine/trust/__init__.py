"""Trust: which certificate authorities a target's https connections trust.

- ``bundles``: a CA bundle read and checked once, and one shared TLS context per bundle

Shared by the load (a target's connections) and the API's configuration (its own https).
"""

__all__ = ["bundles"]
