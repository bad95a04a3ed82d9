"""What a test measured and what it means; pure functions and values, no Locust, no I/O but the price files.

- ``histograms``: HdrHistogram in µs, its bounds and wire form, percentiles
- ``metrics``: per-second stats, mergeable across processes, and the test's ``Timeline``
- ``streamed``: a second's streamed answers: output tokens, TTFT, inter-token gaps, decode rates
- ``monitor``: the pure stopping-condition rules (window in, decision out)
- ``outcome``: MaxInvocations, ModelLatency, instance count and cost of a finished test
- ``ranking``: configurations ranked by the importance of cost, latency and throughput
- ``prices``: the bundled price table, a user's override file, serverless cost
"""

__all__ = ["histograms", "metrics", "monitor", "outcome", "prices", "ranking", "streamed"]
