"""A TCP port free on loopback now: for a local model server, a test's master and its workers.

The port is free when asked; the server binds it a moment later (a race the kernel's
ephemeral range makes rare, and a bind failure reports).
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on at ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
