"""Cancelling and failing jobs (real nats-server, real child processes)."""

import asyncio
import os
import signal
import time

import pytest

from schemas import events as ev
from services import bus
from tests.services.executor_helpers import (ExecutorProc, cancel, events, final, log_lines,
                                              new_id, pid_alive, submit, wait_finished,
                                              wait_history)

pytestmark = pytest.mark.timeout(120)


def has_line(text):
    return lambda h: any(text in l.text for l in log_lines(h))


async def test_cancel_a_queued_and_a_running_job_and_a_finished_one(nats_server, js, tmp_path,
                                                                     executors):
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"), slots=1).start()
    executors.append(ex)
    running = await submit(js, pool, {"hold_s": 60, "hold_children": 2})
    history = await wait_history(js, running, has_line("holding for"), 30, "the hold", [ex])
    queued = await submit(js, pool, {})  # the only slot is busy: it waits in the pool
    pids = [events(history, ev.JobStarted)[0].event.pid]
    pids += [int(l.text.split()[-1]) for l in log_lines(history) if "holding child pid" in l.text]
    assert len(pids) == 3 and all(pid_alive(p) for p in pids)

    await cancel(js, queued, by="bob")
    await cancel(js, running, by="alice")
    history = await wait_finished(js, running, 30, [ex])
    done = final(history)
    assert (done.status, done.cause, done.cancelled_by) == ("cancelled", "cancelled", "alice")
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not [p for p in pids if pid_alive(p)], "the job or its children outlived the cancel"

    qhistory = await wait_finished(js, queued, 30, [ex])
    qdone = final(qhistory)
    assert (qdone.status, qdone.cancelled_by) == ("cancelled", "bob")
    assert not events(qhistory, ev.JobStarted), "a job cancelled while queued started"

    # cancelling a finished job changes nothing
    before = len(await bus.job_history(js, running))
    await cancel(js, running, by="carol")
    await asyncio.sleep(1.0)
    after = await bus.job_history(js, running)
    assert len(after) == before + 1  # only the CancelRequested itself
    assert len(events(after, ev.JobFinished)) == 1


async def test_exit_code_signal_and_timeout_are_named_with_the_stderr_tail(nats_server, js,
                                                                           tmp_path, executors):
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"), slots=3).start()
    executors.append(ex)
    noisy = {"log_lines_per_second": 2000, "log_stream": "stderr", "log_line_length": 40}
    exit3 = await submit(js, pool, {**noisy, "log_duration_s": 0.04, "exit_code": 3})
    killed = await submit(js, pool, {**noisy, "log_duration_s": 0.005, "hold_s": 60})
    slow = await submit(js, pool, {**noisy, "log_duration_s": 0.005, "hold_s": 60},
                        max_runtime_s=1.5)

    h = await wait_history(js, killed, has_line("holding for"), 30, "the hold", [ex])
    os.kill(events(h, ev.JobStarted)[0].event.pid, signal.SIGKILL)

    h = await wait_finished(js, exit3, 30, [ex])
    done = final(h)
    assert (done.status, done.cause, done.exit_code) == ("failed", "exit_code", 3)
    assert len(done.stderr_tail) == 50
    assert done.stderr_tail[-1] == "exiting with code 3 as asked"
    assert done.stderr_tail[-2].startswith("L000000080 ")  # the last synthetic line of 80
    assert not done.will_retry and len(events(h, ev.JobClaimed)) == 1  # code errors: no retry

    h = await wait_finished(js, killed, 30, [ex])
    done = final(h)
    assert (done.status, done.cause, done.signal, done.exit_code) == ("failed", "signal", 9, None)
    assert "SIGKILL" in done.message
    assert done.stderr_tail and all(l.startswith("L0000000") for l in done.stderr_tail)

    h = await wait_finished(js, slow, 30, [ex])
    done = final(h)
    assert (done.status, done.cause) == ("failed", "timeout")
    assert "max_runtime_s=1.5" in done.message
    assert done.stderr_tail and done.stderr_tail[0].startswith("L000000001 ")
    runtime = h[-1].envelope.ts - events(h, ev.JobStarted)[0].ts
    assert 1.4 < runtime < 6


async def test_a_job_that_asks_for_it_is_retried_on_its_exit_code_up_to_its_limit(
        nats_server, js, tmp_path, executors):
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex")).start()
    executors.append(ex)
    job = await submit(js, pool, {"exit_code": 4}, retry_on=["exit_code"], max_retries=1)
    h = await wait_finished(js, job, 30, [ex])
    ends = [(f.attempt, f.event.cause, f.event.exit_code, f.event.will_retry)
            for f in events(h, ev.JobFinished)]
    assert ends == [(1, "exit_code", 4, True), (2, "exit_code", 4, False)]
    assert [c.attempt for c in events(h, ev.JobClaimed)] == [1, 2]
