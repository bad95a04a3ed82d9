"""End-to-end fixtures for the whole session: one moto server, one sample endpoint of 2 slots of 50 ms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.moto import moto_server
from tests.e2e.servers import sample_endpoint


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One real moto server (S3, CloudWatch) on loopback for every test that needs AWS."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    """The sample endpoint most tests load: 2 worker slots of 50 ms, at most 2400 invocations per minute."""
    with sample_endpoint(workers=2, service_ms=50) as url:
        yield url
