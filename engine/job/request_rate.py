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

from loadrec.shapes.arrivals import CONSTANT

KEY = "RequestRate"  # its fields and bounds: loadrec_model.py
DEFAULT_MAX_IN_FLIGHT = 512  # each request in flight holds a connection (a file descriptor)


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


def parse(raw: Any) -> RequestRate | None:
    """The checked ``Loadrec.RequestRate`` (absent: None, a closed-loop test)."""
    if raw is None:
        return None
    return RequestRate(
        float(raw["RequestsPerSecondPerUser"]),
        str(raw.get("Arrivals", CONSTANT)),
        int(raw.get("MaxRequestsInFlight", DEFAULT_MAX_IN_FLIGHT)),
    )
