"""The ``RequestRate`` key of ``Loadrec``: a request-rate (open-model) test instead of the recommender's users::

    "Loadrec": {
      "RequestRate": {"RequestsPerSecondPerUser": 2, "Arrivals": "Poisson", "MaxRequestsInFlight": 512}
    }

Without it a virtual user sends, waits for the whole answer and sends again (closed
loop, as the recommender does). With it each user the PHASES/STAIRS schedule runs is a
stream of ``RequestsPerSecondPerUser`` arrivals a second, sent at their times whatever the
answers take: the target rate is users(t) × RequestsPerSecondPerUser
(:mod:`loadrec.shapes.arrivals`). ``Arrivals`` is ``Constant`` (the default) or
``Poisson``, seeded by ``--seed``. At most ``MaxRequestsInFlight`` requests are
outstanding (split evenly over the load processes); an arrival beyond it is not sent but
counted as dropped, as k6 counts its dropped iterations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Problem, is_int, is_number, show, unknown_fields
from loadrec.shapes.arrivals import ARRIVALS, CONSTANT

KEY = "RequestRate"
FIELDS = ("RequestsPerSecondPerUser", "Arrivals", "MaxRequestsInFlight")
MAX_RATE_PER_USER = 1000.0  # requests a second one virtual user may stand for
DEFAULT_MAX_IN_FLIGHT = 512  # each request in flight holds a connection (a file descriptor)
MAX_IN_FLIGHT = 100_000


@dataclass(frozen=True)
class RequestRate:
    per_user_per_s: float
    arrivals: str = CONSTANT
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    def to_dict(self) -> dict[str, Any]:
        """As the job file writes it (and describe.json echoes it)."""
        return {
            "RequestsPerSecondPerUser": self.per_user_per_s,
            "Arrivals": self.arrivals,
            "MaxRequestsInFlight": self.max_in_flight,
        }


def check(raw: Any, path: str) -> list[Problem]:
    """Problems with ``Loadrec.RequestRate`` (``path`` names it)."""
    if not isinstance(raw, dict):
        return [Problem(path, 'must be an object, e.g. {"RequestsPerSecondPerUser": 2}')]
    found = unknown_fields(raw, FIELDS, path)
    rate = raw.get("RequestsPerSecondPerUser")
    if "RequestsPerSecondPerUser" not in raw:
        found.append(Problem(f"{path}.RequestsPerSecondPerUser", "is required"))
    elif not is_number(rate) or not 0 < rate <= MAX_RATE_PER_USER:
        found.append(
            Problem(
                f"{path}.RequestsPerSecondPerUser",
                f"{show(rate)} must be a number of requests a second above 0, at most {MAX_RATE_PER_USER:g}",
            )
        )
    arrivals = raw.get("Arrivals", CONSTANT)
    if arrivals not in ARRIVALS:
        found.append(Problem(f"{path}.Arrivals", f"{show(arrivals)} is not one of: {', '.join(ARRIVALS)}"))
    cap = raw.get("MaxRequestsInFlight", DEFAULT_MAX_IN_FLIGHT)
    if not is_int(cap) or not 1 <= cap <= MAX_IN_FLIGHT:
        found.append(
            Problem(f"{path}.MaxRequestsInFlight", f"{show(cap)} must be a whole number from 1 to {MAX_IN_FLIGHT:,}")
        )
    return found


def parse(raw: Any) -> RequestRate | None:
    """The checked ``Loadrec.RequestRate`` (absent: None, a closed-loop test)."""
    if raw is None:
        return None
    return RequestRate(
        float(raw["RequestsPerSecondPerUser"]),
        str(raw.get("Arrivals", CONSTANT)),
        int(raw.get("MaxRequestsInFlight", DEFAULT_MAX_IN_FLIGHT)),
    )
