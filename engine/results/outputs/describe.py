"""The recommender's own response files: ``describe.json`` (DescribeInferenceRecommendationsJob's answer)
and ``steps.json`` (ListInferenceRecommendationsJobSteps'), as text, from the typed results.

The shapes themselves are :mod:`loadrec.engine.results.aws` (the API answers with the same
ones); here they become the files: indented, and never holding NaN or Infinity, which
JSON cannot carry.
"""

from __future__ import annotations

import json
from typing import Any

from loadrec.engine.results import aws
from loadrec.engine.results.model import JobResults


def describe_json(results: JobResults) -> str:
    return _json(aws.describe(results))


def steps_json(results: JobResults) -> str:
    return _json(aws.steps(results))


def _json(body: Any) -> str:
    return json.dumps(body, indent=2, allow_nan=False) + "\n"
