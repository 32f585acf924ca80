"""The gateway under faults and abuse, from outside over raw HTTP: a submission whose publish
outcome is unknown (nats-server paused mid-publish) is settled by a retry with the same
Idempotency-Key into exactly one job; resume points that are no sequence are a 400."""

import os
import signal

import httpx
import pytest

from schemas import events as ev
from services import bus
from tests.conftest import start_nats
from tests.stack import GatewayProcess, auth, ensure_stream

pytestmark = pytest.mark.timeout(90)


def problem(resp: httpx.Response) -> dict:
    """The error's fields, whichever envelope the gateway wraps them in."""
    body = resp.json()
    return body["detail"] if isinstance(body.get("detail"), dict) else body


@pytest.fixture(scope="module")
def paused_nats(tmp_path_factory):
    """A nats-server of this module's own: its tests pause it."""
    server = start_nats(tmp_path_factory.mktemp("faults") / "nats")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(paused_nats, tmp_path_factory):
    ensure_stream(paused_nats.url)
    data = tmp_path_factory.mktemp("faults-gateway") / "data"
    data.mkdir()
    gw = GatewayProcess(paused_nats.url, data).start()
    yield gw
    gw.stop()


async def submissions(js, job_id: str) -> list[bus.StoredEvent]:
    return [e for e in await bus.job_history(js, job_id)
            if e.envelope and isinstance(e.envelope.event, ev.JobSubmitted)]


async def test_a_503_with_an_unknown_outcome_is_settled_by_a_retry_into_one_job(paused_nats,
                                                                              gateway):
    body = {"params": {"include_torch": False}}
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("operator"),
                                 timeout=60) as http:
        os.kill(paused_nats.process.pid, signal.SIGSTOP)
        try:  # the publish leaves the gateway, and its ack cannot come back
            resp = await http.post("/api/jobs/system-check", json=body)
        finally:
            os.kill(paused_nats.process.pid, signal.SIGCONT)
        assert resp.status_code == 503, resp.text
        unknown = problem(resp)
        assert unknown["code"] == "publish_outcome_unknown"
        job_id, key = unknown["job_id"], unknown["idempotency_key"]
        assert key in unknown.get("message", "") + unknown.get("detail", "")

        retries = [await http.post("/api/jobs/system-check", json=body,
                                   headers={"Idempotency-Key": key}) for _ in range(2)]
    for retry in retries:
        assert retry.status_code in (200, 201), retry.text
        assert retry.json()["job_id"] == job_id
    assert retries[1].status_code == 200 and retries[1].json()["duplicate"]
    nc = await bus.connect(paused_nats.url, name="test")
    try:
        stored = await submissions(nc.jetstream(), job_id)
    finally:
        await nc.close()
    assert len(stored) == 1, "the retry submitted a second time"


async def test_a_resume_point_that_is_no_sequence_is_a_400_naming_it(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("viewer"), timeout=10) as http:
        for bad in ("garbage", "-5", "1.5", "0x10", "9" * 40):
            header = await http.get("/api/events", params={"follow": "false"},
                                    headers={"Last-Event-ID": bad})
            query = await http.get("/api/events", params={"follow": "false", "after": bad})
            assert header.status_code == 400, (bad, header.text)
            assert problem(header)["code"] == "bad_resume_point"
            assert problem(header)["param"] == "Last-Event-ID"
            assert query.status_code == 400 and problem(query)["param"] == "after", bad
        good = await http.get("/api/events", params={"follow": "false"},
                              headers={"Last-Event-ID": "0"})
    assert good.status_code == 200


async def test_a_model_id_must_be_a_path_under_the_roots_or_a_hub_id(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("operator"), timeout=10) as http:
        for model in ("file:///etc/passwd", "/etc", "../models/x", "hf:org/name"):
            resp = await http.post("/api/jobs/validate", json={"params": {"model": model}})
            assert resp.status_code == 403, (model, resp.text)
            assert problem(resp)["field"] == "params.model"
        hub = await http.post("/api/jobs/validate", json={"params": {"model": "Qwen/Qwen2.5-0.5B"}})
    assert hub.status_code == 201, hub.text
