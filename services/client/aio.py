"""``AsyncClient``: the asyncio twin of ``Client`` (same calls, same retries, same models).

    async with AsyncClient.from_env() as lab:
        job = await lab.submit("system_check", {"matmul_size": 128})
        async for event in lab.follow(job.job_id):
            print(*event.lines, sep="\\n")
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator

import httpx

from services.client import calls, models as m
from services.client.config import find_gateway
from services.client.errors import error_from
from services.client.retry import STREAM_BACKOFF, SUBMIT_BACKOFF, Backoff, SubmitTries
from services.client.sse import Follower, Stop, afollow
from services.client.sync import decode, unreachable


class AsyncClient:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0,
                 submit_backoff: Backoff = SUBMIT_BACKOFF, stream_backoff: Backoff = STREAM_BACKOFF,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.submit_backoff, self.stream_backoff = submit_backoff, stream_backoff
        self.http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, url: str | None = None, *, token_file: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, **kwargs: Any) -> "AsyncClient":
        found = find_gateway(url, token_file=token_file, data_dir_=data_dir)
        return cls(found.url, found.token, **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def _send(self, call: calls.Call) -> httpx.Response:
        return await self.http.request(call.method, call.path, params=call.params, json=call.body,
                                       headers={**self._auth(), **call.headers},
                                       timeout=call.timeout or self.timeout)

    async def call(self, call: calls.Call) -> Any:
        try:
            resp = await self._send(call)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if resp.status_code >= 400:
            raise error_from(resp)
        return decode(call, resp)

    async def _submitting(self, call: calls.Call, job_type: str) -> m.Submitted:
        tries = SubmitTries(self.url, job_type, call.headers["Idempotency-Key"], self.submit_backoff)
        while True:
            try:
                resp = await self._send(call)
                if tries.answered(resp):
                    if resp.status_code >= 400:
                        raise error_from(resp)
                    return decode(call, resp)
            except httpx.TransportError as exc:
                tries.failed(exc)
            await asyncio.sleep(tries.next_delay())

    async def job_types(self) -> m.JobTypes:
        return await self.call(calls.job_types())

    async def submit(self, job_type: str, params: dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None, **options: Any) -> m.Submitted:
        call = calls.submit(job_type, params, idempotency_key or calls.new_key(), options)
        return await self._submitting(call, job_type)

    async def retry(self, job_id: str, *, idempotency_key: str | None = None) -> m.Submitted:
        return await self._submitting(calls.retry(job_id, idempotency_key or calls.new_key()), job_id)

    async def jobs(self, **filters: Any) -> m.JobList:
        return await self.call(calls.jobs(filters))

    async def job(self, job_id: str, min_seq: int | None = None) -> m.JobDetail:
        return await self.call(calls.job(job_id, min_seq))

    async def wait(self, job_id: str, timeout_s: float = 600.0) -> m.WaitOutcome:
        """The job's outcome once it ended; ``finished`` is False after ``timeout_s`` (at
        most 600 s a call: the gateway bounds a wait; call again to wait longer)."""
        return await self.call(calls.wait(job_id, min(timeout_s, 600.0)))

    async def cancel(self, job_id: str, reason: str = "") -> m.Published:
        return await self.call(calls.cancel(job_id, reason))

    async def results(self, job_id: str | None = None, kind: str | None = None,
                      key: str | None = None) -> m.Results:
        return await self.call(calls.results(job_id, kind, key))

    async def logs(self, job_id: str, tail: int | None = None) -> str:
        return await self.call(calls.log_text(job_id, tail))

    async def executors(self, pool: str | None = None) -> m.Executors:
        return await self.call(calls.executors(pool))

    async def experiments(self) -> m.Experiments:
        return await self.call(calls.experiments())

    async def report(self, experiment: str) -> dict[str, Any]:
        return await self.call(calls.report(experiment))

    async def report_pdf(self, experiment: str) -> bytes:
        return await self.call(calls.report_pdf(experiment))

    def events(self, job_id: str, *, after: int | None = None, follow: bool = True,
               kinds: str | None = None, resume: bool = True, stop: Stop | None = None,
               read_timeout: float = 60.0) -> AsyncIterator[m.Event]:
        state = Follower(self.url, after, self.stream_backoff if resume else None, None)
        return afollow(self.http, calls.job_events_path(job_id), calls.stream_params(follow, kinds),
                       state, auth=self._auth(), read_timeout=read_timeout, stop=stop)

    def follow(self, job_id: str, **kwargs: Any) -> AsyncIterator[m.Event]:
        return self.events(job_id, follow=True, **kwargs)
