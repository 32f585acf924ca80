"""The dashboard's only way out: an HTTP client for the gateway (REST and SSE).

Every call takes the caller's bearer token. Failures become two kinds of exception:
``GatewayUnreachableError`` (nothing answered) and ``GatewayError`` (the gateway answered
with an error body ``{"detail": {"code", "message", ...}}``), so a page can say plainly
what happened.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import quote, urlencode

import httpx


class GatewayUnreachableError(RuntimeError):
    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"the gateway at {url} is unreachable ({reason})")


class GatewayError(RuntimeError):
    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        self.status = status
        self.code = code
        self.detail = detail or {}
        super().__init__(message)

    @property
    def field_errors(self) -> list[dict[str, Any]]:
        """The per-field problems of a 422 (``field``, ``message``, ``allowed``, ``got``)."""
        errors = self.detail.get("errors")
        return errors if isinstance(errors, list) else []


@dataclass
class SseEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


@dataclass
class GatewayClient:
    base_url: str
    public_url: str = ""
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.public_url = (self.public_url or self.base_url).rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                  transport=self.transport)

    # --- plumbing -------------------------------------------------------------------

    def _request(self, method: str, path: str, token: str | None = None, *,
                 timeout: float | None = None, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self._http.request(method, path, headers=headers,
                                      timeout=timeout or self.timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise GatewayUnreachableError(self.base_url, f"no answer within "
                                          f"{timeout or self.timeout:.0f}s: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(self.base_url, str(exc) or type(exc).__name__) from None
        if resp.status_code >= 400:
            raise _error_from(resp)
        return resp

    def _json(self, method: str, path: str, token: str | None = None, **kwargs) -> Any:
        return self._request(method, path, token, **kwargs).json()

    # --- health and identity --------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        return self._json("GET", "/healthz", timeout=2.0)

    def readyz(self) -> dict[str, Any]:
        try:
            return self._json("GET", "/readyz", timeout=2.0)
        except GatewayError as exc:
            if exc.status == 503 and exc.detail:
                return exc.detail
            raise

    def whoami(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/auth/whoami", token)

    def stream_token(self, token: str, path: str | None = None) -> dict[str, Any]:
        body = {"path": path} if path else {}
        return self._json("POST", "/api/auth/stream-token", token, json=body)

    # --- job types and jobs ---------------------------------------------------------

    def job_types(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/job-types", token)

    def submit(self, token: str, job_type: str, params: dict[str, Any], *,
               idempotency_key: str | None = None, **options: Any) -> dict[str, Any]:
        body = {"params": params, **{k: v for k, v in options.items() if v is not None}}
        key = idempotency_key or uuid.uuid4().hex
        return self._json("POST", f"/api/jobs/{kebab(job_type)}", token, json=body,
                          headers={"Idempotency-Key": key})

    def jobs(self, token: str, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v not in (None, "", [], ())}
        return self._json("GET", "/api/jobs", token, params=params, timeout=20.0)

    def job(self, token: str, job_id: str, min_seq: int | None = None) -> dict[str, Any]:
        params = {"min_seq": min_seq} if min_seq else None
        return self._json("GET", f"/api/jobs/{quote(job_id)}", token, params=params, timeout=20.0)

    def cancel(self, token: str, job_id: str, reason: str = "") -> dict[str, Any]:
        return self._json("DELETE", f"/api/jobs/{quote(job_id)}", token,
                          params={"reason": reason} if reason else None)

    def retry(self, token: str, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/jobs/{quote(job_id)}/retry", token,
                          headers={"Idempotency-Key": uuid.uuid4().hex})

    def archive(self, token: str, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/jobs/{quote(job_id)}/archive", token)

    def logs(self, token: str, job_id: str, tail: int | None = None) -> str:
        params = {"tail": tail} if tail else None
        return self._request("GET", f"/api/jobs/{quote(job_id)}/logs", token, params=params,
                             timeout=60.0).text

    def search_logs(self, token: str, job_id: str, q: str, limit: int = 200) -> dict[str, Any]:
        return self._json("GET", f"/api/jobs/{quote(job_id)}/logs/search", token,
                          params={"q": q, "limit": limit})

    # --- the lab --------------------------------------------------------------------

    def system_status(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/system/status", token, timeout=5.0)

    def models(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/system/models", token)

    def executors(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/executors", token)

    def experiments(self, token: str) -> dict[str, Any]:
        return self._json("GET", "/api/experiments", token)

    def experiment(self, token: str, name: str) -> dict[str, Any]:
        return self._json("GET", f"/api/experiments/{quote(name, safe='')}", token)

    def report(self, token: str, experiment: str) -> dict[str, Any]:
        return self._json("GET", f"/api/reports/{quote(experiment, safe='')}", token, timeout=60.0)

    def report_pdf(self, token: str, experiment: str) -> bytes:
        return self._request("GET", f"/api/reports/{quote(experiment, safe='')}/pdf", token,
                             timeout=180.0).content

    def audit(self, token: str, job_id: str | None = None, limit: int = 100) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if job_id:
            params["job_id"] = job_id
        return self._json("GET", "/api/audit", token, params=params)

    # --- streams --------------------------------------------------------------------

    def events(self, token: str, path: str, *, after: int | None = None, follow: bool = False,
               kinds: str | None = None, timeout: float = 60.0,
               stop: Callable[[], bool] | None = None,
               on_open: Callable[[], None] | None = None) -> Iterator[SseEvent]:
        """Read an SSE stream (server side, with the bearer token); ``stop`` is asked at every
        line, keep-alive pings included, so a follower can be ended."""
        params: dict[str, Any] = {"follow": "true" if follow else "false"}
        if after:
            params["after"] = after
        if kinds:
            params["kinds"] = kinds
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        try:
            with self._http.stream("GET", path, params=params, headers=headers,
                                   timeout=httpx.Timeout(timeout, connect=5.0)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error_from(resp)
                if on_open is not None:
                    on_open()
                lines = resp.iter_lines()
                if stop is not None:
                    lines = _until(lines, stop)
                yield from parse_sse(lines)
        except httpx.TransportError as exc:
            raise GatewayUnreachableError(self.base_url, str(exc) or type(exc).__name__) from None

    def public(self, path: str, **params: Any) -> str:
        """A URL of the gateway as the browser reaches it."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.public_url}{path}" + (f"?{query}" if query else "")


def kebab(job_type: str) -> str:
    return job_type.replace("_", "-")


def _until(lines: Iterator[str], stop: Callable[[], bool]) -> Iterator[str]:
    for line in lines:
        if stop():
            return
        yield line


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Server-sent events from text lines (the WHATWG rules: ``field: value``, blank = dispatch)."""
    current = SseEvent()
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                current.data = "\n".join(data)
                yield current
            current, data = SseEvent(), []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            current.event = value or "message"
        elif name == "id":
            current.id = value
    if data:
        current.data = "\n".join(data)
        yield current


def _error_from(resp: httpx.Response) -> GatewayError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return GatewayError(resp.status_code, str(detail.get("code", "error")),
                            str(detail.get("message", resp.reason_phrase)), detail)
    if isinstance(detail, list):  # FastAPI's own request validation errors
        errors = [{"field": ".".join(str(p) for p in d.get("loc", [])[1:]) or "(request)",
                   "message": d.get("msg", "invalid"), "allowed": "", "got": d.get("input")}
                  for d in detail if isinstance(d, dict)]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return GatewayError(resp.status_code, "invalid_request", message, {"errors": errors})
    text = (resp.text or resp.reason_phrase or "").strip()[:300]
    return GatewayError(resp.status_code, f"http_{resp.status_code}", text or "error")
