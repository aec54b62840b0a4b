"""Fixtures for contract tests: a fake Dremio (REST) and a fake Flight endpoint on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_dremio import FakeDremio


@pytest.fixture
def dremio() -> Iterator[FakeDremio]:
    server = FakeDremio().start()
    yield server
    server.stop()
