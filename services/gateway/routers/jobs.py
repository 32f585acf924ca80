"""Jobs: submit (one route per job type), list, get, wait, cancel, retry, archive."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from schemas import events as ev
from schemas import subjects
from schemas.jobtypes import REGISTRY
from schemas.params import FieldProblem, ParamsError, job_types, json_schemas, model_for, normalize
from services import bus
from services.gateway import actions, capsules, memorycheck
from services.gateway.deps import Admin, GatewayDep, JetStream, Operator, Projector, Settings, Viewer
from services.gateway.errors import PayloadTooLargeError
from services.gateway.runtime import event_log, is_terminal, require_submission, terminal_finish
from services.gateway.responses import Projected, reply_model
from services.gateway import views
from services.queries import ProjectorUnavailableError

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="job id")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="a double submit with the same key returns the first job")]
SORT_KEYS = ("submitted_at", "started_at", "finished_at", "claimed_at", "updated_at", "duration_s",
             "status", "job_type", "pool", "priority", "progress_pct", "experiment", "submitted_by",
             "executor_id", "attempt", "job_id", "submit_seq", "last_seq")


async def reachable(js, min_seq: int | None) -> int | None:
    """``min_seq`` no further than the log's end: nobody can ask to see a future event."""
    if not min_seq:
        return min_seq
    async with event_log("reading the log's last sequence"):
        return min(min_seq, await bus.stream_last_seq(js))


async def _json_body(request: Request, job_type: str, limit: int) -> Any:
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLargeError(f"request body over {limit} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ParamsError(normalize(job_type), [FieldProblem(
            field="(body)", message=f"not valid JSON: {exc}", allowed="a JSON object")]) from None


async def _submit(job_type: str, request: Request, gw: GatewayDep, js: JetStream, who: Operator,
                  idempotency_key: IdempotencyKey = None):
    model_for(job_type)  # an unknown type is a 404 whatever the body
    body = await _json_body(request, job_type, gw.settings.max_body_bytes)
    event = actions.build_submission(gw, who, job_type, body, idempotency_key or None)
    await memorycheck.refuse_if_too_big(gw.projector, event)
    done = await actions.publish_submission(gw, js, who, event, idempotency_key or None)
    return JSONResponse(done.model_dump(), status_code=200 if done.duplicate else 201)


def _submit_route(job_type: str):
    async def submit(request: Request, gw: GatewayDep, js: JetStream, who: Operator,
                     idempotency_key: IdempotencyKey = None):
        return await _submit(job_type, request, gw, js, who, idempotency_key)

    submit.__name__ = f"submit_{job_type}"
    return submit


for _name in job_types():
    router.add_api_route(
        f"/jobs/{_name}", _submit_route(_name), methods=["POST"], status_code=201,
        response_model=actions.Submitted, summary=f"Submit a {_name} job",
        responses={200: {"description": "an earlier job with the same Idempotency-Key",
                         "model": actions.Submitted},
                   422: {"description": "bad parameters: each field and what it allows"}},
        openapi_extra={"x-job-type": _name})


@router.post("/jobs/{job_type}", status_code=201, response_model=actions.Submitted,
             summary="Submit a job of a type registered after this gateway started",
             include_in_schema=False)
async def submit_any(job_type: Annotated[str, Path(max_length=64)], request: Request,
                     gw: GatewayDep, js: JetStream, who: Operator,
                     idempotency_key: IdempotencyKey = None):
    return await _submit(job_type, request, gw, js, who, idempotency_key)


@router.get("/job-types", response_model=views.JobTypes,
            summary="Every job type and the JSON Schema of its parameters")
async def get_job_types(who: Viewer) -> dict[str, Any]:
    schemas = json_schemas()
    return {"job_types": [{"name": n, "key": n, "title": REGISTRY[n].title,
                           "section": REGISTRY[n].section, "order": REGISTRY[n].order,
                           "intro": REGISTRY[n].intro, "produces": REGISTRY[n].produces,
                           "result_view": REGISTRY[n].view, "params_schema": s,
                           "submit": f"/api/v1/jobs/{n}"} for n, s in schemas.items()],
            "options_schema": actions.SubmitOptions.model_json_schema()}


@router.get("/jobs", response_model=reply_model("jobs.list"),
            summary="Jobs, filtered, sorted and paged (needs the projector)")
async def list_jobs(
    who: Viewer, js: JetStream, projector: Projector, settings: Settings,
    status: Annotated[list[str] | None, Query(max_length=20)] = None,
    job_type: Annotated[list[str] | None, Query(max_length=20)] = None,
    pool: Annotated[str | None, Query(max_length=64)] = None,
    executor_id: Annotated[str | None, Query(max_length=64)] = None,
    experiment: Annotated[str | None, Query(max_length=128)] = None,
    model: Annotated[str | None, Query(max_length=1024)] = None,
    submitted_by: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(ge=0, le=1e11)] = None,
    until: Annotated[float | None, Query(ge=0, le=1e11)] = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    include_archived: bool = False,
    sort: Literal[SORT_KEYS] = "submitted_at",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    min_seq: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    def split(values):
        return [v for item in values for v in item.split(",") if v] if values else None

    min_seq = await reachable(js, min_seq)
    query = {"status": split(status), "job_type": [normalize(t) for t in split(job_type) or []] or None,
             "pool": pool, "executor_id": executor_id, "experiment": experiment, "model": model,
             "submitted_by": submitted_by, "since": since, "until": until, "text": text,
             "include_archived": include_archived, "sort": sort, "order": order, "limit": limit,
             "offset": offset, "min_seq": min_seq, "wait_timeout_s": settings.min_seq_wait_s}
    return Projected(await projector.ask(
        "jobs.list", {k: v for k, v in query.items() if v is not None},
        timeout=settings.projector_timeout_s + settings.min_seq_wait_s))


@router.get("/jobs/{job_id}", response_model=reply_model("jobs.get"),
            summary="One job with its attempts, artifacts, metrics and results")
async def get_job(job_id: JobId, who: Viewer, js: JetStream, projector: Projector,
                  settings: Settings, min_seq: Annotated[int | None, Query(ge=0)] = None):
    stored = await require_submission(js, job_id)  # 404 without asking the projector
    # read your writes: the projector has applied at least the job's submission
    wait_for = max(await reachable(js, min_seq) or 0, stored.seq)
    answer = await projector.ask("jobs.get", {"job_id": job_id, "min_seq": wait_for,
                                              "wait_timeout_s": settings.min_seq_wait_s},
                                 timeout=settings.projector_timeout_s + settings.min_seq_wait_s)
    answer["capsule"] = await capsules.capsule_of(js, job_id)  # what produced it (trust)
    return Projected(answer)


@router.get("/jobs/{job_id}/wait", response_model=views.JobWaited,
             summary="Wait (bounded) until the job has ended")
async def wait_job(job_id: JobId, who: Viewer, js: JetStream, projector: Projector,
                   settings: Settings,
                   timeout_s: Annotated[float, Query(ge=0, le=600)] = 30.0) -> dict[str, Any]:
    await require_submission(js, job_id)
    done = await terminal_finish(js, job_id)
    if done is None:
        async def first_terminal():
            async with event_log("waiting for the job's end"):
                async for stored in bus.replay(js, subjects.job(job_id, subjects.FINISHED),
                                               follow=True):
                    if is_terminal(stored):
                        return stored

        try:
            done = await asyncio.wait_for(first_terminal(), timeout_s)
        except asyncio.TimeoutError:
            done = None
    if done is None:
        return Projected({"job_id": job_id, "finished": False})
    event: ev.JobFinished = done.envelope.event
    out = {"job_id": job_id, "finished": True, "status": event.status, "cause": event.cause,
           "seq": done.seq, "job": None}
    try:
        out["job"] = (await projector.ask("jobs.get", {"job_id": job_id, "min_seq": done.seq,
                                                       "wait_timeout_s": settings.min_seq_wait_s},
                                          timeout=settings.projector_timeout_s
                                          + settings.min_seq_wait_s))
    except ProjectorUnavailableError as exc:
        out["projector"] = str(exc)
    return Projected(out)


@router.delete("/jobs/{job_id}", status_code=202, response_model=actions.Published,
               summary="Cancel a job (publishes CancelRequested)")
async def cancel_job(job_id: JobId, gw: GatewayDep, js: JetStream, who: Operator,
                     reason: Annotated[str, Query(max_length=500)] = ""):
    return await actions.cancel(gw, js, who, job_id, reason)


@router.post("/jobs/{job_id}/retry", status_code=201, response_model=actions.Submitted,
             summary="A new job with the same parameters, linked to this one")
async def retry_job(job_id: JobId, gw: GatewayDep, js: JetStream, who: Operator,
                    response: Response, idempotency_key: IdempotencyKey = None):
    done = await actions.retry(gw, js, who, job_id, idempotency_key or None)
    if done.duplicate:
        response.status_code = 200
    return done


@router.post("/jobs/{job_id}/archive", response_model=actions.Published,
             summary="Hide a job from lists (the event log keeps everything)")
async def archive_job(job_id: JobId, gw: GatewayDep, js: JetStream, who: Admin):
    return await actions.archive(gw, js, who, job_id)


def openapi_bodies(schema: dict[str, Any]) -> None:
    """Give each submit route its typed body in the OpenAPI document (bodies are parsed by
    hand so that bad parameters get the registry's field-by-field errors)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    options = actions.SubmitOptions.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in job_types():
        model = model_for(name)
        params = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(params.pop("$defs", {}))
        components[model.__name__] = params
        body = {**options, "title": f"Submit {name}",
                "properties": {**options["properties"],
                               "params": {"$ref": f"#/components/schemas/{model.__name__}"}}}
        components[f"Submit_{name}"] = body
        op = schema.get("paths", {}).get(f"/api/v1/jobs/{name}", {}).get("post")
        if op is not None:
            op["requestBody"] = {"required": False, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/Submit_{name}"}}}}
