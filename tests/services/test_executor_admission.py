"""What the executor checks before and while it runs a job: parameters and model paths of a
submission published straight on the bus, the event store's room, and a job's log budget
(real nats-server, real executor processes, real children)."""

import asyncio
import uuid

import duckdb
import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from services.projector.main import Projector
from tests.services.executor_helpers import (ExecutorProc, events, executor_events, final,
                                              log_lines, new_id, submit, wait_finished,
                                              wait_history)

pytestmark = pytest.mark.timeout(90)


async def publish(js, pool: str, job_type: str, params: dict) -> str:
    """A submission that never went through the gateway's checks."""
    job_id = new_id()
    pub = bus.Publisher(js, producer="test-rogue-" + uuid.uuid4().hex[:6])
    await pub.publish(ev.JobSubmitted(job_type=job_type, params=params, pool=pool), job_id=job_id)
    return job_id


async def test_bad_params_and_model_paths_outside_the_roots_end_rejected_without_a_child(
        own_nats, tmp_path, executors):
    nc = await bus.connect(own_nats.url, name="test")
    try:
        await _rejections(own_nats.url, nc.jetstream(), tmp_path, executors)
    finally:
        await nc.close()


async def _rejections(url, js, tmp_path, executors):
    await bus.ensure_stream(js)
    pool = new_id("pool")
    ex = ExecutorProc(url, pool, tmp_path, new_id("ex")).start()
    executors.append(ex)
    cases = {
        await publish(js, pool, "system_check", {"matmul_size": 5}): "matmul_size",
        await publish(js, pool, "validate", {"model": "/etc"}): "outside the configured model roots",
        await publish(js, pool, "validate", {"model": "file:///etc/passwd"}): "hub id",
        await publish(js, pool, "no_such_job", {}): "unknown job type",
    }
    good = await submit(js, pool, {})  # the executor goes on serving after refusing
    for job, reason in cases.items():
        h = await wait_finished(js, job, 30, [ex])
        end = final(h)
        assert (end.status, end.cause) == ("rejected", "rejected"), end
        assert reason in end.message, end.message
        assert not events(h, ev.JobClaimed) and not events(h, ev.JobStarted)
        assert not (ex.dir / "jobs" / job).exists(), "a rejected job got an output dir"
    assert final(await wait_finished(js, good, 30, [ex])).status == "succeeded"
    # the read side shows them as ended, rejected, never attempted
    db = tmp_path / "views.duckdb"
    await Projector(url, db, serve=False, rebuild=True).run(until_caught_up=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT job_id, status, final, attempt FROM jobs").fetchall()
    finally:
        con.close()
    rejected = {job for job, status, done, attempt in rows
                if (status, done, attempt) == ("rejected", True, 0)}
    assert rejected == set(cases)


async def test_a_job_past_its_log_budget_is_truncated_and_the_stream_grows_by_its_budget(
        nats_server, js, tmp_path, executors):
    budget = 256 * 1024
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"),
                      "--log-budget-mb", str(budget / 2**20)).start()
    executors.append(ex)
    before = (await js.stream_info(subjects.STREAM)).state.bytes
    rate, seconds = 40_000, 1.5  # ~60k lines of 200 characters: ~14 MB asked for
    job = await submit(js, pool, {"log_lines_per_second": rate, "log_duration_s": seconds,
                                  "log_line_length": 200})
    h = await wait_finished(js, job, 60, [ex])
    grew = (await js.stream_info(subjects.STREAM)).state.bytes - before

    assert final(h).status == "succeeded"
    stored_log = sum(len(e.data) for e in h if e.kind == subjects.LOG)
    print(f"budget {budget} B: the job's log took {stored_log} B, the stream grew {grew} B")
    assert stored_log <= budget + 512  # and the line saying it was cut
    assert grew <= budget + 64 * 1024  # the rest: lifecycle, samples, heartbeats
    lines = log_lines(h)
    assert [l.n for l in lines] == list(range(1, len(lines) + 1))
    assert "log truncated: budget reached" in lines[-1].text
    first, last = (t.event for t in events(h, ev.LogTruncated))
    assert not first.final and last.final
    assert last.kept_lines == len(lines) - 1  # the marker line is the executor's
    assert last.kept_lines + last.dropped_lines >= rate * seconds  # every line counted
    assert last.dropped_bytes > 10 * budget


async def test_no_job_starts_while_the_event_stores_disk_is_nearly_full(
        nats_server, js, tmp_path, executors):
    pool = new_id("pool")
    # a threshold no real disk meets: the disk counts as nearly full
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"), "--event-store-dir",
                      str(tmp_path), "--store-min-free-pct", "99.999").start()
    executors.append(ex)
    job = await submit(js, pool, {})

    async def refusing():
        beats = await executor_events(js, ex.executor_id, subjects.HEARTBEAT)
        return [b for b in beats if b.event.refusing]

    h = await wait_history(js, job, lambda h: "taking no new job" in ex.log(), 30,
                           "the refusal", [ex])
    assert "event store's disk" in ex.log() and "nearly full" in ex.log()
    assert [e.kind for e in h] == [subjects.SUBMITTED], "a job started on a full store"
    for _ in range(100):  # the next heartbeat says so too
        if await refusing():
            break
        await asyncio.sleep(0.1)
    assert "nearly full" in (await refusing())[-1].event.refusing
