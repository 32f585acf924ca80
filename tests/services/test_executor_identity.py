"""Executor names are unique per live process, and SIGTERM ends an executor even with NATS
gone (real nats-server, real executor processes)."""

import asyncio
import re
import subprocess
import time

import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from tests.services.executor_helpers import (ExecutorProc, events, executor_events, new_id,
                                              pid_alive, submit, wait_history)

pytestmark = pytest.mark.timeout(90)


def refused(proc: ExecutorProc, timeout: float = 30.0) -> str:
    """The executor's log once it has exited with 2 (refused to start)."""
    proc.start(wait=False)
    try:
        assert proc.proc.wait(timeout) == 2, proc.log()
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the executor started anyway:\n{proc.log()}") from None
    return proc.log()


def default_named(url: str, pool: str, tmp, name: str, work_dir) -> ExecutorProc:
    """An executor without --executor-id, on a shared work dir."""
    proc = ExecutorProc(url, pool, tmp, name)
    i = proc.argv.index("--executor-id")
    del proc.argv[i:i + 2]
    proc.argv[proc.argv.index("--work-dir") + 1] = str(work_dir)
    return proc


async def test_a_second_executor_under_a_live_ones_name_is_refused(nats_server, js, tmp_path,
                                                                   executors):
    pool, name = new_id("pool"), new_id("ex")
    first = ExecutorProc(nats_server.url, pool, tmp_path / "a", name).start()
    executors.append(first)
    same_dir = ExecutorProc(nats_server.url, pool, tmp_path / "a", name)
    same_dir.log_path = tmp_path / "b.log"
    executors.append(same_dir)
    assert "in use by another executor process on this host" in refused(same_dir)
    elsewhere = ExecutorProc(nats_server.url, pool, tmp_path / "c", name)  # another work dir
    executors.append(elsewhere)
    assert "in use by a live executor" in refused(elsewhere)
    first.kill9()  # gone: its name is free again once its heartbeats have stopped
    again = ExecutorProc(nats_server.url, pool, tmp_path / "c", name).start()
    executors.append(again)


async def test_executors_without_an_id_on_one_host_get_distinct_names(nats_server, js, tmp_path,
                                                                      executors):
    pool = new_id("pool")
    shared = tmp_path / "jobs"
    for n in (1, 2):
        executors.append(default_named(nats_server.url, pool, tmp_path, f"ex{n}", shared).start())
    names = [re.search(r"executor (\S+) \(producer", p.log()).group(1) for p in executors]
    assert names[0] != names[1] and names[1] == f"{names[0]}-2", names
    for name in names:
        (announced,) = await executor_events(js, name, subjects.ANNOUNCED)
        assert announced.event.pool == pool


async def test_sigterm_with_nats_gone_exits_within_the_grace_and_stops_the_job(own_nats, tmp_path,
                                                                               executors):
    nc = await bus.connect(own_nats.url, name="test", max_reconnect_attempts=0)
    js = nc.jetstream()
    await bus.ensure_stream(js)
    pool = new_id("pool")
    ex = ExecutorProc(own_nats.url, pool, tmp_path, new_id("ex"), "--grace", "1",
                      "--kill-grace", "1").start()
    executors.append(ex)
    job = await submit(js, pool, {"hold_s": 60})
    h = await wait_history(js, job, lambda h: events(h, ev.JobStarted), 30, "JobStarted", [ex])
    pid = events(h, ev.JobStarted)[0].event.pid
    await nc.close()
    own_nats.kill()
    await asyncio.sleep(0.5)  # let the executor notice the connection is gone
    started = time.monotonic()
    # grace 1 + kill grace 1 + the drain's slack 3 + closing: well inside 15 s unless it hangs
    assert ex.terminate(timeout=15) == 0, ex.log()
    print(f"exited {time.monotonic() - started:.1f}s after SIGTERM with NATS gone")
    assert not pid_alive(pid), "the job outlived its executor"
