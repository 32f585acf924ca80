"""A TCP proxy in front of the real gateway that loses answers on purpose: for each fault in
its list, one request reaches the gateway, and once the gateway has started to answer, the
client gets either nothing (``drop``: the connection closes), a 503 instead (``503``), or
the first piece of the answer and then a closed connection (``cut``: a stream broken
mid-way). This is what a client
sees when a network or a load balancer fails after the gateway acted."""

from __future__ import annotations

import asyncio
import threading

from services.natsserver import free_port

FAKE_503 = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"content-length: 73\r\nconnection: close\r\n\r\n"
            b'{"detail": {"code": "event_log_unavailable", "message": "proxy fault"}}  ')


class FaultyProxy:
    def __init__(self, upstream_port: int, faults: list[str]):
        self.upstream_port = upstream_port
        self.faults = list(faults)  # "drop", "503" or "cut", used up in order
        self.applied: list[str] = []
        self.port = free_port()
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, upstream, client) -> None:
        first = await upstream.read(65536)
        if first and self.faults:
            fault = self.faults.pop(0)
            self.applied.append(fault)
            if fault in ("503", "cut"):
                client.write(FAKE_503 if fault == "503" else first)
                await client.drain()
            client.close()
            return
        if first:
            client.write(first)
        await self._pipe(upstream, client)

    async def _serve(self, c_reader, c_writer) -> None:
        u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        up = asyncio.ensure_future(self._pipe(c_reader, u_writer))
        await self._answer(u_reader, c_writer)
        up.cancel()
        u_writer.close()

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()

        async def main():
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
            self._ready.set()
            async with self.server:
                await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def __enter__(self) -> "FaultyProxy":
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        for task in asyncio.all_tasks(self.loop):
            self.loop.call_soon_threadsafe(task.cancel)
        self.thread.join(5)
