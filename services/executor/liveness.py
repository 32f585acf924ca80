"""Is the executor that ran a job's last attempt really gone, or only quiet for a while?

A lapsed lease proves little: a NATS stall longer than the lease TTL lapses every lease
while every executor keeps running its jobs. What tells a stall from a loss is whether the
attempt's executor (the producer, i.e. executor id + boot, that published its JobClaimed)
still sends heartbeats naming the job. It is gone when

- it said so (ExecutorStopped after the claim), or
- its id heartbeats under another producer (it was restarted: the old process is dead), or
- its heartbeats, newer than the claim, no longer list the job, or
- its last heartbeat is older than ``stale_after`` by the clock *and* no newer one arrives
  while this executor watches for ``stale_after`` more (with NATS answering both of us,
  so a stall that held the heartbeats back is not mistaken for silence).

The verdict's ``why`` goes into the lost attempt's JobFinished, so the record says which.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from schemas import events as ev
from schemas import subjects
from services import bus


@dataclass(frozen=True)
class Verdict:
    gone: bool
    why: str


async def _last(js, executor_id: str, kind: str) -> bus.StoredEvent | None:
    stored = await bus.last_event(js, subjects.executor(executor_id, kind))
    return stored if stored is not None and stored.envelope is not None else None


class Liveness:
    def __init__(self, js, stale_after: float):
        self.js = js
        self.stale_after = stale_after
        self._watching: dict[tuple[str, int], tuple[int, float]] = {}  # -> (heartbeat seq, since)

    async def judge(self, job_id: str, attempt: int) -> Verdict:
        claimed = await bus.last_event(self.js, subjects.job(job_id, subjects.CLAIMED))
        env = claimed.envelope if claimed is not None else None
        if env is None or env.attempt != attempt or not isinstance(env.event, ev.JobClaimed):
            # its JobClaimed may still sit in a stalled executor's outbox: watch a while too
            verdict = self._watch((job_id, attempt), 0, "no claim record of attempt "
                                  f"{attempt} yet", f"attempt {attempt} left no claim record "
                                  "(its executor died while claiming it)")
        else:
            verdict = await self._judge(job_id, attempt, claimed.seq, env)
        if verdict.gone:
            self._watching.pop((job_id, attempt), None)
        return verdict

    async def _judge(self, job_id: str, attempt: int, claimed_seq: int,
                     claim: ev.Envelope) -> Verdict:
        executor_id, producer = claim.event.executor_id, claim.producer
        stopped = await _last(self.js, executor_id, subjects.STOPPED)
        if stopped is not None and stopped.seq > claimed_seq and stopped.envelope.producer == producer:
            return Verdict(True, f"its executor {executor_id} stopped "
                                 f"({stopped.envelope.event.reason or 'no reason given'})")
        beat = await _last(self.js, executor_id, subjects.HEARTBEAT)
        if beat is None:
            return Verdict(True, f"its executor {executor_id} never sent a heartbeat")
        if beat.envelope.producer != producer:
            return Verdict(True, f"its executor {executor_id} was restarted (now "
                                 f"{beat.envelope.producer}); the process that ran it is gone")
        if beat.seq > claimed_seq and job_id not in beat.envelope.event.running:
            return Verdict(True, f"its executor {executor_id} is alive but no longer runs it")
        age = time.time() - beat.envelope.ts
        if age < self.stale_after:
            return Verdict(False, f"its executor {executor_id} sent a heartbeat {age:.0f}s ago")
        return self._watch((job_id, attempt), beat.seq,
                           f"executor {executor_id} last sent a heartbeat {age:.0f}s ago",
                           f"its executor {executor_id} stopped heartbeating: the last one was "
                           f"{age:.0f}s ago and none came while another executor watched for "
                           f"{self.stale_after:.0f}s")

    def _watch(self, key: tuple[str, int], mark: int, quiet: str, gone: str) -> Verdict:
        """Gone once ``mark`` (the newest heartbeat's sequence) has not moved for
        ``stale_after`` seconds of watching; alive as soon as it moves."""
        now = time.monotonic()
        seen = self._watching.get(key)
        if seen is not None and seen[0] != mark:
            self._watching.pop(key, None)
            return Verdict(False, "its executor is reporting again")
        if seen is None:
            self._watching[key] = (mark, now)
            return Verdict(False, f"{quiet}; watching for {self.stale_after:.0f}s")
        if now - seen[1] < self.stale_after:
            return Verdict(False, f"{quiet}; watching")
        return Verdict(True, gone)
