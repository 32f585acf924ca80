"""Log streaming, child -> executor -> JetStream -> subscriber, measured in one run.

Prints (no asserts):

1. the local ceiling: raw nats-py JetStream publish throughput on this machine (small
   messages one at a time and pipelined, and 256 KiB messages one at a time, which is how
   the executor sends log chunks);
2. line latency p50/p99 at 1k lines/s: ``system_check`` writes lines that carry their
   write time; a subscriber (an ordered JetStream consumer on the job's log subject, as a
   reader of the event log would use) takes its receipt time per chunk;
3. sustained lines/s with no loss: the same at rising rates until the pipeline falls
   behind (received < 90% of the asked rate) or loses/duplicates a line; the highest rate
   carried in full is the figure, with its latency.

Targets (2-core machine): >= 100k lines/s sustained with no loss; p99 <= 150 ms at 1k lines/s.

    .venv/bin/python benchmarks/bench_streaming.py [--quick] [--rates 20000,50000,...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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
from schemas import subjects  # noqa: E402
from services import bus  # noqa: E402
from services.natsserver import NatsServer, free_port  # noqa: E402

LINE_LENGTH = 100


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


# --- 1. the local ceiling ---------------------------------------------------------------


async def raw_ceiling(js) -> dict[str, float]:
    out = {}
    subject = subjects.job("bench-raw-" + uuid.uuid4().hex[:6], subjects.LOG)
    small = b"x" * 128
    n = 3000
    t = time.perf_counter()
    for i in range(n):
        await js.publish(subject, small, headers={bus.MSG_ID: f"s{i}"})
    out["seq_small_msgs_s"] = n / (time.perf_counter() - t)

    n = 30000
    t = time.perf_counter()
    for i in range(n):
        await js.publish_async(subject, small, headers={bus.MSG_ID: f"a{i}"})
    await js.publish_async_completed()
    out["async_small_msgs_s"] = n / (time.perf_counter() - t)

    big = b"y" * (256 * 1024)
    n = 200
    t = time.perf_counter()
    for i in range(n):
        await js.publish(subject, big, headers={bus.MSG_ID: f"b{i}"})
    dt = time.perf_counter() - t
    out["seq_256k_msgs_s"] = n / dt
    out["seq_256k_mb_s"] = n * len(big) / dt / 2**20
    # what one encoded log line of LINE_LENGTH characters costs on the wire
    line = ev.LogLine(123456, time.time(), "stdout", "L" * LINE_LENGTH)
    per_line = len(ev.encode(ev.envelope(ev.LogChunkEmitted(lines=[line] * 1000), producer="p",
                                         seq=1, job_id="j"))) / 1000
    out["line_bytes"] = per_line
    out["lines_s_equiv"] = n * len(big) / dt / per_line
    return out


# --- 2/3. through the executor -------------------------------------------------------------


def start_executor(url: str, work: Path, pool: str) -> subprocess.Popen:
    ready = work / "ready"
    log = open(work / "executor.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "executor", "--pool", pool, "--nats", url,
         "--work-dir", str(work / "jobs"), "--executor-id", "bench-" + pool[-6:],
         "--ready-file", str(ready), "--slots", "1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip() == str(proc.pid):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"executor did not start; see {work / 'executor.log'}")


async def stream_run(js, pool: str, rate: int, seconds: float) -> dict[str, float]:
    job_id = "bench-" + uuid.uuid4().hex[:10]
    expected = int(rate * seconds)
    latencies: list[float] = []
    seen = 0
    ordered = True
    first_write = last_recv = None
    numbers_ok = True
    next_n = 1

    async def follow():
        nonlocal seen, ordered, first_write, last_recv, numbers_ok, next_n
        async for stored in bus.replay(js, subjects.job(job_id, subjects.LOG), follow=True):
            now = time.time()
            for line in stored.envelope.event.lines:
                if line.n != next_n:
                    numbers_ok = False
                next_n = line.n + 1
                text = line.text
                if not text.startswith("L0"):
                    continue
                n = int(text[1:10])
                written = float(text[11:28])
                if n != seen + 1:
                    ordered = False
                seen = n
                if first_write is None:
                    first_write = written
                latencies.append(now - written)
                last_recv = now
            if seen >= expected:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    pub = bus.Publisher(js, producer="bench-" + uuid.uuid4().hex[:6])
    await pub.publish(ev.JobSubmitted(
        job_type="system_check", pool=pool,
        params={"include_torch": False, "log_lines_per_second": rate, "log_duration_s": seconds,
                "log_line_length": LINE_LENGTH}), job_id=job_id)
    try:
        await asyncio.wait_for(task, timeout=seconds * 6 + 30)
    except asyncio.TimeoutError:
        task.cancel()
    finished = await wait_finished(js, job_id)
    span = (last_recv - first_write) if first_write and last_recv else float("nan")
    return {"rate": rate, "expected": expected, "received": seen,
            "no_loss": seen == expected and ordered and numbers_ok, "achieved": seen / span,
            "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000,
            "max_ms": max(latencies) * 1000 if latencies else float("nan"),
            "status": finished}


async def wait_finished(js, job_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = await bus.last_event(js, subjects.job(job_id, subjects.FINISHED))
        if last is not None and last.envelope is not None:
            return last.envelope.event.status
        await asyncio.sleep(0.2)
    return "unfinished"


def show(r: dict) -> None:
    print(f"  {r['rate']:>8,} lines/s asked: {r['received']:>9,}/{r['expected']:,} received, "
          f"{r['achieved']:>9,.0f} lines/s carried, p50 {r['p50_ms']:7.1f} ms, "
          f"p99 {r['p99_ms']:7.1f} ms, max {r['max_ms']:7.1f} ms, "
          f"{'no loss' if r['no_loss'] else 'LOSS/DISORDER'}, job {r['status']}", flush=True)


async def bench(url: str, work: Path, rates: list[int], seconds: float,
                slow_seconds: float) -> None:
    nc = await bus.connect(url, name="bench")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}", flush=True)

    c = await raw_ceiling(js)
    print("1. raw nats-py JetStream publish (the local ceiling)")
    print(f"  one at a time, 128 B:       {c['seq_small_msgs_s']:>10,.0f} msgs/s")
    print(f"  pipelined (async), 128 B:   {c['async_small_msgs_s']:>10,.0f} msgs/s")
    print(f"  one at a time, 256 KiB:     {c['seq_256k_msgs_s']:>10,.0f} msgs/s = "
          f"{c['seq_256k_mb_s']:,.0f} MiB/s = {c['lines_s_equiv']:,.0f} lines/s of "
          f"{LINE_LENGTH}-char lines ({c['line_bytes']:.0f} B each encoded)", flush=True)

    pool = "bench-" + uuid.uuid4().hex[:6]
    proc = start_executor(url, work, pool)
    try:
        print(f"2. latency at 1k lines/s ({slow_seconds:g}s, child write -> subscriber receipt)")
        slow = await stream_run(js, pool, 1000, slow_seconds)
        show(slow)
        print(f"3. sustained rate, {seconds:g}s per step, {LINE_LENGTH}-char lines")
        best = None
        for rate in rates:
            r = await stream_run(js, pool, rate, seconds)
            show(r)
            if r["no_loss"] and r["achieved"] >= 0.9 * rate:
                best = r if best is None or r["achieved"] > best["achieved"] else best
            else:
                break
        print("summary")
        print(f"  local ceiling (raw publish, 256 KiB): {c['lines_s_equiv']:,.0f} lines/s")
        if best:
            print(f"  highest sustained with no loss: {best['achieved']:,.0f} lines/s "
                  f"(asked {best['rate']:,}); p50 {best['p50_ms']:.1f} ms, "
                  f"p99 {best['p99_ms']:.1f} ms")
        else:
            print("  no rate was carried in full")
        print(f"  at 1k lines/s: p50 {slow['p50_ms']:.1f} ms, p99 {slow['p99_ms']:.1f} ms "
              f"(target p99 <= 150 ms)")
        met = best is not None and best["achieved"] >= 100_000
        print(f"  target >= 100,000 lines/s: {'met' if met else 'NOT met'}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", default="20000,50000,100000,150000,200000,300000")
    p.add_argument("--seconds", type=float, default=5.0, help="duration of each rate step")
    p.add_argument("--slow-seconds", type=float, default=10.0,
                   help="duration of the 1k lines/s run")
    p.add_argument("--quick", action="store_true", help="short steps (a smoke run)")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.slow_seconds = 2.0, 3.0
    work = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    server = NatsServer(port=free_port(), http_port=free_port(), store_dir=work / "nats")
    server.start(log_path=work / "nats.log")
    try:
        asyncio.run(bench(server.url, work, [int(r) for r in args.rates.split(",")],
                          args.seconds, args.slow_seconds))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
