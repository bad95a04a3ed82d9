"""End-to-end fixtures: one moto server for the whole session, fake AWS credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.moto import moto_server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One real moto server (S3, CloudWatch) on loopback for every test that needs AWS."""
    with moto_server() as url:
        yield url
