"""What the projector answers: one Struct per reply and per row, every field declared.

Times are epoch seconds. Fields that only some answers carry default to ``UNSET`` and are
then left out of the JSON. A test decodes real replies into these types and encodes them back
unchanged, so a column the projector starts sending without declaring it here fails there;
the gateway builds its OpenAPI response models from these types.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType


class Reply(msgspec.Struct, kw_only=True):
    applied_seq: int | UnsetType = UNSET  # the stream sequence the answer reflects
    min_seq_reached: bool | UnsetType = UNSET  # only when the request carried min_seq


class JobRow(msgspec.Struct, kw_only=True):
    """A job's submission and current state (status: queued, claimed, running, succeeded,
    failed, cancelled, lost, rejected (refused by the executor's admission check: bad
    parameters or a model path outside the roots); ``unknown``: events seen but no submission)."""

    job_id: str
    job_type: str | None = None
    params: dict[str, Any] | None = None
    pool: str | None = None
    priority: int | None = None
    submitted_by: str | None = None
    idempotency_key: str | None = None
    parent_job_id: str | None = None
    experiment: str | None = None
    max_runtime_s: float | None = None
    max_retries: int | None = None
    retry_on: list[str] | None = None
    models_used: list[dict[str, Any]] | None = None  # [{"key", "path"}]
    status: str | None = None
    cause: str | None = None
    message: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    will_retry: bool | None = None  # back in the queue after a retryable end
    final: bool | None = None
    attempt: int | None = None
    retries: int | None = None
    executor_id: str | None = None
    host: str | None = None
    lease_revision: int | None = None
    gpus: list[Any] | None = None
    submitted_at: float | None = None
    claimed_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None  # of a running job: its time so far
    progress_step: int | None = None
    progress_total: int | None = None
    progress_pct: float | None = None
    eta_s: float | None = None
    stage: str | None = None
    rate: float | None = None
    unit: str | None = None
    progress_at: float | None = None
    latest_metrics: dict[str, Any] | None = None
    result_kind: str | None = None
    result_summary: Any = None
    artifact_count: int | None = None
    cancel_requested_by: str | None = None
    cancel_requested_at: float | None = None
    cancel_reason: str | None = None
    archived: bool | None = None
    archived_by: str | None = None
    archived_at: float | None = None
    submit_seq: int | None = None
    last_seq: int | None = None
    updated_at: float | None = None
    chain: str | None = None  # the job's hash chain: sealed, open, broken (trust)
    chain_break_seq: int | None = None
    parents: list[str] = []  # parent_job_id and the jobs that produced the models it used
    result_view: str | None | UnsetType = UNSET  # the job's headline (jobs.get, experiments.get)
    headline: Any = UNSET
    verdict: Any = UNSET
    headline_details: Any = UNSET


class JobsPage(Reply, kw_only=True):
    rows: list[JobRow]
    total: int


class Attempt(msgspec.Struct, kw_only=True):
    job_id: str
    attempt: int
    executor_id: str | None = None
    host: str | None = None
    lease_revision: int | None = None
    gpus: list[Any] | None = None
    redelivered: bool | None = None
    claims: int | None = None
    claimed_at: float | None = None
    started_at: float | None = None
    pid: int | None = None
    output_dir: str | None = None
    command: list[str] | None = None
    finished_at: float | None = None
    status: str | None = None
    cause: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    message: str | None = None
    will_retry: bool | None = None
    stale: bool | None = None  # it spoke after the job had moved on
    claim_seq: int | None = None
    finish_seq: int | None = None


class Artifact(msgspec.Struct, kw_only=True):
    job_id: str
    attempt: int | None = None
    seq: int
    ts: float | None = None
    kind: str | None = None
    path: str | None = None
    size: int | None = None
    sha256: str | None = None
    metadata: dict[str, Any] = {}


class MetricPoint(msgspec.Struct, kw_only=True):
    attempt: int | None = None
    name: str
    step: int | None = None
    value: float | None = None
    ts: float | None = None
    seq: int


class ResultRow(msgspec.Struct, kw_only=True):
    """A result payload flattened: nested objects give dotted keys, lists stay one value."""

    job_id: str
    attempt: int | None = None
    seq: int
    ts: float | None = None
    kind: str | None = None
    key: str
    value: Any = None
    value_num: float | None = None  # numbers, and booleans as 0/1
    value_text: str | None = None


class AuditRow(msgspec.Struct, kw_only=True):
    seq: int
    ts: float | None = None
    actor: str | None = None
    kind: Literal["human", "system"] | str | None = None
    action: str
    job_id: str | None = None
    executor_id: str | None = None
    attempt: int | None = None
    detail: dict[str, Any] = {}


class GpuSample(msgspec.Struct, kw_only=True):
    """``raw`` samples while a job runs (the last 1,000), per-``minute`` averages once it
    ended (with the maxima); gpu_index -1 is a host without GPUs."""

    kind: Literal["raw", "minute"]
    ts: float
    gpu_index: int
    gpu_name: str | None = None
    samples: int
    attempt: int | None | UnsetType = UNSET
    util_pct: float | None = None
    util_min: float | None | UnsetType = UNSET
    util_max: float | None | UnsetType = UNSET
    mem_used_mb: float | None = None
    mem_used_max: float | None | UnsetType = UNSET
    mem_total_mb: float | None = None
    power_w: float | None = None
    power_max: float | None | UnsetType = UNSET
    temp_c: float | None = None
    temp_max: float | None | UnsetType = UNSET
    cpu_pct: float | None = None
    ram_used_mb: float | None = None
    ram_total_mb: float | None | UnsetType = UNSET


class Truncated(msgspec.Struct, kw_only=True):
    metrics: bool  # only the last 4,000 points are in the reply


class JobDetail(Reply, kw_only=True):
    job: JobRow
    attempts: list[Attempt]
    artifacts: list[Artifact]
    metrics: list[MetricPoint]
    results: list[ResultRow]
    audit: list[AuditRow]
    gpu: list[GpuSample]
    models_produced: list[str]
    children: list[str]  # retries and jobs that used its models
    log_lines: dict[str, int]  # attempt -> line count
    truncated: Truncated
    result_view: str | None | UnsetType = UNSET  # the job's headline (jobs.get, experiments.get)
    headline: Any = UNSET
    verdict: Any = UNSET
    headline_details: Any = UNSET
    capsule: Any = UNSET  # added by the gateway: what produced the job (trust)


class Waited(msgspec.Struct, kw_only=True):
    applied_seq: int
    reached: bool


class LogLine(msgspec.Struct, kw_only=True):
    job_id: str | UnsetType = UNSET  # in search results
    attempt: int
    n: int
    ts: float | None = None
    stream: str | None = None
    level: str | None = None  # error / warning / info / debug, derived from the text
    text: str


class LogPage(Reply, kw_only=True):
    lines: list[LogLine]
    total: int
    attempt: int | Literal["all"] | None = None
    attempts: list[int] = []
    next_line: int | None | UnsetType = UNSET  # ask again with after_line = next_line
    truncated: bool | UnsetType = UNSET  # the page was cut to fit one NATS message


class LogHits(Reply, kw_only=True):
    lines: list[LogLine]
    truncated: bool = False

