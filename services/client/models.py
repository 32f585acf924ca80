"""Typed answers of the gateway (pydantic), so a script reads ``job.status``, not
``answer["job"]["status"]``.

Every model allows extra fields: the gateway may add fields in a minor version and an
older client must keep working; what the client relies on is declared here.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TERMINAL = ("succeeded", "failed", "cancelled", "lost", "rejected")


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Submitted(Model):
    job_id: str
    job_type: str
    seq: int = Field(description="stream sequence of the submission; reads can wait for it")
    duplicate: bool = False
    pool: str = "default"
    submitted_by: str | None = None
    parent_job_id: str | None = None


class Published(Model):
    job_id: str
    seq: int
    already: bool = False


class Job(Model):
    job_id: str
    job_type: str
    status: str
    params: dict[str, Any] | None = None
    pool: str | None = None
    experiment: str | None = None
    attempt: int | None = None
    cause: str | None = None
    message: str | None = None
    exit_code: int | None = None
    submitted_by: str | None = None
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    progress_pct: float | None = None
    stage: str | None = None
    result_kind: str | None = None
    result_summary: Any = None
    parent_job_id: str | None = None
    last_seq: int | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


class JobList(Model):
    rows: list[Job] = []
    total: int = 0


class ResultRow(Model):
    """One flattened result value: nested objects give dotted keys."""

    job_id: str
    kind: str
    key: str
    value: Any = None
    value_num: float | None = None
    value_text: str | None = None
    attempt: int | None = None
    seq: int | None = None


class Results(Model):
    rows: list[ResultRow] = []

    def figures(self) -> dict[str, Any]:
        """``key -> value`` of the latest result (a later attempt's row replaces an earlier)."""
        return {r.key: r.value for r in sorted(self.rows, key=lambda r: r.seq or 0)}


class JobDetail(Model):
    job: Job
    attempts: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    results: list[ResultRow] = []
    children: list[str] = []
    # the result's headline (schemas/results.py): print it with schemas.results.format_headline
    result_view: str = ""
    headline: list[dict[str, Any]] = []
    verdict: str = ""
    headline_details: dict[str, Any] = {}
    # what produced it: {attempt, capsule (code, packages, hardware, seeds, input digests),
    # artifact_digests}; None before an attempt has started (services/client/capsule.py prints it)
    capsule: dict[str, Any] | None = None


class WaitOutcome(Model):
    job_id: str
    finished: bool
    status: str | None = None
    cause: str | None = None
    seq: int | None = None
    job: JobDetail | None = None


class LogLine(Model):
    attempt: int | None = None
    n: int | None = None
    ts: float | None = None
    stream: str | None = None
    level: str | None = None
    text: str


class LogPage(Model):
    lines: list[LogLine] = []
    total: int = 0


class JobType(Model):
    key: str
    name: str
    title: str | None = None
    params_schema: dict[str, Any] = {}


class JobTypes(Model):
    job_types: list[JobType] = []

    def by_key(self) -> dict[str, JobType]:
        return {t.key: t for t in self.job_types}


class Executor(Model):
    executor_id: str
    host: str | None = None
    pool: str | None = None
    state: str | None = None
    slots: int | None = None
    free_slots: int | None = None
    current_jobs: list[str] = []
    heartbeat_age_s: float | None = None


class Executors(Model):
    rows: list[Executor] = []


class Experiment(Model):
    name: str
    jobs: int = 0
    models: int = 0
    active: int = 0
    succeeded: int = 0
    unsuccessful: int = 0


class Experiments(Model):
    rows: list[Experiment] = []


class Event(BaseModel):
    """One event of a job's (or the lab's) stream: its kind, stream sequence and body."""

    kind: str
    seq: int | None = None
    data: dict[str, Any] = {}

    @classmethod
    def from_sse(cls, event: str, data: str, id_: str | None) -> "Event":
        body = json.loads(data) if data else {}
        seq = int(id_) if id_ and id_.isdigit() else None
        return cls(kind=event or "message", seq=seq, data=body if isinstance(body, dict) else {})

    @property
    def payload(self) -> dict[str, Any]:
        """The event itself (for ``end``: the stream's closing summary)."""
        return self.data.get("event", self.data) if self.kind != "end" else self.data

    @property
    def lines(self) -> list[str]:
        """The texts of a ``log`` event's lines (empty for other kinds)."""
        return [line["text"] for line in self.payload.get("lines", [])] if self.kind == "log" else []
