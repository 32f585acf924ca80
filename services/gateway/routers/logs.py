"""A job's log as text (whole, tail, gzip), read from the event log itself, and log search."""

from __future__ import annotations

import collections
import zlib
from typing import Annotated, AsyncIterator, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from nats.js import JetStreamContext

from schemas import events as ev
from schemas import subjects
from services import bus
from services.gateway.deps import JetStream, Projector, Settings, StreamViewer, Viewer
from services.gateway.runtime import require_submission
from services.gateway.responses import Projected, reply_model

router = APIRouter(prefix="/jobs/{job_id}/logs", tags=["logs"])
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="job id")]
BLOCK = 64 * 1024


async def log_lines(js: JetStreamContext, job_id: str, attempt: int | None
                    ) -> AsyncIterator[tuple[int, ev.LogLine]]:
    """Every log line of a job in order, once each (a resent chunk repeats line numbers)."""
    seen: dict[int, int] = {}
    async for stored in bus.replay(js, subjects.job(job_id, subjects.LOG)):
        env = stored.envelope
        if env is None or not isinstance(env.event, ev.LogChunkEmitted):
            continue
        if attempt is not None and env.attempt != attempt:
            continue
        top = seen.get(env.attempt, 0)
        for line in env.event.lines:
            if line.n > top:
                top = line.n
                yield env.attempt, line
        seen[env.attempt] = top


def _cut(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[:cap] + f"... [{len(text) - cap} more characters cut]"


async def render(js: JetStreamContext, job_id: str, *, tail: int | None, attempt: int | None,
                 cap: int) -> AsyncIterator[bytes]:
    if tail is not None:
        last = collections.deque(maxlen=tail)
        async for _, line in log_lines(js, job_id, attempt):
            last.append(line.text)
        if last:
            yield ("\n".join(_cut(t, cap) for t in last) + "\n").encode()
        return
    parts, size, current = [], 0, None
    async for n_attempt, line in log_lines(js, job_id, attempt):
        if n_attempt != current:
            if current is not None:
                parts.append(f"----- attempt {n_attempt} -----\n")
            current = n_attempt
        text = _cut(line.text, cap) + "\n"
        parts.append(text)
        size += len(text)
        if size >= BLOCK:
            yield "".join(parts).encode()
            parts, size = [], 0
    if parts:
        yield "".join(parts).encode()


async def gzipped(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for block in body:
        out = z.compress(block)
        if out:
            yield out
    yield z.flush()


@router.get("", response_class=StreamingResponse,
            responses={200: {"content": {"text/plain": {}, "application/gzip": {}}}},
            summary="The job's log as text: whole, the last N lines, or gzipped")
async def get_log(job_id: JobId, js: JetStream, settings: Settings, who: StreamViewer,
                  tail: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
                  attempt: Annotated[int | None, Query(ge=0, le=1000)] = None,
                  gzip: Annotated[bool, Query(description="a .log.gz download")] = False):
    await require_submission(js, job_id)
    body = render(js, job_id, tail=tail, attempt=attempt, cap=settings.max_log_line_chars)
    if gzip:
        return StreamingResponse(gzipped(body), media_type="application/gzip", headers={
            "Content-Disposition": f'attachment; filename="{job_id}.log.gz"'})
    return StreamingResponse(body, media_type="text/plain; charset=utf-8")


@router.get("/lines", response_model=reply_model("logs.get"),
            summary="Log lines as rows with levels, paged (needs the projector)")
async def log_rows(job_id: JobId, who: StreamViewer, projector: Projector,
                   tail: Annotated[int | None, Query(ge=1, le=10_000)] = None,
                   after_line: Annotated[int | None, Query(ge=0)] = None,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                   attempt: Annotated[str | None, Query(pattern=r"^(all|\d{1,4})$",
                                                        description="a number, or all")] = None,
                   level: Literal["error", "warning", "info", "debug"] | None = None):
    body = {"job_id": job_id, "tail": tail, "after_line": after_line, "limit": limit,
            "attempt": int(attempt) if attempt and attempt.isdigit() else attempt, "level": level}
    body = {k: v for k, v in body.items() if v is not None}
    return Projected(await projector.ask("logs.get", body))


@router.get("/search", response_model=reply_model("logs.search"),
            summary="Log lines of this job matching a text (needs the projector)")
async def search_log(job_id: JobId, who: Viewer, projector: Projector,
                     q: Annotated[str, Query(min_length=1, max_length=500)],
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 200):
    return Projected(await projector.ask("logs.search", {"q": q, "job_id": job_id, "limit": limit}))
