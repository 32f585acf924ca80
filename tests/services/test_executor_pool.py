"""Executors in a pool (real nats-server, real child processes): sharing, announcing, sampling."""

import asyncio

import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from tests.services.executor_helpers import (ExecutorProc, events, executor_events, final,
                                              log_lines, new_id, submit, wait_finished)

pytestmark = pytest.mark.timeout(120)


async def test_two_executors_split_ten_jobs_none_twice_and_leave_other_pools_alone(
        nats_server, js, tmp_path, executors):
    pool, other = new_id("pool"), new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exa"))
    b = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exb"))
    executors += [a.start(wait=False), b.start(wait=False)]
    a.wait_ready()
    b.wait_ready()
    jobs = [await submit(js, pool, {"hold_s": 0.4}) for _ in range(10)]
    elsewhere = await submit(js, other, {})
    ran_on = {}
    for job in jobs:
        history = await wait_finished(js, job, timeout=60, logs=[a, b])
        assert final(history).status == "succeeded", final(history)
        claims = events(history, ev.JobClaimed)
        starts = events(history, ev.JobStarted)
        assert len(claims) == 1 and len(starts) == 1, f"{job} ran {len(starts)} times"
        assert claims[0].attempt == starts[0].attempt == 1
        ran_on[job] = starts[0].event.executor_id
    assert set(ran_on.values()) == {a.executor_id, b.executor_id}, ran_on
    # the other pool's job was never touched
    history = await bus.job_history(js, elsewhere)
    assert [e.kind for e in history] == [subjects.SUBMITTED]

    for p in (a, b):
        announced = await executor_events(js, p.executor_id, subjects.ANNOUNCED)
        ann = announced[0].event
        assert (ann.pool, ann.slots, ann.gpus) == (pool, 1, [])
        assert ann.host and "python" in ann.versions and "nats-py" in ann.versions
        beats = await executor_events(js, p.executor_id, subjects.HEARTBEAT)
        assert beats, "no heartbeat"
        assert p.terminate() == 0
        stopped = await executor_events(js, p.executor_id, subjects.STOPPED)
        assert len(stopped) == 1
        # a restarted executor must never reuse message ids: the producer carries a boot token
        assert announced[0].producer.startswith(p.executor_id + ".")


async def test_system_check_reports_and_a_host_without_nvidia_samples_cpu_and_ram(
        nats_server, js, tmp_path, executors):
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex")).start()
    executors.append(ex)
    job = await submit(js, pool, {"include_torch": True, "matmul_size": 64, "matmul_repeats": 2,
                                  "progress_bar_steps": 20, "hold_s": 1.2})
    history = await wait_finished(js, job, timeout=60, logs=[ex])
    assert final(history).status == "succeeded"
    result = events(history, ev.ResultRecorded)[0].event
    assert result.kind == "system_check" and result.payload["matmul"]["tflops"] > 0
    assert result.payload["inventory"]["torch"]
    assert "matmul_tflops" in events(history, ev.MetricRecorded)[0].event.values
    progress = [e.event for e in events(history, ev.ProgressReported)]
    assert any(p.stage == "progress_bar" and p.step == p.total == 20 for p in progress)
    assert any(p.stage == "matmul" for p in progress)
    texts = [l.text for l in log_lines(history)]
    assert not any("\r" in t for t in texts)
    assert sum("progress_bar:" in t for t in texts) == 1  # the bar's final state, once

    samples = [e.event for e in events(history, ev.GpuSampled)]
    assert len(samples) >= 2
    for s in samples:
        assert s.gpus == []
        assert s.cpu_pct is not None and 0 <= s.cpu_pct <= 100
        assert s.ram_used_mb > 0 and s.ram_total_mb >= s.ram_used_mb
    started = events(history, ev.JobStarted)[0].event
    assert started.gpus == [] and started.output_dir.endswith(f"{job}/attempt-1")
    assert ex.log().count("no NVIDIA driver") == 1
    # every event of the attempt is numbered in order by one producer
    mine = [e.envelope for e in history if e.envelope.producer != history[0].envelope.producer]
    assert [e.seq for e in mine] == sorted(e.seq for e in mine)
    assert len({e.producer for e in mine}) == 1
    await asyncio.sleep(0)
