"""Results: the one typed model, AWS's response shapes, the results folder, CloudWatch.

- ``model``: ``Benchmark`` (one test), ``JobResults`` (the job), ``job_results`` (status, ranking)
- ``aws``: describe.json and steps.json, in DescribeInferenceRecommendationsJob's and
  ListInferenceRecommendationsJobSteps' shapes
- ``files``: the results folder: its lock, each test's files as it runs, the job's files
- ``cloudwatch``: an endpoint's utilization, and the job's own published metrics
- ``separation``: whether the top recommendation can be told apart from the runner-up, given the noise
- ``thresholds``: the job's ``Loadrec.Thresholds`` judged on each configuration
"""

__all__ = ["aws", "cloudwatch", "files", "model", "separation", "thresholds"]
