"""A NATS stall is not a loss: nats-server paused (SIGSTOP) while a job logs, then resumed.

The executors renew every second with a 3 s publish timeout, under an 8 s lease: a 4.5 s pause
is longer than a heartbeat and than a renewal's timeout (the renewal is stored after the
pause, a revision the executor must recognise as its own) and shorter than the lease; a
9.5 s pause lapses the lease. Both pass the 4 s ack wait, so the submission is redelivered
to the idle second executor, which must see from the heartbeats that the job's executor is
alive and leave the job to it.
"""

import asyncio
import os
import signal
from contextlib import contextmanager

import pytest

from schemas import events as ev
from services import bus
from tests.services.executor_helpers import (ExecutorProc, events, final, log_lines, new_id,
                                              submit, wait_finished, wait_history)

pytestmark = pytest.mark.timeout(120)


@contextmanager
def paused(server):
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


async def stall(server, seconds: float) -> None:
    with paused(server):
        await asyncio.sleep(seconds)  # the outage itself: real time with the server stopped


async def test_stalls_shorter_and_longer_than_the_lease_cost_no_attempt(own_nats, tmp_path,
                                                                         executors):
    nc = await bus.connect(own_nats.url, name="test")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    try:
        pool = new_id("pool")
        for name in ("exa", "exb"):
            executors.append(ExecutorProc(own_nats.url, pool, tmp_path, new_id(name),
                                          "--lease-ttl", "8").start())
        rate, seconds = 200, 18.0
        job = await submit(js, pool, {"log_lines_per_second": rate, "log_duration_s": seconds})
        await wait_history(js, job, lambda h: len(log_lines(h)) > 100, 30, "100 lines", executors)

        await stall(own_nats, 4.5)
        await wait_history(js, job, lambda h: len(log_lines(h)) > 1000, 30, "lines after the "
                           "short stall", executors)
        await stall(own_nats, 9.5)

        h = await wait_finished(js, job, 60, executors)
        assert final(h).status == "succeeded", final(h)
        assert [c.attempt for c in events(h, ev.JobClaimed)] == [1], "a stall cost a claim"
        assert len(events(h, ev.JobStarted)) == 1
        assert [f.event.status for f in events(h, ev.JobFinished)] == ["succeeded"]
        lines = log_lines(h, attempt=1)
        assert [l.n for l in lines] == list(range(1, len(lines) + 1))
        synthetic = [int(l.text[1:10]) for l in lines if l.text.startswith("L0")]
        assert synthetic == list(range(1, int(rate * seconds) + 1))
    finally:
        await nc.close()
