"""Projector benchmark (prints figures, asserts nothing).

Against a real nats-server started here, in a temporary directory:

1. log lines applied per second, chunks of 100 lines: the projector catching up on a log of
   ``--lines`` lines (default 1,000,000) from an empty file; that run is also the rebuild time
   of a 1M-line history (targets: >= 100k lines/s, <= 20 s);
2. single lifecycle events applied per second: a log of ``--jobs`` jobs (default 10,000), each
   submitted / claimed / started / progress / finished (some fewer), applied from empty;
3. p50 / p99 latency of a filtered, paginated jobs query over those jobs, asked over NATS
   (target p99 <= 20 ms), and the same query on a DuckDB cursor alone.

    .venv/bin/python benchmarks/bench_projector.py [--lines N] [--jobs N] [--queries N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import bus  # noqa: E402
from services.natsserver import NatsServer, free_port  # noqa: E402
from services.projector import reads, schema  # noqa: E402
from tests.services import projector_histories as synthetic  # noqa: E402
from services.projector.main import Projector  # noqa: E402
from services.queries import JobFilter, ProjectorClient  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def publish(url: str, what: str, n: int) -> tuple[int, float]:
    nc = await bus.connect(url, name="bench-publisher")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    h = synthetic.History(js, f"{what}-")
    started = time.perf_counter()
    if what == "logs":
        await synthetic.bulk_logs(h, n, jobs=10, per_chunk=100)
    else:
        await synthetic.many_jobs(h, n)
    took = time.perf_counter() - started
    await nc.close()
    return h.last_seq, took


def catch_up(url: str, db: Path) -> tuple[float, dict]:
    projector = Projector(url, db, serve=False, rebuild=True, name="bench")
    started = time.perf_counter()
    asyncio.run(projector.run(until_caught_up=True))
    took = time.perf_counter() - started
    s = projector.applier.stats
    return took, {"batches": s.batches, "messages": s.messages, "apply_s": s.apply_s}


def filters(rng: random.Random) -> JobFilter:
    return JobFilter(status=rng.choice([["succeeded"], ["failed", "cancelled"], ["running", "claimed"],
                                        ["queued"]]),
                     pool=rng.choice(["gpu", "cpu", "big"]),
                     job_type=rng.choice([None, ["implant", "evaluate"]]),
                     sort=rng.choice(["submitted_at", "finished_at", "job_id"]),
                     order=rng.choice(["asc", "desc"]), limit=50, offset=rng.choice([0, 50, 100, 200]))


async def query_latency(url: str, n: int) -> dict[str, list[float]]:
    nc = await bus.connect(url, name="bench-client")
    client = ProjectorClient(nc)
    rng = random.Random(7)
    out: dict[str, list[float]] = {"jobs.list": [], "jobs.get": []}
    for _ in range(20):  # warm-up
        await client.ask("jobs.list", filters(rng))
    for i in range(n):
        f = filters(rng)
        t = time.perf_counter()
        reply = await client.ask("jobs.list", f)
        out["jobs.list"].append(time.perf_counter() - t)
        if reply["rows"]:
            t = time.perf_counter()
            await client.ask("jobs.get", {"job_id": reply["rows"][0]["job_id"]})
            out["jobs.get"].append(time.perf_counter() - t)
    await nc.close()
    return out


def cursor_latency(db: Path, n: int, cache: reads.JobCache | None) -> list[float]:
    con = schema.connect(db, read_only=True)
    cur = con.cursor()
    rng = random.Random(7)
    times = []
    for _ in range(n):
        f = filters(rng)
        t = time.perf_counter()
        reads.jobs_list(cur, f, cache=cache)
        times.append(time.perf_counter() - t)
    con.close()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=500)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-projector-"))
    print(f"projector benchmark: {os.cpu_count()} CPUs, data in {tmp}")
    try:
        for what, n in (("logs", args.lines), ("jobs", args.jobs)):
            server = NatsServer(port=free_port(), http_port=free_port(), store_dir=tmp / f"nats-{what}")
            server.start(log_path=tmp / f"nats-{what}.log")
            try:
                last_seq, pub_s = asyncio.run(publish(server.url, what, n))
                print(f"\n[{what}] published {last_seq:,} messages in {pub_s:.1f}s")
                db = tmp / f"{what}.duckdb"
                took, stats = catch_up(server.url, db)
                print(f"[{what}] applied from empty in {took:.2f}s: {stats['batches']} batches, "
                      f"{stats['apply_s']:.2f}s in the applier thread")
                if what == "logs":
                    print(f"  log lines applied/s (chunks of 100): {n / took:,.0f}   "
                          f"(target >= 100,000)")
                    print(f"  rebuild of a {n:,}-line history: {took:.2f}s   (target <= 20 s)")
                    print(f"  log chunk events applied/s: {stats['messages'] / took:,.0f}")
                else:
                    print(f"  single lifecycle events applied/s: {stats['messages'] / took:,.0f}")
                    serving = synthetic.ProjectorThread(server.url, db, name="bench-queries",
                                                        wait="caught_up")
                    try:
                        lat = asyncio.run(query_latency(server.url, args.queries))
                    finally:
                        serving.stop()
                    for name, xs in lat.items():
                        print(f"  {name} over NATS ({len(xs)} queries, {n:,} jobs): "
                              f"p50 {1e3 * statistics.median(xs):.2f} ms, p99 {1e3 * pct(xs, 99):.2f} ms"
                              + ("   (target p99 <= 20 ms)" if name == "jobs.list" else ""))
                    for label, cache in (("no row cache", None), ("row cache", reads.JobCache())):
                        cur = cursor_latency(db, args.queries, cache)
                        print(f"  jobs.list on a DuckDB cursor alone, {label}: p50 "
                              f"{1e3 * statistics.median(cur):.2f} ms, p99 {1e3 * pct(cur, 99):.2f} ms")
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
