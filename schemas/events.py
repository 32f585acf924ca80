"""Every event on the log: frozen msgspec Structs in one tagged union, inside an envelope.

The envelope holds what every event shares (producer, producer-local sequence, job,
attempt, time, schema version); the payload is one of ``Event``. Evolve only by adding
fields with defaults; never retype or rename one (tests/schemas/test_roundtrip.py).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal, Union

import msgspec

from schemas import SCHEMA_VERSION


class _Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    pass


# --- job lifecycle -----------------------------------------------------------------


class JobSubmitted(_Event, tag="JobSubmitted"):
    job_type: str
    params: dict[str, Any]
    pool: str = "default"
    priority: int = 0
    submitted_by: str = ""
    idempotency_key: str | None = None
    parent_job_id: str | None = None
    experiment: str | None = None
    max_runtime_s: float | None = None
    max_retries: int = 2
    # causes that may be retried automatically; a code error never is by default
    retry_on: list[str] = msgspec.field(default_factory=lambda: ["executor_lost"])


class CancelRequested(_Event, tag="CancelRequested"):
    requested_by: str
    reason: str = ""


class JobClaimed(_Event, tag="JobClaimed"):
    executor_id: str
    host: str = ""
    lease_revision: int = 0
    gpus: list[int] = msgspec.field(default_factory=list)
    redelivered: bool = False


class RunCapsule(msgspec.Struct, frozen=True, kw_only=True):
    """What produced a result: code, packages, hardware, seeds and input digests."""

    project_version: str = ""
    git_commit: str = ""  # "" when the code is not a git checkout
    git_dirty: bool | None = None
    python: str = ""
    packages: dict[str, str] = msgspec.field(default_factory=dict)  # distribution -> version
    host: str = ""
    device: str = "cpu"  # cuda when the attempt has GPUs
    gpu_names: list[str] = msgspec.field(default_factory=list)
    driver: str = ""
    cuda: str = ""  # the driver's CUDA version
    torch_cuda: str = ""  # the CUDA torch was built for ("" for a CPU build)
    seeds: dict[str, int] = msgspec.field(default_factory=dict)  # parameter -> value
    inputs: dict[str, str] = msgspec.field(default_factory=dict)  # path -> sha256


class JobStarted(_Event, tag="JobStarted"):
    executor_id: str
    pid: int
    command: list[str] = msgspec.field(default_factory=list)
    output_dir: str = ""
    gpus: list[int] = msgspec.field(default_factory=list)
    capsule: RunCapsule | None = None


class LogLine(msgspec.Struct, frozen=True):
    n: int  # 1-based line number within the attempt
    ts: float
    stream: Literal["stdout", "stderr"]
    text: str


class LogChunkEmitted(_Event, tag="LogChunkEmitted"):
    lines: list[LogLine]


class LogTruncated(_Event, tag="LogTruncated"):
    """The attempt's log reached its budget: its further lines are counted, not stored."""

    budget_bytes: int
    budget_lines: int
    kept_lines: int
    kept_bytes: int
    dropped_lines: int = 0
    dropped_bytes: int = 0
    final: bool = False  # false: when the budget was reached; true: the attempt's totals
    message: str = "log truncated: budget reached"


class ProgressReported(_Event, tag="ProgressReported"):
    step: int
    total: int | None = None
    epoch: float | None = None
    stage: str = ""
    eta_s: float | None = None
    rate: float | None = None  # items per second in the current stage
    unit: str = "step"


class MetricRecorded(_Event, tag="MetricRecorded"):
    values: dict[str, float]
    step: int | None = None


class ArtifactProduced(_Event, tag="ArtifactProduced"):
    kind: str  # model, dataset, metrics, generations, probe, report, ...
    path: str
    size: int = 0
    sha256: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class GpuStat(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    name: str = ""
    util_pct: float | None = None
    mem_used_mb: float | None = None
    mem_total_mb: float | None = None
    power_w: float | None = None
    temp_c: float | None = None


class GpuSampled(_Event, tag="GpuSampled"):
    gpus: list[GpuStat] = msgspec.field(default_factory=list)
    cpu_pct: float | None = None
    ram_used_mb: float | None = None
    ram_total_mb: float | None = None


class ResultRecorded(_Event, tag="ResultRecorded"):
    kind: str  # the job type whose result model ``payload`` follows
    payload: dict[str, Any]


# "rejected": the executor's admission check refused the submission; no process was started
JobStatus = Literal["succeeded", "failed", "cancelled", "lost", "rejected"]
FailureCause = Literal[
    "ok", "exit_code", "signal", "oom", "timeout", "executor_lost", "cancelled", "spawn_error",
    "rejected",
]


class JobFinished(_Event, tag="JobFinished"):
    status: JobStatus
    cause: FailureCause = "ok"
    exit_code: int | None = None
    signal: int | None = None
    cancelled_by: str | None = None
    message: str = ""
    stderr_tail: list[str] = msgspec.field(default_factory=list)
    will_retry: bool = False
    # sha256 of every file the attempt left in its output dir (path relative to it)
    artifacts: dict[str, str] = msgspec.field(default_factory=dict)


class JobArchived(_Event, tag="JobArchived"):
    archived_by: str


# --- executors ---------------------------------------------------------------------


class GpuInfo(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    name: str
    mem_total_mb: float | None = None


class ExecutorAnnounced(_Event, tag="ExecutorAnnounced"):
    executor_id: str
    host: str
    pool: str
    slots: int
    gpus: list[GpuInfo] = msgspec.field(default_factory=list)
    versions: dict[str, str] = msgspec.field(default_factory=dict)


class ExecutorHeartbeat(_Event, tag="ExecutorHeartbeat"):
    executor_id: str
    running: list[str] = msgspec.field(default_factory=list)
    free_slots: int = 0
    draining: bool = False
    refusing: str = ""  # why it takes no new job now (e.g. the event store is nearly full)


class ExecutorStopped(_Event, tag="ExecutorStopped"):
    executor_id: str
    reason: str = ""


Event = Union[
    JobSubmitted,
    CancelRequested,
    JobClaimed,
    JobStarted,
    LogChunkEmitted,
    LogTruncated,
    ProgressReported,
    MetricRecorded,
    ArtifactProduced,
    GpuSampled,
    ResultRecorded,
    JobFinished,
    JobArchived,
    ExecutorAnnounced,
    ExecutorHeartbeat,
    ExecutorStopped,
]
EVENT_TYPES: dict[str, type] = {cls.__struct_config__.tag: cls for cls in Event.__args__}


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    event: Event
    producer: str
    seq: int  # producer-local, 1-based
    ts: float  # seconds since the epoch, UTC
    job_id: str | None = None
    attempt: int = 0
    v: int = SCHEMA_VERSION
    # sha256 (hex) of the stored bytes of the event before this one in its producer's chain
    # for the job; a producer's first event of a job links to the job's JobSubmitted
    # (services/chain.py). None: not chained (submissions, control events, older history).
    prev: str | None = None

    @property
    def msg_id(self) -> str:
        return msg_id(self.producer, self.job_id, self.attempt, self.seq)


def msg_id(producer: str, job_id: str | None, attempt: int, seq: int) -> str:
    """The ``Nats-Msg-Id`` of an event: the same event retried gets the same id."""
    return f"{producer}:{job_id or '-'}:{attempt}:{seq}"


def envelope(event: Event, *, producer: str, seq: int, job_id: str | None = None,
             attempt: int = 0, ts: float | None = None, prev: str | None = None) -> Envelope:
    return Envelope(event=event, producer=producer, seq=seq, ts=time.time() if ts is None else ts,
                    job_id=job_id, attempt=attempt, prev=prev)


# a job's events that are not chained: the root, and the gateway's control events (only the
# gateway's user may publish these; they change no result)
UNCHAINED = (JobSubmitted, CancelRequested, JobArchived)


def digest(data: bytes) -> str:
    """The chain digest of one stored event: sha256 of its exact bytes."""
    return hashlib.sha256(data).hexdigest()


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def encode(env: Envelope) -> bytes:
    return _encoder.encode(env)


def decode(data: bytes) -> Envelope:
    """Decode one stored event; raises ``msgspec.DecodeError`` (or ValidationError) on bad bytes."""
    return _decoder.decode(data)


def type_name(event: Event) -> str:
    return event.__struct_config__.tag
