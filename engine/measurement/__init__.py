"""What a test measured and what it means; pure functions and values, no Locust, no I/O but the price files.

- ``metrics``: per-second HdrHistograms, mergeable across processes, and the test's ``Timeline``
- ``monitor``: the pure stopping-condition rules (window in, decision out)
- ``outcome``: MaxInvocations, ModelLatency, instance count and cost of a finished test
- ``ranking``: configurations ranked by the importance of cost, latency and throughput
- ``prices``: the bundled price table, a user's override file, serverless cost
"""

__all__ = ["metrics", "monitor", "outcome", "prices", "ranking"]
