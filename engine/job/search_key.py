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

from dataclasses import dataclass
from typing import Any

from loadrec.engine.job import limits
from loadrec.engine.job.problems import Problem, is_int, is_number, show, unknown_fields
from loadrec.shapes.search import Search

KEY = "Search"
FIELDS = ("MinUsers", "MaxUsers", "TolerancePercent", "ProbeSeconds")
DEFAULT_MIN_USERS = 1
DEFAULT_TOLERANCE_PERCENT = 5.0
DEFAULT_PROBE_S = 30
MIN_PROBE_S = 4  # its judged second half: 2 s at least (a real endpoint's users may need more to start)
MAX_PROBE_S = 3600
MAX_TOLERANCE_PERCENT = 50.0


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


def check(raw: Any, path: str, judged_by: list[str] | None) -> list[Problem]:
    """Problems with ``Loadrec.Search``; ``judged_by`` names the thresholds the job gives (a probe's verdict;
    None: not known, the AWS fields having problems of their own)."""
    if not isinstance(raw, dict):
        return [Problem(path, 'must be an object, e.g. {"MaxUsers": 64}')]
    found = unknown_fields(raw, FIELDS, path)
    most, least = raw.get("MaxUsers"), raw.get("MinUsers", DEFAULT_MIN_USERS)
    for name, value in (("MaxUsers", most), ("MinUsers", least)):
        if name == "MaxUsers" and name not in raw:
            found.append(Problem(f"{path}.MaxUsers", "is required: the most users the search may try"))
        elif not is_int(value) or not 1 <= value <= limits.MAX_PEAK_USERS:
            found.append(
                Problem(f"{path}.{name}", f"{show(value)} must be a whole number from 1 to {limits.MAX_PEAK_USERS:,}")
            )
    if is_int(most) and is_int(least) and 1 <= most < least:
        found.append(Problem(f"{path}.MinUsers", f"{least} is more than MaxUsers ({most})"))
    tolerance = raw.get("TolerancePercent", DEFAULT_TOLERANCE_PERCENT)
    if not is_number(tolerance) or not 0 < tolerance <= MAX_TOLERANCE_PERCENT:
        found.append(
            Problem(
                f"{path}.TolerancePercent",
                f"{show(tolerance)} must be a percentage above 0, at most {MAX_TOLERANCE_PERCENT:g}",
            )
        )
    probe = raw.get("ProbeSeconds", DEFAULT_PROBE_S)
    if not is_int(probe) or not MIN_PROBE_S <= probe <= MAX_PROBE_S:
        found.append(
            Problem(f"{path}.ProbeSeconds", f"{show(probe)} must be a whole number from {MIN_PROBE_S} to {MAX_PROBE_S}")
        )
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
