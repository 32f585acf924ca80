"""Replies about the lab as a whole: executors, queues, experiments and models, the audit
trail, results as rows, the projector's health and its dead letters."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.query_replies import AuditRow, JobRow, Reply, ResultRow


class ExecutorRow(msgspec.Struct, kw_only=True):
    """state: online (heard from within 15 s), stale (within 60 s), else or stopped offline."""

    executor_id: str
    host: str | None = None
    pool: str | None = None
    slots: int | None = None
    gpus: list[Any] = []
    versions: dict[str, Any] = {}
    announced_at: float | None = None
    last_seen_at: float | None = None
    last_heartbeat_at: float | None = None
    heartbeats: int | None = None
    running: list[Any] = []
    free_slots: int | None = None
    draining: bool | None = None
    stopped_at: float | None = None
    stop_reason: str | None = None
    last_seq: int | None = None
    current_jobs: list[str] = []  # claimed or running per the jobs view
    state: Literal["online", "stale", "offline"]
    heartbeat_age_s: float | None = None


class Executors(Reply, kw_only=True):
    rows: list[ExecutorRow]


class Queue(Reply, kw_only=True):
    pools: dict[str, int]  # pool -> queued jobs
    running: dict[str, int]  # pool -> claimed + running jobs


class ExperimentRow(msgspec.Struct, kw_only=True):
    name: str
    jobs: int
    models: int
    first_at: float | None = None
    last_at: float | None = None
    active: int
    succeeded: int
    unsuccessful: int


class Experiments(Reply, kw_only=True):
    rows: list[ExperimentRow]


class ModelRow(msgspec.Struct, kw_only=True):
    path: str
    job_id: str | None = None
    attempt: int | None = None
    seq: int | None = None
    ts: float | None = None
    base_model: str | None = None
    backdoor_type: str | None = None
    trigger: str | None = None
    mechanism: str | None = None
    lora: str | None = None
    size: int | None = None
    sha256: str | None = None
    metadata: dict[str, Any] = {}
    experiment: str | None = None
    job_type: str | None = None
    used_by: list[str] = []


class Models(Reply, kw_only=True):
    rows: list[ModelRow]


class LineageEdge(msgspec.Struct, kw_only=True):
    parent: str
    child: str
    via: Literal["parent_job_id", "model"]
    model: str | None = None


class Experiment(Reply, kw_only=True):
    name: str
    jobs: list[JobRow]
    models: list[ModelRow]
    lineage: list[LineageEdge]


class Audit(Reply, kw_only=True):
    rows: list[AuditRow]  # newest first


class Results(Reply, kw_only=True):
    rows: list[ResultRow]


class Health(Reply, kw_only=True):
    name: str
    stream_last_seq: int | None = None
    lag: int | None = None
    dead_letters: int
    duplicates: int
    events: int
    jobs: int
    queries_answered: int
    time: float
    db: str | UnsetType = UNSET
    caught_up: bool | UnsetType = UNSET
    since_start: dict[str, Any] | UnsetType = UNSET  # batches, messages, events, apply_s


class DeadLetter(msgspec.Struct, kw_only=True):
    """reason: undecodable, unknown_type, newer_schema, invalid, apply_error."""

    seq: int
    subject: str | None = None
    reason: str
    error: str | None = None
    type: str | None = None
    schema_version: int | None = None
    stream_ts: float | None = None
    data: str = ""


class DeadLetters(Reply, kw_only=True):
    rows: list[DeadLetter]
