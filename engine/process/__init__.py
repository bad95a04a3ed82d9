"""Process: what every loadrec process shares about its own life and the machine's resources.

- ``lifeline``: stop signals, a child's watch on its parent, output that outlives its terminal
- ``ports``: a TCP port free on loopback now
- ``claim``: one process's exclusive hold on a folder (flock), and whether another holds one
- ``job_lock``: which jobs run on this machine now (a shared lock per job name)

The lowest room: it imports nothing else of the engine.
"""

__all__ = ["claim", "job_lock", "lifeline", "ports"]
