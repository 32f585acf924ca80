"""Response models of the routes whose answers the gateway builds itself (the projector's
replies are documented from the query contract in ``responses.py``). Every model allows
extra fields, so a field added later reaches clients before it reaches this file; the fuzz
test checks real responses against these schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from services.gateway.responses import reply_model

ExecutorRow = reply_model("executors").model_fields["rows"].annotation
ModelRow = reply_model("models").model_fields["rows"].annotation
JobDetail = reply_model("jobs.get")


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class WhoAmI(Open):
    name: str
    role: str
    via: str


class StreamToken(Open):
    stream_token: str
    expires_at: float
    path: str | None = None  # the one URL path the token opens, if bound
    use: str


class TokenName(Open):
    name: str
    role: str
    kind: str


class Tokens(Open):
    tokens: list[TokenName]


class JobTypeInfo(Open):
    """One declaration of the job-type registry (``schemas/jobtypes.py``)."""

    name: str
    key: str
    title: str | None = None
    section: str | None = None  # the dashboard section that offers it
    order: int | None = None
    intro: str | None = None
    produces: str | None = None
    result_view: str | None = None
    params_schema: dict[str, Any]
    submit: str  # the route that submits it


class JobTypes(Open):
    job_types: list[JobTypeInfo]
    options_schema: dict[str, Any]


class JobWaited(Open):
    """``finished`` false: the wait timed out. ``job`` is the projector's view of the ended
    job (None, with ``projector`` saying why, when the read side did not answer)."""

    job_id: str
    finished: bool
    status: str | None = None
    cause: str | None = None
    seq: int | None = None
    job: JobDetail | None = None
    projector: str | None = None


class GatewayInfo(Open):
    uptime_s: float
    dev_mode: bool
    streams_open: float


class StreamState(Open):
    name: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    consumers: int


class NatsInfo(Open):
    url: str
    connected: bool
    stream: StreamState | None = None
    stream_error: str | None = None


class ProjectorStatus(Open):
    """``available`` and, when it answered, its health reply's fields; else ``error``."""

    available: bool
    error: str | None = None


class SystemStatus(Open):
    time: float
    gateway: GatewayInfo
    nats: NatsInfo
    projector: ProjectorStatus
    executors: ExecutorRow | None = None
    queues: dict[str, int] | None = None
    errors: dict[str, str]


class ModelFolder(Open):
    path: str
    root: str
    name: str | None = None
    kind: str | None = None  # model or adapter
    size_bytes: int | None = None
    files: int | None = None
    modified: float | None = None


class SystemModels(Open):
    roots: list[str]
    local: list[ModelFolder]
    produced: ModelRow | None = None
    produced_error: str | None = None


class FileEntry(Open):
    name: str
    size: int


class ModelInspection(ModelFolder):
    listing: list[FileEntry] | None = None
    config: dict[str, Any] | None = None
    adapter_config: dict[str, Any] | None = None
