"""The dashboard's glue to the one client against the real gateway: per-user tokens, error
bodies, idempotent submits, and the live job list's reader."""

from __future__ import annotations

import uuid

import pytest

from dashboard.client import GatewayClient, GatewayError, GatewayUnreachableError
from dashboard.components.live_jobs import LiveJobs
from tests.stack import TOKENS, wait_for

pytestmark = pytest.mark.timeout(120)
OPERATOR = TOKENS["operator"]


def test_errors_keep_the_gateways_code_message_and_fields(lab):
    client = GatewayClient(lab.url)
    with pytest.raises(GatewayError) as err:
        client.submit(OPERATOR, "system_check", {"matmul_size": 99999}, pool="nowhere")
    assert (err.value.status, err.value.code) == (422, "invalid_params")
    assert "matmul_size" in str(err.value)
    [problem] = err.value.field_errors
    assert problem["field"] == "matmul_size" and problem["got"] == 99999
    assert "16384" in problem["allowed"]
    with pytest.raises(GatewayError) as err:
        client.submit("not-a-token-of-this-lab", "system_check", {})
    assert (err.value.status, err.value.code) == (401, "unauthorized")


def test_a_submit_carries_an_idempotency_key_and_a_repeat_returns_the_first_job(lab):
    client = GatewayClient(lab.url)
    key = uuid.uuid4().hex
    first = client.submit(OPERATOR, "system_check", {"matmul_size": 64}, idempotency_key=key,
                          pool="nowhere", experiment=None)
    again = client.submit(OPERATOR, "system_check", {"matmul_size": 64}, idempotency_key=key,
                          pool="nowhere")
    assert first["job_type"] == "system_check" and not first["duplicate"]
    assert again["job_id"] == first["job_id"] and again["duplicate"]
    with pytest.raises(GatewayError) as err:  # the same key for a different request
        client.submit(OPERATOR, "system_check", {"matmul_size": 128}, idempotency_key=key, pool="nowhere")
    assert err.value.code == "idempotency_key_reused"
    [submitted] = [e for e in lab.history(first["job_id"]) if e["kind"] == "submitted"]
    assert submitted["data"]["event"]["idempotency_key"] == key


def test_nothing_listening_is_unreachable_not_a_crash():
    from services.natsserver import free_port

    with pytest.raises(GatewayUnreachableError):
        GatewayClient(f"http://127.0.0.1:{free_port()}", timeout=1).healthz()


def test_live_jobs_refetches_rows_when_events_arrive(lab, experiment):
    feed = LiveJobs(GatewayClient(lab.url), OPERATOR, {"limit": 50, "experiment": experiment})
    try:
        assert feed.snapshot()[1] == []
        wait_for(lambda: feed.stream_state == "live", 10, "the live feed to open")
        done = lab.submit(params={"include_torch": False}, pool="nowhere", experiment=experiment)
        # nothing pokes the reader: the gateway's pushed event makes it fetch the rows again
        rows = wait_for(lambda: feed.snapshot()[1], 10, "the new job in the live list")
        assert [r["job_id"] for r in rows] == [done["job_id"]] and rows[0]["status"] == "queued"
        assert feed.events_seen >= 1 and feed.last_seq >= done["seq"]
    finally:
        feed.stop()
