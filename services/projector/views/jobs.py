"""Jobs, their attempts, the audit trail and the models a job's parameters name.

A fold over each job's events in stream order. Rules that keep it a pure function of the log:

- the job's current attempt only moves forward: a ``JobClaimed`` (or ``JobStarted``) with a
  higher envelope attempt starts a new attempt (status ``claimed`` / ``running``);
- an event of an older attempt (envelope attempt below the job's), or of an attempt that has
  already ended, is recorded on its attempt row (marked ``stale``) and in the audit, and never
  changes the job's status;
- ``JobFinished(will_retry=True)`` puts the job back to ``queued`` with its cause kept (for
  ``lost``: the lease expired and the submission is redelivered); the next claim moves it on;
- the first ``JobFinished(will_retry=False)`` is final: later lifecycle events are ignored;
  one may follow a ``will_retry`` finish of the same attempt (the executor settles a job whose
  lost attempt is followed by a cancel) and ends the job.
"""

from __future__ import annotations

from typing import Any

from schemas import events as ev
from services.projector import schema
from services.projector.batch import Batch
from services.projector.deadletters import Item
from services.projector.jsonutil import dumps, loads

MODEL_KEYS = ("model", "model_path", "base_model", "backdoored_model", "safety_model",
              "control_model")
EVENTS = (ev.JobSubmitted, ev.CancelRequested, ev.JobClaimed, ev.JobStarted, ev.ProgressReported,
          ev.MetricRecorded, ev.ArtifactProduced, ev.ResultRecorded, ev.JobFinished,
          ev.JobArchived)
SUMMARY_KEYS = 20


def norm_path(path: str) -> str:
    return path.rstrip("/") or path


def models_in(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter name, model path) for every model a job's parameters name."""
    out = []
    for key in MODEL_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value:
            out.append((key, norm_path(value)))
    return out


def summarize(payload: dict[str, Any]) -> dict[str, Any]:
    """The scalars of a result (one level of nesting as dotted keys), at most SUMMARY_KEYS."""
    out: dict[str, Any] = {}

    def scalar(v: Any) -> bool:
        return v is None or isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= 200)

    for k, v in payload.items():
        if len(out) >= SUMMARY_KEYS:
            break
        if scalar(v):
            out[k] = v
        elif isinstance(v, dict):
            for k2, v2 in v.items():
                if len(out) >= SUMMARY_KEYS:
                    break
                if scalar(v2):
                    out[f"{k}.{k2}"] = v2
    return out


def new_job(job_id: str) -> dict[str, Any]:
    row = dict.fromkeys(schema.JOBS.names)
    row.update(job_id=job_id, status="unknown", final=False, will_retry=False, attempt=0,
               retries=0, artifact_count=0, archived=False)
    return row


def new_attempt(job_id: str, attempt: int) -> dict[str, Any]:
    row = dict.fromkeys(schema.ATTEMPTS.names)
    row.update(job_id=job_id, attempt=attempt, claims=0, redelivered=False, will_retry=False,
               stale=False)
    return row


_PROGRESS_FIELDS = ("progress_step", "progress_total", "progress_pct", "eta_s", "stage", "rate",
                    "unit", "progress_at")


class Fold:
    def __init__(self, jobs: dict[str, dict], attempts: dict[tuple[str, int], dict], batch: Batch):
        self.jobs = jobs
        self.attempts = attempts
        self.batch = batch
        self.dirty_jobs: set[str] = set()
        self.dirty_attempts: set[tuple[str, int]] = set()
        self.audit: list[dict[str, Any]] = []
        self.uses: list[dict[str, Any]] = []

    # --- rows ---------------------------------------------------------------------

    def job(self, it: Item) -> dict[str, Any]:
        job_id = it.env.job_id
        row = self.jobs.get(job_id)
        if row is None:
            row = self.jobs[job_id] = new_job(job_id)
        self.dirty_jobs.add(job_id)
        row["updated_at"] = it.env.ts
        row["last_seq"] = it.seq
        return row

    def attempt(self, job_id: str, attempt: int) -> dict[str, Any]:
        key = (job_id, attempt)
        row = self.attempts.get(key)
        if row is None:
            row = self.attempts[key] = new_attempt(job_id, attempt)
        self.dirty_attempts.add(key)
        return row

    def record(self, it: Item, actor: str, kind: str, action: str, executor_id: str | None = None,
               **detail: Any) -> None:
        self.audit.append({"seq": it.seq, "ts": it.env.ts, "actor": actor, "actor_kind": kind,
                           "action": action, "job_id": it.env.job_id, "executor_id": executor_id,
                           "attempt": it.env.attempt,
                           "detail": dumps({k: v for k, v in detail.items() if v is not None})})

    # --- events -------------------------------------------------------------------

    def apply(self, it: Item) -> None:
        getattr(self, "on_" + type(it.env.event).__name__)(it, it.env.event)

    def on_JobSubmitted(self, it: Item, e: ev.JobSubmitted) -> None:
        j = self.job(it)
        params = dumps(e.params)
        parent = self.jobs.get(e.parent_job_id) if e.parent_job_id else None
        is_retry = (parent is not None and parent["job_type"] == e.job_type
                    and parent["params"] == params)
        ignored = None
        if j["submit_seq"] is not None:
            ignored = "job already submitted"
        else:
            j.update(job_type=e.job_type, params=params, pool=e.pool, priority=e.priority,
                     submitted_by=e.submitted_by, idempotency_key=e.idempotency_key,
                     parent_job_id=e.parent_job_id, experiment=e.experiment,
                     max_runtime_s=e.max_runtime_s, max_retries=e.max_retries,
                     retry_on=dumps(e.retry_on), submitted_at=it.env.ts, submit_seq=it.seq)
            uses = models_in(e.params)
            j["models_used"] = dumps([{"key": k, "path": p} for k, p in uses])
            for key, path in uses:
                self.uses.append({"job_id": j["job_id"], "param_key": key, "path": path,
                                  "seq": it.seq})
            if j["status"] == "unknown":
                j["status"] = "queued"
        self.record(it, e.submitted_by or it.env.producer, "human",
                    "retry" if is_retry else "submit", job_type=e.job_type, pool=e.pool,
                    priority=e.priority, parent_job_id=e.parent_job_id, experiment=e.experiment,
                    idempotency_key=e.idempotency_key, ignored=ignored)

    def on_CancelRequested(self, it: Item, e: ev.CancelRequested) -> None:
        j = self.job(it)
        status = j["status"]
        if not j["final"]:
            j.update(cancel_requested_by=e.requested_by, cancel_requested_at=it.env.ts,
                     cancel_reason=e.reason)
        self.record(it, e.requested_by, "human", "cancel", reason=e.reason or None,
                    status=status, ignored="job already ended" if j["final"] else None)

    def _begin_attempt(self, j: dict, a: int, executor_id: str, host: str | None,
                       lease_revision: int | None, gpus: list[int], claimed_at: float | None) -> None:
        j.update(attempt=a, retries=max(0, a - 1), status="claimed", executor_id=executor_id,
                 host=host or None, lease_revision=lease_revision, gpus=dumps(gpus),
                 claimed_at=claimed_at, started_at=None, finished_at=None, duration_s=None,
                 cause=None, message=None, exit_code=None, signal=None, will_retry=False)
        for f in _PROGRESS_FIELDS:
            j[f] = None

    def _ignored(self, j: dict, a: int, at: dict | None, ended_before: bool) -> str | None:
        if j["final"]:
            return "job already ended"
        if a < j["attempt"]:
            return "stale attempt"
        if ended_before:
            return "attempt already ended"
        return None

    def on_JobClaimed(self, it: Item, e: ev.JobClaimed) -> None:
        j = self.job(it)
        a = it.env.attempt
        at = self.attempt(j["job_id"], a)
        ended_before = at["finish_seq"] is not None
        at["claims"] += 1
        if at["claimed_at"] is None:
            at.update(claimed_at=it.env.ts, claim_seq=it.seq)
        if at["lease_revision"] is None or e.lease_revision >= at["lease_revision"]:
            at.update(executor_id=e.executor_id, host=e.host or None,
                      lease_revision=e.lease_revision, gpus=dumps(e.gpus))
        at["redelivered"] = bool(at["redelivered"] or e.redelivered)
        if at["status"] is None:
            at["status"] = "claimed"
        ignored = self._ignored(j, a, at, ended_before)
        if ignored is None:
            if a > j["attempt"] or j["status"] in ("queued", "unknown"):
                self._begin_attempt(j, a, e.executor_id, e.host, e.lease_revision, e.gpus,
                                    it.env.ts)
            elif j["lease_revision"] is None or e.lease_revision >= j["lease_revision"]:
                j.update(executor_id=e.executor_id, host=e.host or None,
                         lease_revision=e.lease_revision)
        else:
            at["stale"] = True
        self.record(it, e.executor_id, "system", "redelivery" if e.redelivered else "claim",
                    executor_id=e.executor_id, host=e.host or None, lease_revision=e.lease_revision,
                    gpus=e.gpus or None, ignored=ignored)

    def on_JobStarted(self, it: Item, e: ev.JobStarted) -> None:
        j = self.job(it)
        a = it.env.attempt
        at = self.attempt(j["job_id"], a)
        ended_before = at["finish_seq"] is not None
        if at["started_at"] is None:
            at.update(started_at=it.env.ts, pid=e.pid, output_dir=e.output_dir or None,
                      command=dumps(e.command))
            if e.gpus:
                at["gpus"] = dumps(e.gpus)
            if at["executor_id"] is None:
                at["executor_id"] = e.executor_id
        if at["status"] in (None, "claimed"):
            at["status"] = "running"
        ignored = self._ignored(j, a, at, ended_before)
        if ignored is None:
            if a > j["attempt"]:
                self._begin_attempt(j, a, e.executor_id, None, None, e.gpus, None)
            if j["status"] in ("claimed", "queued", "unknown"):
                j.update(status="running", started_at=it.env.ts, executor_id=e.executor_id)
                if e.gpus:
                    j["gpus"] = dumps(e.gpus)
        else:
            at["stale"] = True
        self.record(it, e.executor_id, "system", "start", executor_id=e.executor_id, pid=e.pid,
                    output_dir=e.output_dir or None, ignored=ignored)

    def on_ProgressReported(self, it: Item, e: ev.ProgressReported) -> None:
        j = self.job(it)
        a = it.env.attempt
        if j["final"] or a < j["attempt"]:
            return
        at = self.attempts.get((j["job_id"], a))
        if at is not None and at["finish_seq"] is not None:
            return
        pct = None
        if e.total:
            pct = max(0.0, min(100.0, 100.0 * e.step / e.total))
        j.update(progress_step=e.step, progress_total=e.total, progress_pct=pct, eta_s=e.eta_s,
                 stage=e.stage or None, rate=e.rate, unit=e.unit, progress_at=it.env.ts)

    def on_MetricRecorded(self, it: Item, e: ev.MetricRecorded) -> None:
        j = self.job(it)
        if it.env.attempt < j["attempt"] or not e.values:
            return
        latest = loads(j["latest_metrics"], {})
        latest.update(e.values)
        j["latest_metrics"] = dumps(latest)

    def on_ArtifactProduced(self, it: Item, e: ev.ArtifactProduced) -> None:
        j = self.job(it)
        j["artifact_count"] = (j["artifact_count"] or 0) + 1

    def on_ResultRecorded(self, it: Item, e: ev.ResultRecorded) -> None:
        j = self.job(it)
        if it.env.attempt < j["attempt"]:
            return
        j.update(result_kind=e.kind, result_summary=dumps(summarize(e.payload)))

    def on_JobFinished(self, it: Item, e: ev.JobFinished) -> None:
        j = self.job(it)
        a = it.env.attempt
        at = self.attempt(j["job_id"], a) if a > 0 else None
        ended_before = at is not None and at["finish_seq"] is not None
        if at is not None and not ended_before:
            at.update(finished_at=it.env.ts, status=e.status, cause=e.cause,
                      exit_code=e.exit_code, signal=e.signal, message=e.message or None,
                      will_retry=e.will_retry, finish_seq=it.seq)
        # a job waiting for its retry may still be settled for good by a finish of its last
        # attempt (cancelled while waiting, or the lost attempt's late own end)
        ignored = self._ignored(j, a, at, ended_before and not j["will_retry"])
        if ignored is None:
            if a > j["attempt"]:
                j.update(attempt=a, retries=max(0, a - 1))
            j.update(cause=e.cause, message=e.message or None, exit_code=e.exit_code,
                     signal=e.signal, eta_s=None)
            if e.will_retry:
                j.update(status="queued", will_retry=True, finished_at=None, duration_s=None)
            else:
                start = j["started_at"] if j["started_at"] is not None else j["claimed_at"]
                j.update(status=e.status, will_retry=False, final=True, finished_at=it.env.ts,
                         duration_s=(it.env.ts - start) if start is not None else None)
                self.batch.finalized.add(j["job_id"])
        elif at is not None:
            at["stale"] = True
        detail = dict(status=e.status, cause=e.cause, exit_code=e.exit_code, signal=e.signal,
                      cancelled_by=e.cancelled_by, message=e.message or None,
                      will_retry=e.will_retry, ignored=ignored)
        actor = it.env.producer
        executor_id = at["executor_id"] if at is not None else None
        self.record(it, actor, "system", "lease_expired" if e.status == "lost" else "finish",
                    executor_id=executor_id, **detail)
        if e.will_retry and ignored is None:
            self.record(it, actor, "system", "requeue", executor_id=executor_id, cause=e.cause,
                        next_attempt=a + 1)

    def on_JobArchived(self, it: Item, e: ev.JobArchived) -> None:
        j = self.job(it)
        j.update(archived=True, archived_by=e.archived_by, archived_at=it.env.ts)
        self.record(it, e.archived_by, "human", "archive")


def apply(con, batch: Batch) -> None:
    items = batch.of(*EVENTS)
    if not items:
        return
    ids = {it.env.job_id for it in items}
    parents = {it.env.event.parent_job_id for it in items
               if isinstance(it.env.event, ev.JobSubmitted) and it.env.event.parent_job_id}
    jobs = {r["job_id"]: r for r in schema.load(con, schema.JOBS, "job_id", ids | parents)}
    attempts = {(r["job_id"], r["attempt"]): r
                for r in schema.load(con, schema.ATTEMPTS, "job_id", ids)}
    fold = Fold(jobs, attempts, batch)
    for it in items:
        try:
            fold.apply(it)
        except Exception as exc:  # a bad event must not block the log; it becomes a dead letter
            batch.fail(it, exc)
    schema.replace(con, schema.JOBS, "job_id", [jobs[k] for k in sorted(fold.dirty_jobs)])
    schema.replace(con, schema.ATTEMPTS, "job_id",
                   [attempts[k] for k in sorted(fold.dirty_attempts)], extra_key="attempt")
    schema.insert_rows(con, schema.AUDIT, fold.audit)
    schema.insert_rows(con, schema.MODEL_USES, fold.uses)
