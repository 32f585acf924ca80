"""Reading the log: an ephemeral pull consumer started at the recorded position.

Why not a durable consumer: the position that matters is ``applied_seq`` in the DuckDB file,
committed with the rows. A durable consumer's ack floor would be a second position, never
atomic with the file (ahead of it after a crash, or behind it if acked after the commit), and
replicas, rebuilds and fresh files would each need their own durable name and clean-up. So the
projector creates an ephemeral consumer (no acks, in memory, removed by the server after
``INACTIVE_S`` without pulls) starting at ``applied_seq + 1``, and re-creates it from the last
sequence it received whenever it is lost (server restart, deletion, missed heartbeats).

Pull, not push: the consumer hands out at most ``batch`` messages per request, so a slow
apply slows reading instead of filling memory. Requests are issued directly (not through
``PullSubscription.fetch``, which waits for a full batch or its timeout): ``fetch`` returns as
soon as anything has arrived, so a new event reaches the views within milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from schemas import subjects
from services.projector.deadletters import Raw

log = logging.getLogger("projector")

INACTIVE_S = 300.0  # the server drops a consumer nobody has pulled from for this long
EXPIRES_S = 10.0  # one pull request waits at most this long on the server
HEARTBEAT_S = 2.0  # the server says it is alive this often while a request waits
MAX_BYTES = 8 << 20  # per pull request


def parse_reply(reply: str) -> tuple[int, float, int] | None:
    """(stream seq, stream time in epoch seconds, pending) from a JetStream ack subject."""
    t = reply.split(".")
    if len(t) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>
        return int(t[5]), int(t[7]) / 1e9, int(t[8])
    if len(t) >= 11:  # $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>[.<token>]
        return int(t[7]), int(t[9]) / 1e9, int(t[10])
    return None


class Consumer:
    def __init__(self, js: JetStreamContext, start_seq: int, *, batch: int = 256,
                 stream: str = subjects.STREAM):
        self.js = js
        self.nc: NATS = js._nc
        self.stream = stream
        self.next_seq = max(1, start_seq)
        self.batch = batch
        self.pending = 0  # messages left in the stream after the last one received
        self.name: str | None = None
        self._sub = None
        self._buf: deque[Msg] = deque()
        self._wake = asyncio.Event()
        self._outstanding = 0  # messages the current pull request may still deliver
        self._request_at = 0.0
        self._heard_at = 0.0
        self._lost = False

    async def _create(self) -> None:
        config = api.ConsumerConfig(
            name=self.nc._nuid.next().decode(),
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_seq,
            ack_policy=api.AckPolicy.NONE, inactive_threshold=INACTIVE_S, mem_storage=True,
            num_replicas=1, max_waiting=4, filter_subject=subjects.ALL)
        info = await self.js.add_consumer(self.stream, config=config)
        self.name = info.name
        self._buf.clear()
        self._outstanding = 0
        self._lost = False
        self._sub = await self.nc.subscribe(self.nc.new_inbox(), cb=self._on_msg,
                                            pending_msgs_limit=4 * self.batch + 1000,
                                            pending_bytes_limit=4 * MAX_BYTES + (64 << 20))
        log.debug("consumer %s created at seq %d", self.name, self.next_seq)

    async def _on_msg(self, msg: Msg) -> None:
        self._heard_at = time.monotonic()
        status = msg.headers.get(api.Header.STATUS) if msg.headers else None
        if status:
            if status == "100":  # idle heartbeat
                return
            description = (msg.headers.get(api.Header.DESCRIPTION) or "").lower()
            if status == "409" and ("deleted" in description or "leadership" in description):
                self._lost = True
            self._outstanding = 0  # 404 / 408 / 409: this request is over
            self._wake.set()
            return
        self._buf.append(msg)
        self._outstanding = max(0, self._outstanding - 1)
        self._wake.set()

    def lost(self) -> None:
        """Drop the consumer at the next fetch (e.g. after a reconnect: the server may have
        restarted and forgotten it)."""
        self._lost = True
        self._wake.set()

    async def _pull(self) -> None:
        body = {"batch": self.batch, "max_bytes": MAX_BYTES, "expires": int(EXPIRES_S * 1e9),
                "idle_heartbeat": int(HEARTBEAT_S * 1e9)}
        await self.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.name}",
                              json.dumps(body).encode(), reply=self._sub.subject)
        self._outstanding = self.batch
        self._request_at = self._heard_at = time.monotonic()

    async def reset(self) -> None:
        sub, self._sub = self._sub, None
        name, self.name = self.name, None
        self._outstanding = 0
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:
                pass
        if name is not None:
            try:
                await self.js.delete_consumer(self.stream, name)
            except Exception:
                pass  # gone already, or the server is away; it expires by itself

    async def fetch(self, timeout: float = 0.25) -> list[Raw] | None:
        """The next messages in stream order: what has arrived, or, if nothing has, whatever
        arrives within ``timeout`` (possibly none). None when the consumer was lost and
        dropped (the next call re-creates it at the next sequence)."""
        try:
            if self._sub is None:
                await self._create()
            now = time.monotonic()
            if self._lost or (self._outstanding and now - self._heard_at > 3 * HEARTBEAT_S):
                raise ConnectionError("the consumer stopped answering")
            if not self._outstanding or now - self._request_at > EXPIRES_S + HEARTBEAT_S:
                await self._pull()
            if not self._buf:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reading the log failed (%r); re-creating the consumer at seq %d", exc,
                        self.next_seq)
            await self.reset()
            await asyncio.sleep(0.5)
            return None
        out = []
        while self._buf:
            m = self._buf.popleft()
            meta = parse_reply(m.reply or "")
            if meta is None:
                md = m.metadata
                meta = (md.sequence.stream, md.timestamp.timestamp(), md.num_pending)
            seq, ts, pending = meta
            if seq < self.next_seq:
                continue  # seen already (a re-created consumer overlapping the old one)
            out.append(Raw(seq, m.subject, m.data, ts))
            self.next_seq = seq + 1
            self.pending = pending
        return out
