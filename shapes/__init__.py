"""Traffic patterns: the pure schedule and the Locust LoadTestShape adapters over it."""
