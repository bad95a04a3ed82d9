"""Traffic patterns: the pure schedule (this package's root) and Locust LoadTestShape adapters.

``loadrec.shapes.schedule`` answers "how many users at second t" for PHASES and STAIRS
patterns, exactly (fractions, no clock); ``loadrec.shapes.locust_shapes`` holds the
LoadTestShape classes over it (imported on its own: it loads Locust); and
``loadrec.shapes.preview`` renders a schedule as text. Nothing here imports loadrec.engine.
"""

from loadrec.shapes.schedule import (
    PHASE_SPAWN_INTERVAL_S,
    ChangePoint,
    Phase,
    Ramp,
    Schedule,
    Stairs,
    TrafficPattern,
    build_schedule,
    pattern_duration_s,
    pattern_peak_users,
    phase_end_users,
)

__all__ = [
    "PHASE_SPAWN_INTERVAL_S",
    "ChangePoint",
    "Phase",
    "Ramp",
    "Schedule",
    "Stairs",
    "TrafficPattern",
    "build_schedule",
    "pattern_duration_s",
    "pattern_peak_users",
    "phase_end_users",
]
