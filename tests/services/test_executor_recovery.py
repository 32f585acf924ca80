"""A dead executor, a draining one, and a NATS restart (real nats-server, real children)."""

import asyncio
import time

import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from tests.services.executor_helpers import (ExecutorProc, cancel, events, executor_events, final,
                                              log_lines, new_id, pid_alive, submit, wait_finished,
                                              wait_history)

pytestmark = pytest.mark.timeout(120)


def started(h):
    return events(h, ev.JobStarted)


async def test_kill_9_mid_job_declares_it_lost_and_reruns_it_as_attempt_2_elsewhere(
        nats_server, js, tmp_path, executors):
    pool = new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exa")).start()
    executors.append(a)
    job = await submit(js, pool, {"hold_s": 2.0})
    h = await wait_history(js, job, lambda h: started(h), 30, "JobStarted", [a])
    first_pid = started(h)[0].event.pid
    b = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exb")).start()
    executors.append(b)
    a.kill9()
    killed_at = time.monotonic()

    h = await wait_finished(js, job, 45, [a, b])
    took = time.monotonic() - killed_at
    claims = events(h, ev.JobClaimed)
    assert [c.attempt for c in claims] == [1, 2]
    assert [c.event.executor_id for c in claims] == [a.executor_id, b.executor_id]
    assert claims[1].event.lease_revision > claims[0].event.lease_revision
    finishes = events(h, ev.JobFinished)
    assert [(f.attempt, f.event.status, f.event.cause, f.event.will_retry) for f in finishes] == [
        (1, "lost", "executor_lost", True), (2, "succeeded", "ok", False)]
    assert "stopped heartbeating" in finishes[0].event.message  # the record says why
    assert [s.event.executor_id for s in started(h)] == [a.executor_id, b.executor_id]
    # attempt 2's lines are numbered from 1 again and carry their attempt
    assert log_lines(h, attempt=2)[0].n == 1
    assert not pid_alive(first_pid), "the dead executor's job kept running"
    assert took < 30, f"the lost job took {took:.1f}s to come back"


async def test_sigterm_drains_finishes_what_fits_in_the_grace_and_hands_back_the_rest(
        nats_server, js, tmp_path, executors):
    pool = new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exa"), "--grace", "3.5",
                     slots=2).start()
    executors.append(a)
    short = await submit(js, pool, {"hold_s": 2.0})
    long = await submit(js, pool, {"hold_s": 60})
    for job in (short, long):
        await wait_history(js, job, has_hold, 30, "the hold", [a])
    later = await submit(js, pool, {})
    assert a.terminate() == 0

    h = await wait_finished(js, short, 10, [a])
    assert final(h).status == "succeeded"
    h = await bus.job_history(js, long)
    (lost,) = events(h, ev.JobFinished)
    assert (lost.attempt, lost.event.status, lost.event.cause, lost.event.will_retry) == (
        1, "lost", "executor_lost", True)
    assert "stopped before the job finished" in lost.event.message
    assert not (await bus.job_history(js, later))[1:], "a draining executor took a new job"
    assert len(await executor_events(js, a.executor_id, subjects.STOPPED)) == 1

    b = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exb")).start()
    executors.append(b)
    h = await wait_history(js, long, lambda h: len(started(h)) == 2, 30, "attempt 2", [b])
    assert started(h)[1].attempt == 2 and started(h)[1].event.executor_id == b.executor_id
    await cancel(js, long)
    await wait_finished(js, long, 30, [b])
    assert final(await wait_finished(js, later, 30, [b])).status == "succeeded"


def has_hold(h):
    return any("holding for" in l.text for l in log_lines(h))


async def test_nats_restart_while_a_job_logs_loses_and_duplicates_no_line(own_nats, tmp_path,
                                                                           executors):
    nc = await bus.connect(own_nats.url, name="test")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    pool = new_id("pool")
    ex = ExecutorProc(own_nats.url, pool, tmp_path, new_id("ex")).start()
    executors.append(ex)
    rate, seconds = 2000, 5.0
    job = await submit(js, pool, {"log_lines_per_second": rate, "log_duration_s": seconds})
    await wait_history(js, job, lambda h: len(log_lines(h)) > 1000, 30, "1000 lines", [ex])
    await nc.close()

    own_nats.stop()
    await asyncio.sleep(0.5)
    own_nats.start()  # same port, same store

    nc = await bus.connect(own_nats.url, name="test-2")
    js = nc.jetstream()
    try:
        h = await wait_finished(js, job, 60, [ex])
        assert final(h).status == "succeeded"
        assert len(events(h, ev.JobClaimed)) == 1, "the restart cost the job its claim"
        lines = log_lines(h, attempt=1)
        assert [l.n for l in lines] == list(range(1, len(lines) + 1))
        synthetic = [int(l.text[1:10]) for l in lines if l.text.startswith("L0")]
        assert synthetic == list(range(1, int(rate * seconds) + 1))
        assert "NATS connection lost" in ex.log() and "connection back" in ex.log()
    finally:
        await nc.close()


async def test_an_executor_whose_lease_was_taken_stops_its_job_and_ends_nothing(
        nats_server, js, tmp_path, executors):
    """A host back from a partition finds its lease held by another: it must stand down."""
    import msgspec

    from services.executor.lease import LEASE_BUCKET, LeaseHolder

    pool = new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exa")).start()
    executors.append(a)
    job = await submit(js, pool, {"hold_s": 60})
    h = await wait_history(js, job, has_hold, 30, "the hold", [a])
    pid = started(h)[0].event.pid
    # what another executor's claim after the lease lapsed looks like to the old holder
    intruder = LeaseHolder(executor_id="intruder", producer="intruder.x", attempt=2)
    await js.publish(f"$KV.{LEASE_BUCKET}.{job}", msgspec.json.encode(intruder),
                     headers={"Nats-TTL": "30"})
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not pid_alive(pid), "the fenced executor left its job running"
    await asyncio.sleep(0.5)
    h = await bus.job_history(js, job)
    assert not events(h, ev.JobFinished), "a fenced attempt published an end"
    assert "another executor holds its lease" in a.log()
