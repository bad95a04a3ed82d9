"""The ``Search`` key of ``Loadrec``: find the most users (or request rate) that still meets the thresholds::

    "Loadrec": {
      "Search": {"MinUsers": 1, "MaxUsers": 64, "TolerancePercent": 5, "ProbeSeconds": 30}
    }

With it each test runs probes instead of the TrafficPattern (:mod:`loadrec.shapes.search`):
``MinUsers`` first, doubled while probes pass (up to ``MaxUsers``), then bisected until
the answer is within ``TolerancePercent`` of the first failure. Each probe holds its users
for ``ProbeSeconds`` and is judged on its second half (its users have all started by then).
A probe passes when its window holds every threshold the job gives, the stops they would
be otherwise: ``StoppingConditions.ModelLatencyThresholds``, the Loadrec key's
``TokenLatencyThresholds`` and ``Slo.MinAttainmentPercent``, and no more than half its
requests failed. A search needs one of these to judge by. In a request-rate test
(``RequestRate``) the users stand for their rate, so the search finds the rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Accepted, Problem
from loadrec.shapes.search import Search

KEY = "Search"  # its fields and bounds: loadrec_model.py
DEFAULT_MIN_USERS = 1
DEFAULT_TOLERANCE_PERCENT = 5.0
DEFAULT_PROBE_S = 30


@dataclass(frozen=True)
class SearchKey:
    max_users: int
    min_users: int = DEFAULT_MIN_USERS
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT
    probe_s: int = DEFAULT_PROBE_S

    def new_search(self) -> Search:
        """A search not yet begun (each test runs its own)."""
        return Search(self.min_users, self.max_users, self.tolerance_percent / 100, float(self.probe_s))

    def to_dict(self) -> dict[str, Any]:
        """As the job file writes it (describe.json echoes it)."""
        return {
            "MinUsers": self.min_users,
            "MaxUsers": self.max_users,
            "TolerancePercent": self.tolerance_percent,
            "ProbeSeconds": self.probe_s,
        }


def rules(raw: Mapping[str, Any], path: str, judged_by: list[str] | None, accepted: Accepted) -> list[Problem]:
    """What the model leaves to ``Loadrec.Search``: MinUsers at most MaxUsers, and something to judge a probe
    by; ``judged_by`` names the thresholds the job gives (None: not known, the AWS fields having problems of
    their own)."""
    found = []
    most, least = raw.get("MaxUsers"), raw.get("MinUsers", DEFAULT_MIN_USERS)
    compared = most is not None and accepted.whole(f"{path}.MaxUsers") and accepted.whole(f"{path}.MinUsers")
    if compared and most < least:
        found.append(Problem(f"{path}.MinUsers", f"{least} is more than MaxUsers ({most})"))
    if judged_by == []:
        found.append(
            Problem(
                path,
                "has nothing to judge a probe by: give StoppingConditions.ModelLatencyThresholds, "
                "Loadrec.StoppingConditions.TokenLatencyThresholds or Loadrec.Slo.MinAttainmentPercent",
            )
        )
    return found


def thresholds_named(request: Any, extension: dict[str, Any]) -> list[str]:
    """The thresholds a job gives that a probe can be judged by (read from the raw, unchecked request)."""
    found = []
    stopping = request.get("StoppingConditions") if isinstance(request, dict) else None
    if isinstance(stopping, dict) and stopping.get("ModelLatencyThresholds"):
        found.append("ModelLatencyThresholds")
    own = extension.get("StoppingConditions")
    if isinstance(own, dict) and own.get("TokenLatencyThresholds"):
        found.append("TokenLatencyThresholds")
    slo = extension.get("Slo")
    if isinstance(slo, dict) and "MinAttainmentPercent" in slo:
        found.append("Slo.MinAttainmentPercent")
    return found


def parse(raw: Any) -> SearchKey | None:
    """The checked key (run ``check`` first); None when absent."""
    if raw is None:
        return None
    return SearchKey(
        int(raw["MaxUsers"]),
        int(raw.get("MinUsers", DEFAULT_MIN_USERS)),
        float(raw.get("TolerancePercent", DEFAULT_TOLERANCE_PERCENT)),
        int(raw.get("ProbeSeconds", DEFAULT_PROBE_S)),
    )
