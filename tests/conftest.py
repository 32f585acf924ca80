"""Shared fixtures: a real nats-server on a free port with a temporary store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services import bus
from services.natsserver import NatsServer, free_port


def start_nats(store: Path) -> NatsServer:
    server = NatsServer(port=free_port(), http_port=free_port(), store_dir=store)
    return server.start(log_path=store.parent / f"{store.name}.log")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory):
    """One nats-server for the session; tests keep apart by unique job ids."""
    server = start_nats(tmp_path_factory.mktemp("nats") / "store")
    yield server
    server.stop()


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server of this test's own, for tests that restart or kill it."""
    server = start_nats(tmp_path / "nats-store")
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server):
    conn = await bus.connect(nats_server.url, name="test")
    await bus.ensure_stream(conn.jetstream())
    yield conn
    await conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream()


@pytest.fixture
def job_id() -> str:
    return "job-" + uuid.uuid4().hex[:12]
