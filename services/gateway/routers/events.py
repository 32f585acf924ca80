"""Live streams (SSE): one job's history then its live events, and every job's lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query

from services.gateway import sse
from services.gateway.deps import GatewayDep, JetStream, StreamViewer
from services import bus
from services.gateway.runtime import event_log, require_submission

router = APIRouter(tags=["events"])

JOB_ID = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="job id")
SSE_DOC = {"200": {"description": "text/event-stream", "content": {"text/event-stream": {}}}}

After = Annotated[str | None, Query(
    description="resume after this stream sequence, a non-negative "
                                             "integer (the Last-Event-ID header wins); anything "
                                             "else is a 400", examples=["0"])]
Follow = Annotated[bool, Query(description="keep following live events; false ends with an "
                                           "`end` event once caught up")]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get("/jobs/{job_id}/events", responses=SSE_DOC,
            summary="A job's events: history from the start (or a sequence), then live")
async def job_events(job_id: Annotated[str, JOB_ID], gw: GatewayDep, js: JetStream, who: StreamViewer,
                     after: After = None, follow: Follow = True,
                     kinds: Annotated[str | None, Query(
                         max_length=200, description="comma-separated: "
                                                     + ",".join(sse.JOB_KIND_GROUPS))] = None,
                     last_event_id: LastEventId = None):
    wanted = sse.parse_kinds(kinds, sse.JOB_KIND_GROUPS)
    await require_submission(js, job_id)
    start = sse.resume_after(last_event_id, after)
    body = sse.job_stream(gw, js, job_id, after=start, kinds=wanted, follow=follow)
    return sse.StreamResponse(gw, body)


@router.get("/events", responses=SSE_DOC,
            summary="Lifecycle events of every job (the job monitor's feed)",
            description="A monitor lists jobs first (GET /api/jobs answers with `applied_seq`), "
                        "then follows from there: `?after=<applied_seq>`, so it neither misses "
                        "nor replays a change. `?live=true` skips the history.")
async def all_events(gw: GatewayDep, js: JetStream, who: StreamViewer, after: After = None,
                     follow: Follow = True,
                     kinds: Annotated[str | None, Query(
                         max_length=200, description="comma-separated: "
                                                     + ",".join(sse.LIFECYCLE_GROUPS))] = None,
                     live: Annotated[bool, Query(description="start at the log's end")] = False,
                     last_event_id: LastEventId = None):
    wanted = sse.parse_kinds(kinds, sse.LIFECYCLE_GROUPS)
    start = sse.resume_after(last_event_id, after)
    if live and last_event_id is None:
        async with event_log("reading the log's last sequence"):
            start = max(start, await bus.stream_last_seq(js))
    body = sse.lifecycle_stream(gw, js, after=start, kinds=wanted, follow=follow)
    return sse.StreamResponse(gw, body)
