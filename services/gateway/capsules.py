"""A job's run capsule for the job detail, read from the log itself (two direct gets).

The capsule travels in the latest attempt's JobStarted and the artifact digests in its
JobFinished; reading them from the stream keeps the projector's views unchanged and the
answer exactly what the executor recorded.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.js import JetStreamContext

from schemas import events as ev
from schemas import subjects
from services import bus


async def capsule_of(js: JetStreamContext, job_id: str) -> dict[str, Any] | None:
    """{attempt, capsule, artifact_digests} of the job's latest started attempt, or None."""
    started = await bus.last_event(js, subjects.job(job_id, subjects.STARTED))
    if started is None or started.envelope is None:
        return None
    env = started.envelope
    if not isinstance(env.event, ev.JobStarted) or env.event.capsule is None:
        return None
    out = {"attempt": env.attempt, "capsule": msgspec.to_builtins(env.event.capsule),
           "artifact_digests": None}
    finished = await bus.last_event(js, subjects.job(job_id, subjects.FINISHED))
    if (finished is not None and finished.envelope is not None
            and isinstance(finished.envelope.event, ev.JobFinished)
            and finished.envelope.attempt == env.attempt):
        out["artifact_digests"] = dict(finished.envelope.event.artifacts)
    return out
