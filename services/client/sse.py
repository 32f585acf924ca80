"""Following a server-sent event stream (httpx-sse) that survives drops and restarts.

The reader remembers the sequence (SSE ``id``) of the last event it got and reconnects with
``Last-Event-ID``, so a dropped connection or a restarted gateway costs no event and repeats
none; reconnects back off (``Backoff``) and give up with ``GatewayUnreachableError`` when
the budget is spent. A stream ends at its ``end`` event. ``stop`` is asked at every chunk
the gateway sends, keep-alive pings included, so a silent stream can still be ended.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable, Iterator

import httpx
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse, connect_sse

from services.client.errors import GatewayUnreachableError, error_from
from services.client.models import Event
from services.client.retry import RETRY_STATUS, Backoff

Stop = Callable[[], bool]


class _Dropped(Exception):
    """The stream ended, or the gateway asked to come back later: reconnect."""


class _StopAware:
    """What ``EventSource`` reads of a response, with ``stop`` asked between chunks."""

    def __init__(self, response: httpx.Response, stop: Stop | None):
        self.headers = response.headers
        self._response, self._stop = response, stop or (lambda: False)

    def iter_text(self) -> Iterator[str]:
        for chunk in self._response.iter_text():
            if self._stop():
                return
            yield chunk

    async def aiter_text(self) -> AsyncIterator[str]:
        async for chunk in self._response.aiter_text():
            if self._stop():
                return
            yield chunk


def _event(sse: ServerSentEvent, state: "Follower") -> Event | None:
    if not sse.data:  # a bare ``retry:`` hint (the spec dispatches no event without data)
        return None
    # SSE ids carry over to events that name none (``end``); stream sequences only grow,
    # so an id equal to the last one was inherited, not sent
    inherited = state.last_seq is not None and sse.id == str(state.last_seq)
    return Event.from_sse(sse.event, sse.data, None if inherited else sse.id)


def _opened(response: httpx.Response) -> None:
    if response.status_code in RETRY_STATUS:
        raise _Dropped(f"gateway answered {response.status_code}")


class Follower:
    """The resume state of one stream: where it is, and how long to keep trying."""

    def __init__(self, url: str, after: int | None, backoff: Backoff | None,
                 on_reconnect: Callable[[int, str], None] | None):
        self.url = url
        self.last_seq = after or None
        self.backoff = backoff
        self.on_reconnect = on_reconnect
        self.reconnects = 0
        self._delays: Iterator[float] | None = None

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_seq)} if self.last_seq else {}

    def seen(self, event: Event) -> None:
        if event.seq is not None:
            self.last_seq = event.seq
        self._delays = None  # an event got through: the next drop starts the backoff afresh

    def dropped(self, reason: str) -> float:
        if self.backoff is None:
            raise GatewayUnreachableError(self.url, reason)
        self._delays = self._delays or self.backoff.delays()
        delay = next(self._delays, None)
        if delay is None:
            raise GatewayUnreachableError(self.url, f"gave up reconnecting: {reason}")
        self.reconnects += 1
        if self.on_reconnect:
            self.on_reconnect(self.reconnects, reason)
        return delay


def follow(http: httpx.Client, path: str, params: dict[str, Any], state: Follower, *,
           auth: dict[str, str] | None = None, read_timeout: float = 60.0, stop: Stop | None = None,
           on_open: Callable[[], None] | None = None) -> Iterator[Event]:
    """The stream's events until ``end`` (or ``stop``), resuming after drops."""
    while not (stop and stop()):
        try:
            headers = {**(auth or {}), **state.headers()}
            with connect_sse(http, "GET", path, params=params, headers=headers,
                             timeout=httpx.Timeout(10.0, read=read_timeout)) as source:
                _opened(source.response)
                if source.response.status_code >= 400:
                    source.response.read()
                    raise error_from(source.response)
                if on_open:
                    on_open()
                for sse in EventSource(_StopAware(source.response, stop)).iter_sse():
                    event = _event(sse, state)
                    if event is None:
                        continue
                    state.seen(event)
                    yield event
                    if event.kind == "end":
                        return
            if stop and stop():
                return
            raise _Dropped("the stream closed before its end")
        except (httpx.TransportError, _Dropped) as exc:
            time.sleep(state.dropped(str(exc) or type(exc).__name__))


async def afollow(http: httpx.AsyncClient, path: str, params: dict[str, Any], state: Follower, *,
                  auth: dict[str, str] | None = None, read_timeout: float = 60.0, stop: Stop | None = None) -> AsyncIterator[Event]:
    """The asyncio twin of :func:`follow`."""
    while not (stop and stop()):
        try:
            headers = {**(auth or {}), **state.headers()}
            async with aconnect_sse(http, "GET", path, params=params, headers=headers,
                                    timeout=httpx.Timeout(10.0, read=read_timeout)) as source:
                _opened(source.response)
                if source.response.status_code >= 400:
                    await source.response.aread()
                    raise error_from(source.response)
                async for sse in EventSource(_StopAware(source.response, stop)).aiter_sse():
                    event = _event(sse, state)
                    if event is None:
                        continue
                    state.seen(event)
                    yield event
                    if event.kind == "end":
                        return
            if stop and stop():
                return
            raise _Dropped("the stream closed before its end")
        except (httpx.TransportError, _Dropped) as exc:
            await asyncio.sleep(state.dropped(str(exc) or type(exc).__name__))
