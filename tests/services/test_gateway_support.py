"""Shared pieces of the gateway tests (no tests here): a real gateway process on a free
port and tokens for each role (both from tests/stack.py), a simulated running job, and an
SSE reader on the client's follower."""

from __future__ import annotations

import time

import httpx
import pytest

from schemas import events as ev
from services import bus
from services.client.models import Event
from services.client.retry import STREAM_BACKOFF
from services.client.sse import Follower, afollow
from tests.stack import ROOT, TOKEN_ENV, TOKENS, GatewayProcess, auth, ensure_stream  # noqa: F401


@pytest.fixture(scope="module")
def gateway(nats_server, tmp_path_factory):
    ensure_stream(nats_server.url)
    data = tmp_path_factory.mktemp("gateway") / "data"
    data.mkdir()
    gw = GatewayProcess(nats_server.url, data).start()
    yield gw
    gw.stop()


def log_chunk(first: int, count: int, pad: int = 0) -> ev.LogChunkEmitted:
    return ev.LogChunkEmitted(lines=[ev.LogLine(n=n, ts=time.time(), stream="stdout",
                                                text=f"line {n}" + "." * pad)
                                     for n in range(first, first + count)])


class SimulatedJob:
    """Publishes what an executor would for a running job: claim, start, log, progress, end."""

    def __init__(self, js, job_id: str, producer: str = "sim-executor"):
        self.job_id = job_id
        self.pub = bus.Publisher(js, producer)
        self.sub_pub = bus.Publisher(js, "sim-gateway")
        self.line = 0
        self.attempt = 1

    async def submit(self) -> int:
        env = ev.envelope(ev.JobSubmitted(job_type="system_check", params={}, submitted_by="sim"),
                          producer="sim-gateway", seq=1, job_id=self.job_id)
        return (await self.sub_pub.send(env)).seq

    async def start(self) -> None:
        await self.pub.publish(ev.JobClaimed(executor_id="sim"), job_id=self.job_id, attempt=self.attempt)
        await self.pub.publish(ev.JobStarted(executor_id="sim", pid=1), job_id=self.job_id,
                               attempt=self.attempt)

    async def log(self, count: int, per_chunk: int = 50, pad: int = 0) -> int:
        seq = 0
        while count > 0:
            n = min(per_chunk, count)
            seq = (await self.pub.publish(log_chunk(self.line + 1, n, pad), job_id=self.job_id,
                                          attempt=self.attempt)).seq
            self.line += n
            count -= n
        return seq

    async def progress(self, step: int, total: int) -> int:
        return (await self.pub.publish(ev.ProgressReported(step=step, total=total, stage="work"),
                                       job_id=self.job_id, attempt=self.attempt)).seq

    async def finish(self, status: str = "succeeded", **kw) -> int:
        return (await self.pub.publish(ev.JobFinished(status=status, **kw), job_id=self.job_id,
                                       attempt=self.attempt)).seq


def lines_in(events: list[Event]) -> list[int]:
    return [line["n"] for e in events if e.kind == "log" for line in e.payload["lines"]]


async def read_all(client: httpx.AsyncClient, path: str, *, after: int | None = None,
                   **params) -> list[Event]:
    """Every event of a stream until its ``end``, read by the client's follower (which
    reconnects with Last-Event-ID if dropped); ``after`` goes in the query."""
    query = {**params, **({"after": after} if after is not None else {})}
    state = Follower(str(client.base_url), None, STREAM_BACKOFF, None)
    return [e async for e in afollow(client, path, query, state)]
