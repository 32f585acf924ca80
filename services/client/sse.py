"""Server-sent events on the client side: a parser, and readers that resume after a drop.

A reader remembers the ``id`` of the last event it got and reconnects with
``Last-Event-ID``, so a dropped connection or a restarted gateway costs no event and
repeats none.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterable, Iterator

import httpx

RETRYABLE_STATUS = {502, 503, 504}


@dataclass
class Event:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class Parser:
    """Feeds on lines (without their line ends); returns an Event when one is complete."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, line: str) -> Event | None:
        if not line:
            if not self._data and not self._event:
                return None
            out = Event(self._event or "message", "\n".join(self._data), self._id)
            self._data, self._event, self._id = [], "", None
            return out
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


def parse(lines: Iterable[str]) -> Iterator[Event]:
    parser = Parser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


class StreamError(RuntimeError):
    def __init__(self, status: int, body: str):
        self.status = status
        super().__init__(f"stream refused ({status}): {body}")


def follow(client: httpx.Client, path: str, params: dict[str, Any] | None = None, *,
           after: int | None = None, max_wait_s: float = 120.0,
           on_reconnect: Callable[[int, str], None] | None = None) -> Iterator[Event]:
    """Events of ``path`` until its ``end`` event, reconnecting (with Last-Event-ID) on drops."""
    last_id = str(after) if after else None
    delay, gave_up_at = 0.2, None
    attempt = 0
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with client.stream("GET", path, params=params, headers=headers,
                               timeout=httpx.Timeout(10.0, read=60.0)) as resp:
                if resp.status_code in RETRYABLE_STATUS:
                    raise httpx.TransportError(f"gateway answered {resp.status_code}")
                if resp.status_code != 200:
                    raise StreamError(resp.status_code, resp.read().decode(errors="replace"))
                delay, gave_up_at = 0.2, None
                for event in parse(resp.iter_lines()):
                    if event.id is not None:
                        last_id = event.id
                    yield event
                    if event.event == "end":
                        return
        except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
            reason = str(exc) or type(exc).__name__
        else:
            reason = "stream closed before its end"
        gave_up_at = gave_up_at or time.monotonic() + max_wait_s
        if time.monotonic() > gave_up_at:
            raise StreamError(0, f"gave up reconnecting after {max_wait_s:.0f}s: {reason}")
        attempt += 1
        if on_reconnect:
            on_reconnect(attempt, reason)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


async def afollow(client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None, *,
                  after: int | None = None, max_wait_s: float = 120.0) -> AsyncIterator[Event]:
    """The asyncio twin of :func:`follow`."""
    last_id = str(after) if after else None
    delay, gave_up_at = 0.2, None
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            async with client.stream("GET", path, params=params, headers=headers,
                                     timeout=httpx.Timeout(10.0, read=60.0)) as resp:
                if resp.status_code in RETRYABLE_STATUS:
                    raise httpx.TransportError(f"gateway answered {resp.status_code}")
                if resp.status_code != 200:
                    raise StreamError(resp.status_code, (await resp.aread()).decode(errors="replace"))
                delay, gave_up_at = 0.2, None
                parser = Parser()
                async for line in resp.aiter_lines():
                    event = parser.feed(line)
                    if event is None:
                        continue
                    if event.id is not None:
                        last_id = event.id
                    yield event
                    if event.event == "end":
                        return
        except (httpx.TransportError, httpx.RemoteProtocolError):
            pass
        gave_up_at = gave_up_at or time.monotonic() + max_wait_s
        if time.monotonic() > gave_up_at:
            raise StreamError(0, f"gave up reconnecting after {max_wait_s:.0f}s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
